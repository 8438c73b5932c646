#!/usr/bin/env node
/**
 * Captures what the CLI prints for a fixed list of command lines, so that a change meant to keep
 * behaviour (issue 14) can be shown to keep every byte: run it before and after, compare the files.
 *
 *   node scripts/capture-cli.mjs OUT.txt        (needs the build: dist/packs, dist/releases, dist/feed)
 *
 * Every run works on private copies of the built release trees in a temp folder. What changes from
 * run to run (temp paths, times, transaction ids) is replaced by a placeholder; nothing else is.
 * The transaction logs the runs left are captured too. The listr rendering on a terminal is held by
 * the existing tests (test/wizard-tty, installer/test).
 *
 * The baseline of an earlier commit: `git checkout <commit> -- installer/src && npx tsc -b`, capture,
 * `git checkout HEAD -- installer/src && npx tsc -b`, capture again, `cmp` the two files.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(repo, 'installer', 'bin', 'servicepack');
const packs = join(repo, 'dist', 'packs');
const releases = join(repo, 'dist', 'releases');
const feed = join(repo, 'dist', 'feed');
const out = process.argv[2];
if (out === undefined) throw new Error('usage: node scripts/capture-cli.mjs OUT.txt');

const work = mkdtempSync(join(tmpdir(), 'sp-capture-'));
let n = 0;
/** A private copy of a release tree, e.g. tree('rtm-x86'). */
function tree(name) {
  const root = join(work, `t${++n}`, name);
  mkdirSync(dirname(root), { recursive: true });
  cpSync(join(releases, `inetsrv-4.0-${name}`), root, { recursive: true, preserveTimestamps: true });
  return root;
}
const pack = (name) => join(packs, `inetsrv-4.0-${name}.tgz`);

function normalise(text) {
  return text
    .split(work)
    .join('<TMP>')
    .split(repo)
    .join('<REPO>')
    .replace(/\d{8}T\d{6}Z-[0-9a-f]{6}/g, '<TXID>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)/g, '<TIME>')
    .replace(/sp-feed-[A-Za-z0-9]+|servicepack-feed-[A-Za-z0-9]+/g, '<FEEDTMP>')
    .replace(/\bpid \d+/g, 'pid <PID>')
    .replace(/"(ms|durationMs|elapsedMs)": \d+/g, '"$1": <MS>');
}

const sections = [];
/**
 * The real packs carry a license, and installing one from the command line needs --accept-eula (since
 * 21c34a2): every `install` line gets it, so that a capture from then on shows the installs themselves.
 */
const accepted = (args) =>
  args[0] === 'install' && !args.includes('--answer-file') ? [...args, '--accept-eula'] : args;
/** Runs the CLI without a terminal (stdin closed), only PATH and `env` in its environment. */
function run(label, rawArgs, env = {}) {
  const args = accepted(rawArgs);
  const r = spawnSync(process.execPath, [bin, ...args], {
    input: '',
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    timeout: 120_000,
  });
  sections.push(
    `### ${label}\n$ servicepack ${args.join(' ')}${
      Object.keys(env).length
        ? `   [${Object.entries(env)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}]`
        : ''
    }\nexit ${r.status}${r.signal ? ` signal ${r.signal}` : ''}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`,
  );
}
/** Runs the CLI on a pseudo-terminal (util-linux script): stdout and stderr arrive merged. */
function runTty(label, rawArgs, env = {}) {
  const args = accepted(rawArgs);
  const cmd = [process.execPath, bin, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], {
    input: '',
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'xterm', ...env },
    timeout: 120_000,
  });
  sections.push(
    `### ${label} (tty)\n$ servicepack ${args.join(' ')}   [${Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}]\nexit ${r.status}\n--- tty\n${r.stdout.replaceAll('\r\n', '\n')}`,
  );
}

