/**
 * Crash recovery at every checkpoint, in-process and fast: the checkpoint hook copies the whole
 * installation at that instant (the disk as a crash would leave it; the installer is paused in
 * the hook, so nothing moves during the copy), then recovery runs on the copy. The recovered tree
 * must be the old level or the new one exactly as the recovery rule says (rolled back before the
 * commit point, rolled forward after it), with a state record that matches, and recovery itself
 * must survive a crash at each of its own checkpoints. The real SIGKILL matrix on real release
 * trees is test/crash-matrix.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { InstallOptions } from '../../src/operations/install/context.js';
import { installPacks } from '../../src/operations/install/install.js';
import { readJournal } from '../../src/transaction/journal.js';
import { recoverInstallation } from '../../src/operations/recover.js';
import { readState } from '../../src/installation/state-store.js';
import type { TransactionHooks } from '../../src/transaction/transaction.js';
import { uninstallUpdate } from '../../src/operations/uninstall/uninstall.js';
import { verifyInstallation } from '../../src/operations/verify.js';
import {
  levelSnapshot,
  makeInstallation,
  makePack,
  makeVendor,
  ownedSnapshot,
  servicepackDirSettled,
} from '../install-fixtures.js';

// Hundreds of small transactions: on a RAM file system their fsyncs cost nothing (a crash image is
// a copy taken in-process, so durability is not what these tests measure; test/crash-matrix.test.ts
// kills real processes on the real disk).
const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const tempDir = (prefix: string) => mkdtemp(join(base, prefix));

const vendor = makeVendor();
const dirs: string[] = [];
let sp1 = '';
let sp2 = '';
let levels: Record<number, Record<string, string>> = {};

before(async () => {
  const out = await tempDir('sp-rec-packs-');
  dirs.push(out);
  sp1 = (await makePack(vendor, { level: 1, fromLevels: [0] }, out)).path;
  sp2 = (await makePack(vendor, { level: 2, fromLevels: [1] }, out)).path;
  levels = { 0: await levelSnapshot(0), 1: await levelSnapshot(1), 2: await levelSnapshot(2) };
});
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function rtm(): Promise<string> {
  const root = await makeInstallation(0, vendor, { dir: await tempDir('sp-rec-root-') });
  dirs.push(root);
  return root;
}

const opts = (root: string, packs: string[], hooks?: TransactionHooks): InstallOptions => ({
  root,
  packs,
  backup: true,
  modified: 'stop',
  restart: 'auto',
  dryRun: false,
  ...(hooks ? { hooks } : {}),
});

type Hit = [string, number];

/** The checkpoints a run passes, in order, with their hit counts. */
async function recordHits(run: (hooks: TransactionHooks) => Promise<unknown>): Promise<Hit[]> {
  const hits: Hit[] = [];
  const count = new Map<string, number>();
  await run({
    checkpoint: (name) => {
      const n = (count.get(name) ?? 0) + 1;
      count.set(name, n);
      hits.push([name, n]);
    },
  });
  return hits;
}

/**
 * Runs until the n-th hit of `point`, copies the installation there (the crash image), and
 * abandons the run: its hook never returns, so the run never takes another step (like a killed
 * process) and holds nothing but memory.
 */
async function crashImage(
  root: string,
  point: Hit,
  run: (hooks: TransactionHooks) => Promise<unknown>,
): Promise<string> {
  const image = await tempDir('sp-crash-');
  dirs.push(image);
  await rm(image, { recursive: true });
  const count = new Map<string, number>();
  const taken = new Promise<void>((resolve, reject) => {
    run({
      checkpoint: async (name) => {
        const n = (count.get(name) ?? 0) + 1;
        count.set(name, n);
        if (name !== point[0] || n !== point[1]) return;
        await cp(root, image, { recursive: true });
        resolve();
        await new Promise(() => {});
      },
    }).then(() => reject(new Error(`the run never passed ${point.join(' ')}`)), reject);
  });
  await taken;
  return image;
}

