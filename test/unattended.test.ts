/**
 * Unattended installs with the real executable against copies of the built release trees: answer
 * files, the exit codes of docs/cli.md §5 on every unattended path, the logs, and output without a
 * terminal (no ANSI, stdin closed). The feed over HTTP has its own file (feed-nginx.test.ts).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { run as runCli } from '../installer/src/cli.js';
import { captureIo } from '../installer/test/capture-io.js';
import { startTree } from './support/inetsrv.js';
import {
  buildInfoOf,
  distFeed,
  distPacks,
  json,
  readJsonLines,
  requireBuild,
  servicepack,
  snapshot,
  Temps,
} from './support/unattended.js';

const sp6 = (arch: 'x86' | 'alpha' = 'x86') => join(distPacks, `inetsrv-4.0-sp6-${arch}.tgz`);
const ANSI = /\x1b/;

/** The command line in this process (no node start-up): for the checks that need no real process. */
async function inProcess(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const { io, output } = captureIo({ PATH: process.env['PATH'] ?? '', ...env });
  const code = await runCli(['node', 'servicepack', ...args], io);
  return { code, ...output() };
}

function noAnsi(run: { out: string; err: string }): void {
  assert.doesNotMatch(run.out, ANSI, 'stdout has escape codes');
  assert.doesNotMatch(run.err, ANSI, 'stderr has escape codes');
}

