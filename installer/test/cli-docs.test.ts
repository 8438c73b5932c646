/**
 * What administrators take for granted (issue 15): the man page and the bash, zsh and fish
 * completions are generated from the program's own command definitions and name every command and
 * option of it; the page is valid roff; the completions complete in the real shells; every
 * command's --help has examples; --version names the commit; --verbose shows each file.
 *
 * groff, man, zsh and fish come from scripts/ensure-doc-tools.sh (installed from the
 * distribution's packages on a fresh CI machine); when that fails the test fails, it never skips.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { makeInstallation, makePack, makeVendor, tempDir } from '../../packages/core/test/install-fixtures.js';
import { COMPLETION_PATHS, gitCommit, MAN_PATH, writeCliDocs } from '../src/cli-docs/build.js';
import { completionScript, SHELLS } from '../src/cli-docs/completion.js';
import { type CommandDoc, describeProgram } from '../src/cli-docs/model.js';
import { builtCommit, versionText } from '../src/cli-docs/version.js';
import { run } from '../src/cli.js';
import { chooseFrontEnd, reportFailure } from '../src/io.js';
import { createProgram, VERSION } from '../src/program.js';
import { wizardRequest } from '../src/wizard/route.js';
import { captureIo } from './capture-io.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(repo, 'installer', 'bin', 'servicepack');

async function cli(args: string[], env: Record<string, string | undefined> = {}) {
  const { io, output } = captureIo(env, false);
  const code = await run(['node', 'servicepack', ...args], io);
  return { code, ...output() };
}

function program(): CommandUnknownOpts {
  return createProgram(captureIo({}).io, { exitCode: 0 }) as unknown as CommandUnknownOpts;
}

/** Every command path of the program, read from commander's objects (not a list kept here). */
function commandPaths(cmd: CommandUnknownOpts, path: string[] = []): string[][] {
  return cmd.commands.flatMap((c) => [[...path, c.name()], ...commandPaths(c, [...path, c.name()])]);
}

const docs: CommandDoc[] = describeProgram(program());