/** After recovery: the tree is `want` exactly, the record agrees, nothing of the transaction is left. */
async function assertWhole(root: string, want: number, label: string): Promise<void> {
  assert.deepEqual(await ownedSnapshot(root), levels[want], `${label}: tree is level ${want}`);
  assert.equal(await readJournal(root), undefined, `${label}: journal closed`);
  assert.ok(!existsSync(join(root, '.servicepack', 'staging')), `${label}: staging removed`);
  assert.ok(!existsSync(join(root, '.servicepack', 'lock')), `${label}: lock released`);
  // verify compares the files with the state record, and the record with BUILDINFO.json
  const v = await verifyInstallation(root);
  assert.equal(v.level, want, `${label}: recorded level`);
  assert.equal(v.clean, true, `${label}: verify ${JSON.stringify(v.problems)}`);
}

/** Which side of the commit point a checkpoint is on: the recovery rule in one function. */
function expectNew(hits: Hit[], point: Hit): boolean {
  const at = hits.findIndex(([n, c]) => n === point[0] && c === point[1]);
  const commit = hits.findIndex(([n]) => n === 'record:committed');
  return at >= commit;
}

/** A second copy of a crash image (cheaper than running to the crash again). */
async function copyOf(image: string): Promise<string> {
  const copy = await tempDir('sp-crash-copy-');
  await rm(copy, { recursive: true });
  dirs.push(copy);
  await cp(image, copy, { recursive: true });
  return copy;
}

/**
 * Every checkpoint of `run`: crash there, recover, check. At `deep` points (one rolled back, one
 * rolled forward, one forward with staging already gone) recovery is crashed too, at each of its
 * own checkpoints, and recovered again.
 */
async function crashMatrix(
  name: string,
  setup: () => Promise<string>,
  run: (root: string, hooks: TransactionHooks) => Promise<unknown>,
  from: number,
  to: number,
  deep: Hit[] = [],
): Promise<{ points: number; recoveryPoints: number }> {
  const probe = await setup();
  const hits = await recordHits((h) => run(probe, h));
  assert.ok(hits.length >= 15, `${name}: ${hits.length} checkpoints`);
  let recoveryPoints = 0;
  for (const point of hits) {
    const root = await setup();
    const image = await crashImage(root, point, (h) => run(root, h));
    const label = `${name} crashed at ${point.join(' ')}`;
    const journal = await readJournal(image);
    const isDeep = deep.some(([n, c]) => n === point[0] && c === point[1]);
    const spare = isDeep ? await copyOf(image) : undefined;
    const res = await recoverInstallation({ root: image });
    assert.equal(res.outcome !== undefined, journal !== undefined, label);
    assert.equal(
      res.outcome?.direction,
      journal ? (expectNew(hits, point) ? 'rolled-forward' : 'rolled-back') : undefined,
      label,
    );
    await assertWhole(image, expectNew(hits, point) ? to : from, label);
    if (journal) {
      // a rollback on a tree that had no record creates one, so the recovery is on file
      assert.equal((await verifyInstallation(image)).stateRecord, true, label);
      const history = (await readState(image))!.history;
      assert.equal(
        history.filter((h) => h.id === journal.id && h.action === 'recover').length,
        journal.packs.length,
        `${label}: one recovery entry per pack`,
      );
    }
    if (spare) {
      const probeCopy = await copyOf(spare);
      const recHits = (await recordHits((h) => recoverInstallation({ root: probeCopy, hooks: h }))).filter(([n]) =>
        n.startsWith('recover:'),
      );
      assert.ok(recHits.length > 0, `${label}: recovery has checkpoints`);
      for (const rp of recHits) {
        const img = await copyOf(spare);
        const img2 = await crashImage(img, rp, (h) => recoverInstallation({ root: img, hooks: h }));
        await recoverInstallation({ root: img2 });
        await assertWhole(img2, expectNew(hits, point) ? to : from, `${label}, recovery crashed at ${rp.join(' ')}`);
        recoveryPoints++;
      }
    }
  }
  return { points: hits.length, recoveryPoints };
}

