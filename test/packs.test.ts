import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
// The root has no dependency on the workspace packages, so their sources are imported by path.
import { hashTree, sha256File } from '../packages/core/src/support/hash.js';
import { ARCHES } from '../packages/core/src/rules/level.js';
import { openPack } from '../packages/core/src/pack/open.js';
import { stagePayload } from '../packages/core/src/pack/stage.js';
import { loadTrustedKeys } from '../packages/core/src/trust/trust.js';
import { buildAllPacks, findBaseTrees, NEVER_IN_PACKS, packFileName } from '../packages/builder/src/pack-build.js';
import { loadPackDef, type PackDef } from '../packages/builder/src/pack-def.js';
import { paths } from '../packages/builder/src/paths.js';
import { releaseName } from '../packages/builder/src/release.js';
import { chainBefore, isHotfixOnly, loadSeries, type Series } from '../packages/builder/src/series.js';

/**
 * Checks the packs `pnpm build` wrote into dist/packs against the release trees they were made
 * from. A missing build is a failure, never a skip.
 */
async function builtPacks(): Promise<string[]> {
  if (!existsSync(paths.packs)) assert.fail(`${paths.packs} does not exist: run pnpm build first`);
  const names = (await readdir(paths.packs)).filter((n) => n.endsWith('.tgz')).sort();
  if (names.length === 0) assert.fail(`${paths.packs} holds no packs: run pnpm build`);
  return names;
}

/** Every definition in manifests/packs/ with the pack file each of its architectures gives. */
async function definitions(): Promise<{ def: PackDef; arch: (typeof ARCHES)[number]; name: string }[]> {
  const dir = join(paths.manifests, 'packs');
  const out: { def: PackDef; arch: (typeof ARCHES)[number]; name: string }[] = [];
  for (const file of (await readdir(dir)).filter((n) => n.endsWith('.yaml')).sort()) {
    const def = await loadPackDef(join(dir, file));
    for (const arch of def.arches) out.push({ def, arch, name: packFileName(def, arch) });
  }
  return out;
}

/**
 * The hotfixes of the release tree a pack reaches: none for a service pack; for a hotfix or rollup
 * the ones it requires plus its own, in series order (the order release names use).
 */
function reachedHotfixes(def: PackDef, series: Series): string[] {
  if (def.kind === 'service-pack') return [];
  const ids = new Set([...(def.appliesTo.requires ?? []), ...(def.fixes ?? [def.id])]);
  return series.fixes.filter((f) => ids.has(f.id)).map((f) => f.id);
}

/** The post-SP6a hotfixes on `baseLevel` in series order: the chain each is built on (issue 17). */
function chainOn(series: Series, baseLevel: number): string[] {
  return series.fixes.filter((f) => isHotfixOnly(f) && f.hotfix.baseLevel === baseLevel).map((f) => f.id);
}

function tree(level: number, arch: string, hotfixes: string[] = []): string {
  const dir = join(paths.releases, releaseName(level, arch as (typeof ARCHES)[number], hotfixes));
  if (!existsSync(dir)) assert.fail(`${dir} does not exist: run pnpm build`);
  return dir;
}

