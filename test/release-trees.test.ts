import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
// The root has no dependency on the workspace packages, so their sources are imported by path.
import { ARCHES, type Arch } from '../packages/core/src/rules/level.js';
import { parseDiff } from '../packages/builder/src/patch.js';
import { paths } from '../packages/builder/src/paths.js';
import { buildReleases, releaseName } from '../packages/builder/src/release.js';
import { loadSeries, type SeriesFix } from '../packages/builder/src/series.js';
import { listTree } from '../packages/builder/src/tree.js';
import { libPathFor } from '../packages/builder/src/transpile.js';

/**
 * Checks the release trees `pnpm build` wrote into dist/releases: the ones the packs are made from
 * and the installer is tested against. Missing trees are a failure, never a skip: a skipped check
 * would let a broken build look green.
 */
function releasesDir(): string {
  if (!existsSync(paths.releases)) assert.fail(`${paths.releases} does not exist: run pnpm build first`);
  return paths.releases;
}

function treeDir(level: number, arch: Arch, hotfixes: string[] = []): string {
  const dir = join(releasesDir(), releaseName(level, arch, hotfixes));
  if (!existsSync(dir)) assert.fail(`${dir} does not exist: run pnpm build`);
  return dir;
}

/** logs/ and run/ are created by a server started in the tree itself (contract: never part of a release). */
const runtimeOnly = (path: string) => path.startsWith('logs/') || path.startsWith('run/');

async function shipped(dir: string, options: { mtimes?: boolean } = {}) {
  return (await listTree(dir, options)).filter((e) => !runtimeOnly(e.path));
}

async function files(dir: string): Promise<Map<string, string>> {
  return new Map(
    (await shipped(dir)).filter((e) => !e.path.endsWith('/')).map((e) => [e.path, `${e.mode.toString(8)} ${e.sha256}`]),
  );
}

async function changed(a: string, b: string): Promise<string[]> {
  const fa = await files(a);
  const fb = await files(b);
  return [...new Set([...fa.keys(), ...fb.keys()])].filter((p) => fa.get(p) !== fb.get(p)).sort();
}

/** The release paths a fix's diffs can change in a tree for `arch`, derived from the diff text itself. */
async function touchedBy(fixes: SeriesFix[], arch: Arch): Promise<Set<string>> {
  const out = new Set<string>();
  for (const fix of fixes) {
    for (const diffPath of fix.diffPaths) {
      for (const fp of parseDiff(await readFile(diffPath, 'utf8'), { fixId: fix.id, diffFile: diffPath })) {
        const other = ARCHES.some((a) => a !== arch && fp.path === `src/platform/${a}.ts`);
        if (other) continue;
        const target = fp.path.startsWith('src/') ? libPathFor(fp.path) : fp.path;
        if (target !== undefined) out.add(target);
      }
    }
  }
  return out;
}

async function assertChangesWithin(from: string, to: string, expected: Set<string>, label: string): Promise<string[]> {
  const diff = await changed(from, to);
  assert.ok(diff.includes('BUILDINFO.json'), `${label}: BUILDINFO.json must differ`);
  const unexpected = diff.filter((p) => p !== 'BUILDINFO.json' && !expected.has(p));
  assert.deepEqual(unexpected, [], `${label}: files changed that no diff touches`);
  return diff;
}

describe('release trees in dist/releases', () => {
  it('has RTM and SP6 for x86 and Alpha, and the Q236565 hotfix build on SP5', async () => {
    for (const arch of ARCHES) {
      for (const level of [0, 6]) assert.ok(existsSync(join(treeDir(level, arch), 'BUILDINFO.json')));
      assert.ok(existsSync(join(treeDir(5, arch, ['Q236565']), 'BUILDINFO.json')));
    }
    const info = JSON.parse(await readFile(join(treeDir(5, 'x86', ['Q236565']), 'BUILDINFO.json'), 'utf8')) as {
      level: number;
      hotfixes: string[];
    };
    assert.deepEqual([info.level, info.hotfixes], [5, ['Q236565']]);
  });

  it('changes from RTM to SP6 only what the fixes of SP1..SP6 touch, and SP5 -> SP6 only what SP6 fixes touch', async () => {
    const series = await loadSeries(paths.patches);
    const q = series.fixes.find((f) => f.id === 'Q236565');
    assert.ok(q, 'patches/series lists Q236565');
    assert.equal(q.level, 6);
    for (const arch of ARCHES) {
      const upTo6 = await touchedBy(
        series.fixes.filter((f) => f.level !== undefined && f.level <= 6),
        arch,
      );
      await assertChangesWithin(treeDir(0, arch), treeDir(6, arch), upTo6, `rtm -> sp6 (${arch})`);
      const only6 = await touchedBy(
        series.fixes.filter((f) => f.level === 6),
        arch,
      );
      await assertChangesWithin(treeDir(5, arch), treeDir(6, arch), only6, `sp5 -> sp6 (${arch})`);
      const qFiles = await touchedBy([q], arch);
      const hotfix = await assertChangesWithin(
        treeDir(5, arch),
        treeDir(5, arch, ['Q236565']),
        qFiles,
        `sp5 -> sp5-q236565 (${arch})`,
      );
      assert.ok(
        hotfix.some((p) => qFiles.has(p)),
        `the Q236565 hotfix build (${arch}) must change at least one file its diff touches`,
      );
      // The fix itself is the same bytes in SP6 and in the hotfix build.
      const sp6 = await files(treeDir(6, arch));
      const hf = await files(treeDir(5, arch, ['Q236565']));
      for (const p of qFiles) assert.equal(hf.get(p), sp6.get(p), `${p}: hotfix build and SP6 agree (${arch})`);
    }
  });

  it('puts only the tree’s own architecture module in each tree', async () => {
    const names = (await readdir(releasesDir())).filter((n) => n.startsWith('inetsrv-4.0-'));
    assert.ok(names.length >= 4);
    for (const name of names) {
      const arch = ARCHES.find((a) => name.endsWith(`-${a}`));
      assert.ok(arch, `${name} names its architecture`);
      const lib = join(releasesDir(), name, 'lib', 'platform');
      assert.ok(existsSync(join(lib, `${arch}.js`)), `${name} has platform/${arch}.js`);
      for (const other of ARCHES.filter((a) => a !== arch)) {
        assert.ok(!existsSync(join(lib, `${other}.js`)), `${name} must not contain platform/${other}.js`);
      }
    }
  });

  it('is reproducible: rebuilding from the same sources and key gives byte-identical trees', async () => {
    const published = releasesDir();
    const keyFile = join(paths.dist, 'keys', 'dev.pub');
    if (!existsSync(keyFile)) assert.fail(`${keyFile} does not exist: run pnpm build`);
    const out = await mkdtemp(join(tmpdir(), 'sp-rebuild-'));
    after(() => rm(out, { recursive: true, force: true }));
    const built = await buildReleases({
      sourceDir: paths.inetsrvSource,
      patchesDir: paths.patches,
      releasesDir: out,
      publicKeyPem: await readFile(keyFile, 'utf8'),
      log: () => {},
    });
    const names = (await readdir(published)).filter((n) => n.startsWith('inetsrv-4.0-')).sort();
    assert.deepEqual(
      built.map((r) => r.name).sort(),
      names,
      'the same set of trees (run pnpm build if the sources changed)',
    );
    for (const name of names) {
      const a = await shipped(join(published, name), { mtimes: true });
      const b = await shipped(join(out, name), { mtimes: true });
      assert.deepEqual(
        b,
        a,
        `${name} differs from a fresh build: run pnpm build, or find what makes the build unreproducible`,
      );
    }
  });
});
