import assert from 'node:assert/strict';
import { chmod, mkdir, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { detectInstallation } from '../../src/installation/detect.js';
import { ServicepackError } from '../../src/support/errors.js';
import { sha256Bytes } from '../../src/support/hash.js';
import { writeState } from '../../src/installation/state-store.js';
import { buildInfo, makeInstallation, makeVendor, tempDir, recordAsIs } from '../install-fixtures.js';

const vendor = makeVendor();
const cleanup: string[] = [];
after(async () => {
  for (const d of cleanup) await rm(d, { recursive: true, force: true });
});

async function fresh(level = 0): Promise<string> {
  const root = await makeInstallation(level, vendor);
  cleanup.push(root);
  return root;
}

describe('detectInstallation', () => {
  test('a fresh vendor release tree: BUILDINFO level, current files as the baseline, consistent', async () => {
    const root = await fresh(0);
    await mkdir(join(root, 'logs'));
    await writeFile(join(root, 'logs', 'access.log'), 'GET /\n');
    await mkdir(join(root, 'run'));
    await writeFile(join(root, 'run', 'inetsrv.pid'), '1234\n');
    const inst = await detectInstallation(root);
    assert.equal(inst.product, 'inetsrv');
    assert.equal(inst.version, '4.0.0');
    assert.equal(inst.arch, 'x86');
    assert.equal(inst.level, 0);
    assert.equal(inst.levelName, 'RTM');
    assert.deepEqual(inst.hotfixes, []);
    assert.equal(inst.consistent, true);
    assert.deepEqual(inst.problems, []);
    assert.equal(inst.state, undefined);
    assert.deepEqual(
      [...inst.files.keys()],
      [
        'BUILDINFO.json',
        'bin/inetsrv',
        'conf/inetsrv.conf',
        'lib/a.js',
        'lib/b.js',
        'lib/old.js',
        'lib/platform/x86.js',
      ],
    );
    assert.equal(inst.files.get('bin/inetsrv')?.mode, 0o755);
    assert.equal(inst.files.get('lib/b.js')?.sha256, sha256Bytes('export const b = 1;\n'));
  });

  test('no BUILDINFO.json, no folder, a file, a file on the way: each its own code, exit 7 (not 3), no advice about flags', async () => {
    const empty = await tempDir();
    cleanup.push(empty);
    await writeFile(join(empty, 'file'), 'x');
    const cases: [string, string][] = [
      [empty, 'E_NOT_INSTALLED'],
      [join(empty, 'nope'), 'E_ROOT_MISSING'],
      [join(empty, 'file'), 'E_ROOT_NOT_FOLDER'],
      [join(empty, 'file', 'sub'), 'E_ROOT_MISSING'],
    ];
    for (const [dir, code] of cases) {
      await assert.rejects(detectInstallation(dir), (e: unknown) => {
        assert.ok(e instanceof ServicepackError, String(e));
        assert.equal(e.code, code, dir);
        assert.equal(e.exitCode, 7);
        assert.match(e.message, /no inetsrv installation found in .*; name the folder inetsrv is installed in$/);
        // core does not know whether a flag, the environment or an answer file named the root
        assert.doesNotMatch(e.message, /--root|SERVICEPACK_ROOT/);
        return true;
      });
    }
  });

  test('a BUILDINFO.json that is not valid: E_INVALID_BUILDINFO, exit 2', async () => {
    const root = await fresh();
    await writeFile(join(root, 'BUILDINFO.json'), JSON.stringify({ ...buildInfo(0), level: 'six' }));
    await assert.rejects(detectInstallation(root), { code: 'E_INVALID_BUILDINFO', exitCode: 2 });
    await writeFile(join(root, 'BUILDINFO.json'), '{ not json');
    await assert.rejects(detectInstallation(root), { code: 'E_INVALID_BUILDINFO', exitCode: 2 });
  });

  test('with a matching state record: consistent, state returned', async () => {
    const root = await fresh();
    await recordAsIs(root);
    const inst = await detectInstallation(root);
    assert.equal(inst.consistent, true);
    assert.deepEqual(inst.problems, []);
    assert.equal(inst.state?.level, 0);
  });

  test('files that differ from the state record: modified, missing, extra (mode changes count too)', async () => {
    const root = await fresh();
    await recordAsIs(root);
    await writeFile(join(root, 'lib', 'a.js'), 'export const a = 666;\n');
    await unlink(join(root, 'lib', 'b.js'));
    await writeFile(join(root, 'lib', 'dropped.js'), 'x\n');
    await chmod(join(root, 'lib', 'old.js'), 0o755);
    // not owned: never a problem
    await writeFile(join(root, 'wwwroot', 'new.html'), 'x');
    const inst = await detectInstallation(root);
    assert.equal(inst.consistent, false);
    assert.deepEqual(
      inst.problems.map((p) => [p.path, p.kind]),
      [
        ['lib/a.js', 'modified'],
        ['lib/b.js', 'missing'],
        ['lib/dropped.js', 'extra'],
        ['lib/old.js', 'modified'],
      ],
    );
    assert.match(inst.problems.find((p) => p.path === 'lib/old.js')!.message, /mode 755, recorded 644/);
  });

  test('state record and BUILDINFO.json disagree: a buildinfo problem; the state record wins the level', async () => {
    const root = await fresh();
    const state = await recordAsIs(root);
    await writeState(root, { ...state, level: 1, hotfixes: ['Q1'] });
    const inst = await detectInstallation(root);
    assert.equal(inst.consistent, false);
    assert.equal(inst.level, 1);
    const kinds = inst.problems.filter((p) => p.kind === 'buildinfo').map((p) => p.message);
    assert.equal(kinds.length, 2);
    assert.match(kinds[0]!, /level 1, BUILDINFO.json says 0/);
    assert.match(kinds[1]!, /hotfixes \["Q1"\], BUILDINFO.json says \[\]/);
  });

  test('an unreadable state record: a state problem, BUILDINFO values, not consistent', async () => {
    const root = await fresh();
    await writeFile(join(root, '.servicepack', 'state.json'), '{"format":1}');
    const inst = await detectInstallation(root);
    assert.equal(inst.consistent, false);
    assert.equal(inst.level, 0);
    assert.deepEqual(
      inst.problems.map((p) => [p.path, p.kind]),
      [['.servicepack/state.json', 'state']],
    );
  });

  test('a file whose name the path rules refuse is reported as extra and never becomes part of a record', async () => {
    const root = await fresh();
    // a record read back must pass the path rules (state.ts), so one written from this tree must too
    for (const name of ['aux.js', 'x\u009b2J.js', 'notes.']) await writeFile(join(root, 'lib', name), 'x\n');
    const inst = await detectInstallation(root);
    assert.deepEqual(
      [...inst.files.keys()].filter((p) => p.startsWith('lib/') && !/^lib\/(a|b|old|platform\/x86)\.js$/.test(p)),
      [],
    );
    assert.deepEqual(inst.problems.map((p) => [p.path, p.kind]).sort(), [
      ['lib/aux.js', 'extra'],
      ['lib/notes.', 'extra'],
      ['lib/x\u009b2J.js', 'extra'],
    ]);
    assert.match(inst.problems[0]!.message, /the path rules refuse its name/);
    await recordAsIs(root);
    assert.equal((await detectInstallation(root)).problems.length, 3);
  });

  test('a symbolic link among the product files is refused (E_INCONSISTENT, exit 4)', async () => {
    const root = await fresh();
    await symlink('/etc/passwd', join(root, 'lib', 'evil.js'));
    await assert.rejects(detectInstallation(root), { code: 'E_INCONSISTENT', exitCode: 4 });
  });

  test("the state record's own error comes before the tree's, though the tree is read beside it", async () => {
    const root = await fresh();
    // enough files for both threads (hashFiles), and a link among them that the listing refuses
    await mkdir(join(root, 'lib', 'many'));
    for (let i = 0; i < 80; i++) await writeFile(join(root, 'lib', 'many', `f${i}.js`), `export const f = ${i};\n`);
    await symlink('/etc/passwd', join(root, 'lib', 'many', 'evil.js'));
    await assert.rejects(detectInstallation(root), { code: 'E_INCONSISTENT' });
    // a folder where the record belongs cannot be read: E_IO, as without the tree's problem
    await mkdir(join(root, '.servicepack', 'state.json'));
    await assert.rejects(detectInstallation(root), { code: 'E_IO', message: /state\.json/ });
  });
});
