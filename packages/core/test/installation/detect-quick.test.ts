import assert from 'node:assert/strict';
import { chmod, mkdir, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BuildInfoSchema } from '../../src/installation/buildinfo.js';
import { detectInstallation, hashPaths } from '../../src/installation/detect.js';
import { isServicepackError } from '../../src/support/errors.js';
import { hashFiles, hashTree } from '../../src/support/hash.js';
import { unsafePathReason } from '../../src/pack/archive-path.js';
import { isOwnedPath } from '../../src/support/fsutil.js';
import { checkedBuildInfo, checkedState } from '../../src/installation/record-check.js';
import { ownedPathReason } from '../../src/installation/record-paths.js';
import { type State, StateSchema } from '../../src/installation/state.js';
import { buildInfo, makeInstallation, makeVendor, recordAsIs } from '../install-fixtures.js';

/**
 * The detection shortcuts that keep install, uninstall and query from reading a whole tree
 * (docs/performance.md): trusting the state record for files whose size and mode match, reading
 * exactly the files a change touches, and the zod-free record checks query starts with.
 */

const vendor = makeVendor();
const cleanup: string[] = [];
after(async () => {
  for (const d of cleanup) await rm(d, { recursive: true, force: true });
});

async function recorded(): Promise<{ root: string; state: State }> {
  const root = await makeInstallation(0, vendor);
  cleanup.push(root);
  const state = await recordAsIs(root);
  return { root, state };
}

describe('detectInstallation with trustRecord', () => {
  test('a same-size edit is not read until hashPaths asks for that file, then reported as modified', async () => {
    const { root, state } = await recorded();
    // same length as 'export const b = 1;\n'
    await writeFile(join(root, 'lib', 'b.js'), 'export const b = 9;\n');
    const inst = await detectInstallation(root, { trustRecord: true });
    assert.equal(inst.consistent, true);
    assert.equal(inst.files.get('lib/b.js')!.sha256, state.files['lib/b.js']!.sha256);
    assert.ok(inst.unhashed?.has('lib/b.js'));
    await hashPaths(inst, ['lib/b.js']);
    assert.equal(inst.consistent, false);
    assert.notEqual(inst.files.get('lib/b.js')!.sha256, state.files['lib/b.js']!.sha256);
    assert.deepEqual(
      inst.problems.map((p) => [p.path, p.kind]),
      [['lib/b.js', 'modified']],
    );
    // the full detection (verify's) sees it without being asked
    const full = await detectInstallation(root);
    assert.deepEqual(
      full.problems.map((p) => [p.path, p.kind]),
      [['lib/b.js', 'modified']],
    );
  });

  test('size and mode changes, missing and extra files are still found without reading', async () => {
    const { root } = await recorded();
    await writeFile(join(root, 'lib', 'a.js'), 'export const a = 12345;\n');
    await chmod(join(root, 'lib', 'old.js'), 0o755);
    await unlink(join(root, 'lib', 'b.js'));
    await writeFile(join(root, 'lib', 'dropped.js'), 'x\n');
    const inst = await detectInstallation(root, { trustRecord: true });
    assert.deepEqual(
      inst.problems.map((p) => [p.path, p.kind]),
      [
        ['lib/a.js', 'modified'],
        ['lib/b.js', 'missing'],
        ['lib/dropped.js', 'extra'],
        ['lib/old.js', 'modified'],
      ],
    );
    assert.equal(inst.unhashed?.has('lib/a.js'), false);
  });

  test('without a state record every file is read', async () => {
    const root = await makeInstallation(0, vendor);
    cleanup.push(root);
    const inst = await detectInstallation(root, { trustRecord: true });
    assert.equal(inst.unhashed, undefined);
    assert.deepEqual(inst.files, await detectInstallation(root).then((i) => i.files));
  });

  test('recordOnly: the record is the list; hashPaths finds missing, extra and edited files among those asked for', async () => {
    const { root } = await recorded();
    await writeFile(join(root, 'lib', 'b.js'), 'export const b = 9;\n');
    await unlink(join(root, 'lib', 'a.js'));
    await writeFile(join(root, 'lib', 'new.js'), 'x\n');
    const inst = await detectInstallation(root, { trustRecord: true, recordOnly: true });
    assert.equal(inst.consistent, true);
    assert.equal(inst.files.has('lib/new.js'), false);
    await hashPaths(inst, ['lib/a.js', 'lib/b.js', 'lib/new.js', 'lib/never.js']);
    assert.deepEqual(inst.problems.map((p) => [p.path, p.kind]).sort(), [
      ['lib/a.js', 'missing'],
      ['lib/b.js', 'modified'],
      ['lib/new.js', 'extra'],
    ]);
    assert.equal(inst.files.has('lib/a.js'), false);
    assert.equal(inst.files.has('lib/new.js'), true);
    assert.equal(inst.files.has('lib/never.js'), false);
  });

  test('recordOnly: a folder replaced by a link is refused before anything is read through it', async () => {
    const { root } = await recorded();
    const outside = `${root}-outside`;
    cleanup.push(outside);
    await rename(join(root, 'lib'), outside);
    await symlink(outside, join(root, 'lib'));
    const inst = await detectInstallation(root, { trustRecord: true, recordOnly: true });
    await assert.rejects(hashPaths(inst, ['lib/b.js']), (e) => isServicepackError(e) && e.code === 'E_INCONSISTENT');
    // the listing refuses it too
    await assert.rejects(
      detectInstallation(root, { trustRecord: true }),
      (e) => isServicepackError(e) && e.code === 'E_INCONSISTENT',
    );
  });
});

