import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ServicepackError } from '../../src/support/errors.js';
import { sha256Bytes } from '../../src/support/hash.js';
import type { Manifest, ManifestFile } from '../../src/pack/manifest.js';
import { type FileMeta, filesAfter, planInstall } from '../../src/rules/plan.js';

const h = (s: string) => sha256Bytes(s);
const meta = (s: string, mode = 0o644): FileMeta => ({ sha256: h(s), size: Buffer.byteLength(s), mode });

function manifest(files: ManifestFile[]): Manifest {
  return {
    format: 1,
    id: 'inetsrv-4.0-sp1',
    kind: 'service-pack',
    product: 'inetsrv',
    title: 'SP1',
    level: 1,
    arch: 'x86',
    appliesTo: { version: '4.0.x', levels: [0] },
    supersedes: [],
    fixes: [],
    files,
    restart: true,
    created: '2026-01-01T00:00:00.000Z',
  };
}

const put = (path: string, content: string, from: string[], extra: Partial<ManifestFile> = {}): ManifestFile => ({
  path,
  action: from.length === 0 ? 'add' : 'replace',
  sha256: h(content),
  size: Buffer.byteLength(content),
  mode: 0o644,
  from: from.map(h),
  ...extra,
});
const del = (path: string, from: string[]): ManifestFile => ({ path, action: 'delete', from: from.map(h) });

const disk = new Map<string, FileMeta>([
  ['lib/a.js', meta('a0')],
  ['lib/b.js', meta('b0')],
  ['lib/old.js', meta('old')],
  ['conf/inetsrv.conf', meta('conf0')],
  ['BUILDINFO.json', meta('bi0')],
]);

function refusal(fn: () => unknown, code: string): ServicepackError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ServicepackError);
    assert.equal(e.code, code);
    return e;
  }
  assert.fail(`expected ${code}`);
}