let work = '';
before(async () => {
  const ensure = spawnSync('sh', [join(repo, 'scripts', 'ensure-doc-tools.sh')], { encoding: 'utf8' });
  assert.equal(
    ensure.status,
    0,
    `scripts/ensure-doc-tools.sh could not provide groff, man, zsh and fish:\n${ensure.stderr}`,
  );
  work = await tempDir('sp-cli-docs-');
});
after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('--help of every command', () => {
  test('has an Examples: section whose lines run that command', async () => {
    const paths = commandPaths(program());
    assert.ok(paths.length >= 10, `commands found: ${paths.map((p) => p.join(' ')).join(', ')}`);
    for (const path of paths) {
      const r = await cli([...path, '--help']);
      assert.equal(r.code, 0, path.join(' '));
      const m = /\nExamples:\n((?: {2}.*\n?)+)/.exec(r.out);
      assert.ok(m, `servicepack ${path.join(' ')} --help has no Examples: section:\n${r.out}`);
      const lines = m[1]!.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
      // a group's examples run its subcommands
      for (const l of lines) {
        assert.ok(l.trim().startsWith(`servicepack ${path.join(' ')}`), `${path.join(' ')}: ${l}`);
        // every option an example uses is one the command it runs has (up to a pipe or redirection)
        const words = l
          .trim()
          .split(/\s+(?:\||\|\||>)\s.*$/)[0]!
          .split(/\s+/)
          .slice(1);
        let at = docs.find((d) => d.path.length === 0)!;
        for (const w of words) at = docs.find((d) => d.path.join(' ') === [...at.path, w].join(' ')) ?? at;
        const known = new Set([...at.options, ...at.globalOptions].flatMap((o) => o.names));
        for (const w of words.filter((x) => x.startsWith('-') && x !== '--'))
          assert.ok(
            known.has(w.replace(/=.*$/, '')),
            `${l}: ${w} is not an option of servicepack ${at.path.join(' ')}`,
          );
      }
    }
  });

  test('-u no longer says the wizard comes later; -y, --yes is beside it', async () => {
    for (const c of ['install', 'uninstall']) {
      const r = await cli([c, '--help']);
      const line = r.out.split('\n').find((l) => l.includes('--unattended'));
      assert.ok(line, r.out);
      assert.doesNotMatch(r.out, /comes later|only mode for now/);
      assert.match(r.out, /-u, --unattended\s+no questions/);
      assert.match(r.out, /-y, --yes\s+the same as -u/);
      // an example shows --yes, as scripts off a terminal need it
      assert.match(r.out, /\nExamples:\n(?: {2}.*\n)*? {2}servicepack \S+ .*--yes/);
    }
    assert.match(
      (await cli(['uninstall', '--help'])).out,
      /\nExamples:\n(?: {2}.*\n)*? {2}servicepack uninstall .*--dry-run/,
    );
  });

  test('--packs is documented, and refused where Setup does not run instead of being ignored', async () => {
    const help = await cli(['install', '--help']);
    assert.match(help.out, /--packs <dir>\s+Setup only: offer every \*\.tgz in DIR/);
    const root = await makeInstallation(0, makeVendor());
    try {
      const r = await cli(['install', '--root', root, '-u', '--packs', work]);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, /--packs chooses the packs in Setup/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('--version', () => {
  test('prints the version, the commit the build recorded and the Node version', () => {
    const r = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const [name, commit, node] = r.stdout.trimEnd().split('\n');
    assert.equal(name, `servicepack ${VERSION}`);
    assert.match(commit!, /^commit ([0-9a-f]{40}|unknown)$/);
    // what `pnpm build` recorded in installer/dist/build-info.json, from this checkout
    const recorded = builtCommit(join(repo, 'installer', 'dist', 'build-info.json'));
    assert.equal(commit, `commit ${recorded}`);
    assert.equal(recorded, gitCommit(repo), 'built from this checkout (rebuild after committing)');
    assert.equal(node, `node ${process.version}`);
  });

  test('the commit is "unknown" outside git, and for a build-info.json that holds anything but a hash', async () => {
    const plain = join(work, 'not-git');
    await mkdir(plain, { recursive: true });
    assert.equal(gitCommit(plain), 'unknown');
    const repoDir = join(work, 'git');
    await mkdir(repoDir, { recursive: true });
    const git = (...a: string[]) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...a], { cwd: repoDir, encoding: 'utf8' });
    git('init', '-q');
    git('commit', '-q', '--allow-empty', '-m', 'x');
    assert.equal(gitCommit(repoDir), git('rev-parse', 'HEAD').trim());
    const info = join(work, 'build-info.json');
    for (const hostile of [
      '{"commit":"\\u001b]0;owned\\u0007"}',
      '{"commit":"abc"}',
      '{"commit":["0123456789012345678901234567890123456789"]}',
      'not json',
      '',
    ]) {
      await writeFile(info, hostile);
      assert.equal(versionText('1.2.3', info).split('\n')[1], 'commit unknown', hostile);
    }
    await rm(info);
    assert.equal(builtCommit(info), 'unknown');
  });
});

/** The man page as text: groff's ASCII rendering without overstriking, and its warnings. */
function renderMan(file: string): { text: string; warnings: string } {
  const r = spawnSync('groff', ['-man', '-Tascii', '-P-cbou', '-ww', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { text: r.stdout, warnings: r.stderr };
}

describe('the man page', () => {
  test('pnpm build wrote it and the completions to installer/dist/share, as the program generates them', () => {
    const share = join(repo, 'installer', 'dist', 'share');
    assert.ok(existsSync(join(share, MAN_PATH)), 'run pnpm build');
    for (const s of SHELLS)
      assert.equal(readFileSync(join(share, COMPLETION_PATHS[s]), 'utf8'), completionScript(s, docs), s);
  });

  test('is valid roff: groff -ww and man -l render it without a warning', async () => {
    const [file] = await writeCliDocs(work, '2026-01-01');
    const utf8 = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', file!], { encoding: 'utf8' });
    assert.equal(utf8.status, 0);
    assert.equal(utf8.stderr, '', 'groff warnings');
    // the C locale exists everywhere: man warns about a missing one
    const man = spawnSync('man', ['-l', file!], {
      encoding: 'utf8',
      env: { ...process.env, MANWIDTH: '80', MANPAGER: 'cat', LC_ALL: 'C', LANG: 'C' },
    });
    assert.equal(man.status, 0, man.stderr);
    assert.equal(man.stderr, '');
    assert.match(man.stdout, /NAME\s+servicepack - /);
    assert.equal(renderMan(file!).warnings, '');
  });

  test('has a section for every command, naming each of its options, operands and subcommands', async () => {
    const [file] = await writeCliDocs(work, '2026-01-01');
    const { text } = renderMan(file!);
    const flat = text.replace(/\s+/g, ' ');
    const top = docs.find((d) => d.path.length === 0)!;
    for (const o of top.options) assert.ok(flat.includes(o.term), `global option ${o.term}`);
    for (const d of docs.filter((x) => x.path.length > 0)) {
      const title = `\n   servicepack ${d.path.join(' ')}\n`;
      const start = text.indexOf(title);
      assert.ok(start >= 0, `no section for servicepack ${d.path.join(' ')}`);
      const next = text.indexOf('\n   servicepack ', start + title.length);
      const section = text.slice(start, next < 0 ? undefined : next).replace(/\s+/g, ' ');
      assert.ok(section.includes(d.usage), `${d.usage}`);
      for (const o of d.options) assert.ok(section.includes(o.term), `${d.path.join(' ')}: ${o.term}`);
      for (const a of d.arguments) assert.ok(section.includes(a.term), `${d.path.join(' ')}: ${a.term}`);
      for (const c of d.commands) assert.ok(section.includes(c.name), `${d.path.join(' ')}: ${c.name}`);
      assert.ok(section.includes('Examples:'), `${d.path.join(' ')}: examples`);
    }
    for (const heading of ['NAME', 'SYNOPSIS', 'OPTIONS', 'COMMANDS', 'EXIT STATUS', 'EXAMPLES', 'ENVIRONMENT'])
      assert.match(text, new RegExp(`\\n${heading}\\n`));
  });
});

async function scriptFile(shell: (typeof SHELLS)[number]): Promise<string> {
  const r = await cli(['completion', shell]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, completionScript(shell, docs));
  const file = join(work, `completion.${shell}`);
  await writeFile(file, r.out);
  return file;
}

/**
 * Runs many completion requests in one shell process, each the words typed so far (the last one
 * being completed); one line of candidates per request, tab-separated.
 */
function batch(shell: string, args: string[], program: string, requests: string[][]): string[][] {
  const input = requests.map((w) => `${w.join('\u001f')}\n`).join('');
  const r = spawnSync(shell, [...args, program], { encoding: 'utf8', input, cwd: work, timeout: 120_000 });
  assert.equal(r.status, 0, `${shell}: ${r.stderr}`);
  const lines = r.stdout.split('\n');
  return requests.map((_, i) => (lines[i] ?? '').split('\t').filter((x) => x !== ''));
}

const completers: Record<(typeof SHELLS)[number], (file: string) => (requests: string[][]) => string[][]> = {
  bash: (file) => (requests) =>
    batch(
      'bash',
      ['--norc', '--noprofile', '-c'],
      `source ${JSON.stringify(file)}
while IFS= read -r line; do
  IFS=$'\\x1f' read -r -a COMP_WORDS <<< "$line"
  [[ $line == *$'\\x1f' ]] && COMP_WORDS+=("")
  COMP_CWORD=$((\${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _servicepack
  (IFS=$'\\t'; echo "\${COMPREPLY[*]}")
done`,
      requests,
    ),
  zsh: (file) => (requests) =>
    batch(
      'zsh',
      ['-f', '-c'],
      // zsh's completion widgets need a terminal: these stand-ins record what the script offers,
      // filtered by the word being completed as compadd filters
      `compdef() { :; }
_sp_offer() { local w; for w in "$@"; do [[ $w == "$PREFIX"* ]] && reply+=("$w"); done; }
_describe() { local arr=$4; _sp_offer "\${(@)\${(@P)arr}%%:*}"; }
compadd() { [[ $1 == -- ]] && shift; _sp_offer "$@"; }
_files() { reply+=("<files $*>"); }
source ${JSON.stringify(file)}
sep=$'\\x1f'
while IFS= read -r line; do
  words=("\${(@ps:$sep:)line}")
  CURRENT=\${#words}
  PREFIX=\${words[CURRENT]}
  reply=()
  _servicepack
  print -r -- "\${(pj:\\t:)reply}"
done`,
      requests,
    ),
  fish: (file) => (requests) =>
    batch(
      'fish',
      ['--no-config', '-c'],
      `source ${JSON.stringify(file)}
while read -l line
  set -l words (string split \\x1f -- $line)
  string join \\t -- (complete -C (string join ' ' -- $words) | string replace -r '\\t.*' '')
end`,
      requests,
    ),
};

describe('shell completion', () => {
  for (const shell of SHELLS) {
    test(`${shell}: servicepack ins<TAB> completes install, install --ro<TAB> --root, and every command and option of the program is offered`, async () => {
      const complete = completers[shell](await scriptFile(shell));
      const requests: string[][] = [
        ['servicepack', 'ins'],
        ['servicepack', 'install', '--ro'],
        ['servicepack', 'completion', ''],
        ['servicepack', 'help', 'ins'],
        ['servicepack', 'pack', 'help', ''],
      ];
      const expect: ((got: string[]) => void)[] = [
        (got) => assert.deepEqual(got, ['install']),
        (got) => assert.deepEqual(got, ['--root']),
        (got) => assert.deepEqual([...got].sort(), ['bash', 'fish', 'zsh']),
        (got) => assert.deepEqual(got, ['install']),
        (got) => assert.deepEqual([...got].sort(), ['build', 'inspect', 'sign']),
      ];
      for (const d of docs) {
        const words = ['servicepack', ...d.path];
        if (d.commands.length > 0) {
          requests.push([...words, '']);
          expect.push((got) => {
            for (const c of d.commands)
              assert.ok(got.includes(c.name), `${shell} ${d.path.join(' ')}: ${c.name} in ${got}`);
          });
        }
        requests.push([...words, '-']);
        expect.push((got) => {
          for (const o of [...d.options, ...d.globalOptions])
            for (const n of o.names) assert.ok(got.includes(n), `${shell} ${words.join(' ')} -: ${n} not in ${got}`);
        });
      }
      const got = complete(requests);
      for (const [i, check] of expect.entries()) check(got[i]!);
    });
  }
});

describe('--verbose', () => {
  test('names each file as it is staged and committed, on stderr; without it, none', async () => {
    const vendor = makeVendor();
    const pack = await makePack(vendor, { level: 1, fromLevels: [0] }, work);
    const files = pack.manifest.files.filter((f) => f.action !== 'delete').map((f) => f.path);
    assert.ok(files.length > 0);
    for (const verbose of [true, false]) {
      const root = await makeInstallation(0, vendor);
      try {
        const r = await cli(['install', '--root', root, '-u', ...(verbose ? ['--verbose'] : []), pack.path]);
        assert.equal(r.code, 0, r.err);
        for (const f of files) {
          for (const step of ['stage', 'commit']) {
            // a timestamped line of the lines front end, as every line off a terminal is
            const line = new RegExp(`^\\d{4}-\\S+Z \\S+: +${step} +${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm');
            if (verbose) assert.match(r.err, line, `${step} ${f}`);
            else assert.doesNotMatch(r.err, line);
          }
        }
        assert.doesNotMatch(r.out, /stage|commit /, 'stdout keeps only the result');
        // uninstall's commit names the files it puts back
        const u = await cli(['uninstall', '--root', root, '-u', ...(verbose ? ['--verbose'] : [])]);
        assert.equal(u.code, 0, u.err);
        for (const f of files) {
          const line = new RegExp(`^\\d{4}-\\S+Z \\S+: +commit +${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm');
          if (verbose) assert.match(u.err, line, `uninstall commit ${f}`);
          else assert.doesNotMatch(u.err, line);
        }
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    }
  });

  test('without a command is a usage error (exit 2), as servicepack alone is; Setup still opens with it', async () => {
    for (const args of [['--verbose'], ['pack'], ['--verbose', 'feed']]) {
      const r = await cli(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.err, /Usage: servicepack/);
    }
    assert.equal((await cli(['help'])).code, 0);
    const tty = { interactive: true, env: { TERM: 'xterm-256color' } };
    assert.equal(wizardRequest(['node', 'servicepack', '--verbose'], tty)?.flow, 'install');
    assert.equal(wizardRequest(['node', 'servicepack', 'uninstall', '--verbose'], tty)?.flow, 'uninstall');
  });

  test('on a terminal, install -u shows plain lines rather than a task list its lines would tear', async () => {
    for (const verbose of [true, false]) {
      const { io } = captureIo({ TERM: 'xterm-256color' }, true);
      if (verbose) io.verbose = true;
      const fe = await chooseFrontEnd(io, { json: false, quiet: false, taskList: true });
      assert.equal(fe.kind, verbose ? 'lines' : 'listr');
    }
  });

  test('with --json, the file lines go to stderr and stdout stays one document', async () => {
    for (const verbose of [true, false]) {
      const { io, output } = captureIo({});
      if (verbose) io.verbose = true;
      const fe = await chooseFrontEnd(io, { json: true, quiet: false, taskList: true });
      const view = fe.target({ root: '/r', index: 0, count: 2, fromFeed: false });
      view.sink({
        type: 'progress',
        step: 'stage',
        files: 1,
        totalFiles: 2,
        bytes: 0,
        totalBytes: 0,
        path: 'lib/a\x1b.js',
      });
      fe.result({}, () => {});
      const { out, err } = output();
      assert.deepEqual(JSON.parse(out), { ok: true });
      if (verbose) assert.equal(err, '/r:      stage  lib/a\\e.js\n', 'named escaped');
      else assert.equal(err, '');
    }
  });

  test('shows the stack of an unexpected error; without it, says how to get it', async () => {
    for (const verbose of [true, false]) {
      const { io, output } = captureIo({});
      if (verbose) io.verbose = true;
      const code = reportFailure(await chooseFrontEnd(io, { json: false, quiet: false }), io, new TypeError('boom'));
      assert.equal(code, 1);
      if (verbose) assert.match(output().err, /TypeError: boom\n\s+at /);
      else assert.match(output().err, /run with --verbose/);
    }
  });

  test('is a global option: accepted before and after the command, listed in every help', async () => {
    const root = await makeInstallation(0, makeVendor());
    try {
      for (const args of [
        ['--verbose', 'query', '--root', root],
        ['query', '--root', root, '--verbose'],
      ]) {
        const r = await cli(args);
        assert.equal(r.code, 0, r.err);
      }
      for (const path of commandPaths(program())) assert.match((await cli([...path, '--help'])).out, /--verbose/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