try {
  for (const json of [false, true]) {
    const j = json ? ['--json'] : [];
    const tag = json ? 'json' : 'plain';
    // query, verify, check, pack inspect
    const rtm = tree('rtm-x86');
    run(`query rtm ${tag}`, ['query', '--root', rtm, ...j]);
    run(`query --require sp6 ${tag}`, ['query', '--root', rtm, '--require', 'sp6', ...j]);
    run(`verify rtm ${tag}`, ['verify', '--root', rtm, ...j]);
    run(`check rtm ${tag}`, ['check', '--root', rtm, ...j]);
    run(`pack inspect sp6 ${tag}`, ['pack', 'inspect', pack('sp6-x86'), ...j]);
    run(`pack inspect q236565 ${tag}`, ['pack', 'inspect', pack('sp5-q236565-x86'), '--root', rtm, ...j]);
    // install, then the refusals, then uninstall
    run(`install without -u off a terminal (refused) ${tag}`, ['install', '--root', rtm, pack('sp6-x86'), ...j]);
    run(`install sp6 ${tag}`, ['install', '-u', '--root', rtm, pack('sp6-x86'), ...j]);
    run(`install sp6 again (already installed) ${tag}`, ['install', '-u', '--root', rtm, pack('sp6-x86'), ...j]);
    run(`query sp6 ${tag}`, ['query', '--root', rtm, ...j]);
    run(`verify sp6 ${tag}`, ['verify', '--root', rtm, ...j]);
    run(`uninstall ${tag}`, ['uninstall', '-u', '--root', rtm, ...j]);
    run(`uninstall nothing left ${tag}`, ['uninstall', '-u', '--root', rtm, ...j]);
    const sp5 = tree('sp5-x86');
    run(`install -u -q dry run ${tag}`, ['install', '-u', '-q', '--dry-run', '--root', sp5, pack('sp6-x86'), ...j]);
    run(`install -z -n ${tag}`, ['install', '-u', '-z', '-n', '--root', sp5, pack('sp5-q236565-x86'), ...j]);
    run(`install wrong arch ${tag}`, ['install', '-u', '--root', tree('rtm-x86'), pack('sp6-alpha'), ...j]);
    const bad = join(work, `bad-${tag}.tgz`);
    const bytes = readFileSync(pack('sp6-x86'));
    bytes[bytes.length - 40] ^= 0xff;
    writeFileSync(bad, bytes);
    run(`install bad signature/damaged ${tag}`, ['install', '-u', '--root', tree('rtm-x86'), bad, ...j]);
    run(`install no root ${tag}`, ['install', '-u', pack('sp6-x86'), ...j]);
    run(`install --trust eats packs ${tag}`, ['install', '--root', rtm, '--trust', pack('sp6-x86'), ...j]);
    run(`install missing pack ${tag}`, ['install', '-u', '--root', rtm, join(work, 'missing.tgz'), ...j]);
    // an interrupted transaction, then recover
    const crashed = tree('sp5-x86');
    run(`install killed after the journal ${tag}`, ['install', '-u', '--root', crashed, pack('sp6-x86'), ...j], {
      SERVICEPACK_FAULT: 'after:journal',
    });
    run(`query interrupted ${tag}`, ['query', '--root', crashed, ...j]);
    run(`install refused: interrupted ${tag}`, ['install', '-u', '--root', crashed, pack('sp6-x86'), ...j]);
    run(`recover ${tag}`, ['recover', '--root', crashed, ...j]);
    run(`recover nothing ${tag}`, ['recover', '--root', crashed, ...j]);
    // feeds and answer files: the per-target front ends (lines, json)
    const f1 = tree('sp5-x86');
    run(`install --feed dry run ${tag}`, ['install', '-u', '--root', f1, '--feed', feed, '--dry-run', ...j]);
    run(`install --feed latest ${tag}`, ['install', '-u', '--root', f1, '--feed', feed, 'latest', ...j]);
    run(`install --feed nothing newer ${tag}`, ['install', '-u', '--root', f1, '--feed', feed, ...j]);
    run(`install --feed latest plus id ${tag}`, ['install', '-u', '--root', f1, '--feed', feed, 'latest', 'x', ...j]);
    const a1 = tree('rtm-x86');
    const a2 = tree('sp6-x86');
    const a3 = tree('rtm-alpha');
    const af = join(work, `site-${tag}.yaml`);
    writeFileSync(
      af,
      `targets:\n  - root: ${a1}\n  - root: ${a2}\n  - root: ${a3}\npacks:\n  - ${pack('sp6-x86')}\nacceptEula: true\nlog: logs/site-${tag}.jsonl\n`,
    );
    run(`answer file, three targets ${tag}`, ['install', '--answer-file', af, ...j]);
    run(`answer file -q again ${tag}`, ['install', '-q', '--answer-file', af, ...j]);
    const noEula = join(work, `eula-${tag}.yaml`);
    writeFileSync(noEula, `targets:\n  - root: ${tree('rtm-x86')}\npacks: [${pack('sp6-x86')}]\n`);
    run(`answer file without acceptEula ${tag}`, ['install', '--answer-file', noEula, ...j]);
    const broken = join(work, `broken-${tag}.yaml`);
    writeFileSync(broken, 'targets: 3\nbogus: true\n');
    run(`answer file invalid ${tag}`, ['install', '--answer-file', broken, ...j]);
    run(`answer file clash ${tag}`, ['install', '--answer-file', af, '--no-backup', ...j]);
    const feedAf = join(work, `feed-${tag}.yaml`);
    writeFileSync(
      feedAf,
      `targets:\n  - root: ${tree('sp4-x86')}\nfeed: ${feed}\nlatest: true\nacceptEula: true\nrestart: never\nmodified: overwrite\nbackup: false\n`,
    );
    run(`answer file from the feed ${tag}`, ['install', '--answer-file', feedAf, ...j]);
    // warnings per target: an interrupted transaction settled first, on the answer-file and the feed paths
    const i1 = tree('sp5-x86');
    const i2 = tree('sp5-x86');
    for (const r of [i1, i2])
      run(`install killed after the journal ${tag}`, ['install', '-u', '--root', r, pack('sp6-x86'), ...j], {
        SERVICEPACK_FAULT: 'after:journal',
      });
    const interruptedAf = join(work, `interrupted-${tag}.yaml`);
    writeFileSync(interruptedAf, `targets:\n  - root: ${i1}\npacks: [${pack('sp6-x86')}]\nacceptEula: true\n`);
    run(`answer file on an interrupted target ${tag}`, ['install', '--answer-file', interruptedAf, ...j]);
    run(`install --feed on an interrupted target ${tag}`, ['install', '-u', '--root', i2, '--feed', feed, ...j]);
    // names that carry control characters (printable.ts escapes them)
    run(`control characters in a root ${tag}`, ['query', '--root', join(work, 'no\x1b[31mthere\x07'), ...j]);
    run(`usage error ${tag}`, ['install', '--bogus', ...j]);
  }
  // -u on a terminal: listr; with CI=1 the plain lines (the one interactivity gate)
  runTty('install -u CI=1 lines', ['install', '-u', '--root', tree('rtm-x86'), pack('sp6-x86')], {
    CI: '1',
    NO_COLOR: '1',
  });
  runTty('install -u -q CI=1 lines', ['install', '-u', '-q', '--root', tree('rtm-x86'), pack('sp6-x86')], { CI: '1' });
  runTty('install -u CI=1 lines, wrong arch', ['install', '-u', '--root', tree('rtm-x86'), pack('sp6-alpha')], {
    CI: '1',
  });
  runTty('install plain on a terminal with colour', ['install', '-u', '--root', tree('rtm-x86'), pack('sp6-x86')], {
    CI: '1',
  });
  runTty('uninstall plain on a terminal with colour', ['uninstall', '-u', '--root', tree('sp5-q236565-x86')], {
    CI: '1',
  });
  // the transaction logs every run left (.servicepack/log/*.jsonl, an answer file's log), in a fixed order
  const logs = [];
  for (const file of readdirSync(work, { recursive: true }).map(String)) {
    if (!file.endsWith('.jsonl')) continue;
    logs.push(normalise(`### log ${file}\n${readFileSync(join(work, file), 'utf8')}`));
  }
  sections.push(...logs.sort());
  writeFileSync(out, normalise(sections.join('\n')));
  console.log(`${sections.length - logs.length} command lines and ${logs.length} logs captured in ${out}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