describe('hashTree and hashFiles', () => {
  test('agree with each other; a link is an error, a missing file undefined', async () => {
    const { root } = await recorded();
    const tree = await hashTree(root, ['.servicepack', 'wwwroot', 'logs', 'run']);
    const paths = [...tree.keys()];
    const each = await hashFiles(paths.map((p) => join(root, ...p.split('/'))));
    assert.deepEqual(each, [...tree.values()]);
    await mkdir(join(root, 'x'));
    await symlink(join(root, 'lib', 'a.js'), join(root, 'x', 'link.js'));
    const [link, missing] = await hashFiles([join(root, 'x', 'link.js'), join(root, 'x', 'none.js')]);
    assert.ok(link instanceof Error);
    assert.equal(missing, undefined);
    await assert.rejects(hashTree(root, ['.servicepack']), /not a regular file or folder/);
  });
});

describe('record checks without zod', () => {
  const state: State = {
    format: 1,
    product: 'inetsrv',
    version: '4.0.0',
    arch: 'x86',
    level: 6,
    hotfixes: ['Q236565'],
    installed: [
      { packId: 'inetsrv-4.0-sp6', kind: 'service-pack', fromLevel: 0, level: 6, backup: 'backup/inetsrv-4.0-sp6' },
    ],
    files: { 'lib/a.js': { sha256: 'a'.repeat(64), size: 3, mode: 0o644 } },
    keptModified: ['conf/inetsrv.conf'],
    feeds: { 'https://example.invalid/index.json': { version: 3, seen: '2026-01-01T00:00:00Z' } },
    history: [
      {
        id: 't',
        packId: 'inetsrv-4.0-sp6',
        action: 'install',
        time: '2026-01-01T00:00:00Z',
        result: 'done',
        fromLevel: 0,
        toLevel: 6,
      },
    ],
  };

  test('what they accept, the zod schemas accept', () => {
    assert.ok(checkedState(state));
    assert.ok(StateSchema.safeParse(state).success);
    const bi = buildInfo(6);
    assert.ok(checkedBuildInfo(bi));
    assert.ok(BuildInfoSchema.safeParse(bi).success);
  });

  test('the quick rule for product paths accepts nothing the path rules or the owned-folder rule refuse', () => {
    const agree = (p: string) =>
      assert.equal(
        ownedPathReason(p) === undefined,
        unsafePathReason(p) === undefined && isOwnedPath(p),
        JSON.stringify(p),
      );
    for (let c = 0; c <= 0xffff; c++) {
      const ch = String.fromCharCode(c);
      for (const p of [ch, `lib/${ch}`, `lib/a${ch}b.js`, `lib/x${ch}`, `${ch}lib/a.js`]) agree(p);
    }
    for (const name of [
      'con',
      'CON',
      'aux.js',
      'Nul.txt',
      'com1',
      'LPT9.x',
      'conin$',
      'com¹',
      'cona',
      'console.js',
      'auxiliary',
    ])
      for (const p of [name, `lib/${name}`, `lib/${name}/x`]) agree(p);
    for (const top of ['.servicepack', 'wwwroot', 'WWWRoot', 'logs', 'Logs', 'run', 'RUN', 'runner', 'log'])
      for (const p of [top, `${top}/x`, `${top}x/y`]) agree(p);
    for (const p of [
      'a/'.repeat(31) + 'b',
      'a/'.repeat(32) + 'b',
      'x'.repeat(240),
      'x'.repeat(241),
      'a..b',
      'a/.b',
      'a./b',
      'a /b',
      '-/+',
      'a//b',
      '/a',
      'a/',
    ])
      agree(p);
  });

  test('whatever the schemas refuse, they refuse too (and hand to the schema)', () => {
    const clone = (): Record<string, unknown> => JSON.parse(JSON.stringify(state)) as Record<string, unknown>;
    const bad: Record<string, unknown>[] = [];
    for (const mutate of [
      (s: Record<string, unknown>) => {
        s['extra'] = 1;
      },
      (s: Record<string, unknown>) => {
        s['format'] = 2;
      },
      (s: Record<string, unknown>) => {
        s['arch'] = 'mips';
      },
      (s: Record<string, unknown>) => {
        s['level'] = -1;
      },
      (s: Record<string, unknown>) => {
        s['level'] = 1.5;
      },
      (s: Record<string, unknown>) => {
        (s['files'] as Record<string, Record<string, unknown>>)['lib/a.js']!['sha256'] = 'A'.repeat(64);
      },
      (s: Record<string, unknown>) => {
        (s['files'] as Record<string, Record<string, unknown>>)['lib/a.js']!['owner'] = 'root';
      },
      (s: Record<string, unknown>) => {
        (s['history'] as Record<string, unknown>[])[0]!['result'] = 'maybe';
      },
      (s: Record<string, unknown>) => {
        (s['installed'] as Record<string, unknown>[])[0]!['kind'] = 'patch';
      },
      (s: Record<string, unknown>) => {
        s['feeds'] = { x: { version: '3', seen: 'now' } };
      },
      (s: Record<string, unknown>) => {
        delete s['history'];
      },
      // paths read back: the path rules, product files only, backups only under backup/
      ...[
        '/etc/hostname',
        '../x',
        'lib/../../x',
        'wwwroot/index.html',
        '.servicepack/state.json',
        'lib/x\u009b2J.js',
      ].map((k) => (s: Record<string, unknown>) => {
        (s['files'] as Record<string, unknown>)[k] = { sha256: 'a'.repeat(64), size: 3, mode: 0o644 };
      }),
      (s: Record<string, unknown>) => {
        s['keptModified'] = ['../../etc/passwd'];
      },
      ...['../../evil', '/etc', 'trust', 'backup', 'backup/a/b', 'backup/..'].flatMap((b) => [
        (s: Record<string, unknown>) => {
          (s['installed'] as Record<string, unknown>[])[0]!['backup'] = b;
        },
        (s: Record<string, unknown>) => {
          (s['history'] as Record<string, unknown>[])[0]!['backup'] = b;
        },
      ]),
    ]) {
      const s = clone();
      mutate(s);
      bad.push(s);
    }
    for (const s of bad) {
      assert.equal(StateSchema.safeParse(s).success, false, JSON.stringify(s));
      assert.equal(checkedState(s), undefined, JSON.stringify(s));
    }
    for (const b of [
      { ...buildInfo(6), level: 100 },
      { ...buildInfo(6), product: 'Inetsrv' },
      { ...buildInfo(6), version: '4.0' },
      { ...buildInfo(6), hotfixes: ['Q 1'] },
      { ...buildInfo(6), service: { pidFile: '', start: ['bin/inetsrv'] } },
      { ...buildInfo(6), service: { pidFile: 'run/p', start: [] } },
      { ...buildInfo(6), signedBy: 'x' },
      { ...buildInfo(6), service: { pidFile: '../../../tmp/x', start: ['bin/inetsrv'] } },
      { ...buildInfo(6), service: { pidFile: '/run/inetsrv.pid', start: ['bin/inetsrv'] } },
      { ...buildInfo(6), service: { pidFile: 'run/inetsrv.pid', start: ['../../usr/bin/env', 'sh'] } },
      { ...buildInfo(6), service: { pidFile: 'run/inetsrv.pid', start: ['/bin/sh'] } },
    ]) {
      assert.equal(BuildInfoSchema.safeParse(b).success, false, JSON.stringify(b));
      assert.equal(checkedBuildInfo(b), undefined, JSON.stringify(b));
    }
  });
});
