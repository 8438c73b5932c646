/**
 * The output contract of the commands that change an installation (docs/cli.md "Output"): progress
 * and logs on stderr, the result on stdout, and the same result block whether stdout is a terminal,
 * a pipe, or a terminal under CI; plain log lines are timestamped; uninstall has the same front ends
 * as install. script(1) provides the pseudo-terminal; stderr is sent to a file so that the two
 * streams can be told apart.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bin, distFeed, distPacks, json, requireBuild, servicepack, snapshot, Temps } from './support/unattended.js';

const sp6 = join(distPacks, 'inetsrv-4.0-sp6-x86.tgz');
const ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]/g;
const STAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /;
const temps = new Temps();

/** `servicepack ARGS` on a pseudo-terminal (stdin and stdout), stderr into a file; both read back. */
async function onTerminal(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  const errFile = join(await temps.dir('sp-contract-'), 'stderr');
  const quoted = [process.execPath, bin, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const command = `stty cols 120 rows 40; exec ${quoted} 2>'${errFile}'`;
  const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env['PATH'] ?? '', TERM: 'xterm', ...env },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
  return { code: r.code, out: r.out, err: await readFile(errFile, 'utf8').catch(() => '') };
}

/** What a person reads: no colours, no cursor moves, no carriage returns, the root as ROOT. */
function block(text: string, root: string): string {
  return text.replace(ESCAPES, '').replaceAll('\r', '').split(root).join('ROOT');
}

before(() => {
  requireBuild();
  if (!existsSync('/usr/bin/script')) throw new Error('script(1) from util-linux is needed for these tests');
});
after(() => temps.cleanup());

describe('install -u: one output contract on a terminal, piped, and in CI', () => {
  test('the same result block on stdout everywhere; the task list and the logs on stderr', async () => {
    const args = (root: string) => ['install', '--root', root, '-u', '--accept-eula', sp6];
    const t = await temps.installation('rtm-x86');
    const p = await temps.installation('rtm-x86');
    const c = await temps.installation('rtm-x86');
    const tty = await onTerminal(args(t));
    const piped = await servicepack(args(p));
    const ci = await onTerminal(args(c), { CI: 'true' });
    for (const r of [tty, piped, ci]) assert.equal(r.code, 0, r.out + r.err);
    const expected = block(piped.out, p);
    assert.match(
      expected,
      /^Installed inetsrv 4\.0 Service Pack 6 \(inetsrv-4\.0-sp6\) in ROOT: RTM -> Service Pack 6\n/,
    );
    assert.equal(block(tty.out, t), expected, 'terminal');
    assert.equal(block(ci.out, c), expected, 'CI');
    // the task list is drawn on stderr, never mixed into the result
    assert.match(block(tty.err, t), /✔ Commit the files/);
    assert.doesNotMatch(tty.out, /Commit the files|commit the files/);
    assert.doesNotMatch(ci.out, /commit the files/);
    assert.match(ci.err, /ok {3}commit the files/);
  });

  test('plain log lines are timestamped (README, docs/cli.md "Front ends"), every one of them', async () => {
    const root = await temps.installation('rtm-x86');
    const r = await servicepack(['install', '--root', root, '-u', '--accept-eula', sp6]);
    assert.equal(r.code, 0, r.err);
    const lines = r.err.split('\n').filter((l) => l !== '');
    assert.ok(lines.length > 5, r.err);
    for (const l of lines) assert.match(l, STAMP);
    assert.ok(
      lines.some((l) => l.endsWith(': ok   commit the files')),
      r.err,
    );
  });
});

describe('uninstall -u: the same front ends as install', () => {
  test('a task list on a terminal (on stderr), the result block on stdout', async () => {
    // a release tree has no uninstall data: install onto RTM first, then take it off again
    const rtm = await temps.installation('rtm-x86');
    assert.equal((await servicepack(['install', '--root', rtm, '-u', '--accept-eula', sp6])).code, 0);
    const r = await onTerminal(['uninstall', '--root', rtm, '-u']);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(block(r.err, rtm), /✔ Commit the files/);
    assert.match(block(r.out, rtm), /^Uninstalled inetsrv-4\.0-sp6 from ROOT: Service Pack 6 -> RTM\n/);
    assert.doesNotMatch(r.out, /ommit the files/);
  });

  test('timestamped lines off a terminal, and one JSON document with --json', async () => {
    const a = await temps.installation('rtm-x86');
    const b = await temps.installation('rtm-x86');
    for (const root of [a, b])
      assert.equal((await servicepack(['install', '--root', root, '-u', '--accept-eula', sp6])).code, 0);
    const lines = await servicepack(['uninstall', '--root', a, '-u']);
    assert.equal(lines.code, 0, lines.err);
    for (const l of lines.err.split('\n').filter((x) => x !== '')) assert.match(l, STAMP);
    assert.match(lines.out, /^Uninstalled inetsrv-4\.0-sp6 from /);
    const doc = json(await servicepack(['uninstall', '--root', b, '-u', '--json']));
    assert.equal(doc['ok'], true);
    assert.equal(doc['uninstalled'] ?? doc['packId'], 'inetsrv-4.0-sp6');
  });
});

