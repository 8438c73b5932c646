/**
 * `verify` against the state record: each kind of difference with its rpm -V flags, every recorded
 * file counted, on a tree small enough for one thread and on one large enough for both (hashFiles);
 * and the worker verify starts ahead, only for a tree that needs one.
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { verifyInstallation } from '../../src/operations/verify.js';
import { startVerifyWorker } from '../../src/operations/verify-start.js';
import { hashWorkerWaiting, PARALLEL_MIN_FILES } from '../../src/support/hash.js';
import { makeInstallation, makeVendor, recordAsIs } from '../install-fixtures.js';

const vendor = makeVendor();
const roots: string[] = [];
after(async () => {
  for (const d of roots) await rm(d, { recursive: true, force: true });
});

async function tamper(root: string): Promise<void> {
  await writeFile(join(root, 'lib', 'a.js'), 'export const a = 9;\n'); // same size, other content
  await writeFile(join(root, 'lib', 'b.js'), 'export const b = 10;\n'); // one byte longer
  await chmod(join(root, 'conf', 'inetsrv.conf'), 0o600);
  await unlink(join(root, 'lib', 'platform', 'x86.js'));
  await writeFile(join(root, 'lib', 'dropped.js'), 'x\n');
}

describe('verify against the state record', () => {
  for (const many of [false, true]) {
    test(`flags each difference and counts every recorded file (${many ? 'both threads' : 'one thread'})`, async () => {
      const root = await makeInstallation(0, vendor);
      roots.push(root);
      if (many) {
        await mkdir(join(root, 'lib', 'many'));
        for (let i = 0; i < PARALLEL_MIN_FILES * 2; i++)
          await writeFile(join(root, 'lib', 'many', `m${i}.js`), `export const m = ${i};\n`);
      }
      const state = await recordAsIs(root);
      const recorded = Object.keys(state.files).length;
      const clean = await verifyInstallation(root);
      assert.equal(clean.clean, true);
      assert.equal(clean.checked, recorded);
      assert.deepEqual(clean.problems, []);

      await tamper(root);
      if (many) await writeFile(join(root, 'lib', 'many', 'm7.js'), 'export const m = 8;\n');
      const v = await verifyInstallation(root);
      assert.equal(v.clean, false);
      assert.equal(v.checked, recorded);
      assert.deepEqual(
        v.problems.map((p) => [p.path, p.kind, p.flags]),
        [
          ['conf/inetsrv.conf', 'modified', '.M.'],
          ['lib/a.js', 'modified', '..5'],
          ['lib/b.js', 'modified', 'S.5'],
          ['lib/dropped.js', 'extra', 'extra'],
          ...(many ? [['lib/many/m7.js', 'modified', '..5']] : []),
          ['lib/platform/x86.js', 'missing', 'missing'],
        ],
      );
      const b = v.problems.find((p) => p.path === 'lib/b.js')!;
      assert.equal(b.recorded?.size, 20);
      assert.equal(b.actual?.size, 21);
      assert.equal(b.message, 'lib/b.js differs from the state record (size, content)');
      assert.equal(v.problems.find((p) => p.kind === 'missing')!.actual, undefined);
    });
  }
});

describe("verify's worker started ahead", () => {
  test('only for a state record large enough to list the files that make hashFiles use a worker', async () => {
    const root = await makeInstallation(0, vendor);
    roots.push(root);
    await recordAsIs(root);
    startVerifyWorker(root);
    assert.equal(hashWorkerWaiting(), false, 'a record of a few files: no thread to start');
    startVerifyWorker(join(root, 'no-such-folder'));
    assert.equal(hashWorkerWaiting(), false);
    await mkdir(join(root, 'lib', 'many'));
    for (let i = 0; i < PARALLEL_MIN_FILES; i++)
      await writeFile(join(root, 'lib', 'many', `m${i}.js`), `export const m = ${i};\n`);
    const state = await recordAsIs(root);
    startVerifyWorker(root);
    assert.equal(hashWorkerWaiting(), true);
    // verify takes it, and answers as before
    const v = await verifyInstallation(root);
    assert.equal(hashWorkerWaiting(), false);
    assert.equal(v.clean, true);
    assert.equal(v.checked, Object.keys(state.files).length);
    assert.ok(v.checked > PARALLEL_MIN_FILES);
  });
});
