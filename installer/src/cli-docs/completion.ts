// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are shell code, where ${...} is the shell's own
import type { CommandDoc, OptionDoc, ValueKind } from './model.js';

/**
 * Shell completion for bash, zsh and fish, generated from the program (model.ts). The three
 * scripts share one reading of the line: the words so far give the command path (options and the
 * values they take skipped, `--` ends the options); then the current word is an option of that
 * command or of the program, an option's value (a folder, a file, one of fixed words), a
 * subcommand, or an operand.
 */

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

interface Spec {
  key: string;
  commands: { name: string; summary: string }[];
  options: OptionDoc[];
  operand: ValueKind;
}

function specs(docs: readonly CommandDoc[]): Spec[] {
  return docs.flatMap((d) => {
    const key = d.path.join(' ');
    const own: Spec = {
      key,
      commands: d.commands,
      options: [...d.options, ...d.globalOptions],
      operand: d.arguments[0]?.value ?? { kind: 'text' },
    };
    // commander's implicit `help [command]` has no Command object of its own: its operand is a sibling's name
    const siblings = d.commands.map((c) => c.name).filter((n) => n !== 'help');
    if (!d.commands.some((c) => c.name === 'help')) return [own];
    const globals = d.path.length === 0 ? d.options.filter((o) => !o.names.includes('--help')) : d.globalOptions;
    const help: Spec = {
      key: key === '' ? 'help' : `${key} help`,
      commands: [],
      options: globals,
      operand: { kind: 'words', words: siblings },
    };
    return [own, help];
  });
}

/** A word for sh-family shells, quoted so that nothing in it is read as syntax. */
function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function valued(s: Spec, kind: ValueKind['kind']): string[] {
  return s.options.filter((o) => o.value?.kind === kind).flatMap((o) => o.names);
}

function header(shell: Shell, name: string): string {
  return `# ${shell} completion for ${name}, generated from its command definitions: ${name} completion ${shell}`;
}

export function completionScript(shell: Shell, docs: readonly CommandDoc[]): string {
  const name = docs.find((d) => d.path.length === 0)!.usage.split(' ')[0]!;
  if (shell === 'bash') return bash(name, specs(docs));
  if (shell === 'zsh') return zsh(name, specs(docs));
  return fish(name, specs(docs));
}

/** The per-command data as a shell `case`, shared by bash and zsh (both read these variables). */
function specCase(fn: string, list: Spec[]): string[] {
  const out = [`${fn}() {`, '  case $1 in'];
  for (const s of list) {
    const words = s.operand.kind === 'words' ? s.operand.words.join(' ') : '';
    out.push(
      `    ${sq(s.key)})`,
      `      cmds=${sq(s.commands.map((c) => c.name).join(' '))}`,
      `      opts=${sq(s.options.flatMap((o) => o.names).join(' '))}`,
      `      dir_opts=${sq(valued(s, 'dir').join(' '))}`,
      `      file_opts=${sq(valued(s, 'file').join(' '))}`,
      `      text_opts=${sq([...valued(s, 'text'), ...valued(s, 'words')].join(' '))}`,
      `      operand=${sq(s.operand.kind)} operand_words=${sq(words)}`,
      '      ;;',
    );
  }
  out.push(
    "    *) cmds='' opts='' dir_opts='' file_opts='' text_opts='' operand=text operand_words='' ;;",
    '  esac',
    '}',
  );
  return out;
}

