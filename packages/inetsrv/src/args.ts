import { ConfigError, parseSetArg, type Setting } from './config.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface CommonOptions {
  configFile?: string;
  /** --set values, then --port/--host: flags override the configuration file. */
  settings: Setting[];
}

export type Command =
  | ({ kind: 'start'; detach: boolean } & CommonOptions)
  | ({ kind: 'stop'; timeoutSeconds: number; force: boolean } & CommonOptions)
  | ({ kind: 'status' } & CommonOptions)
  | { kind: 'version' }
  | { kind: 'help' };

export const USAGE = `usage:
  inetsrv start [--port N] [--host ADDR] [--detach] [--config FILE] [--set Key=Value]...
  inetsrv stop [--timeout SECONDS] [--force] [--config FILE] [--set Key=Value]...
  inetsrv status [--config FILE] [--set Key=Value]...
  inetsrv --version

  start    serve in the foreground (Ctrl-C or "inetsrv stop" ends it); --detach runs it in the
           background and returns once it listens
  stop     asks the running server (found through its pid file) to finish and waits for it;
           --force kills it if it has not stopped after --timeout seconds (default 30)
  status   exit 0 when running, 3 when not
`;

export function parseArgs(argv: readonly string[]): Command {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === 'help' || verb === '--help' || verb === '-h') return { kind: 'help' };
  if (verb === '--version' || verb === '-v' || verb === 'version') return { kind: 'version' };
  if (verb !== 'start' && verb !== 'stop' && verb !== 'status') throw new UsageError(`unknown command "${verb}"`);

  const settings: Setting[] = [];
  const flags: Setting[] = [];
  let configFile: string | undefined;
  let detach = false;
  let force = false;
  let timeoutSeconds = 30;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = rest[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      return v;
    };
    const only = (...verbs: string[]) => {
      if (!verbs.includes(verb)) throw new UsageError(`${name} does not apply to "${verb}"`);
    };
    switch (name) {
      case '--config':
        configFile = value();
        break;
      case '--set':
        try {
          settings.push(parseSetArg(value()));
        } catch (e) {
          throw new UsageError(e instanceof ConfigError ? e.message : String(e));
        }
        break;
      case '--port':
        only('start');
        flags.push({ key: 'Port', value: value(), origin: '--port' });
        break;
      case '--host':
        only('start');
        flags.push({ key: 'ListenAddress', value: value(), origin: '--host' });
        break;
      case '--detach':
        only('start');
        detach = true;
        break;
      case '--force':
        only('stop');
        force = true;
        break;
      case '--timeout': {
        only('stop');
        const v = value();
        if (!/^\d{1,5}$/.test(v)) throw new UsageError(`--timeout: "${v}" is not a number of seconds`);
        timeoutSeconds = Number(v);
        break;
      }
      default:
        throw new UsageError(`unknown option "${arg}"`);
    }
  }
  const common: CommonOptions = { settings: [...settings, ...flags], ...(configFile === undefined ? {} : { configFile }) };
  if (verb === 'start') return { kind: 'start', detach, ...common };
  if (verb === 'stop') return { kind: 'stop', timeoutSeconds, force, ...common };
  return { kind: 'status', ...common };
}