describe('built packs (dist/packs)', () => {
  const temps: string[] = [];
  after(async () => {
    for (const t of temps) await rm(t, { recursive: true, force: true });
  });

  it('every pack lists with GNU tar: manifest, signature, then payload and documents', async () => {
    for (const name of await builtPacks()) {
      const listing = execFileSync('tar', ['-tzf', join(paths.packs, name)], { encoding: 'utf8' })
        .trim()
        .split('\n');
      assert.equal(listing[0], 'servicepack.json', name);
      assert.equal(listing[1], 'servicepack.sig', name);
      for (const entry of listing.slice(2))
        assert.ok(entry.startsWith('payload/') || /^[A-Za-z0-9._-]+$/.test(entry), `${name}: ${entry}`);
    }
  });

  it('SP6 exists for every architecture and is trusted by every release tree out of the box', async () => {
    const names = await builtPacks();
    for (const arch of ARCHES) {
      const name = `${releaseName(6, arch)}.tgz`;
      assert.ok(names.includes(name), `${name} missing from ${paths.packs}`);
      // the vendor key every release tree carries in .servicepack/trust/ verifies the vendor's pack
      const keys = await loadTrustedKeys({ root: tree(0, arch) });
      const pack = await openPack(join(paths.packs, name), { trustedKeys: keys });
      assert.equal(pack.manifest.id, 'inetsrv-4.0-sp6');
      assert.equal(pack.manifest.arch, arch);
      assert.equal(pack.manifest.level, 6);
      assert.equal(pack.unsigned, false);
      assert.ok(
        pack.manifest.fixes.some((f) => f.id === 'Q236565'),
        'SP6 lists Q236565',
      );
      assert.equal(
        new Set(pack.manifest.fixes.map((f) => f.id)).size,
        pack.manifest.fixes.length,
        'no fix listed twice',
      );
      assert.deepEqual(pack.manifest.supersedes, ['Q236565']);
      assert.ok(pack.manifest.documents?.some((d) => d.name === 'EULA.txt'));
    }
  });

  it('every definition gives one pack per architecture, and dist/packs holds nothing else', async () => {
    const defs = await definitions();
    assert.deepEqual(await builtPacks(), defs.map((d) => d.name).sort());
    // cumulative service packs for every level the series reaches, and a hotfix for each hotfix fix
    const series = await loadSeries(paths.patches);
    // Levels stop at SP6a (7): what came after ships only as hotfixes on it and in a rollup (issue 17).
    const packedLevel = Math.max(...defs.filter((d) => d.def.kind === 'service-pack').map((d) => d.def.level));
    assert.equal(packedLevel, 7, 'SP6a (level 7) is the newest service pack');
    assert.equal(series.maxLevel, packedLevel, 'no fix ships at a level above the newest service pack');
    for (const arch of ARCHES) {
      for (let level = 1; level <= packedLevel; level++) {
        assert.ok(
          defs.some((d) => d.arch === arch && d.def.kind === 'service-pack' && d.def.level === level),
          `no ${arch} service pack for level ${level}: an installation there could only be reached by a newer one`,
        );
      }
      for (const fix of series.fixes.filter((f) => f.hotfix && f.arch.includes(arch))) {
        const def = defs.find((d) => d.arch === arch && d.def.kind === 'hotfix' && d.def.id === fix.id)?.def;
        assert.ok(def, `no ${arch} pack for hotfix ${fix.id}`);
        // a hotfix-only fix is built on the chain before it and requires exactly that chain
        const before = chainBefore(series, fix).map((f) => f.id);
        assert.deepEqual(def.appliesTo.requires ?? [], before, `${fix.id} requires the chain before it`);
      }
      // the post-SP6a chain: one hotfix-only fix after another, nine in all, none shipped in a service pack
      const chain = chainOn(series, packedLevel);
      assert.deepEqual(
        series.fixes.filter((f) => f.level === undefined).map((f) => f.id),
        chain,
        'every fix without a level is a hotfix on SP6a',
      );
      assert.ok(chain.length >= 9, `the post-SP6a chain: ${chain.join(', ')}`);
      // Security Rollup 1: the first four of the chain (the security fixes), superseding them
      const rollups = defs.filter((d) => d.arch === arch && d.def.kind === 'rollup').map((d) => d.def);
      assert.deepEqual(
        rollups.map((r) => r.id),
        ['SRP1'],
        `${arch}: one rollup`,
      );
      const srp1 = rollups[0]!;
      const security = chain.filter((id) => series.fixes.find((f) => f.id === id)?.security === true);
      assert.deepEqual(security, chain.slice(0, 4), 'the security fixes come first in the chain');
      assert.deepEqual(srp1.fixes, security, 'SRP1 carries the four security hotfixes');
      assert.deepEqual(srp1.supersedes, security, 'and supersedes them');
      assert.deepEqual(srp1.appliesTo.hotfixes, security, 'it installs beside any of them (a prefix of the chain)');
      assert.equal(srp1.appliesTo.requires, undefined, 'it requires none of them');
      assert.deepEqual([srp1.level, srp1.baseLevel, srp1.appliesTo.levels], [7, 7, [7]], 'on SP6a');
    }
  });

  it('each manifest says what its definition and patches/series say: levels, fixes, supersedes', async () => {
    const series = await loadSeries(paths.patches);
    for (const { def, arch, name } of await definitions()) {
      const m = (
        await openPack(join(paths.packs, name), { trustedKeys: await loadTrustedKeys({ root: tree(0, arch) }) })
      ).manifest;
      assert.equal(m.id, def.id, name);
      assert.equal(m.kind, def.kind, name);
      assert.equal(m.arch, arch, name);
      assert.equal(m.level, def.level, name);
      assert.deepEqual(
        m.appliesTo.levels,
        [...def.appliesTo.levels].sort((a, b) => a - b),
        name,
      );
      assert.deepEqual(m.supersedes, def.supersedes, name);
      if (def.kind === 'service-pack') {
        // cumulative: every level below its own, and every fix up to it for this architecture
        assert.deepEqual(
          m.appliesTo.levels,
          Array.from({ length: def.level }, (_, i) => i),
          `${name}: installs on every lower level`,
        );
        const want = series.fixes.filter((f) => f.level !== undefined && f.level <= def.level && f.arch.includes(arch));
        assert.deepEqual(
          m.fixes.map((f) => f.id),
          want.map((f) => f.id),
          `${name}: fixes from patches/series`,
        );
        for (const s of m.supersedes)
          assert.ok(
            want.some((f) => f.id === s),
            `${name} supersedes ${s} but does not ship its fix`,
          );
      } else if (def.kind === 'rollup') {
        assert.equal(m.baseLevel, def.level, name);
        assert.deepEqual(m.appliesTo.levels, [def.level], name);
        assert.deepEqual(m.appliesTo.hotfixes, def.fixes, `${name}: installs beside the hotfixes it carries`);
        assert.equal(m.appliesTo.requires, undefined, name);
        // each a post-SP6a hotfix-only fix on the rollup's base level: no service pack includes them
        const chain = chainOn(series, def.level);
        assert.deepEqual(
          m.fixes.map((f) => [f.id, f.title, f.level, f.security]),
          (def.fixes ?? []).map((id) => [id, series.fixes.find((f) => f.id === id)?.title, undefined, true]),
          name,
        );
        assert.deepEqual(
          m.fixes.map((f) => f.id),
          chain.slice(0, m.fixes.length),
          `${name}: a prefix of the chain`,
        );
      } else {
        assert.equal(m.baseLevel, def.level, name);
        const fix = series.fixes.find((f) => f.id === def.id);
        assert.ok(fix?.hotfix, `${def.id} is a hotfix in patches/series`);
        assert.deepEqual(m.appliesTo.levels, [fix.hotfix.baseLevel], name);
        const before = chainBefore(series, fix).map((f) => f.id);
        assert.deepEqual(m.appliesTo.requires, before.length > 0 ? before : undefined, `${name}: requires`);
        // the fix level is what lets the installer say which service pack includes (and supersedes) it
        assert.deepEqual(
          m.fixes.map((f) => [f.id, f.title, f.level]),
          [[fix.id, fix.title, fix.level]],
          name,
        );
      }
      for (const f of m.fixes)
        assert.equal(
          f.title,
          series.fixes.find((x) => x.id === f.id)?.title,
          `${name}: ${f.id}'s title comes from its fix.yaml`,
        );
    }
  });

  it('every pack carries exactly the files in which its level differs from each tree it installs on', async () => {
    const series = await loadSeries(paths.patches);
    for (const { def, arch, name } of await definitions()) {
      const pack = await openPack(join(paths.packs, name), {
        trustedKeys: await loadTrustedKeys({ root: tree(0, arch) }),
      });
      const next = await hashTree(tree(def.level, arch, reachedHotfixes(def, series)), NEVER_IN_PACKS);
      const bases = await findBaseTrees(paths.releases, def, arch);
      assert.deepEqual(
        [...new Set(bases.map((b) => b.level))].sort((x, y) => x - y),
        [...def.appliesTo.levels].sort((x, y) => x - y),
        `${name}: a release tree for every level it installs on`,
      );
      const chain = chainOn(series, def.level);
      if (def.kind === 'rollup') {
        // SP6a and SP6a with each shorter prefix of what it carries: every tree it may find
        const n = def.fixes?.length ?? 0;
        assert.deepEqual(
          bases.map((b) => b.hotfixes),
          Array.from({ length: n }, (_, i) => chain.slice(0, i)),
          `${name}: built from SP6a and each prefix of its hotfixes`,
        );
      } else if (def.kind === 'hotfix' && chain.includes(def.id)) {
        // a chain hotfix: from the one tree with the whole chain before it
        assert.deepEqual(
          bases.map((b) => b.hotfixes),
          [chain.slice(0, chain.indexOf(def.id))],
          `${name}: built from the chain before it`,
        );
      }
      const expected = new Set(['BUILDINFO.json']);
      const fromOf = new Map<string, Set<string>>();
      for (const b of bases) {
        const old = await hashTree(b.dir, NEVER_IN_PACKS);
        for (const p of new Set([...next.keys(), ...old.keys()])) {
          const o = old.get(p);
          if (o) fromOf.set(p, (fromOf.get(p) ?? new Set()).add(o.sha256));
          const n = next.get(p);
          if (o?.sha256 !== n?.sha256 || ((o?.mode ?? 0) & 0o111) !== ((n?.mode ?? 0) & 0o111)) expected.add(p);
        }
      }
      const listed = pack.manifest.files.map((f) => f.path).sort();
      assert.deepEqual(listed, [...expected].sort(), `${name}: pack files vs tree differences`);
      for (const f of pack.manifest.files) {
        assert.deepEqual(
          f.from,
          [...(fromOf.get(f.path) ?? [])].sort(),
          `${name}: ${f.path}: every base tree's version is a known earlier one`,
        );
        if (f.action === 'delete') assert.equal(next.get(f.path), undefined, f.path);
        else assert.equal(f.sha256, next.get(f.path)?.sha256, `${name}: ${f.path}`);
        assert.equal(
          f.config === true,
          f.path.startsWith('conf/'),
          `${name}: ${f.path}: only conf/ holds the admin's files`,
        );
      }
      assert.ok(
        !listed.some((p) => NEVER_IN_PACKS.some((top) => p.startsWith(`${top}/`))),
        `${name}: content and installer records are never in a pack`,
      );
      assert.equal(
        pack.manifest.restart,
        listed.some((p) => p.startsWith('lib/') || p.startsWith('bin/') || p === 'package.json'),
        `${name}: restart`,
      );
      const t = await mkdtemp(join(tmpdir(), 'sp-packs-stage-'));
      temps.push(t);
      const staged = await stagePayload(pack, join(t, 'stage'));
      for (const p of staged.files.keys())
        assert.equal((await sha256File(join(staged.dir, p))).sha256, next.get(p)?.sha256, `${name}: staged ${p}`);
    }
  });

  it('rebuilding the packs gives byte-identical files', async () => {
    const names = await builtPacks();
    const out = await mkdtemp(join(tmpdir(), 'sp-packs-rebuild-'));
    temps.push(out);
    const rebuilt = await buildAllPacks({ outDir: out, log: () => {} });
    assert.deepEqual(rebuilt.map((b) => b.out.slice(out.length + 1)).sort(), names);
    for (const name of names) {
      assert.equal(
        (await sha256File(join(out, name))).sha256,
        (await sha256File(join(paths.packs, name))).sha256,
        `${name} differs when rebuilt`,
      );
    }
    // the signed manifest bytes are the same too, not just the compressed file
    const a = await readFile(join(out, names[0]!));
    const b = await readFile(join(paths.packs, names[0]!));
    assert.ok(a.equals(b));
  });
});