function bash(name: string, list: Spec[]): string {
  const fn = `_${name.replace(/\W/g, '_')}`;
  return [
    header('bash', name),
    ...specCase(`${fn}_spec`, list),
    `${fn}() {`,
    '  local cur=${COMP_WORDS[COMP_CWORD]} cmdpath= word i skip=0 ended=0',
    '  local cmds opts dir_opts file_opts text_opts operand operand_words',
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    word=${COMP_WORDS[i]}',
    '    if ((skip)); then skip=0; continue; fi',
    `    ${fn}_spec "$cmdpath"`,
    '    if ((!ended)) && [[ $word == -- ]]; then ended=1; continue; fi',
    '    if ((!ended)) && [[ $word == -* ]]; then',
    '      [[ " $dir_opts $file_opts $text_opts " == *" $word "* ]] && skip=1',
    '      continue',
    '    fi',
    '    [[ " $cmds " == *" $word "* ]] && cmdpath=${cmdpath:+$cmdpath }$word',
    '  done',
    `  ${fn}_spec "$cmdpath"`,
    '  COMPREPLY=()',
    '  if ((skip)); then',
    '    word=${COMP_WORDS[COMP_CWORD-1]}',
    '    if [[ " $dir_opts " == *" $word "* ]]; then mapfile -t COMPREPLY < <(compgen -d -- "$cur")',
    '    elif [[ " $file_opts " == *" $word "* ]]; then mapfile -t COMPREPLY < <(compgen -f -- "$cur")',
    '    fi',
    '    return 0',
    '  fi',
    '  if ((!ended)) && [[ $cur == -* ]]; then',
    '    mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")',
    '    return 0',
    '  fi',
    '  case $operand in',
    '    file) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;',
    '    dir) mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;',
    '    words) mapfile -t COMPREPLY < <(compgen -W "$operand_words" -- "$cur") ;;',
    '  esac',
    '  local more',
    '  mapfile -t more < <(compgen -W "$cmds" -- "$cur")',
    '  COMPREPLY+=("${more[@]}")',
    '}',
    `complete -o filenames -F ${fn} ${name}`,
    '',
  ].join('\n');
}

/** `word:description` items for zsh's _describe, with the colons in words escaped. */
function described(items: { word: string; text: string }[]): string {
  return items.map((i) => sq(`${i.word.replace(/:/g, '\\:')}:${i.text}`)).join(' ');
}

function zsh(name: string, list: Spec[]): string {
  const fn = `_${name.replace(/\W/g, '_')}`;
  const describe: string[] = [`${fn}_described() {`, '  case $1 in'];
  for (const s of list) {
    const opts = s.options.flatMap((o) => o.names.map((n) => ({ word: n, text: o.description })));
    const cmds = s.commands.map((c) => ({ word: c.name, text: c.summary }));
    describe.push(
      `    ${sq(s.key)})`,
      `      command_items=(${described(cmds)})`,
      `      option_items=(${described(opts)})`,
      '      ;;',
    );
  }
  describe.push('    *) command_items=() option_items=() ;;', '  esac', '}');
  return [
    `#compdef ${name}`,
    header('zsh', name),
    ...specCase(`${fn}_spec`, list),
    ...describe,
    `${fn}() {`,
    '  local cur=${words[CURRENT]} cmdpath= word i skip=0 ended=0',
    '  local cmds opts dir_opts file_opts text_opts operand operand_words',
    '  local -a command_items option_items',
    '  for ((i = 2; i < CURRENT; i++)); do',
    '    word=${words[i]}',
    '    if ((skip)); then skip=0; continue; fi',
    `    ${fn}_spec "$cmdpath"`,
    '    if ((!ended)) && [[ $word == -- ]]; then ended=1; continue; fi',
    '    if ((!ended)) && [[ $word == -* ]]; then',
    '      [[ " $dir_opts $file_opts $text_opts " == *" $word "* ]] && skip=1',
    '      continue',
    '    fi',
    '    [[ " $cmds " == *" $word "* ]] && cmdpath=${cmdpath:+$cmdpath }$word',
    '  done',
    `  ${fn}_spec "$cmdpath"`,
    `  ${fn}_described "$cmdpath"`,
    '  if ((skip)); then',
    '    word=${words[CURRENT-1]}',
    '    if [[ " $dir_opts " == *" $word "* ]]; then _files -/',
    '    elif [[ " $file_opts " == *" $word "* ]]; then _files',
    '    fi',
    '    return',
    '  fi',
    '  if ((!ended)) && [[ $cur == -* ]]; then',
    "    _describe -t options 'option' option_items",
    '    return',
    '  fi',
    '  case $operand in',
    '    file) _files ;;',
    '    dir) _files -/ ;;',
    '    words) compadd -- ${=operand_words} ;;',
    '  esac',
    "  (( ${#command_items} )) && _describe -t commands 'command' command_items",
    '  return 0',
    '}',
    // sourced (or autoloaded as the function's body): define and register, or complete now
    `if [[ \${zsh_eval_context[-1]} == loadautofunc ]]; then ${fn} "$@"; else compdef ${fn} ${name}; fi`,
    '',
  ].join('\n');
}