describe('planInstall', () => {
  test('unmodified files: replace, add, delete; already-new files unchanged', () => {
    const m = manifest([
      put('lib/a.js', 'a1', ['a0']),
      put('lib/new/c.js', 'c1', []),
      del('lib/old.js', ['old']),
      put('lib/b.js', 'b0', ['bX']), // already the new content
      del('lib/gone.js', ['g']), // already absent
    ]);
    const p = planInstall({ files: disk }, m, { modified: 'stop' });
    assert.deepEqual(
      p.ops.map((o) => [o.path, o.op, o.reason]),
      [
        ['lib/a.js', 'replace', 'pack'],
        ['lib/new/c.js', 'add', 'pack'],
        ['lib/old.js', 'delete', 'pack'],
      ],
    );
    assert.deepEqual(p.unchanged, ['lib/b.js', 'lib/gone.js']);
    assert.deepEqual(p.ops[0]!.before, meta('a0'));
    assert.deepEqual(p.ops[0]!.after, meta('a1'));
    assert.equal(p.totalBytes, 4);
    assert.deepEqual(p.kept, []);
  });

  test('a locally modified file stops the plan by default, naming every such file', () => {
    const files = new Map(disk);
    files.set('lib/a.js', meta('a-edited'));
    files.set('lib/new/c.js', meta('someone put this here'));
    const m = manifest([
      put('lib/a.js', 'a1', ['a0']),
      put('lib/new/c.js', 'c1', []),
      put('lib/b.js', 'b1', ['b0']),
      put('lib/missing.js', 'm1', ['m0']),
    ]);
    const e = refusal(() => planInstall({ files }, m, { modified: 'stop' }), 'E_LOCALLY_MODIFIED');
    assert.equal(e.exitCode, 3);
    assert.deepEqual(
      (e.details['files'] as { path: string }[]).map((f) => f.path),
      ['lib/a.js', 'lib/new/c.js', 'lib/missing.js'],
    );
    assert.match(
      e.message,
      /3 files were changed here.*lib\/a\.js, lib\/new\/c\.js, lib\/missing\.js \(missing\).*--overwrite-modified/,
    );
  });

  test('--overwrite-modified replaces them (original recorded as before, for the backup)', () => {
    const files = new Map(disk);
    files.set('lib/a.js', meta('a-edited'));
    files.set('lib/old.js', meta('old-edited'));
    const m = manifest([put('lib/a.js', 'a1', ['a0']), del('lib/old.js', ['old'])]);
    const p = planInstall({ files }, m, { modified: 'overwrite' });
    assert.deepEqual(
      p.ops.map((o) => [o.path, o.op, o.reason, o.before?.sha256]),
      [
        ['lib/a.js', 'replace', 'overwrite-modified', h('a-edited')],
        ['lib/old.js', 'delete', 'overwrite-modified', h('old-edited')],
      ],
    );
    assert.deepEqual(p.overwritten, ['lib/a.js', 'lib/old.js']);
  });

  test('--keep-modified leaves them and records them', () => {
    const files = new Map(disk);
    files.set('lib/a.js', meta('a-edited'));
    const p = planInstall({ files }, manifest([put('lib/a.js', 'a1', ['a0']), put('lib/b.js', 'b1', ['b0'])]), {
      modified: 'keep',
    });
    assert.deepEqual(
      p.ops.map((o) => o.path),
      ['lib/b.js'],
    );
    assert.deepEqual(
      p.kept.map((k) => [k.path, k.reason]),
      [['lib/a.js', 'keep-modified']],
    );
  });

  test('BUILDINFO.json cannot be kept: it records the level', () => {
    const files = new Map(disk);
    files.set('BUILDINFO.json', meta('bi-edited'));
    refusal(
      () => planInstall({ files }, manifest([put('BUILDINFO.json', 'bi1', ['bi0'])]), { modified: 'keep' }),
      'E_LOCALLY_MODIFIED',
    );
  });

  test('a modified config file is never overwritten, whatever the policy: the default goes to .spnew', () => {
    const files = new Map(disk);
    files.set('conf/inetsrv.conf', meta('conf-admin'));
    const m = manifest([put('conf/inetsrv.conf', 'conf1', ['conf0'], { config: true })]);
    for (const modified of ['stop', 'overwrite', 'keep'] as const) {
      const p = planInstall({ files }, m, { modified });
      assert.deepEqual(
        p.ops.map((o) => [o.path, o.op, o.reason, o.source]),
        [['conf/inetsrv.conf.spnew', 'add', 'spnew', 'conf/inetsrv.conf']],
      );
      assert.deepEqual(p.spnew, ['conf/inetsrv.conf.spnew']);
      assert.deepEqual(
        p.kept.map((k) => [k.path, k.reason]),
        [['conf/inetsrv.conf', 'config-modified']],
      );
    }
    // an unmodified config file is simply replaced
    const clean = planInstall({ files: disk }, m, { modified: 'stop' });
    assert.deepEqual(
      clean.ops.map((o) => [o.path, o.op]),
      [['conf/inetsrv.conf', 'replace']],
    );
    // an older .spnew beside it is replaced (and so backed up)
    files.set('conf/inetsrv.conf.spnew', meta('conf-older-default'));
    const again = planInstall({ files }, m, { modified: 'stop' });
    assert.deepEqual(
      again.ops.map((o) => [o.path, o.op]),
      [['conf/inetsrv.conf.spnew', 'replace']],
    );
  });

  test('paths a pack must not touch are refused, however well signed', () => {
    for (const path of [
      '.servicepack/trust/evil.pub',
      '.ServicePack/state.json',
      'wwwroot/index.html',
      'logs/x',
      'run/inetsrv.pid',
    ]) {
      const e = refusal(
        () => planInstall({ files: disk }, manifest([put(path, 'x', [])]), { modified: 'stop' }),
        'E_UNSAFE_ARCHIVE',
      );
      assert.equal(e.exitCode, 4);
    }
    refusal(
      () => planInstall({ files: disk }, manifest([del('BUILDINFO.json', ['bi0'])]), { modified: 'stop' }),
      'E_INVALID_MANIFEST',
    );
    refusal(
      () => planInstall({ files: disk }, manifest([put('conf/x.spnew', 'x', [])]), { modified: 'stop' }),
      'E_INVALID_MANIFEST',
    );
  });

  test('mode-only change is a replace', () => {
    const m = manifest([put('lib/a.js', 'a0', ['a0'], { mode: 0o755 })]);
    const p = planInstall({ files: disk }, m, { modified: 'stop' });
    assert.deepEqual(
      p.ops.map((o) => [o.path, o.op, o.after?.mode]),
      [['lib/a.js', 'replace', 0o755]],
    );
  });

  test('filesAfter gives the tree the next pack plans against', () => {
    const m = manifest([put('lib/a.js', 'a1', ['a0']), put('lib/new/c.js', 'c1', []), del('lib/old.js', ['old'])]);
    const next = filesAfter(disk, planInstall({ files: disk }, m, { modified: 'stop' }));
    assert.deepEqual([...next.keys()], ['BUILDINFO.json', 'conf/inetsrv.conf', 'lib/a.js', 'lib/b.js', 'lib/new/c.js']);
    assert.deepEqual(next.get('lib/a.js'), meta('a1'));
    assert.equal(disk.get('lib/a.js')?.sha256, h('a0'), 'input untouched');
  });
});
