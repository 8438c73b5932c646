/**
 * Power cuts that DROP UNSYNCED DATA (issue 13, items 12–14). A SIGKILL (crash-matrix, recover
 * tests) leaves the page cache intact; a power cut keeps only what was flushed. The run is recorded
 * operation by operation (power-cut-model.ts: entries created, renamed and removed, fsyncs of files
 * and folders, syncfs); for every cut point the state the disk would be left in is computed — a
 * folder's new entries lost unless it was flushed since, a file's bytes lost unless fsynced, syncfs
 * worthless on FUSE — written out, and recovered. Recovery must end at the old or the new tree
 * byte for byte with a clean verify (exit 0). Where a cleaner of temporary files has also deleted
 * the staged files, recovery may instead stop with exit 6, keeping the journal and destroying
 * nothing (every file's content still somewhere in the installation).
 *
 * Each file system is modelled twice per cut: every entry not flushed is lost (the per-folder worst
 * case), and every entry kept while unflushed data is lost (a journal committed by someone else:
 * the zero-length-file-after-rename case).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileSystemProbe, forgetFileSystems } from '../../src/transaction/durable.js';
import { isServicepackError } from '../../src/support/errors.js';
import { hashTree } from '../../src/support/hash.js';
import type { InstallOptions } from '../../src/operations/install/context.js';
import { installPacks } from '../../src/operations/install/install.js';
import { at, readJournal } from '../../src/transaction/journal.js';
import { recoverInstallation } from '../../src/operations/recover.js';
import { uninstallUpdate } from '../../src/operations/uninstall/uninstall.js';
import { verifyInstallation } from '../../src/operations/verify.js';
import {
  levelFiles,
  makeInstallation,
  makePack,
  makeVendor,
  ownedSnapshot,
  type TreeSpec,
} from '../install-fixtures.js';
import { type CrashState, diskTree, materialise, PowerCutModel, record } from '../power-cut-model.js';

const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const tempDir = (prefix: string) => mkdtemp(join(base, prefix));
const EXT4 = 0xef53;
const FUSE = 0x65735546;
/** deleted by a detached rm -rf the model does not see (garbage.ts); nothing reads it */
const NOT_MODELLED = ['.servicepack/garbage'];

const vendor = makeVendor();
const dirs: string[] = [];
let big = '';
let sp1 = '';
let sp2 = '';
const realProbe = fileSystemProbe.type;

/** SP1 and 24 new files in new nested folders: more than durable.ts's FEW, so syncfs is used where trusted. */
function bigTarget(): TreeSpec {
  const t = levelFiles(1);
  for (let i = 0; i < 24; i++) t[`lib/ext/m${i % 3}/deep/f${i}.js`] = `export const f${i} = ${i};\n`;
  return t;
}