/** A word for fish: single-quoted, with its backslashes and quotes escaped. */
function fq(s: string): string {
  return `'${s.replace(/[\\']/g, '\\$&')}'`;
}

function fish(name: string, list: Spec[]): string {
  const fn = `__${name.replace(/\W/g, '_')}`;
  const out: string[] = [header('fish', name), `function ${fn}_commands --argument-names path`, '  switch $path'];
  for (const s of list) out.push(`    case ${fq(s.key)}`, `      echo ${s.commands.map((c) => fq(c.name)).join(' ')}`);
  out.push('  end', 'end', `function ${fn}_valued --argument-names path`, '  switch $path');
  for (const s of list)
    out.push(
      `    case ${fq(s.key)}`,
      `      echo ${[...valued(s, 'dir'), ...valued(s, 'file'), ...valued(s, 'text'), ...valued(s, 'words')].map(fq).join(' ')}`,
    );
  out.push(
    '  end',
    'end',
    '# the command path the words before the cursor name',
    `function ${fn}_path`,
    '  set -l path ""',
    '  set -l skip 0',
    '  for word in (commandline -opc)[2..-1]',
    '    if test $skip = 1',
    '      set skip 0',
    '      continue',
    '    end',
    '    if test "$word" = --',
    '      break',
    '    end',
    '    if string match -q -- "-*" $word',
    `      if contains -- $word (string split " " -- (${fn}_valued $path))`,
    '        set skip 1',
    '      end',
    '      continue',
    '    end',
    `    if contains -- $word (string split " " -- (${fn}_commands $path))`,
    '      set path (string trim -- "$path $word")',
    '    end',
    '  end',
    '  echo $path',
    'end',
    `function ${fn}_is --argument-names path`,
    `  test "$(${fn}_path)" = "$path"`,
    'end',
    `complete -c ${name} -f`,
  );
  for (const s of list) {
    const when = `-n ${fq(`${fn}_is ${fq(s.key)}`)}`;
    for (const c of s.commands) out.push(`complete -c ${name} ${when} -a ${fq(c.name)} -d ${fq(c.summary)}`);
    for (const o of s.options) {
      const names = o.names.map((n) => (n.startsWith('--') ? `-l ${fq(n.slice(2))}` : `-s ${fq(n.slice(1))}`));
      const v = o.value;
      const value =
        v === undefined
          ? ''
          : v.kind === 'dir'
            ? " -x -a '(__fish_complete_directories)'"
            : v.kind === 'file'
              ? ' -r -F'
              : v.kind === 'words'
                ? ` -x -a ${fq(v.words.join(' '))}`
                : ' -x';
      out.push(`complete -c ${name} ${when} ${names.join(' ')}${value} -d ${fq(o.description)}`);
    }
    const op = s.operand;
    if (op.kind === 'file') out.push(`complete -c ${name} ${when} -F`);
    else if (op.kind === 'dir') out.push(`complete -c ${name} ${when} -a '(__fish_complete_directories)'`);
    else if (op.kind === 'words') out.push(`complete -c ${name} ${when} -a ${fq(op.words.join(' '))}`);
  }
  out.push('');
  return out.join('\n');
}
