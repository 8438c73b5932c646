import assert from 'node:assert/strict';
import { chmod, mkdir, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { detectInstallation } from '../../src/installation/detect.js';
import { type QueryResult, queryInstallation } from '../../src/installation/query.js';
import { consistentInstallation, journalAbsent } from '../../src/installation/query-scan.js';
import type { State } from '../../src/installation/state.js';
import { writeState } from '../../src/installation/state-store.js';
import { buildInfo, makeInstallation, makeVendor, recordAsIs } from '../install-fixtures.js';

/**
 * query's shortcut for an installation that agrees with its state record (query-scan.ts): it may
 * only ever answer "consistent", and whatever it declines must get detectInstallation's answer,
 * so that `query` says the same as it did with the general detection alone.
 */

const vendor = makeVendor();
const cleanup: string[] = [];
after(async () => {
  for (const d of cleanup) await rm(d, { recursive: true, force: true });
});

async function recorded(extra: Partial<State> = {}): Promise<{ root: string; state: State }> {
  const root = await makeInstallation(0, vendor);
  cleanup.push(root);
  const state = await recordAsIs(root, {
    history: [
      {
        id: 't1',
        packId: 'inetsrv-4.0-sp0',
        action: 'install',
        time: '2026-01-01T00:00:00.000Z',
        result: 'done',
        fromLevel: 0,
        toLevel: 0,
      },
    ],
    ...extra,
  });
  return { root, state };
}

/** What queryInstallation answered before the shortcut: the general detection, mapped the same way. */
async function reference(root: string): Promise<QueryResult> {
  const inst = await detectInstallation(root, { trustRecord: true });
  return {
    product: inst.product,
    displayName: inst.buildInfo.displayName,
    version: inst.version,
    arch: inst.arch,
    level: inst.level,
    levelName: inst.levelName,
    hotfixes: inst.hotfixes,
    // these fixtures install no rollup (test/rollup-front-ends.test.ts has one)
    rollups: [],
    build: inst.buildInfo.build,
    consistent: inst.consistent,
    problems: inst.problems,
    installed: inst.state?.installed ?? [],
    history: inst.state?.history ?? [],
    root: inst.root,
    stateRecord: inst.state !== undefined,
    // no record here notes a pending restart (test/service-restart.test.ts has those)
    restartPending: false,
  };
}

describe('consistentInstallation (query-scan.ts)', () => {
  test('an installation that agrees with its record: answered by the shortcut, same answer as the general detection', async () => {
    const { root } = await recorded();
    const quick = consistentInstallation(root);
    assert.ok(quick);
    const q = await queryInstallation(root);
    assert.equal(q.consistent, true);
    assert.deepEqual(q, await reference(root));
    // a relative root resolves as detectInstallation resolves it
    assert.equal(consistentInstallation(join(root, 'lib', '..'))?.root, root);
  });

  const declined: [string, (root: string, state: State) => Promise<void>][] = [
    ['a file of another size', (r) => writeFile(join(r, 'lib', 'a.js'), 'export const a = 12345;\n')],
    ['a file with another mode', (r) => chmod(join(r, 'lib', 'b.js'), 0o600)],
    ['a missing file', (r) => unlink(join(r, 'lib', 'old.js'))],
    ['an extra file', (r) => writeFile(join(r, 'lib', 'extra.js'), 'x\n')],
    [
      'an extra folder with a file in it',
      (r) =>
        mkdir(join(r, 'lib', 'x', 'y'), { recursive: true }).then(() =>
          writeFile(join(r, 'lib', 'x', 'y', 'z.js'), ''),
        ),
    ],
    ['a link among the files', (r) => symlink('/etc/passwd', join(r, 'lib', 'passwd.js'))],
    ['a file replaced by a folder', (r) => unlink(join(r, 'lib', 'b.js')).then(() => mkdir(join(r, 'lib', 'b.js')))],
    ['no state record', (r) => rm(join(r, '.servicepack', 'state.json'))],
    ['a state record that is not JSON', (r) => writeFile(join(r, '.servicepack', 'state.json'), '{')],
    [
      'a state record the quick check does not vouch for',
      (r, s) => writeFile(join(r, '.servicepack', 'state.json'), JSON.stringify({ ...s, format: 2 })),
    ],
    ['a state record that disagrees with BUILDINFO.json', (r, s) => writeState(r, { ...s, level: 1 })],
    ['hotfixes that disagree', (r, s) => writeState(r, { ...s, hotfixes: ['Q1'] })],
    [
      'a BUILDINFO.json the quick check does not vouch for',
      (r) => writeFile(join(r, 'BUILDINFO.json'), JSON.stringify({ ...buildInfo(0), extra: 1 })),
    ],
  ];
  for (const [what, change] of declined) {
    test(`declines ${what}; query gives the general detection's answer`, async () => {
      const { root, state } = await recorded();
      await change(root, state);
      assert.equal(consistentInstallation(root), undefined);
      const q = await queryInstallation(root).catch((e: unknown) => e);
      const want = await reference(root).catch((e: unknown) => e);
      assert.deepEqual(q, want);
    });
  }

  test('declines a root that is not an installation without listing it', async () => {
    const { root } = await recorded();
    await rm(join(root, 'BUILDINFO.json'));
    assert.equal(consistentInstallation(root), undefined);
    assert.equal(consistentInstallation(join(root, 'nowhere')), undefined);
    await assert.rejects(queryInstallation(join(root, 'nowhere')), { code: 'E_ROOT_MISSING', exitCode: 7 });
    await assert.rejects(queryInstallation(root), { code: 'E_NOT_INSTALLED', exitCode: 7 });
  });

  test('journalAbsent: true only when there certainly is no journal', async () => {
    const { root } = await recorded();
    assert.equal(journalAbsent(root), true);
    await writeFile(join(root, '.servicepack', 'journal.json'), '{}');
    assert.equal(journalAbsent(root), false);
    await assert.rejects(queryInstallation(root), { code: 'E_NEEDS_RECOVER', exitCode: 6 });
    // not a folder: the general check decides (and words it)
    assert.equal(journalAbsent(join(root, 'BUILDINFO.json')), false);
  });
});
