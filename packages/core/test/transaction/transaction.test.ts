import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import { detectInstallation } from '../../src/installation/detect.js';
import { ServicepackError } from '../../src/support/errors.js';
import type { ServicepackEvent } from '../../src/support/events.js';
import type { InstallOptions } from '../../src/operations/install/context.js';
import { installPacks } from '../../src/operations/install/install.js';
import type { Manifest } from '../../src/pack/manifest.js';
import { queryInstallation } from '../../src/installation/query.js';
import { isAlive } from '../../src/installation/service.js';
import type { State } from '../../src/installation/state.js';
import type { BackupRecord } from '../../src/transaction/backup-record.js';
import { acquireLock, releaseLock } from '../../src/transaction/transaction.js';
import {
  levelFiles,
  levelSnapshot,
  makeInstallation,
  makePack,
  makeVendor,
  ownedSnapshot,
  readJson,
  servicepackDirSettled,
  snapshot,
  tempDir,
  writeTree,
} from '../install-fixtures.js';

const vendor = makeVendor();
const dirs: string[] = [];
const pids: number[] = [];
after(async () => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function installation(level = 0, opts: { bin?: string } = {}): Promise<string> {
  const root = await makeInstallation(level, vendor, opts);
  dirs.push(root);
  return root;
}

let sp1Cache: string | undefined;
async function sp1(): Promise<string> {
  if (!sp1Cache) {
    const out = await tempDir('sp-packs-');
    dirs.push(out);
    sp1Cache = (await makePack(vendor, { level: 1, fromLevels: [0] }, out)).path;
  }
  return sp1Cache;
}

function opts(root: string, packs: string[], extra: Partial<InstallOptions> = {}): InstallOptions {
  return { root, packs, backup: true, modified: 'stop', restart: 'auto', dryRun: false, ...extra };
}

async function refusedWithoutChange(
  root: string,
  run: () => Promise<unknown>,
  code: string,
): Promise<ServicepackError> {
  const before = await snapshot(root);
  let caught: unknown;
  try {
    await run();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ServicepackError, `expected ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.deepEqual(await snapshot(root), before, 'nothing changed, .servicepack/ included');
  assert.ok(!existsSync(join(root, '.servicepack', 'lock')), 'lock released');
  assert.ok(!existsSync(join(root, '.servicepack', 'staging')), 'staging removed');
  return caught;
}

describe('lock', () => {
  test('exclusive, names the live holder, replaces a dead holder, released', async () => {
    const root = await installation();
    const lock = await acquireLock(root);
    // pid, then the process start time that tells a reused pid from the holder
    assert.equal(
      (await readFile(join(root, '.servicepack', 'lock'), 'utf8')).trim().split(' ')[0],
      String(process.pid),
    );
    await releaseLock(lock);
    assert.ok(!existsSync(lock.path));

    // held by a live process (our parent, the test runner)
    await writeFile(join(root, '.servicepack', 'lock'), `${process.ppid}\n`);
    await assert.rejects(acquireLock(root), (e: unknown) => {
      assert.ok(e instanceof ServicepackError);
      assert.equal(e.code, 'E_BUSY');
      assert.equal(e.exitCode, 5);
      assert.match(e.message, new RegExp(`pid ${process.ppid}`));
      return true;
    });

    // held by a process that is gone: stale, replaced
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    assert.ok(dead && !isAlive(dead));
    await writeFile(join(root, '.servicepack', 'lock'), `${dead}\n`);
    const again = await acquireLock(root);
    assert.equal((await readFile(again.path, 'utf8')).trim().split(' ')[0], String(process.pid));
    await releaseLock(again);

    // garbage is not a holder
    await writeFile(join(root, '.servicepack', 'lock'), 'garbage');
    await releaseLock(await acquireLock(root));
    assert.deepEqual(await servicepackDirSettled(root), ['trust']);
  });

  test('install while another process holds the lock: E_BUSY, nothing changed', async () => {
    const root = await installation();
    await writeFile(join(root, '.servicepack', 'lock'), `${process.ppid}\n`);
    const before = await snapshot(root);
    await assert.rejects(installPacks(opts(root, [await sp1()])), { code: 'E_BUSY', exitCode: 5 });
    assert.deepEqual(await snapshot(root), before);
  });
});

describe('installPacks', () => {
  test('SP1 on RTM: the tree becomes SP1 byte for byte, state and backup recorded', async () => {
    const root = await installation();
    const events: ServicepackEvent[] = [];
    const res = await installPacks(opts(root, [await sp1()], { sink: (e) => events.push(e) }));

    assert.deepEqual(await ownedSnapshot(root), await levelSnapshot(1));
    assert.equal(await readFile(join(root, 'wwwroot', 'index.html'), 'utf8'), '<h1>hello</h1>\n');
    assert.equal(res.before.level, 0);
    assert.equal(res.after.level, 1);
    assert.equal(res.after.levelName, 'Service Pack 1');
    assert.deepEqual(res.changed, {
      added: ['lib/new/c.js'],
      replaced: ['BUILDINFO.json', 'conf/inetsrv.conf', 'lib/a.js'],
      deleted: ['lib/old.js'],
      spnew: [],
      kept: [],
    });
    assert.equal(res.restartRequired, false);
    assert.equal(res.packs[0]?.backup, '.servicepack/backup/inetsrv-4.0-sp1');

    // steps in order, each done or skipped
    const steps = events
      .filter((e) => e.type === 'step' && e.state !== 'started')
      .map((e) => (e.type === 'step' ? `${e.step}:${e.state}` : ''));
    assert.deepEqual(steps, [
      'lock:done',
      'recover:skipped',
      'detect:done',
      'verify:done',
      'plan:done',
      'stage:done',
      'journal:done',
      'stop-service:skipped',
      'commit:done',
      'record:done',
      'restart:skipped',
      'cleanup:done',
    ]);

    const q = await queryInstallation(root);
    assert.equal(q.level, 1);
    assert.equal(q.consistent, true, JSON.stringify(q.problems));
    assert.deepEqual(
      q.history.map((h) => [h.id, h.packId, h.action, h.result, h.fromLevel, h.toLevel, h.backup]),
      [[res.transactionId, 'inetsrv-4.0-sp1', 'install', 'done', 0, 1, 'backup/inetsrv-4.0-sp1']],
    );
    const state = await readJson<State>(join(root, '.servicepack', 'state.json'));
    assert.deepEqual(state.installed, [
      { packId: 'inetsrv-4.0-sp1', kind: 'service-pack', fromLevel: 0, level: 1, backup: 'backup/inetsrv-4.0-sp1' },
    ]);

    // the backup holds exactly the originals, and says what the pack did
    const bdir = join(root, '.servicepack', 'backup', 'inetsrv-4.0-sp1');
    const rtm = levelFiles(0);
    for (const p of ['lib/a.js', 'lib/old.js', 'conf/inetsrv.conf', 'BUILDINFO.json']) {
      assert.equal(await readFile(join(bdir, 'files', p), 'utf8'), rtm[p], p);
    }
    const record = await readJson<BackupRecord>(join(bdir, 'backup.json'));
    assert.equal(record.fromLevel, 0);
    assert.equal(record.toLevel, 1);
    assert.deepEqual(record.createdDirs, ['lib/new']);
    assert.deepEqual(
      record.files.map((f) => [f.path, f.op, f.backup ?? null]),
      [
        ['BUILDINFO.json', 'replace', 'files/BUILDINFO.json'],
        ['conf/inetsrv.conf', 'replace', 'files/conf/inetsrv.conf'],
        ['lib/a.js', 'replace', 'files/lib/a.js'],
        ['lib/new/c.js', 'add', null],
        ['lib/old.js', 'delete', 'files/lib/old.js'],
      ],
    );
    assert.equal(record.previousState, null);
    assert.deepEqual(await servicepackDirSettled(root), ['backup', 'state.json', 'trust']);

    // and again: already installed, nothing changed
    await refusedWithoutChange(root, () => installPacks(opts(root, [sp1Cache!])), 'E_ALREADY_INSTALLED');
  });

  test('a failure at any point of the commit puts everything back exactly', async () => {
    const root = await installation();
    const pack = await sp1();
    // five files, plus the failure right after the last one and just before the record
    const points = [0, 1, 2, 3, 4]
      .map((i) => ({ name: 'commit:file', index: i }))
      .concat([{ name: 'after:commit', index: -1 }]);
    for (const point of points) {
      const e = await refusedWithoutChange(
        root,
        () =>
          installPacks(
            opts(root, [pack], {
              hooks: {
                checkpoint: (name, info) => {
                  if (name === point.name && (point.index < 0 || info.index === point.index))
                    throw new Error(`injected at ${name} ${point.index}`);
                },
              },
            }),
          ),
        'E_FAILED',
      );
      assert.equal(e.exitCode, 1);
      assert.match(e.message, /injected at .*rolled back, nothing changed/);
    }
    assert.equal((await detectInstallation(root)).level, 0);
  });

  test('a failure after the state record is written does not undo the update', async () => {
    const root = await installation();
    const events: ServicepackEvent[] = [];
    const res = await installPacks(
      opts(root, [await sp1()], {
        sink: (e) => events.push(e),
        hooks: {
          checkpoint: (name) => {
            if (name === 'after:record') throw new Error('injected after the record');
          },
        },
      }),
    );
    assert.equal(res.after.level, 1);
    assert.deepEqual(await ownedSnapshot(root), await levelSnapshot(1));
    assert.equal((await queryInstallation(root)).consistent, true);
    assert.ok(events.some((e) => e.type === 'warning' && e.code === 'W_AFTER_COMMIT'));
    assert.ok(!existsSync(join(root, '.servicepack', 'staging')));
    assert.ok(!existsSync(join(root, '.servicepack', 'lock')));
  });

  test('--no-backup keeps no uninstall data', async () => {
    const root = await installation();
    const res = await installPacks(opts(root, [await sp1()], { backup: false }));
    assert.deepEqual(await ownedSnapshot(root), await levelSnapshot(1));
    assert.equal(res.packs[0]?.backup, undefined);
    assert.deepEqual(await servicepackDirSettled(root), ['state.json', 'trust']);
    const state = await readJson<State>(join(root, '.servicepack', 'state.json'));
    assert.equal(state.installed[0]?.backup, undefined);
    assert.equal(state.history[0]?.backup, undefined);
  });

  test('--dry-run plans and changes nothing', async () => {
    const root = await installation();
    const before = await snapshot(root);
    const res = await installPacks(opts(root, [await sp1()], { dryRun: true }));
    assert.equal(res.dryRun, true);
    assert.equal(res.after.level, 1);
    assert.deepEqual(res.changed.deleted, ['lib/old.js']);
    assert.deepEqual(await snapshot(root), before);
  });

  test('locally modified files: stop (default), overwrite into the backup, or keep', async () => {
    const edited = 'export const a = 1; // patched by the admin\n';
    const stop = await installation();
    await writeFile(join(stop, 'lib', 'a.js'), edited);
    const e = await refusedWithoutChange(
      stop,
      async () => installPacks(opts(stop, [await sp1()])),
      'E_LOCALLY_MODIFIED',
    );
    assert.equal(e.exitCode, 3);
    assert.deepEqual(
      (e.details['files'] as { path: string }[]).map((f) => f.path),
      ['lib/a.js'],
    );

    const over = await installation();
    await writeFile(join(over, 'lib', 'a.js'), edited);
    await installPacks(opts(over, [await sp1()], { modified: 'overwrite' }));
    assert.deepEqual(await ownedSnapshot(over), await levelSnapshot(1));
    assert.equal(
      await readFile(join(over, '.servicepack', 'backup', 'inetsrv-4.0-sp1', 'files', 'lib', 'a.js'), 'utf8'),
      edited,
    );

    const keep = await installation();
    await writeFile(join(keep, 'lib', 'a.js'), edited);
    const res = await installPacks(opts(keep, [await sp1()], { modified: 'keep' }));
    assert.deepEqual(res.changed.kept, ['lib/a.js']);
    assert.equal(await readFile(join(keep, 'lib', 'a.js'), 'utf8'), edited);
    const state = await readJson<State>(join(keep, '.servicepack', 'state.json'));
    assert.deepEqual(state.keptModified, ['lib/a.js']);
    assert.equal((await queryInstallation(keep)).consistent, true);
  });

  test('a config file the admin changed stays; the new default lands beside it as .spnew', async () => {
    const root = await installation();
    await writeFile(join(root, 'conf', 'inetsrv.conf'), 'Port 9090\n');
    const res = await installPacks(opts(root, [await sp1()]));
    assert.deepEqual(res.changed.spnew, ['conf/inetsrv.conf.spnew']);
    assert.deepEqual(res.changed.kept, ['conf/inetsrv.conf']);
    assert.equal(await readFile(join(root, 'conf', 'inetsrv.conf'), 'utf8'), 'Port 9090\n');
    assert.equal(await readFile(join(root, 'conf', 'inetsrv.conf.spnew'), 'utf8'), levelFiles(1)['conf/inetsrv.conf']);
    const q = await queryInstallation(root);
    assert.equal(q.level, 1);
    assert.equal(q.consistent, true);
  });

  test('a journal that cannot be read is not guessed at: E_INVALID_STATE (exit 2), nothing changed', async () => {
    const root = await installation();
    await writeFile(join(root, '.servicepack', 'journal.json'), '{}');
    const e = await refusedWithoutChange(root, async () => installPacks(opts(root, [await sp1()])), 'E_INVALID_STATE');
    assert.equal(e.exitCode, 2);
    assert.match(e.message, /cannot be finished or rolled back automatically/);
  });

  test('untrusted signer (exit 4) and wrong arch (exit 3) change nothing', async () => {
    const root = await installation();
    const out = await tempDir('sp-packs-');
    dirs.push(out);
    const stranger = await makePack(makeVendor(), { level: 1, fromLevels: [0] }, out);
    const e = await refusedWithoutChange(root, () => installPacks(opts(root, [stranger.path])), 'E_UNTRUSTED_KEY');
    assert.equal(e.exitCode, 4);
    const alpha = await makePack(vendor, { level: 1, fromLevels: [0], arch: 'alpha' }, out);
    const w = await refusedWithoutChange(root, () => installPacks(opts(root, [alpha.path])), 'E_WRONG_ARCH');
    assert.match(
      w.message,
      /inetsrv-4\.0-sp1-alpha\.tgz is for alpha; this installation is x86: use inetsrv-4\.0-sp1-x86\.tgz/,
    );
  });

  test('a pack whose BUILDINFO.json contradicts its level is refused before any change', async () => {
    const root = await installation();
    const out = await tempDir('sp-packs-');
    dirs.push(out);
    const target = levelFiles(1);
    target['BUILDINFO.json'] =
      `${JSON.stringify({ ...JSON.parse(target['BUILDINFO.json'] as string), level: 2 }, null, 2)}\n`;
    const bad = await makePack(vendor, { level: 1, fromLevels: [0], target }, out);
    await refusedWithoutChange(root, () => installPacks(opts(root, [bad.path])), 'E_INVALID_MANIFEST');
  });

  test('a pack that does not ship BUILDINFO.json: the installer writes the new level into it', async () => {
    const root = await installation();
    const out = await tempDir('sp-packs-');
    dirs.push(out);
    const withoutBuildInfo = (m: Manifest) => {
      m.files = m.files.filter((f) => f.path !== 'BUILDINFO.json');
    };
    const p = await makePack(vendor, { level: 1, fromLevels: [0], edit: withoutBuildInfo }, out);
    await installPacks(opts(root, [p.path]));
    const bi = await readJson<{ level: number; build: string }>(join(root, 'BUILDINFO.json'));
    assert.equal(bi.level, 1);
    const q = await queryInstallation(root);
    assert.equal(q.level, 1);
    assert.equal(q.consistent, true);
    assert.equal(
      await readFile(join(root, '.servicepack', 'backup', 'inetsrv-4.0-sp1', 'files', 'BUILDINFO.json'), 'utf8'),
      levelFiles(0)['BUILDINFO.json'],
    );
  });

  test('two packs in one transaction: SP1 then SP2, one backup each, in order', async () => {
    const root = await installation();
    const out = await tempDir('sp-packs-');
    dirs.push(out);
    const p2 = await makePack(vendor, { level: 2, fromLevels: [1] }, out);
    const res = await installPacks(opts(root, [await sp1(), p2.path]));
    assert.deepEqual(await ownedSnapshot(root), await levelSnapshot(2));
    assert.equal(res.after.levelName, 'Service Pack 2');
    const state = await readJson<State>(join(root, '.servicepack', 'state.json'));
    assert.deepEqual(
      state.installed.map((i) => [i.packId, i.fromLevel, i.level]),
      [
        ['inetsrv-4.0-sp1', 0, 1],
        ['inetsrv-4.0-sp2', 1, 2],
      ],
    );
    // SP2's backup holds b.js as SP1 left it (LIFO uninstall restores that version)
    assert.equal(
      await readFile(join(root, '.servicepack', 'backup', 'inetsrv-4.0-sp2', 'files', 'lib', 'b.js'), 'utf8'),
      levelFiles(1)['lib/b.js'],
    );
    const bi2 = await readJson<BackupRecord>(join(root, '.servicepack', 'backup', 'inetsrv-4.0-sp2', 'backup.json'));
    assert.equal(bi2.fromLevel, 1);
    assert.equal((await queryInstallation(root)).consistent, true);
  });
});

describe('service stop and restart', () => {
  // A stand-in for bin/inetsrv: `start` launches a detached idle process that, like the server,
  // names itself "inetsrv <root>" (what servicepack recognises it by) and then writes its pid
  // file; `start` returns once the file names it.
  const bin = `#!/usr/bin/env node
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const root = path.resolve(__dirname, '..');
const pidFile = path.join(root, 'run', 'inetsrv.pid');
if (process.argv[2] === 'start') {
  if (fs.existsSync(path.join(root, 'run', 'fail-start'))) process.exit(1);
  fs.mkdirSync(path.join(root, 'run'), { recursive: true });
  const idle = "process.title = process.argv[1]; require('node:fs').writeFileSync(process.argv[2], String(process.pid)); setInterval(() => {}, 1000)";
  const child = spawn(process.execPath, ['-e', idle, 'inetsrv ' + root, pidFile], { detached: true, stdio: 'ignore' });
  child.unref();
  const named = () => { try { return fs.readFileSync(pidFile, 'utf8') === String(child.pid); } catch { return false; } };
  for (let i = 0; i < 500 && !named(); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
}
`;

  async function running(): Promise<{ root: string; pack: string; pid: number }> {
    const root = await installation(0, { bin });
    const out = await tempDir('sp-packs-');
    dirs.push(out);
    const pack = (await makePack(vendor, { level: 1, fromLevels: [0], bin }, out)).path;
    const r = spawnSync(join(root, 'bin', 'inetsrv'), ['start', '--detach'], { cwd: root });
    assert.equal(r.status, 0, String(r.stderr));
    const pid = Number((await readFile(join(root, 'run', 'inetsrv.pid'), 'utf8')).trim());
    pids.push(pid);
    assert.ok(isAlive(pid));
    return { root, pack, pid };
  }

  async function gone(pid: number): Promise<boolean> {
    for (let i = 0; i < 100 && isAlive(pid); i++) await delay(20);
    return !isAlive(pid);
  }

  test('a running service is stopped before the commit and started again after it', async () => {
    const { root, pack, pid } = await running();
    const res = await installPacks(opts(root, [pack]));
    assert.ok(await gone(pid), 'old process stopped');
    const newPid = Number((await readFile(join(root, 'run', 'inetsrv.pid'), 'utf8')).trim());
    pids.push(newPid);
    assert.notEqual(newPid, pid);
    assert.ok(isAlive(newPid), 'new process runs');
    assert.deepEqual(res.service, { wasRunning: true, stopped: true, restarted: true });
    assert.equal(res.restartRequired, false);
  });

  test('--no-restart stops the service for the commit, leaves it stopped and says a restart is required', async () => {
    const { root, pack, pid } = await running();
    const res = await installPacks(opts(root, [pack], { restart: 'never' }));
    assert.ok(await gone(pid), 'never replace files under a running server');
    assert.ok(
      !existsSync(join(root, 'run', 'inetsrv.pid')) ||
        !isAlive(Number((await readFile(join(root, 'run', 'inetsrv.pid'), 'utf8')).trim())),
      'not started again',
    );
    assert.deepEqual(res.service, { wasRunning: true, stopped: true, restarted: false });
    assert.equal(res.restartRequired, true);
    assert.match(res.restartMessage ?? '', /not started again \(--no-restart\): start it with bin\/inetsrv start/);
    assert.equal((await queryInstallation(root)).level, 1);
  });

  test('a service that cannot be started again: installed, restart required', async () => {
    const { root, pack, pid } = await running();
    await mkdir(join(root, 'run'), { recursive: true });
    await writeFile(join(root, 'run', 'fail-start'), '');
    const res = await installPacks(opts(root, [pack]));
    assert.ok(await gone(pid));
    assert.equal(res.restartRequired, true);
    assert.match(res.restartMessage ?? '', /could not be started again.*bin\/inetsrv start/);
    assert.equal((await queryInstallation(root)).level, 1);
  });

  test('a stale pid file naming some other process is not signalled', async () => {
    const root = await installation(0, { bin });
    await writeTree(root, { 'run/inetsrv.pid': `${process.ppid}\n` });
    const out = await tempDir('sp-packs-');
    dirs.push(out);
    const pack = (await makePack(vendor, { level: 1, fromLevels: [0], bin }, out)).path;
    const res = await installPacks(opts(root, [pack]));
    assert.equal(res.service.wasRunning, false);
    assert.ok(isAlive(process.ppid));
  });
});