describe('off a terminal, nothing changes without -u/--yes (as apt-get and dnf)', () => {
  test('install PACK </dev/null is refused: exit 2, E_CONFIRMATION_REQUIRED, the tree untouched; --yes installs', async () => {
    const root = await temps.installation('rtm-x86');
    const before = await snapshot(root);
    const plain = await servicepack(['install', sp6, '--root', root, '--accept-eula']);
    assert.equal(plain.code, 2, plain.out + plain.err);
    assert.match(plain.err, /cannot ask for confirmation: pass -u\/--yes to install unattended/);
    const doc = json(await servicepack(['install', sp6, '--root', root, '--accept-eula', '--json']));
    assert.deepEqual([doc['ok'], doc['code'], doc['exitCode']], [false, 'E_CONFIRMATION_REQUIRED', 2]);
    assert.deepEqual(await snapshot(root), before);
    // not even a transaction log was begun
    assert.equal(existsSync(join(root, '.servicepack', 'log')), false);
    const yes = await servicepack(['install', sp6, '--root', root, '--accept-eula', '--yes']);
    assert.equal(yes.code, 0, yes.err);
    assert.match(yes.out, /^Installed inetsrv 4\.0 Service Pack 6/);
  });

  test('uninstall </dev/null is refused the same way; -y removes it', async () => {
    const root = await temps.installation('rtm-x86');
    assert.equal((await servicepack(['install', '--root', root, '-u', '--accept-eula', sp6])).code, 0);
    const before = await snapshot(root);
    const refused = await servicepack(['uninstall', '--root', root]);
    assert.equal(refused.code, 2, refused.out + refused.err);
    assert.match(refused.err, /cannot ask for confirmation: pass -u\/--yes to uninstall unattended/);
    assert.deepEqual(await snapshot(root), before);
    const yes = await servicepack(['uninstall', '--root', root, '-y']);
    assert.equal(yes.code, 0, yes.err);
    assert.match(yes.out, /^Uninstalled inetsrv-4\.0-sp6 /);
  });

  test('on a terminal where the wizard does not run (-q, CI), the same refusal', async () => {
    const a = await temps.installation('rtm-x86');
    const before = await snapshot(a);
    const quiet = await onTerminal(['install', '-q', '--accept-eula', '--root', a, sp6]);
    assert.equal(quiet.code, 2, quiet.out + quiet.err);
    assert.match(quiet.err, /cannot ask for confirmation/);
    const ci = await onTerminal(['install', '--accept-eula', '--root', a, sp6], { CI: 'true' });
    assert.equal(ci.code, 2, ci.out + ci.err);
    assert.match(ci.err, /cannot ask for confirmation/);
    assert.deepEqual(await snapshot(a), before);
  });
});

describe('--dry-run on every command that changes something, listing the files', () => {
  /** the "    verb     path" lines of a dry run's text */
  const listed = (out: string, verb: string) =>
    out
      .split('\n')
      .filter((l) => l.startsWith(`    ${verb} `))
      .map((l) => l.slice(4 + verb.length).trim())
      .sort();

  test('install --dry-run names every file it would replace; nothing changes', async () => {
    const root = await temps.installation('rtm-x86');
    const before = await snapshot(root);
    const r = await servicepack(['install', '--dry-run', '--accept-eula', '--root', root, sp6]);
    assert.equal(r.code, 0, r.err);
    const doc = json(await servicepack(['install', '--dry-run', '--accept-eula', '--root', root, sp6, '--json']));
    const replaced = (doc['changed'] as { replaced: string[] }).replaced;
    assert.ok(replaced.length > 0);
    assert.deepEqual(listed(r.out, 'replace'), [...replaced].sort());
    assert.ok(replaced.includes('lib/server.js'));
    assert.deepEqual(await snapshot(root), before);
  });

  test('uninstall --dry-run (no -u needed) lists the files it would restore, changes nothing, and says what the real one then does', async () => {
    const root = await temps.installation('rtm-x86');
    assert.equal((await servicepack(['install', '--root', root, '-u', '--accept-eula', sp6])).code, 0);
    const before = await snapshot(root);
    const text = await servicepack(['uninstall', '--dry-run', '--root', root]);
    assert.equal(text.code, 0, text.out + text.err);
    assert.match(
      text.out,
      /^Dry run: would uninstall inetsrv-4\.0-sp6 from .*: Service Pack 6 -> RTM\. Nothing was changed\.\n/,
    );
    const dry = json(await servicepack(['uninstall', '--dry-run', '--root', root, '--json']));
    assert.equal(dry['dryRun'], true);
    assert.deepEqual(await snapshot(root), before);
    const real = json(await servicepack(['uninstall', '-u', '--root', root, '--json']));
    assert.equal(real['dryRun'], false);
    const restored = (real['changed'] as { restored: string[] }).restored;
    assert.ok(restored.length > 0);
    assert.deepEqual((dry['changed'] as { restored: string[] }).restored, restored);
    assert.deepEqual(listed(text.out, 'restore'), [...restored].sort());
  });

  test('install --feed --dry-run lists the files under its target line', async () => {
    const root = await temps.installation('rtm-x86');
    const before = await snapshot(root);
    const r = await servicepack(['install', '--dry-run', '--accept-eula', '--root', root, '--feed', distFeed]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /: would install /);
    assert.ok(listed(r.out, 'replace').includes('lib/server.js'), r.out);
    assert.deepEqual(await snapshot(root), before);
  });
});
