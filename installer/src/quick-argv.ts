/**
 * A hand-written reading of the read-only command lines scripts run most often (`query` and
 * `verify` with their own options), so that they start without commander and the other commands'
 * modules: loading those costs more than a whole query of an unchanged installation (see
 * docs/performance.md).
 *
 * It accepts only the plain spellings it can read exactly as commander would: anything else
 * (help, an unknown or repeated option, a missing or dash-led value, an argument, `--`, an option
 * word that is also a file here) returns undefined and goes to the full program, so usage errors,
 * help texts and the rule about options and operands (operands.ts) stay the program's own.
 */
import { looksLikeOption, namesFile } from './operands.js';

export interface QuickQueryFlags {
  root?: string;
  json?: true;
  require?: string;
}

export interface QuickVerifyFlags {
  root?: string;
  json?: true;
}

export type QuickCommand =
  | { command: 'query'; flags: QuickQueryFlags }
  | { command: 'verify'; flags: QuickVerifyFlags };

/** The options taking a value, per command, with the flag each one sets. */
const VALUE_OPTIONS = {
  query: { '--root': 'root', '--require': 'require' },
  verify: { '--root': 'root' },
} as const satisfies Record<QuickCommand['command'], Record<string, keyof QuickQueryFlags>>;

/** `argv` as in process.argv (node, script, then the arguments). */
export function quickCommand(argv: readonly string[]): QuickCommand | undefined {
  const command = argv[2];
  if (command !== 'query' && command !== 'verify') return undefined;
  const valued: Readonly<Record<string, keyof QuickQueryFlags>> = VALUE_OPTIONS[command];
  const flags: QuickQueryFlags = {};
  for (let i = 3; i < argv.length; i++) {
    const arg = argv[i]!;
    if (looksLikeOption(arg) && namesFile(arg)) return undefined;
    if (arg === '--json') {
      if (flags.json) return undefined;
      flags.json = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 2 && arg.startsWith('--') ? arg.slice(0, eq) : arg;
    const value = name === arg ? argv[++i] : arg.slice(eq + 1);
    const key = Object.hasOwn(valued, name) ? valued[name] : undefined;
    if (key === undefined || key === 'json') return undefined;
    // An empty or dash-led value and a repeated option are where commander's rules get subtle:
    // its own answer is the only right one there.
    if (value === undefined || value === '' || value.startsWith('-') || flags[key] !== undefined) return undefined;
    flags[key] = value;
  }
  return command === 'query' ? { command, flags } : { command, flags: verifyFlags(flags) };
}

function verifyFlags(f: QuickQueryFlags): QuickVerifyFlags {
  return { ...(f.root !== undefined ? { root: f.root } : {}), ...(f.json ? { json: true as const } : {}) };
}