describe('unattended installs (answer files, exit codes, logs)', () => {
  const temps = new Temps();
  let work: string;
  before(async () => {
    requireBuild();
    work = await temps.dir('sp-answers-');
  });
  after(() => temps.cleanup());

  async function answerFile(name: string, text: string): Promise<string> {
    const file = join(work, name);
    await writeFile(file, text);
    return file;
  }

  test('exit 0, then 3: plain timestamped lines without a terminal, a log per transaction and the shared log', async (t) => {
    const root = await temps.installation('rtm-x86');
    const file = await answerFile(
      'site.yaml',
      `targets:\n  - root: ${root}\npacks:\n  - ${sp6()}\nacceptEula: true\nlog: logs/site.jsonl\n`,
    );
    const first = await servicepack(['install', '--answer-file', file]);
    t.diagnostic(`install: ${first.ms} ms`);
    assert.equal(first.code, 0, first.err);
    noAnsi(first);
    assert.equal(first.out, `${root}: installed inetsrv-4.0-sp6 (exit 0): RTM -> Service Pack 6\n`);
    const lines = first.err.trimEnd().split('\n');
    assert.ok(
      lines.every((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /.test(l)),
      first.err,
    );
    assert.ok(lines.some((l) => l.endsWith(`${root}: ok   commit the files`)));
    assert.equal((await buildInfoOf(root)).level, 6);

    const again = await servicepack(['install', '--answer-file', file]);
    assert.equal(again.code, 3, again.err);
    assert.match(again.out, /not applicable \(exit 3, E_ALREADY_INSTALLED\)/);

    // every transaction that changes the tree: .servicepack/log/<txid>.jsonl, one line per event,
    // the result last; the refused second run left no trace in the tree
    const logDir = join(root, '.servicepack', 'log');
    const own = (await readdir(logDir)).sort();
    assert.equal(own.length, 1);
    const firstLog = await readJsonLines(join(logDir, own[0]!));
    assert.equal(firstLog[0]!['event'], 'begin');
    assert.equal(firstLog[0]!['answerFile'], file);
    const result = firstLog[firstLog.length - 1]!;
    assert.deepEqual([result['event'], result['exitCode'], result['ok']], ['result', 0, true]);
    assert.ok(
      firstLog.every(
        (l) =>
          l['target'] === root &&
          typeof l['time'] === 'string' &&
          l['transactionId'] === own[0]!.replace(/\.jsonl$/, ''),
      ),
    );
    assert.ok(firstLog.some((l) => l['event'] === 'step' && l['step'] === 'commit' && l['state'] === 'done'));
    // the answer file's log: both runs appended, enough to tell what happened afterwards
    const shared = await readJsonLines(join(work, 'logs', 'site.jsonl'));
    const results = shared.filter((l) => l['event'] === 'result');
    assert.deepEqual(
      results.map((r) => [r['exitCode'], r['code'] ?? null]),
      [
        [0, null],
        [3, 'E_ALREADY_INSTALLED'],
      ],
    );
    assert.deepEqual(shared.slice(0, firstLog.length), firstLog);
    assert.ok(
      shared
        .slice(firstLog.length)
        .every((l) => l['target'] === root && l['transactionId'] !== firstLog[0]!['transactionId']),
    );
  });

  test('several targets: each its own transaction and result; --json has them all; the exit code is the rule of docs/fleet.md', async () => {
    const a = await temps.installation('rtm-x86');
    const b = await temps.installation('sp6-x86');
    const file = await answerFile(
      'two.yaml',
      `targets:\n  - root: ${a}\n  - root: ${b}\npacks: [${sp6()}]\nacceptEula: true\n`,
    );
    const run = await servicepack(['install', '--answer-file', file, '--json']);
    assert.equal(run.code, 0, run.err);
    noAnsi(run);
    const doc = json(run);
    const targets = doc['targets'] as {
      root: string;
      exitCode: number;
      ok: boolean;
      transactionId: string;
      logs: string[];
    }[];
    assert.deepEqual(
      targets.map((x) => [x.root, x.exitCode, x.ok]),
      [
        [a, 0, true],
        [b, 3, false],
      ],
    );
    assert.equal(doc['exitCode'], 0, 'an already-current target does not fail the run');
    assert.equal(doc['answerFile'], file);
    assert.notEqual(targets[0]!.transactionId, targets[1]!.transactionId);
    assert.equal(targets[0]!.logs.length, 1);
    assert.ok(existsSync(targets[0]!.logs[0]!));
    assert.deepEqual(targets[1]!.logs, [], 'a refused target leaves no trace in its tree');
  });

  test('exit 7: a target root that does not exist, is a file or holds no installation fails the run (was 3, and the run 0); the error names the answer file line', async () => {
    const a = await temps.installation('rtm-x86');
    const empty = await temps.dir('sp-empty-');
    const aFile = join(work, 'a-file');
    await writeFile(aFile, 'not a folder\n');
    const file = await answerFile(
      'missing-root.yaml',
      `targets:\n  - root: ${a}\n  - root: ${join(work, 'no-such-root')}\n  - root: ${aFile}\n  - root: ${empty}\npacks: [${sp6()}]\nacceptEula: true\n`,
    );
    const run = await inProcess(['install', '--answer-file', file, '--json']);
    assert.equal(run.code, 7, run.err);
    const doc = JSON.parse(run.out) as Record<string, unknown>;
    assert.equal(doc['exitCode'], 7);
    const targets = doc['targets'] as { exitCode: number; error?: { code: string; message: string } }[];
    assert.deepEqual(
      targets.map((x) => [x.exitCode, x.error?.code]),
      [
        [0, undefined],
        [7, 'E_ROOT_MISSING'],
        [7, 'E_ROOT_NOT_FOLDER'],
        [7, 'E_NOT_INSTALLED'],
      ],
    );
    for (const [i, x] of targets.slice(1).entries()) {
      const line = i + 3;
      assert.match(x.error!.message, new RegExp(`missing-root\\.yaml:${line}: targets\\[${i + 1}\\]\\.root\\)`));
      assert.match(x.error!.message, /correct the root in the answer file, or remove the target$/);
      assert.doesNotMatch(x.error!.message, /pass --root|SERVICEPACK_ROOT/);
    }
    assert.equal((await buildInfoOf(a)).level, 6, 'the good target is installed all the same');
    assert.ok(!existsSync(join(empty, '.servicepack')), 'nothing created in a folder that is not an installation');
    const plain = await inProcess(['install', '--answer-file', file]);
    assert.equal(plain.code, 7, plain.err);
    assert.match(plain.out, /no-such-root: failed \(exit 7, E_ROOT_MISSING\)/);
  });

  test('exit 2: a typo, a wrong type, a missing pack, a EULA not accepted; each names the file, the line and the key; nothing installed', async () => {
    const root = await temps.installation('rtm-x86');
    const before = await snapshot(root);
    const cases: [string, string, RegExp][] = [
      [
        'typo.yaml',
        `targets:\n  - root: ${root}\npacks: [${sp6()}]\nacceptEula: true\nbakup: false\n`,
        /typo\.yaml:5:1: bakup: unknown key; did you mean backup\?/,
      ],
      [
        'type.yaml',
        `targets:\n  - root: ${root}\npacks: [${sp6()}]\nacceptEula: "yes"\n`,
        /type\.yaml:4:13: acceptEula: expected boolean, received string/,
      ],
      [
        'missing.yaml',
        `targets:\n  - root: ${root}\npacks:\n  - ${sp6()}\n  - nowhere/sp7.tgz\nacceptEula: true\n`,
        /missing\.yaml:5:5: packs\[1\]: no such pack file: .*nowhere\/sp7\.tgz/,
      ],
      [
        'eula.yaml',
        `targets:\n  - root: ${root}\npacks: [${sp6()}]\n`,
        /eula\.yaml:1:1: acceptEula: inetsrv-4\.0-sp6-x86\.tgz carries a license agreement \(EULA\.txt\)/,
      ],
      [
        'unsigned.yaml',
        `targets:\n  - root: ${root}\npacks: [${sp6()}]\nacceptEula: true\nallowUnsigned: true\n`,
        /unsigned\.yaml:5:1: allowUnsigned: --allow-unsigned is accepted only on the command line/,
      ],
    ];
    for (const [name, text, want] of cases) {
      const file = await answerFile(name, text);
      const run = await inProcess(['install', '--answer-file', file]);
      assert.equal(run.code, 2, `${name}: ${run.err}`);
      noAnsi(run);
      assert.match(run.err, want, name);
      assert.match(run.err, new RegExp(`${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: `), `${name} names the file`);
    }
    const asJson = await inProcess(['install', '--answer-file', join(work, 'typo.yaml'), '--json']);
    assert.equal(asJson.code, 2);
    const doc = json(asJson);
    assert.equal(doc['code'], 'E_INVALID_ANSWER_FILE');
    assert.deepEqual(
      (doc['details'] as { issues: { line: number; key: string }[] }).issues.map((i) => [i.line, i.key]),
      [[5, 'bakup']],
    );
    const clash = await inProcess(['install', '--answer-file', join(work, 'typo.yaml'), '--root', root]);
    assert.equal(clash.code, 2);
    assert.match(clash.err, /--root cannot be combined with --answer-file/);
    assert.deepEqual(await snapshot(root), before);
  });

  test('exit 1: a failure during the commit (injected EIO) is rolled back; nothing changed', async () => {
    const root = await temps.installation('rtm-x86');
    const before = await snapshot(root);
    const file = await answerFile('fail.yaml', `targets: [{root: ${root}}]\npacks: [${sp6()}]\nacceptEula: true\n`);
    const run = await servicepack(['install', '--answer-file', file, '--json'], {
      SERVICEPACK_FAULT: 'commit:file:2=EIO',
    });
    assert.equal(run.code, 1, run.err);
    const target = (json(run)['targets'] as { exitCode: number; error: { code: string; message: string } }[])[0]!;
    assert.equal(target.exitCode, 1);
    assert.match(target.error.message, /rolled back, nothing changed/);
    assert.deepEqual(await snapshot(root), before);
  });

  test('exit 4: a damaged pack file is refused before anything changes', async () => {
    const root = await temps.installation('rtm-x86');
    const before = await snapshot(root);
    const bad = join(work, 'inetsrv-4.0-sp6-x86.tgz');
    const bytes = await readFile(sp6());
    bytes[bytes.length - 40] = (bytes[bytes.length - 40]! + 1) % 256;
    await writeFile(bad, bytes);
    const file = await answerFile('damaged.yaml', `targets: [{root: ${root}}]\npacks: [${bad}]\nacceptEula: true\n`);
    const run = await inProcess(['install', '--answer-file', file]);
    assert.equal(run.code, 4, run.err);
    assert.deepEqual(await snapshot(root), before);
  });

  test('exit 5: another live process holds the lock', async () => {
    const root = await temps.installation('rtm-x86');
    // the test runner that started this file: alive, and not this process
    await writeFile(join(root, '.servicepack', 'lock'), `${process.ppid}\n`);
    const before = await snapshot(root);
    const file = await answerFile('busy.yaml', `targets: [{root: ${root}}]\npacks: [${sp6()}]\nacceptEula: true\n`);
    const run = await inProcess(['install', '--answer-file', file]);
    assert.equal(run.code, 5, run.err);
    assert.match(run.err, new RegExp(`pid ${process.ppid}`));
    assert.deepEqual(await snapshot(root), before);
  });

  test('wait: SECONDS in the answer file waits for a lock released after ~1 s, then installs; --wait beside it and a bad value are exit 2', async () => {
    const root = await temps.installation('rtm-x86');
    const lock = join(root, '.servicepack', 'lock');
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const fs=require('node:fs');fs.mkdirSync(${JSON.stringify(join(root, '.servicepack'))},{recursive:true});fs.writeFileSync(${JSON.stringify(lock)},process.pid+'\\n');console.log('held');setTimeout(()=>{fs.unlinkSync(${JSON.stringify(lock)});setTimeout(()=>{},500)},1000)`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((ok) => child.stdout.once('data', () => ok()));
      const file = await answerFile(
        'wait.yaml',
        `targets: [{root: ${root}}]\npacks: [${sp6()}]\nacceptEula: true\nwait: 60\n`,
      );
      const clash = await inProcess(['install', '--answer-file', file, '--wait', '5']);
      assert.equal(clash.code, 2, clash.err);
      assert.match(clash.err, /--wait cannot be combined with --answer-file/);
      const t0 = Date.now();
      const run = await inProcess(['install', '--answer-file', file]);
      assert.equal(run.code, 0, run.err);
      assert.match(run.err, new RegExp(`waiting for the lock held by pid ${child.pid} on .* \\(up to 60 s\\)`));
      assert.ok(Date.now() - t0 < 30_000);
      assert.equal((await buildInfoOf(root)).level, 6);
    } finally {
      child.kill();
    }
    const bad = await answerFile('wait-bad.yaml', `targets: [{root: ${root}}]\npacks: [${sp6()}]\nwait: -1\n`);
    const r = await inProcess(['install', '--answer-file', bad]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /wait-bad\.yaml:3:7: wait: /);
  });

  test('the real packs carry a license: install -u and install --feed without --accept-eula are exit 2 (E_EULA_NOT_ACCEPTED), nothing installed; with it, installed', async () => {
    const root = await temps.installation('rtm-x86');
    const before = await snapshot(root);
    const product = (snap: Record<string, string>) =>
      Object.fromEntries(Object.entries(snap).filter(([p]) => !p.startsWith('.servicepack/')));
    for (const args of [
      ['install', '--root', root, '-u', '--json', sp6()],
      ['install', '--feed', distFeed, '--root', root, '-u', '--json', 'latest'],
    ]) {
      const refused = await servicepack(args);
      assert.equal(refused.code, 2, refused.err);
      assert.match(refused.out, /"code": "E_EULA_NOT_ACCEPTED"/);
      assert.match(refused.out, /carries a license agreement \(EULA\.txt\)/);
      assert.deepEqual(product(await snapshot(root)), product(before));
    }
    const ok = await servicepack(['install', '--feed', distFeed, '--root', root, '-u', '--accept-eula', 'latest']);
    assert.equal(ok.code, 0, ok.err);
    // latest: the newest service pack on the feed, SP6a (level 7)
    assert.equal((await buildInfoOf(root)).level, 7);
  });

  test('exit 6: an interrupted transaction (killed after the journal) is reported by check; the next unattended install settles it first', async () => {
    const root = await temps.installation('rtm-x86');
    const killed = await servicepack(['install', '--accept-eula', '--root', root, '-u', sp6()], {
      SERVICEPACK_FAULT: 'after:journal',
    });
    assert.equal(killed.signal, 'SIGKILL', `the fault kills the installer: ${killed.err}`);
    assert.ok(existsSync(join(root, '.servicepack', 'journal.json')));
    const check = await servicepack(['check', '--feed', distFeed, '--root', root, '--json']);
    assert.equal(check.code, 6, check.err);
    assert.match(String(json(check)['message']), /servicepack recover/);
    const file = await answerFile(
      'after-crash.yaml',
      `targets: [{root: ${root}}]\nfeed: ${distFeed}\nlatest: true\nacceptEula: true\n`,
    );
    const run = await servicepack(['install', '--answer-file', file]);
    assert.equal(run.code, 0, run.err);
    assert.match(run.err, /rolling back the interrupted install/);
    assert.equal((await buildInfoOf(root)).level, 7, 'latest: SP6a');
  });

  test('exit 6 from install itself: the commit fails and so does its rollback; recover brings the tree back, then the install goes through', async () => {
    const root = await temps.installation('rtm-x86');
    const before = await snapshot(root);
    const failed = await servicepack(['install', '--accept-eula', '--root', root, '-u', '--json', sp6()], {
      SERVICEPACK_FAULT: 'commit:file:2=EIO,rollback:step:1=EIO',
    });
    assert.equal(failed.code, 6, failed.err);
    const doc = json(failed);
    assert.equal(doc['code'], 'E_NEEDS_RECOVER');
    assert.match(String(doc['message']), /servicepack recover --root/);
    assert.ok(existsSync(join(root, '.servicepack', 'journal.json')), 'the journal is kept for recover');
    const query = await servicepack(['query', '--root', root]);
    assert.equal(query.code, 6, query.err);
    const recovered = await servicepack(['recover', '--root', root]);
    assert.equal(recovered.code, 0, recovered.err);
    const after = await snapshot(root);
    // recover records what it did in the state record and leaves its log; the product is as it was
    for (const p of Object.keys(after)) if (p.startsWith('.servicepack/')) delete after[p];
    for (const p of Object.keys(before)) if (p.startsWith('.servicepack/')) delete before[p];
    assert.deepEqual(after, before);
    const again = await servicepack(['install', '--accept-eula', '--root', root, '-u', sp6()]);
    assert.equal(again.code, 0, again.err);
    assert.equal((await buildInfoOf(root)).level, 6);
  });

  test('exit 10: restart: never while the service runs; the result says a restart is required', async () => {
    const root = await temps.installation('rtm-x86');
    const server = await startTree(root, { useTreePaths: true });
    try {
      const file = await answerFile(
        'norestart.yaml',
        `targets: [{root: ${root}}]\npacks: [${sp6()}]\nacceptEula: true\nrestart: never\n`,
      );
      const run = await servicepack(['install', '--answer-file', file, '--json']);
      assert.equal(run.code, 10, run.err);
      const doc = json(run);
      assert.equal(doc['exitCode'], 10);
      const target = (
        doc['targets'] as { exitCode: number; result: { restartRequired: boolean; restartMessage: string } }[]
      )[0]!;
      assert.equal(target.exitCode, 10);
      assert.equal(target.result.restartRequired, true);
    } finally {
      await server.dispose();
    }
  });

  test('-u on a terminal draws the listr2 task list (script(1) provides the pty)', async (t) => {
    if (!existsSync('/usr/bin/script')) {
      t.skip(
        'script(1) from util-linux is not installed: the terminal front end is covered by installer/test/unattended.test.ts',
      );
      return;
    }
    const root = await temps.installation('rtm-x86');
    const command = `stty cols 120 rows 40; exec ${process.execPath} ${join(process.cwd(), 'installer', 'bin', 'servicepack')} install --root ${root} -u --accept-eula ${sp6()}`;
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('script', ['-qec', command, '/dev/null'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: process.env['PATH'] ?? '', TERM: 'xterm' },
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
    assert.equal(r.code, 0, r.out);
    const plain = r.out.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    for (const title of [
      'Check the installation',
      'Verify the packs',
      'Stage the payload',
      'Commit the files',
      'Record the new state',
    ])
      assert.match(plain, new RegExp(`✔ ${title}`));
    // the same result block as off a terminal (test/output-contract.test.ts)
    assert.match(plain, /Installed inetsrv 4\.0 Service Pack 6 \(inetsrv-4\.0-sp6\) in .*: RTM -> Service Pack 6/);
  });
});
