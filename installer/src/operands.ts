import { lstatSync } from 'node:fs';
import type { CommandUnknownOpts } from '@commander-js/extra-typings';

/**
 * The command line's one rule about where options may stand, for every command and for the wizard's
 * reading of the same command lines: options come first, operands (pack files, ids) after them, and
 * an option never arrives through an operand. A wildcard is where operands come from that nobody
 * typed: `servicepack install *.tgz --root R -u` in a folder where someone created `--trust=..tgz`
 * would otherwise trust their key (the `tar *` injection).
 *
 *  - Nothing that begins with `-` may follow the first operand (POSIX utility syntax, guideline 9),
 *    unless `--` came before the operands: `install --root R -u -- -x.tgz` installs a pack named
 *    `-x.tgz`. Commander would otherwise pick options out from anywhere on the line.
 *  - An option word that is also the name of something in the current folder is refused: that is
 *    what a wildcard before the operands (`install --root R -u *.tgz`) expands into, and no option
 *    of ours is a file name.
 *
 * Both are usage errors (exit 2) with codes of their own.
 */

export const OPTION_AFTER_OPERAND = 'E_OPTION_AFTER_OPERAND';
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
export function optionsFirst(program: CommandUnknownOpts): void {
  program.enablePositionalOptions();
  for (const c of program.commands) {
    if (c.commands.length > 0) optionsFirst(c);
    else operandsLast(c);
  }
}

/** The rule for one command that takes no subcommands (also a stand-alone parser, the wizard's). */
export function operandsLast(cmd: CommandUnknownOpts): void {
  // From the first operand on, commander hands every word over as an operand, unread.
  cmd.passThroughOptions();
  const parse = cmd.parseOptions.bind(cmd);
  cmd.parseOptions = (args) => {
    const parsed = parse(args);
    // An unknown option before the operands is commander's own usage error (or a request for help).
    if (parsed.unknown.length === 0) check(cmd, args, parsed.operands);
    return parsed;
  };
}

function check(cmd: CommandUnknownOpts, args: readonly string[], operands: readonly string[]): void {
  const name = commandPath(cmd);
  // The operands are the tail of the words: after a `--`, or from the first word that is not an option.
  const words = args.slice(0, args.length - operands.length);
  const values = Object.values(cmd.opts()).flat();
  if (values.includes('--')) {
    cmd.error(`error: "--" is not a value for an option: servicepack ${name} takes -- only to end the options`, { exitCode: 2, code: 'E_USAGE' });
  }
  const separated = words.at(-1) === '--';
  for (const w of separated ? words.slice(0, -1) : words) {
    if (looksLikeOption(w) && namesFile(w)) {
      cmd.error(
        `error: "${w}" is an option and also the name of a file in the current folder, which is what a wildcard expands to: refused. Remove the file, or write the wildcard as ./*.tgz or after -- (servicepack ${name} [options] -- *.tgz)`,
        { exitCode: 2, code: OPTION_NAMES_FILE },
      );
    }
  }
  if (separated) return;
  const late = operands.find(looksLikeOption);
  if (late !== undefined) {
    const usage = `servicepack ${name} [options]`;
    cmd.error(
      `error: "${late}" comes after the operand "${operands[0]}": options go before the operands (${usage} ${cmd.registeredArguments.map((a) => `${a.name()}${a.variadic ? '...' : ''}`).join(' ')}), so that a file named like an option never becomes one; an operand that begins with - goes after -- (${usage} -- -x.tgz)`,
      { exitCode: 2, code: OPTION_AFTER_OPERAND },
    );
  }
}

function commandPath(cmd: CommandUnknownOpts): string {
  const names: string[] = [];
  for (let c: CommandUnknownOpts | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ') || 'install';
}
