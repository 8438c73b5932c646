import type { CommandDoc, OptionDoc } from './model.js';

/**
 * servicepack(1): one page with a section per command, generated from the program (model.ts).
 * One page rather than one per command because servicepack is one tool with a handful of commands
 * that share their options, exit codes and environment: `man servicepack` shows all of it, `/`
 * finds any option, and nothing is said twice (git-style pages suit suites of dozens of commands).
 */

export interface ManPageInfo {
  version: string;
  /** the page's date, YYYY-MM-DD: fixed by the build, so the same sources make the same page */
  date: string;
}

/** Text as roff reads it: backslashes escaped, hyphens in names unbreakable minus signs. */
function roff(text: string): string {
  return text.replace(/\\/g, '\\e').replace(/-/g, '\\-');
}

/** A whole line of text; a leading `.` or `'` would be read as a request. */
function line(text: string): string {
  const t = roff(text);
  return /^[.']/.test(t) ? `\\&${t}` : t;
}

function optionItem(o: OptionDoc): string[] {
  return ['.TP', `.B ${roff(o.term)}`, line(o.description)];
}

/** A help text's paragraphs: one that opens with a line "Heading:" is titled by it, the rest as printed. */
function helpBlocks(text: string): { title?: string; lines: string[] }[] {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.replace(/^\n+|\s+$/g, ''))
    .filter((p) => p !== '')
    .map((p) => {
      const lines = p.split('\n');
      const m = /^([A-Z][A-Za-z ]*):$/.exec(lines[0]!);
      return m ? { title: m[1]!, lines: lines.slice(1) } : { lines };
    });
}

/** Preformatted lines (examples, tables), indented as --help indents them. */
function verbatim(lines: string[]): string[] {
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length));
  return ['.PP', '.RS 4', '.nf', ...lines.map((l) => line(l.slice(indent))), '.fi', '.RE'];
}

/** `untitled`: the heading of the paragraphs that have none, once before the first of them. */
function blocks(text: string, heading: (title: string) => string, untitled?: string): string[] {
  const out: string[] = [];
  let notes = untitled;
  for (const b of helpBlocks(text)) {
    if (b.title !== undefined) out.push(heading(b.title));
    else if (notes !== undefined) {
      out.push(heading(notes));
      notes = undefined;
    }
    // prose (no line indented) is filled to the reader's width; tables and examples stay as printed
    if (b.title === undefined && b.lines.every((l) => !l.startsWith(' '))) out.push('.PP', ...b.lines.map(line));
    else out.push(...verbatim(b.lines));
  }
  return out;
}

export function manPage(docs: readonly CommandDoc[], info: ManPageInfo): string {
  const program = docs.find((d) => d.path.length === 0)!;
  const name = program.usage.split(' ')[0]!;
  const commands = docs.filter((d) => d.path.length > 0);
  const out: string[] = [
    `.\\" Generated from the servicepack command definitions (installer/src/cli-docs); do not edit.`,
    `.TH ${name.toUpperCase()} 1 ${info.date} "${name} ${info.version}" "User Commands"`,
    '.SH NAME',
    `${name} \\- ${roff(program.description.replace(/\.$/, ''))}`,
    '.SH SYNOPSIS',
  ];
  for (const c of commands) out.push(`.B ${roff(c.usage)}`, '.br');
  out.push(`.B ${roff(program.usage)}`);
  out.push('.SH DESCRIPTION', line(program.description));
  out.push(
    'Run without a command on a terminal, it opens Setup, the interactive wizard;',
    'otherwise it prints its usage and exits 2.',
    'Each command is described below; the same text is printed by',
    `.B ${name} \\fIcommand\\fP \\-\\-help\\fR.`,
  );
  out.push('.SH OPTIONS', 'These options are accepted with every command.');
  for (const o of program.options) out.push(...optionItem(o));
  out.push('.SH COMMANDS');
  for (const c of commands) {
    out.push(`.SS "${roff([name, ...c.path].join(' '))}"`, `.B ${roff(c.usage)}`, '.PP', line(c.description));
    if (c.arguments.length > 0) {
      out.push('.PP', 'Operands:');
      for (const a of c.arguments) out.push('.TP', `.I ${roff(a.term)}`, line(a.description));
    }
    if (c.commands.length > 0) {
      out.push('.PP', 'Commands:');
      for (const s of c.commands) out.push('.TP', `.B ${roff(s.name)}`, line(s.summary));
    }
    if (c.options.length > 0) {
      out.push('.PP', 'Options:');
      for (const o of c.options) out.push(...optionItem(o));
    }
    out.push(...blocks(c.afterHelp, (title) => `.PP\n${line(`${title}:`)}`));
  }
  // the program's own notes: exit codes, examples, the default root
  // man pages call their exit codes EXIT STATUS (man-pages(7))
  const section = (title: string) => `.SH ${roff(title === 'Exit codes' ? 'EXIT STATUS' : title.toUpperCase())}`;
  out.push(...blocks(program.afterHelp, section, 'Notes'));
  out.push(
    '.SH SEE ALSO',
    'The documentation in the source tree: docs/cli.md (the command line), docs/fleet.md',
    '(answer files, feeds, logs), docs/transactions.md (what an install does on disk).',
    '',
  );
  return out.join('\n');
}
