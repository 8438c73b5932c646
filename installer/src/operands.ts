import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { syncFs } from '@servicepack/core/sync-fs';

const { lstatSync } = syncFs;

/**
 * The command line's one rule about options that arrive through operands, for every command and for
 * the wizard's reading of the same command lines. A wildcard is where words come from that nobody
 * typed: `servicepack install *.tgz --root R -u` in a folder where someone created `--trust=..tgz`
 * expands to `install --trust=..tgz evil.tgz --root R -u` and would trust their key (the `tar *`
 * injection).
 *
 * A wildcard only ever expands to names of things that exist, so an option word that is also the
 * name of something in the current folder is refused (a usage error, exit 2, naming `--`), wherever
 * it stands on the line: before the operands (`install --root R -u *.tgz`) or among them
 * (`install *.tgz --root R`). No option of ours is a file name. Options may still follow operands,
 * as with apt-get, dnf and rpm (`install PACK --root R -u`); `--` ends the options, so
 * `install --root R -u -- -x.tgz` installs a pack named `-x.tgz`, and `-- *.tgz` is safe anywhere.
 */

export const OPTION_NAMES_FILE = 'E_OPTION_NAMES_FILE';

/** What commander reads as an option; `-` alone is an operand, as for every POSIX tool. */
export function looksLikeOption(word: string): boolean {
  return word.length > 1 && word.startsWith('-');
}

/** `word` names something in the current folder (a dangling link too): a wildcard may have put it here. */
export function namesFile(word: string): boolean {
  try {
    return lstatSync(word, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return false;
  }
}

/** Applies the rule to `program` and every command under it. */
export function optionsNeverFiles(program: CommandUnknownOpts): void {
  for (const c of program.commands) {
    if (c.commands.length > 0) optionsNeverFiles(c);
    else optionWordsChecked(c);
  }
}

/** The rule for one command that takes no subcommands (also a stand-alone parser, the wizard's). */
export function optionWordsChecked(cmd: CommandUnknownOpts): void {
  const parse = cmd.parseOptions.bind(cmd);
  cmd.parseOptions = (args) => {
    const parsed = parse(args);
    // An unknown option is commander's own usage error (or a request for help).
    if (parsed.unknown.length === 0) check(cmd, args);
    return parsed;
  };
}

function check(cmd: CommandUnknownOpts, args: readonly string[]): void {
  const name = commandPath(cmd);
  const values = Object.values(cmd.opts()).flat();
  if (values.includes('--')) {
    cmd.error(`error: "--" is not a value for an option: servicepack ${name} takes -- only to end the options`, {
      exitCode: 2,
      code: 'E_USAGE',
    });
  }
  // Words after `--` are operands, whatever they look like.
  const end = args.indexOf('--');
  for (const w of end < 0 ? args : args.slice(0, end)) {
    if (looksLikeOption(w) && namesFile(w)) {
      cmd.error(
        `error: "${w}" is an option and also the name of a file in the current folder, which is what a wildcard expands to: refused. Remove the file, or write the wildcard as ./*.tgz or after -- (servicepack ${name} [options] -- *.tgz)`,
        { exitCode: 2, code: OPTION_NAMES_FILE },
      );
    }
  }
}

function commandPath(cmd: CommandUnknownOpts): string {
  const names: string[] = [];
  for (let c: CommandUnknownOpts | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ') || 'install';
}
