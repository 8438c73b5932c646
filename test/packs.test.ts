import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
// The root has no dependency on the workspace packages, so their sources are imported by path.
import { hashTree, sha256File } from '../packages/core/src/hash.js';
import { ARCHES } from '../packages/core/src/level.js';
import { openPack, stagePayload } from '../packages/core/src/pack-read.js';
import { loadTrustedKeys } from '../packages/core/src/trust.js';
import { buildAllPacks, NEVER_IN_PACKS } from '../packages/builder/src/pack-build.js';
import { paths } from '../packages/builder/src/paths.js';
import { releaseName } from '../packages/builder/src/release.js';

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
      const listing = execFileSync('tar', ['-tzf', join(paths.packs, name)], { encoding: 'utf8' }).trim().split('\n');
      assert.equal(listing[0], 'servicepack.json', name);
      assert.equal(listing[1], 'servicepack.sig', name);
      for (const entry of listing.slice(2)) assert.ok(entry.startsWith('payload/') || /^[A-Za-z0-9._-]+$/.test(entry), `${name}: ${entry}`);
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
      assert.ok(pack.manifest.fixes.some((f) => f.id === 'Q236565'), 'SP6 lists Q236565');
      assert.equal(new Set(pack.manifest.fixes.map((f) => f.id)).size, pack.manifest.fixes.length, 'no fix listed twice');
      assert.deepEqual(pack.manifest.supersedes, ['Q236565']);
      assert.ok(pack.manifest.documents?.some((d) => d.name === 'EULA.txt'));
    }
  });

  it('SP6 carries exactly the files in which SP6 differs from the levels it installs on', async () => {
    for (const arch of ARCHES) {
      const pack = await openPack(join(paths.packs, `${releaseName(6, arch)}.tgz`), { trustedKeys: await loadTrustedKeys({ root: tree(6, arch) }) });
      const sp6 = await hashTree(tree(6, arch), NEVER_IN_PACKS);
      const rtm = await hashTree(tree(0, arch), NEVER_IN_PACKS);
      const exec = (mode: number | undefined) => ((mode ?? 0) & 0o111) !== 0;
      const differs = (a: typeof sp6, b: typeof sp6) => {
        const out = new Set<string>();
        for (const p of new Set([...a.keys(), ...b.keys()])) if (a.get(p)?.sha256 !== b.get(p)?.sha256 || exec(a.get(p)?.mode) !== exec(b.get(p)?.mode)) out.add(p);
        return out;
      };
      const fromRtm = differs(sp6, rtm);
      fromRtm.add('BUILDINFO.json');
      // every base level that exists adds the paths it differs in (normally none beyond RTM's)
      const expected = new Set(fromRtm);
      for (const level of pack.manifest.appliesTo.levels) {
        const dir = join(paths.releases, releaseName(level, arch));
        if (existsSync(dir)) for (const p of differs(sp6, await hashTree(dir, NEVER_IN_PACKS))) expected.add(p);
      }
      const listed = pack.manifest.files.map((f) => f.path).sort();
      assert.deepEqual(listed, [...expected].sort(), `${arch}: pack files vs tree differences`);
      for (const p of fromRtm) assert.ok(listed.includes(p), `${arch}: ${p} differs from RTM but is not in SP6`);
      assert.ok(!listed.some((p) => p.startsWith('wwwroot/') || p.startsWith('.servicepack/')), 'content and installer records are never in a pack');
      for (const f of pack.manifest.files) {
        const now = sp6.get(f.path);
        if (f.action === 'delete') assert.equal(now, undefined, f.path);
        else assert.equal(f.sha256, now?.sha256, f.path);
        if (f.path.startsWith('conf/')) assert.equal(f.config, true, f.path);
        const old = rtm.get(f.path);
        if (old) assert.ok(f.from.includes(old.sha256), `${f.path}: RTM's version is a known earlier version`);
      }
      assert.equal(pack.manifest.restart, listed.some((p) => p.startsWith('lib/') || p.startsWith('bin/') || p === 'package.json'));
      // and the payload stages to exactly the SP6 tree's bytes
      const t = await mkdtemp(join(tmpdir(), 'sp-packs-stage-'));
      temps.push(t);
      const staged = await stagePayload(pack, join(t, 'stage'));
      for (const [p, f] of staged.files) assert.equal((await sha256File(join(staged.dir, p))).sha256, sp6.get(p)?.sha256 ?? `missing ${p}`, `${p} (${f.size} bytes)`);
    }
  });

  it('rebuilding the packs gives byte-identical files', async () => {
    const names = await builtPacks();
    const out = await mkdtemp(join(tmpdir(), 'sp-packs-rebuild-'));
    temps.push(out);
    const rebuilt = await buildAllPacks({ outDir: out, log: () => {} });
    assert.deepEqual(rebuilt.map((b) => b.out.slice(out.length + 1)).sort(), names);
    for (const name of names) {
      assert.equal((await sha256File(join(out, name))).sha256, (await sha256File(join(paths.packs, name))).sha256, `${name} differs when rebuilt`);
    }
    // the signed manifest bytes are the same too, not just the compressed file
    const a = await readFile(join(out, names[0]!));
    const b = await readFile(join(paths.packs, names[0]!));
    assert.ok(a.equals(b));
  });
});
