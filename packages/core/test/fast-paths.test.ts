/**
 * The shortcuts that keep install and uninstall fast without weakening them: the hand-written
 * backup-record check (never more lenient than BackupRecordSchema), the one-call flush of a file
 * system (syncfs via `sync -f`, fsync per file as the fallback), and the background deletion of a
 * finished transaction's staging.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { release } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { checkedBackupRecord } from '../src/transaction/backup-record.js';
import { FEW, flushMethod, flushToDisk } from '../src/transaction/durable.js';
import { disposeGarbage, GARBAGE_DIR, moveToGarbage } from '../src/transaction/garbage.js';
import {
  hashFiles,
  hashFilesInWorker,
  hashSharedInWorker,
  hashTree,
  PARALLEL_MIN_FILES,
  startHashWorker,
} from '../src/support/hash.js';
import { installPacks } from '../src/operations/install/install.js';
import { BackupRecordSchema } from '../src/transaction/backup-schema.js';
import {
  levelFiles,
  makeInstallation,
  makePack,
  makeVendor,
  servicepackDirSettled,
  tempDir,
} from './install-fixtures.js';

const vendor = makeVendor();
const dirs: string[] = [];
let record: Record<string, unknown> = {};
before(async () => {
  const out = await tempDir('sp-fast-');
  dirs.push(out);
  const target = levelFiles(1);
  target['lib/b.js'] = { content: 'export const b = 1;\n', mode: 0o640 };
  const pack = (await makePack(vendor, { level: 1, fromLevels: [0], target }, out)).path;
  const root = await makeInstallation(0, vendor);
  dirs.push(root);
  await installPacks({ root, packs: [pack], backup: true, modified: 'stop', restart: 'auto', dryRun: false });
  const backup = join(root, '.servicepack', 'backup');
  const [id] = await readdir(backup);
  record = JSON.parse(await readFile(join(backup, id!, 'backup.json'), 'utf8')) as Record<string, unknown>;
});
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

type Mutation = [string, (r: Record<string, unknown>) => void];
const file0 = (r: Record<string, unknown>) => (r['files'] as Record<string, unknown>[])[0]!;
const mutations: Mutation[] = [
  ['path with ..', (r) => (file0(r)['path'] = '../etc/passwd')],
  ['absolute path', (r) => (file0(r)['path'] = '/etc/passwd')],
  ['path into .servicepack', (r) => (file0(r)['path'] = '.servicepack/state.json')],
  ['path into .ServicePack (case)', (r) => (file0(r)['path'] = '.ServicePack/state.json')],
  ['path into wwwroot', (r) => (file0(r)['path'] = 'wwwroot/index.html')],
  ['backup elsewhere', (r) => (file0(r)['backup'] = 'files/../../x')],
  ['unknown op', (r) => (file0(r)['op'] = 'move')],
  ['unknown reason', (r) => (file0(r)['reason'] = 'because')],
  ['extra key in a file', (r) => (file0(r)['extra'] = 1)],
  ['upper-case sha256', (r) => (file0(r)['after'] = { sha256: 'A'.repeat(64), size: 1, mode: 0o644 })],
  ['negative size', (r) => (file0(r)['after'] = { sha256: 'a'.repeat(64), size: -1, mode: 0o644 })],
  ['mode out of range', (r) => (file0(r)['after'] = { sha256: 'a'.repeat(64), size: 1, mode: 0o10000 })],
  ['fractional level', (r) => (r['toLevel'] = 1.5)],
  ['negative level', (r) => (r['fromLevel'] = -1)],
  ['format 2', (r) => (r['format'] = 2)],
  ['unknown kind', (r) => (r['kind'] = 'patch')],
  ['created folder with ..', (r) => (r['createdDirs'] = ['lib/../..'])],
  ['removed folder in logs', (r) => (r['removedDirs'] = ['logs/x'])],
  ['restart not a boolean', (r) => (r['restart'] = 'yes')],
  ['extra top-level key', (r) => (r['more'] = true)],
  ['missing files', (r) => delete r['files']],
  ['hotfixes not strings', (r) => (r['toHotfixes'] = [1])],
  ['files not an array', (r) => (r['files'] = {})],
];

describe('checkedBackupRecord', () => {
  test('a record the engine wrote passes, and the schema agrees', () => {
    assert.ok((record['files'] as unknown[]).length >= 3);
    assert.equal(BackupRecordSchema.safeParse(record).success, true);
    assert.equal(checkedBackupRecord(record), record);
  });

  for (const [name, mutate] of mutations) {
    test(`refused like the schema refuses it: ${name}`, () => {
      const r = structuredClone(record);
      mutate(r);
      assert.equal(
        BackupRecordSchema.safeParse(r).success,
        false,
        `the schema accepts "${name}": the mutation proves nothing`,
      );
      assert.equal(checkedBackupRecord(r), undefined);
    });
  }
});

describe('flushToDisk', () => {
  test('syncfs where the kernel reports its errors and sync(1) is there; fsync when asked or elsewhere', async () => {
    const dir = await tempDir('sp-flush-');
    dirs.push(dir);
    await mkdir(join(dir, 'a'));
    const files: string[] = [];
    for (let i = 0; i <= FEW; i++) {
      files.push(join(dir, 'a', `f${i}`));
      await writeFile(files[i]!, 'x');
    }
    const [major, minor] = release().split('.').map(Number) as [number, number];
    const expected =
      process.platform === 'linux' &&
      (major > 5 || (major === 5 && minor >= 8)) &&
      (existsSync('/usr/bin/sync') || existsSync('/bin/sync'))
        ? 'syncfs'
        : 'fsync';
    assert.equal(flushMethod(), expected);
    assert.equal(await flushToDisk(dir, files, [join(dir, 'a'), dir]), expected);
    // a handful are flushed one by one: cheaper than starting sync(1)
    assert.equal(await flushToDisk(dir, files.slice(0, 2), [join(dir, 'a')]), 'fsync');
    assert.equal(flushMethod({ SERVICEPACK_FLUSH: 'fsync' }), 'fsync');
  });
});

describe('garbage', () => {
  test('a staging folder is moved out in one rename and deleted in the background; staging/ goes once empty', async () => {
    const root = await tempDir('sp-garbage-');
    dirs.push(root);
    const staging = join(root, '.servicepack', 'staging', 'tx1');
    await mkdir(join(staging, 'trash', 'lib'), { recursive: true });
    for (let i = 0; i < 50; i++) await writeFile(join(staging, 'trash', 'lib', `f${i}`), 'x'.repeat(1000));
    assert.equal(moveToGarbage(root, '.servicepack/staging/tx1'), true);
    assert.ok(!existsSync(join(root, '.servicepack', 'staging')), 'staging/ removed once empty');
    assert.equal((await readdir(join(root, '.servicepack', GARBAGE_DIR))).length, 1);
    await disposeGarbage(root);
    assert.deepEqual(await servicepackDirSettled(root), []);
  });

  test('nothing to move is not a failure; another transaction’s staging stays', async () => {
    const root = await tempDir('sp-garbage-');
    dirs.push(root);
    await mkdir(join(root, '.servicepack', 'staging', 'other'), { recursive: true });
    assert.equal(moveToGarbage(root, '.servicepack/staging/gone'), true);
    await mkdir(join(root, '.servicepack', 'staging', 'tx2'));
    assert.equal(moveToGarbage(root, '.servicepack/staging/tx2'), true);
    assert.deepEqual(await readdir(join(root, '.servicepack', 'staging')), ['other']);
    await disposeGarbage(root);
    assert.deepEqual(await servicepackDirSettled(root), ['staging']);
  });
});

describe('hashFiles split over two threads', () => {
  test('the same answers, in order, as one thread: digests, modes, missing files, links', async () => {
    const dir = await tempDir('sp-hash-');
    dirs.push(dir);
    const paths: string[] = [];
    const expected: unknown[] = [];
    for (let i = 0; i < PARALLEL_MIN_FILES * 2; i++) {
      const p = join(dir, `f${i}`);
      // sizes across the read chunk (128 KiB), so multi-read files land on both threads
      const body = Buffer.alloc((i * 37_117) % 1_200_000, i % 251);
      await writeFile(p, body);
      if (i % 3 === 0) await chmod(p, 0o755);
      paths.push(p);
      expected.push({
        sha256: createHash('sha256').update(body).digest('hex'),
        size: body.length,
        mode: i % 3 === 0 ? 0o755 : 0o644,
      });
    }
    paths.splice(7, 0, join(dir, 'missing'));
    expected.splice(7, 0, undefined);
    await symlink(join(dir, 'f1'), join(dir, 'link'));
    paths.splice(10, 0, join(dir, 'link'));
    expected.splice(10, 0, 'error');
    paths.splice(11, 0, dir);
    expected.splice(11, 0, 'error');
    // the worker really runs (a failed one would silently fall back to this thread)
    assert.deepEqual(await hashFilesInWorker(paths.slice(0, 12)), await hashFiles(paths.slice(0, 12)));
    const got = await hashFiles(paths);
    assert.equal(got.length, paths.length);
    got.forEach((g, i) => {
      if (expected[i] === 'error')
        assert.ok(g instanceof Error && /not a regular file/.test(g.message), `${paths[i]}: ${String(g)}`);
      else assert.deepEqual(g, expected[i], paths[i]);
    });
    // the worker's share: it takes files from the shared counter, from where that stands, to the end;
    // here a worker started ahead, which has waited idle for its job
    startHashWorker();
    await new Promise((r) => setTimeout(r, 300));
    const next = new Int32Array(new SharedArrayBuffer(4));
    next[0] = 5;
    const share = await hashSharedInWorker(paths.slice(0, 20), next);
    assert.deepEqual(
      share?.map(([i]) => i),
      Array.from({ length: 15 }, (_, k) => k + 5),
    );
    assert.deepEqual(
      share?.map(([, r]) => r),
      got.slice(5, 20),
    );
    assert.equal(next[0], 21, 'the worker stops once the counter passes the last file');
  });

  test('hashTree of a large tree (both threads) gives each file its digest and refuses a link among them', async () => {
    const dir = await tempDir('sp-hashtree-');
    dirs.push(dir);
    const names: string[] = [];
    for (let i = 0; i < PARALLEL_MIN_FILES * 2; i++) {
      const name = `d${i % 7}/f${i}`;
      await mkdir(join(dir, `d${i % 7}`), { recursive: true });
      await writeFile(join(dir, name), Buffer.alloc((i * 91_193) % 900_000, i % 13));
      if (i % 5 === 0) await chmod(join(dir, name), 0o700);
      names.push(name);
    }
    names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const tree = await hashTree(dir);
    assert.deepEqual([...tree.keys()], names);
    assert.deepEqual([...tree.values()], await hashFiles(names.map((n) => join(dir, n))));
    await symlink(join(dir, names[3]!), join(dir, 'd3', 'zz-link'));
    await assert.rejects(hashTree(dir), /zz-link: not a regular file or folder/);
    // an aborted signal stops the listing and both threads with its reason
    const reason = new Error('the record failed first');
    await assert.rejects(hashTree(dir, [], undefined, AbortSignal.abort(reason)), reason);
    await assert.rejects(
      hashFiles(
        names.map((n) => join(dir, n)),
        AbortSignal.abort(reason),
      ),
      reason,
    );
  });

  test('a worker started ahead and never given a job lets the process end', async () => {
    const dir = await tempDir('sp-warm-');
    dirs.push(dir);
    const hash = pathToFileURL(join(import.meta.dirname, '..', 'src', 'support', 'hash.ts')).href;
    // a file, not -e: node ends an -e script's process whatever still holds its event loop;
    // the timer lets the worker finish starting and wait idle before the process has nothing left to do
    const script = join(dir, 'warm.mjs');
    await writeFile(
      script,
      `import { startHashWorker } from ${JSON.stringify(hash)};\nstartHashWorker();\nsetTimeout(() => {}, 500);\n`,
    );
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], { timeout: 30_000, encoding: 'utf8' });
    assert.equal(r.signal, null, 'still running after 30 s: the idle worker held the process');
    assert.equal(r.status, 0, r.stderr);
  });
});
