/**
 * Uninstall and verify on synthetic installations: exact restore (files, modes, deleted files,
 * added folders, .spnew, BUILDINFO, state), newest-first order, refusals that change nothing, and
 * verify's rpm -V style report.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ServicepackError } from '../../src/support/errors.js';
import type { InstallOptions } from '../../src/operations/install/context.js';
import { installPacks } from '../../src/operations/install/install.js';
import type { State } from '../../src/installation/state.js';
import { uninstallUpdate } from '../../src/operations/uninstall/uninstall.js';
import { NO_STATE_NOTE, verifyInstallation, verifyLine } from '../../src/operations/verify.js';
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
  type TreeSpec,
} from '../install-fixtures.js';

const vendor = makeVendor();
const dirs: string[] = [];
let sp1 = '';
let sp2 = '';
let hotfix = '';
before(async () => {
  const out = await tempDir('sp-un-packs-');
  dirs.push(out);
  // SP1 also changes a mode, so the round trip proves modes come back too
  const target = levelFiles(1);
  target['lib/b.js'] = { content: 'export const b = 1;\n', mode: 0o640 };
  sp1 = (await makePack(vendor, { level: 1, fromLevels: [0], target }, out)).path;
  const sp1Tree = { ...target };
  const sp2Target = {
    ...sp1Tree,
    ...levelFiles(2),
    'lib/b.js': { content: 'export const b = 2; // SP2\n', mode: 0o640 },
  };
  sp2 = (await makePack(vendor, { level: 2, fromLevels: [1], target: sp2Target }, out)).path;
  const hfTarget: TreeSpec = { ...sp1Tree, 'lib/a.js': 'export const a = 3; // Q100001\n' };
  hfTarget['BUILDINFO.json'] =
    `${JSON.stringify({ ...JSON.parse(sp1Tree['BUILDINFO.json'] as string), hotfixes: ['Q100001'] }, null, 2)}\n`;
  hotfix = (
    await makePack(
      vendor,
      {
        level: 1,
        baseLevel: 1,
        fromLevels: [1],
        kind: 'hotfix',
        id: 'Q100001',
        target: hfTarget,
        edit: (m) => {
          m.fixes = [{ id: 'Q100001', title: 'a hotfix', summary: 'fixes a', level: 2 }];
        },
      },
      out,
    )
  ).path;
});
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function rtm(): Promise<string> {
  const root = await makeInstallation(0, vendor);
  dirs.push(root);
  return root;
}

const install = (root: string, packs: string[], extra: Partial<InstallOptions> = {}) =>
  installPacks({ root, packs, backup: true, modified: 'stop', restart: 'auto', dryRun: false, ...extra });

async function refused(
  root: string,
  run: () => Promise<unknown>,
  code: string,
  exit: number,
): Promise<ServicepackError> {
  const before = await snapshot(root);
  const e = await run().then(
    () => assert.fail(`expected ${code}`),
    (x: unknown) => x,
  );
  assert.ok(e instanceof ServicepackError, String(e));
  assert.equal(e.code, code, e.message);
  assert.equal(e.exitCode, exit);
  assert.deepEqual(await snapshot(root), before, 'nothing changed, .servicepack/ included');
  return e;
}

describe('uninstall', () => {
  test('SP1 off again: the RTM tree exactly (modes, deleted file back, added folder gone), the record at RTM', async () => {
    const root = await rtm();
    const rtmTree = await ownedSnapshot(root);
    await install(root, [sp1]);
    assert.notDeepEqual(await ownedSnapshot(root), rtmTree);
    const res = await uninstallUpdate({ root, restart: 'auto' });
    assert.equal(res.packId, 'inetsrv-4.0-sp1');
    assert.equal(res.before.levelName, 'Service Pack 1');
    assert.equal(res.after.levelName, 'RTM');
    assert.deepEqual(res.changed.removed, ['lib/new/c.js']);
    assert.ok(res.changed.restored.includes('lib/old.js') && res.changed.restored.includes('BUILDINFO.json'));
    assert.deepEqual(await ownedSnapshot(root), rtmTree);
    assert.ok(!existsSync(join(root, 'lib', 'new')), 'the folder SP1 created is gone');
    assert.deepEqual(await servicepackDirSettled(root), ['state.json', 'trust'], 'backup consumed, nothing left over');
    const state = await readJson<State>(join(root, '.servicepack', 'state.json'));
    assert.equal(state.level, 0);
    assert.deepEqual(state.installed, []);
    assert.deepEqual(
      state.history.map((h) => [h.action, h.packId, h.fromLevel, h.toLevel, h.result]),
      [
        ['install', 'inetsrv-4.0-sp1', 0, 1, 'done'],
        ['uninstall', 'inetsrv-4.0-sp1', 1, 0, 'done'],
      ],
    );
    const v = await verifyInstallation(root);
    assert.equal(v.clean, true, JSON.stringify(v.problems));
    // and on again: the same SP1 tree as the first time
    await install(root, [sp1]);
    assert.deepEqual(await ownedSnapshot(root), await ownedAfterSp1());
  });

  test('newest first: an older update under a newer one is refused with the order that works', async () => {
    const root = await rtm();
    await install(root, [sp1]);
    await install(root, [hotfix]);
    const e = await refused(
      root,
      () => uninstallUpdate({ root, id: 'inetsrv-4.0-sp1', restart: 'auto' }),
      'E_NOT_REMOVABLE',
      3,
    );
    assert.match(e.message, /uninstall Q100001 first, then inetsrv-4\.0-sp1/);
    assert.deepEqual(e.details['order'], ['Q100001', 'inetsrv-4.0-sp1']);
    await refused(root, () => uninstallUpdate({ root, id: 'Q999999', restart: 'auto' }), 'E_NOT_REMOVABLE', 3);

    const hf = await uninstallUpdate({ root, id: 'q100001', restart: 'auto' });
    assert.equal(hf.after.levelName, 'Service Pack 1');
    assert.deepEqual(await ownedSnapshot(root), await ownedAfterSp1());
    const sp = await uninstallUpdate({ root, restart: 'auto' });
    assert.equal(sp.after.level, 0);
    assert.deepEqual(await ownedSnapshot(root), await levelSnapshot(0));
    await refused(root, () => uninstallUpdate({ root, restart: 'auto' }), 'E_NOT_REMOVABLE', 3);
  });

  test('two packs installed in one run come off one at a time, newest first', async () => {
    const root = await rtm();
    await install(root, [sp1, sp2]);
    await refused(root, () => uninstallUpdate({ root, id: 'inetsrv-4.0-sp1', restart: 'auto' }), 'E_NOT_REMOVABLE', 3);
    await uninstallUpdate({ root, restart: 'auto' });
    assert.deepEqual(await ownedSnapshot(root), await ownedAfterSp1());
    await uninstallUpdate({ root, restart: 'auto' });
    assert.deepEqual(await ownedSnapshot(root), await levelSnapshot(0));
  });

  test('nothing installed, or installed without a backup (-n): refused, exit 3, saying why', async () => {
    const fresh = await rtm();
    const none = await refused(fresh, () => uninstallUpdate({ root: fresh, restart: 'auto' }), 'E_NOT_REMOVABLE', 3);
    assert.match(none.message, /nothing to uninstall/);
    const root = await rtm();
    await install(root, [sp1], { backup: false });
    const e = await refused(root, () => uninstallUpdate({ root, restart: 'auto' }), 'E_NO_BACKUP', 3);
    assert.match(e.message, /installed with --no-backup \(-n\), so no uninstall data was kept/);
  });

  test('a file changed since the install stops the uninstall; -o restores anyway and keeps the changed file', async () => {
    const root = await rtm();
    await install(root, [sp1]);
    await writeFile(join(root, 'lib', 'a.js'), 'edited after SP1\n');
    const e = await refused(root, () => uninstallUpdate({ root, restart: 'auto' }), 'E_LOCALLY_MODIFIED', 3);
    assert.deepEqual(e.details['files'], ['lib/a.js']);
    const res = await uninstallUpdate({ root, restart: 'auto', modified: 'overwrite' });
    assert.deepEqual(await ownedSnapshot(root), await levelSnapshot(0));
    assert.deepEqual(res.changed.saved, ['lib/a.js']);
    assert.equal(await readFile(join(root, res.savedDir!, 'lib', 'a.js'), 'utf8'), 'edited after SP1\n');
  });

  test('install -o replaced a changed file: uninstall gives the changed original back', async () => {
    const root = await rtm();
    await writeFile(join(root, 'lib', 'a.js'), 'the admin patch\n');
    await install(root, [sp1], { modified: 'overwrite' });
    await uninstallUpdate({ root, restart: 'auto' });
    assert.equal(await readFile(join(root, 'lib', 'a.js'), 'utf8'), 'the admin patch\n');
  });

  test('an edited config file: the .spnew goes, the admin file stays', async () => {
    const root = await rtm();
    await writeFile(join(root, 'conf', 'inetsrv.conf'), 'Port 9090\n');
    const res = await install(root, [sp1]);
    assert.deepEqual(res.changed.spnew, ['conf/inetsrv.conf.spnew']);
    await uninstallUpdate({ root, restart: 'auto' });
    assert.ok(!existsSync(join(root, 'conf', 'inetsrv.conf.spnew')));
    assert.equal(await readFile(join(root, 'conf', 'inetsrv.conf'), 'utf8'), 'Port 9090\n');
    const v = await verifyInstallation(root);
    assert.equal(v.clean, true, JSON.stringify(v.problems));
  });

  test('a damaged backup is found before anything moves: exit 4', async () => {
    const root = await rtm();
    await install(root, [sp1]);
    await writeFile(
      join(root, '.servicepack', 'backup', 'inetsrv-4.0-sp1', 'files', 'lib', 'a.js'),
      'not what was backed up\n',
    );
    const e = await refused(root, () => uninstallUpdate({ root, restart: 'auto' }), 'E_HASH_MISMATCH', 4);
    assert.match(e.message, /uninstall data is damaged/);
    await rm(join(root, '.servicepack', 'backup', 'inetsrv-4.0-sp1', 'backup.json'));
    await refused(root, () => uninstallUpdate({ root, restart: 'auto' }), 'E_NO_BACKUP', 3);
  });
});

async function ownedAfterSp1(): Promise<Record<string, string>> {
  const d = await tempDir('sp-un-sp1-');
  dirs.push(d);
  const root = await makeInstallation(0, vendor, { dir: d });
  await install(root, [sp1]);
  return ownedSnapshot(root);
}

describe('verify', () => {
  test('clean after an install; every kind of difference reported rpm -V style', async () => {
    const root = await rtm();
    await install(root, [sp1]);
    const clean = await verifyInstallation(root);
    assert.equal(clean.clean, true);
    assert.equal(clean.stateRecord, true);
    assert.ok(clean.checked >= 7);

    await writeFile(join(root, 'lib', 'a.js'), 'export const a = 9; // fixed in SP1\n'); // same size, other content
    await writeFile(join(root, 'lib', 'b.js'), 'longer than before, and different\n');
    await chmod(join(root, 'bin', 'inetsrv'), 0o700);
    await unlink(join(root, 'lib', 'new', 'c.js'));
    await writeFile(join(root, 'lib', 'intruder.js'), 'x\n');
    const v = await verifyInstallation(root);
    assert.equal(v.clean, false);
    assert.deepEqual(
      v.problems.map((p) => verifyLine(p)),
      [
        '.M.      bin/inetsrv',
        '..5      lib/a.js',
        'S.5      lib/b.js',
        'extra    lib/intruder.js',
        'missing  lib/new/c.js',
      ],
    );
  });

  test('the state record and BUILDINFO.json disagreeing is a difference too', async () => {
    const root = await rtm();
    await install(root, [sp1]);
    const path = join(root, '.servicepack', 'state.json');
    const state = await readJson<State>(path);
    await writeFile(path, JSON.stringify({ ...state, level: 2 }));
    const v = await verifyInstallation(root);
    assert.equal(v.clean, false);
    assert.ok(v.problems.some((p) => p.kind === 'buildinfo' && verifyLine(p).startsWith('record   BUILDINFO.json')));
  });

  test('a vendor release tree: no state record, nothing to verify against, clean with a note', async () => {
    const root = await rtm();
    const v = await verifyInstallation(root);
    assert.equal(v.clean, true);
    assert.equal(v.stateRecord, false);
    assert.equal(v.note, NO_STATE_NOTE);
  });
});
