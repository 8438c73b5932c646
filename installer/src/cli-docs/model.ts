import type { EventEmitter } from 'node:events';
import type { CommandUnknownOpts, Help, Option } from '@commander-js/extra-typings';

/**
 * The command line as data, read from the commander program itself (its Command, Option and
 * Argument objects, through commander's own Help), so that the man page and the shell completions
 * list exactly what `--help` lists: one source, no second list to forget.
 */

/** What an option's or operand's value is, for completion: a folder, a file, one of fixed words, or free text. */
export type ValueKind = { kind: 'dir' } | { kind: 'file' } | { kind: 'words'; words: string[] } | { kind: 'text' };

export interface OptionDoc {
  /** `-u, --unattended`, `--root <dir>`: commander's term, as --help prints it */
  term: string;
  /** the spellings: `-u`, `--unattended` */
  names: string[];
  description: string;
  /** absent for a switch */
  value?: ValueKind;
}

export interface CommandDoc {
  /** [] for the program, ['pack', 'build'] for `servicepack pack build` */
  path: string[];
  usage: string;
  description: string;
  /** one line, for lists of commands */
  summary: string;
  /** the command's own options, its --help option included */
  options: OptionDoc[];
  /** the program's options, accepted anywhere on the line */
  globalOptions: OptionDoc[];
  /** the subcommands, commander's implicit `help` included */
  commands: { name: string; summary: string }[];
  arguments: { term: string; description: string; value: ValueKind }[];
  /** what the command's --help prints after the options (notes, "Examples:") */
  afterHelp: string;
}

/** Every command of `program`, the program first, then depth first in --help's order. */
export function describeProgram(program: CommandUnknownOpts): CommandDoc[] {
  const docs: CommandDoc[] = [];
  const walk = (cmd: CommandUnknownOpts, path: string[]): void => {
    docs.push(describeCommand(cmd, path));
    for (const sub of cmd.commands) walk(sub, [...path, sub.name()]);
  };
  walk(program, []);
  return docs;
}

function describeCommand(cmd: CommandUnknownOpts, path: string[]): CommandDoc {
  const help = cmd.createHelp() as Help;
  const option = (o: Option): OptionDoc => {
    const value = optionValue(o);
    return {
      term: help.optionTerm(o),
      names: [o.short, o.long].filter((n): n is string => n !== undefined),
      description: help.optionDescription(o),
      ...(value ? { value } : {}),
    };
  };
  // the program's options are global: commander reads them before and after the command's name
  let top = cmd;
  while (top.parent) top = top.parent;
  const globalOptions = top === cmd ? [] : top.options.filter((o) => !o.hidden).map((o) => option(o as Option));
  return {
    path,
    usage: `${[top.name(), ...path].join(' ')} ${cmd.usage()}`.trim(),
    description: help.commandDescription(cmd as never),
    summary: cmd.summary() || cmd.description().split('\n')[0] || '',
    options: help.visibleOptions(cmd as never).map(option),
    globalOptions,
    commands: help
      .visibleCommands(cmd as never)
      .map((c) => ({ name: c.name(), summary: help.subcommandDescription(c) })),
    arguments: help.visibleArguments(cmd as never).map((a) => ({
      term: help.argumentTerm(a),
      description: help.argumentDescription(a),
      value: a.argChoices ? { kind: 'words', words: [...a.argChoices] } : valueOfName(a.name()),
    })),
    afterHelp: afterHelpOf(cmd),
  };
}

/** The texts addHelpText('after', ...) gave the command, as its --help prints them. */
function afterHelpOf(cmd: CommandUnknownOpts): string {
  let text = '';
  // commander's Command is an EventEmitter; its help texts are listeners of this event
  (cmd as unknown as EventEmitter).emit('afterHelp', { error: false, command: cmd, write: (s: string) => (text += s) });
  return text;
}

function optionValue(o: Option): ValueKind | undefined {
  if (!o.required && !o.optional) return undefined;
  if (o.argChoices) return { kind: 'words', words: [...o.argChoices] };
  const name = /[<[]([^>\]]+?)(?:\.\.\.)?[>\]]/.exec(o.flags)?.[1] ?? '';
  return valueOfName(name);
}

/**
 * The value's kind from the name the definition gives it (`<dir>`, `<file...>`, `[pack...]`): the
 * names are the definitions' own vocabulary, so a new option is completed the right way by naming
 * its value the way the others do.
 */
function valueOfName(name: string): ValueKind {
  if (name === 'dir') return { kind: 'dir' };
  // a feed URL may also be a folder or a file: URL; a file name is the useful guess
  if (name === 'file' || name === 'pack' || name === 'url') return { kind: 'file' };
  return { kind: 'text' };
}