before(async () => {
  const out = await tempDir('sp-cut-packs-');
  dirs.push(out);
  // its own folder: makePack names the file after the pack id, which it shares with sp1
  const bigOut = await tempDir('sp-cut-big-');
  dirs.push(bigOut);
  big = (await makePack(vendor, { level: 1, fromLevels: [0], target: bigTarget() }, bigOut)).path;
  sp1 = (await makePack(vendor, { level: 1, fromLevels: [0] }, out)).path;
  sp2 = (await makePack(vendor, { level: 2, fromLevels: [1] }, out)).path;
});
after(async () => {
  fileSystemProbe.type = realProbe;
  forgetFileSystems();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const install = (root: string, packs: string[]): InstallOptions => ({
  root,
  packs,
  backup: true,
  modified: 'stop',
  restart: 'auto',
  dryRun: false,
});

async function rtm(): Promise<string> {
  const root = await makeInstallation(0, vendor, { dir: await tempDir('sp-cut-root-') });
  dirs.push(root);
  return root;
}

interface Scenario {
  name: string;
  fsType: number;
  setup: () => Promise<string>;
  run: (root: string) => Promise<unknown>;
  /** packs the run installs: once the new tree is reached, uninstalling them must give the old one back (the backup survived too) */
  installs?: number;
}

interface Outcome {
  points: number;
  states: number;
  exit6: number;
  ops: Record<string, number>;
}

async function exitOf(p: Promise<unknown>): Promise<{ code: number; message?: string }> {
  try {
    await p;
    return { code: 0 };
  } catch (e) {
    return { code: isServicepackError(e) ? e.exitCode : 1, message: (e as Error).message };
  }
}

/**
 * The contents of the installation's files (sha256), staging and backups included: what "destroys
 * nothing" is about. Not the records directly in .servicepack/ (lock, journal, state record,
 * temporary files), which recovery replaces by design.
 */
async function contents(root: string): Promise<Set<string>> {
  return new Set(
    [...(await hashTree(root))].filter(([p]) => !/^\.servicepack\/[^/]+$/.test(p)).map(([, e]) => e.sha256),
  );
}

/** A cleaner of temporary files deletes every staged file of an open journal that is still in staging. */
async function deleteStagedFiles(dir: string): Promise<boolean> {
  const j = await readJournal(dir);
  if (j?.phase !== 'committing') return false;
  let any = false;
  for (const o of j.ops) {
    if (o.source === undefined || !o.source.startsWith(`${j.staging}/`) || !existsSync(at(dir, o.source))) continue;
    await rm(at(dir, o.source));
    any = true;
  }
  return any;
}

/**
 * Records `s`, then recovers every distinct state a power cut could leave. `cleaner`: each with the
 * staged files deleted too (where a journal is open), and exit 6 allowed when it destroys nothing.
 */
async function powerCuts(s: Scenario, cleaner = false): Promise<Outcome> {
  forgetFileSystems();
  fileSystemProbe.type = async () => s.fsType;
  const root = await s.setup();
  const oldTree = await ownedSnapshot(root);
  // what verify says before (a file changed here on purpose): the old tree must say the same again
  const oldProblems = (await verifyInstallation(root)).problems.map((p) => `${p.kind} ${p.path}`);
  // the model's own fact, not the engine's verdict (durable.ts): FUSE's syncfs flushes nothing
  const model = new PowerCutModel(root, s.fsType !== FUSE);
  const stop = await record(model);
  try {
    await s.run(root);
  } finally {
    stop();
  }
  const newTree = await ownedSnapshot(root);
  assert.notDeepEqual(newTree, oldTree, `${s.name}: the run changed nothing`);
  assert.deepEqual(
    model.liveTree(NOT_MODELLED),
    diskTree(root, NOT_MODELLED),
    `${s.name}: the model missed an operation`,
  );
  const ops: Record<string, number> = {};
  for (const o of model.ops) ops[o.kind] = (ops[o.kind] ?? 0) + 1;
  // The two rules behind it all, checked directly: when journal.json appears, everything it names
  // is on disk; when it says committed, everything the commit did is on disk (a lost entry is named).
  const journalAt = model.ops.findIndex((o) => / -> \.servicepack\/journal\.json$/.test(o.what));
  const committedAt = model.ops.findIndex((o) =>
    /journal\.committed\.json -> \.servicepack\/journal\.json$/.test(o.what),
  );
  assert.ok(journalAt > 0 && committedAt > journalAt, `${s.name}: the journal was written and committed`);
  assert.deepEqual(
    {
      'in staging, not on disk when journal.json was written': notOnDisk(model, journalAt, (p) =>
        p.startsWith('.servicepack/staging/'),
      ),
      'changed by the commit, not on disk when the journal said committed': notOnDisk(
        model,
        committedAt,
        (p) => !p.startsWith('.servicepack/staging/'),
      ),
    },
    {
      'in staging, not on disk when journal.json was written': [],
      'changed by the commit, not on disk when the journal said committed': [],
    },
    `${s.name}: what the journal relies on is on disk`,
  );
  const seen = new Set<string>();
  let exit6 = 0;
  for (let cut = 0; cut <= model.ops.length; cut++) {
    for (const keepEntries of [false, true]) {
      const state = model.crashState(cut, keepEntries);
      if (seen.has(state.key)) continue;
      seen.add(state.key);
      const where = `${s.name}: cut after ${cut} of ${model.ops.length} operations (last: ${model.ops[cut - 1]?.what ?? 'none'})${keepEntries ? ', entries kept' : ''}${cleaner ? ', staged files deleted' : ''}`;
      if (
        (await recoverState(state, cleaner, { oldTree, newTree, oldProblems, installs: s.installs ?? 0 }, where)) === 6
      )
        exit6++;
    }
  }
  return { points: model.ops.length + 1, states: seen.size, exit6, ops };
}

/** Paths (that `where` selects) whose entry or content a power cut before operation `at` would lose. */
function notOnDisk(model: PowerCutModel, at: number, where: (p: string) => boolean): string[] {
  const lost = model.crashState(at, false).files;
  const out: string[] = [];
  for (const [p, c] of model.crashState(at, true).files) {
    if (!where(p) || /(^|\/)\.[0-9a-f]{12}\.tmp$|\/\.lock\.|\/lock$/.test(p)) continue;
    if (!lost.has(p)) out.push(`${p}: entry lost`);
    else if (c?.lost) out.push(`${p}: content never flushed`);
  }
  return out;
}

interface Levels {
  oldTree: Record<string, string>;
  newTree: Record<string, string>;
  oldProblems: string[];
  installs: number;
}

async function recoverState(
  state: CrashState,
  cleaner: boolean,
  { oldTree, newTree, oldProblems, installs }: Levels,
  where: string,
): Promise<number | undefined> {
  const dir = await tempDir('sp-cut-');
  try {
    await materialise(state, dir);
    if (cleaner && !(await deleteStagedFiles(dir))) return undefined;
    const before = await contents(dir);
    const res = await exitOf(recoverInstallation({ root: dir }));
    if (res.code === 6 && cleaner) {
      assert.ok(existsSync(join(dir, '.servicepack', 'journal.json')), `${where}: exit 6 keeps the journal`);
      assert.match(res.message ?? '', /journal is kept/, where);
      const after = await contents(dir);
      for (const h of before)
        assert.ok(after.has(h), `${where}: recovery stopped with exit 6 but destroyed a file (sha256 ${h})`);
      return 6;
    }
    assert.equal(res.code, 0, `${where}: recover exited ${res.code}: ${res.message}`);
    const tree = await ownedSnapshot(dir);
    const level =
      JSON.stringify(tree) === JSON.stringify(oldTree)
        ? 'old'
        : JSON.stringify(tree) === JSON.stringify(newTree)
          ? 'new'
          : undefined;
    if (level === undefined) {
      const diff = [...new Set([...Object.keys(tree), ...Object.keys(oldTree)])].filter(
        (p) => tree[p] !== oldTree[p] && tree[p] !== newTree[p],
      );
      assert.fail(`${where}: recovered to neither the old nor the new tree; differs from both at ${diff.join(', ')}`);
    }
    assert.equal(await readJournal(dir), undefined, `${where}: journal closed`);
    const v = await verifyInstallation(dir);
    assert.deepEqual(
      v.problems.map((p) => `${p.kind} ${p.path}`),
      level === 'old' ? oldProblems : [],
      `${where}: verify after recovery to the ${level} tree: ${JSON.stringify(v.problems)}`,
    );
    if (level === 'new' && installs > 0) {
      for (let i = 0; i < installs; i++) {
        const u = await exitOf(uninstallUpdate({ root: dir, restart: 'auto' }));
        assert.equal(u.code, 0, `${where}: the backup did not survive: uninstall exited ${u.code}: ${u.message}`);
      }
      assert.deepEqual(await ownedSnapshot(dir), oldTree, `${where}: uninstall after recovery gives back the old tree`);
    }
    return 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const bigInstall = (fsType: number): Scenario => ({
  name: `install on ${fsType === EXT4 ? 'ext4' : 'FUSE'}`,
  fsType,
  setup: rtm,
  run: (root) => installPacks(install(root, [big])),
  installs: 1,
});
const chained: Scenario = {
  name: 'chained install',
  fsType: FUSE,
  setup: rtm,
  run: (root) => installPacks(install(root, [sp1, sp2])),
  installs: 2,
};

describe('power cuts that drop unflushed data: recovery ends whole at every cut', () => {
  test('install of a 30-file pack on ext4 (syncfs)', async (t) => {
    const o = await powerCuts(bigInstall(EXT4));
    assert.ok((o.ops['syncfs'] ?? 0) > 0, `syncfs is used on ext4: ${JSON.stringify(o.ops)}`);
    t.diagnostic(`${o.points} cut points, ${o.states} distinct states; ${JSON.stringify(o.ops)}`);
  });

  test('install of a 30-file pack on FUSE, where syncfs flushes nothing', async (t) => {
    const o = await powerCuts(bigInstall(FUSE));
    assert.equal(o.ops['syncfs'] ?? 0, 0, `no syncfs on FUSE: ${JSON.stringify(o.ops)}`);
    t.diagnostic(`${o.points} cut points, ${o.states} distinct states; ${JSON.stringify(o.ops)}`);
  });

  test('SP1 and SP2 in one transaction (the same file replaced twice)', async (t) => {
    const o = await powerCuts(chained);
    t.diagnostic(`${o.points} cut points, ${o.states} distinct states; ${JSON.stringify(o.ops)}`);
  });

  test('uninstall -o of SP1 with a changed file kept in saved/', async (t) => {
    const setup = async () => {
      const root = await rtm();
      forgetFileSystems();
      await installPacks(install(root, [sp1]));
      await writeFile(join(root, 'lib', 'a.js'), 'changed here\n');
      return root;
    };
    const run = async (root: string) => {
      const res = await uninstallUpdate({ root, restart: 'auto', modified: 'overwrite' });
      assert.deepEqual(res.changed.saved, ['lib/a.js']);
      assert.equal(
        await readFile(join(root, '.servicepack', 'saved', res.transactionId, 'lib', 'a.js'), 'utf8'),
        'changed here\n',
      );
    };
    const o = await powerCuts({ name: 'uninstall', fsType: FUSE, setup, run });
    t.diagnostic(`${o.points} cut points, ${o.states} distinct states; ${JSON.stringify(o.ops)}`);
  });
});

describe('power cuts, and a cleaner of temporary files deleted the staged files: recovery never destroys an original', () => {
  for (const s of [bigInstall(FUSE), chained]) {
    test(s.name, async (t) => {
      const o = await powerCuts(s, true);
      t.diagnostic(
        `${o.points} cut points, ${o.states} distinct states, ${o.exit6} stopped with exit 6 (journal kept, nothing destroyed)`,
      );
    });
  }
});