const DEEP: Hit[] = [
  ['commit:backed-up', 3],
  ['record:committed', 1],
  ['cleanup:staging', 1],
];

describe('recovery after a crash at every checkpoint', () => {
  test('install SP1 on RTM', async (t) => {
    const n = await crashMatrix('install', rtm, (root, hooks) => installPacks(opts(root, [sp1], hooks)), 0, 1, DEEP);
    t.diagnostic(`${n.points} crash points, and ${n.recoveryPoints} crashes inside recovery`);
  });

  test('SP1 and SP2 in one transaction (a chained install)', async (t) => {
    const n = await crashMatrix(
      'chained install',
      rtm,
      (root, hooks) => installPacks(opts(root, [sp1, sp2], hooks)),
      0,
      2,
    );
    t.diagnostic(`${n.points} crash points`);
  });

  test('uninstall SP2 (installed on SP1)', async (t) => {
    const setup = async () => {
      const root = await rtm();
      await installPacks(opts(root, [sp1]));
      await installPacks(opts(root, [sp2]));
      return root;
    };
    const n = await crashMatrix(
      'uninstall',
      setup,
      (root, hooks) => uninstallUpdate({ root, restart: 'auto', hooks }),
      2,
      1,
      [
        ['commit:file', 2],
        ['record:committed', 1],
      ],
    );
    t.diagnostic(`${n.points} crash points, and ${n.recoveryPoints} crashes inside recovery`);
  });

  test('a rolled-forward install keeps a working backup: uninstall gives back RTM', async () => {
    const root = await rtm();
    const image = await crashImage(root, ['record:committed', 1], (h) => installPacks(opts(root, [sp1], h)));
    await recoverInstallation({ root: image });
    await assertWhole(image, 1, 'rolled forward');
    await uninstallUpdate({ root: image, restart: 'auto' });
    await assertWhole(image, 0, 'then uninstalled');
  });

  test('install and uninstall recover first on their own, and record it', async () => {
    const root = await rtm();
    const image = await crashImage(root, ['commit:backed-up', 2], (h) => installPacks(opts(root, [sp1], h)));
    const res = await installPacks(opts(image, [sp1]));
    assert.equal(res.after.level, 1);
    await assertWhole(image, 1, 'recovered, then installed');
    const actions = (await readState(image))!.history.map((h) => `${h.action}:${h.result}`);
    assert.deepEqual(actions, ['recover:rolled-back', 'install:done']);
  });

  test('a run that died before its journal leaves only leftovers, which the next run removes', async () => {
    const root = await rtm();
    const image = await crashImage(root, ['journal:prepared', 1], (h) => installPacks(opts(root, [sp1], h)));
    assert.ok(existsSync(join(image, '.servicepack', 'staging')));
    assert.equal(await readJournal(image), undefined);
    const res = await recoverInstallation({ root: image });
    assert.equal(res.outcome, undefined);
    assert.ok(
      res.cleaned.some((c) => c.startsWith('.servicepack/staging/')),
      JSON.stringify(res.cleaned),
    );
    assert.deepEqual(await servicepackDirSettled(image), ['trust']);
    assert.deepEqual(await ownedSnapshot(image), levels[0]);
  });

  test('query and verify refuse while a journal is open: exit 6, or 5 while its process runs', async () => {
    const root = await rtm();
    const image = await crashImage(root, ['commit:file', 2], (h) => installPacks(opts(root, [sp1], h)));
    const { queryInstallation } = await import('../../src/installation/query.js');
    await assert.rejects(queryInstallation(image), {
      code: 'E_NEEDS_RECOVER',
      exitCode: 6,
      message: /run servicepack recover --root/,
    });
    await assert.rejects(verifyInstallation(image), { code: 'E_NEEDS_RECOVER', exitCode: 6 });
    await writeFile(join(image, '.servicepack', 'lock'), `${process.ppid}\n`);
    await assert.rejects(queryInstallation(image), {
      code: 'E_BUSY',
      exitCode: 5,
      message: new RegExp(`pid ${process.ppid}`),
    });
  });
});
