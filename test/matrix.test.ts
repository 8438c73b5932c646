/**
 * The install matrix (issue 4): every pack from manifests/packs/ against every released level,
 * through the real `servicepack` executable on copies of the real release trees. Nothing here names
 * a level, a pack or a file that differs: starting points come from dist/releases (their
 * BUILDINFO.json), packs from the definitions, fix levels from patches/series, so the matrix grows
 * with the series. An install must give exactly the release tree of the level it reaches (modes
 * included); a refusal must exit 3 and leave every byte as it was, .servicepack/ included.
 * Issue 17: the post-SP6a hotfixes form a chain (each requires the ones before it) and Security
 * Rollup 1 carries the first four; every chain tree is a starting point, and every chain pack is
 * tried on every SP6a-level tree, the refusals included.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type PackDef, loadPackDef } from '../packages/builder/src/pack-def.js';
import { packFileName } from '../packages/builder/src/pack-build.js';
import { libPathFor } from '../packages/builder/src/transpile.js';
import { paths } from '../packages/builder/src/paths.js';
import { loadSeries } from '../packages/builder/src/series.js';
import { hashTree } from '../packages/core/src/support/hash.js';
import { ARCHES, type Arch, levelName } from '../packages/core/src/rules/level.js';
import { cli } from './support/hostile.js';

const bin = join(paths.repoRoot, 'installer', 'bin', 'servicepack');
/** What the installer and the running server create; everything else must match the release. */
const NOT_OWNED = ['.servicepack', 'logs', 'run'];

interface Release {
  name: string;
  dir: string;
  arch: Arch;
  level: number;
  hotfixes: string[];
}

interface Pack {
  def: PackDef;
  arch: Arch;
  file: string;
  /** the release tree an installation reaches with it */
  reaches: Release;
}

function readRelease(name: string): Release {
  const dir = join(paths.releases, name);
  const info = JSON.parse(readFileSync(join(dir, 'BUILDINFO.json'), 'utf8')) as {
    level: number;
    arch: Arch;
    hotfixes: string[];
  };
  return { name, dir, arch: info.arch, level: info.level, hotfixes: info.hotfixes };
}

const missing = [paths.releases, paths.packs, join(paths.repoRoot, 'installer', 'dist', 'cli.js')].filter(
  (p) => !existsSync(p),
);
if (missing.length > 0)
  throw new Error(
    `missing build output (${missing.join(', ')}): run pnpm build (npx --yes pnpm@10.34.8 run build) first`,
  );

const releases = readdirSync(paths.releases)
  .filter((n) => n.startsWith('inetsrv-') && existsSync(join(paths.releases, n, 'BUILDINFO.json')))
  .sort()
  .map(readRelease);
const defsDir = join(paths.manifests, 'packs');
const defs = await Promise.all(
  readdirSync(defsDir)
    .filter((n) => n.endsWith('.yaml'))
    .sort()
    .map((n) => loadPackDef(join(defsDir, n))),
);
const series = await loadSeries(paths.patches);
/** Where each fix first ships: a hotfix is superseded on any level at or past it. */
const fixLevel = new Map(series.fixes.map((f) => [f.id, f.level]));
/**
 * The newest level a service pack ships (SP6a). Levels stop there: what came after ships as hotfixes
 * on it (issue 17), so a release tree above it would be one no pack reaches: no starting point.
 */
const maxLevel = Math.max(...defs.filter((d) => d.kind === 'service-pack').map((d) => d.level));

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));

function packsFor(arch: Arch): Pack[] {
  return defs
    .filter((d) => d.arches.includes(arch))
    .map((def) => {
      // a hotfix or rollup reaches the tree with the hotfixes it requires plus its own
      const own = def.kind === 'service-pack' ? [] : [...(def.appliesTo.requires ?? []), ...(def.fixes ?? [def.id])];
      const reaches = releases.find((r) => r.arch === arch && r.level === def.level && sameSet(r.hotfixes, own));
      if (!reaches)
        throw new Error(
          `${def.id} (${arch}): no release tree at level ${def.level} with hotfixes [${own.join(', ')}]: run pnpm build`,
        );
      return { def, arch, file: join(paths.packs, packFileName(def, arch)), reaches };
    });
}

/**
 * The rules of the issue, written independently of core's applicability.ts: a cumulative service
 * pack installs on every level below its own (with only hotfixes it supersedes), never on its own
 * level or above; a hotfix or rollup only on its base level, not where its fixes already are (or
 * shipped), beside no hotfix outside the list it names, and only with every hotfix it requires.
 */
function expected(
  start: Release,
  p: Pack,
): 'install' | 'E_ALREADY_INSTALLED' | 'E_DOWNGRADE' | 'E_SUPERSEDED' | 'E_WRONG_LEVEL' {
  const d = p.def;
  if (d.kind === 'service-pack') {
    if (start.level === d.level) return 'E_ALREADY_INSTALLED';
    if (start.level > d.level) return 'E_DOWNGRADE';
    if (!d.appliesTo.levels.includes(start.level)) return 'E_WRONG_LEVEL';
    return start.hotfixes.every((h) => d.supersedes.includes(h)) ? 'install' : 'E_WRONG_LEVEL';
  }
  const ids = d.fixes ?? [d.id];
  if (ids.every((id) => start.hotfixes.includes(id))) return 'E_ALREADY_INSTALLED';
  const shipsIn = Math.max(...ids.map((id) => fixLevel.get(id) ?? Number.POSITIVE_INFINITY));
  if (start.level > (d.baseLevel ?? d.level) && shipsIn <= start.level) return 'E_SUPERSEDED';
  if (!d.appliesTo.levels.includes(start.level)) return 'E_WRONG_LEVEL';
  const beside = d.appliesTo.hotfixes;
  if (beside !== undefined && start.hotfixes.some((h) => !beside.includes(h) && !d.supersedes.includes(h)))
    return 'E_WRONG_LEVEL';
  return missingRequired(start, p).length > 0 ? 'E_WRONG_LEVEL' : 'install';
}

/** The hotfixes `p` is built on that `start` lacks (a chain hotfix without the ones before it). */
function missingRequired(start: Release, p: Pack): string[] {
  return (p.def.appliesTo.requires ?? []).filter((h) => !start.hotfixes.includes(h));
}

/** A hotfix or rollup built on the newest service pack: the post-SP6a chain and the rollup (issue 17). */
const onNewest = (p: Pack) => p.def.kind !== 'service-pack' && p.def.level === maxLevel;

/**
 * Which refusals run through the executable, per architecture: for each outcome and kind of pack
 * one case (the one on the highest starting point, then the newest pack), plus the cases the issue
 * names (SP3 over SP5, the hotfix on SP4), plus every refusal of a chain hotfix or the rollup on a
 * tree at the newest level (the chain is where the order matters). The full decision table is unit-tested in
 * packages/core/test/rules/applicability.test.ts; here each outcome proves the wiring (exit 3, a message
 * that says why, no byte changed) without paying a process per cell.
 */
function chosenRefusals(starts: readonly Release[], packs: readonly Pack[]): Map<Release, Pack[]> {
  const named = (start: Release, p: Pack) =>
    start.level === 5 && start.hotfixes.length === 0 && p.def.kind === 'service-pack' && p.def.level === 3;
  const byOutcome = new Map<string, { start: Release; pack: Pack }>();
  const out = new Map<Release, Pack[]>(starts.map((r) => [r, []]));
  for (const start of starts) {
    for (const pack of packs) {
      const outcome = expected(start, pack);
      if (outcome === 'install') continue;
      if (
        named(start, pack) ||
        (start.level === 4 && pack.def.kind === 'hotfix') ||
        (start.level === maxLevel && onNewest(pack))
      )
        out.get(start)?.push(pack);
      const key = `${outcome} ${pack.def.kind}`;
      const seen = byOutcome.get(key);
      if (
        !seen ||
        start.level > seen.start.level ||
        (start.level === seen.start.level && pack.def.level > seen.pack.def.level)
      )
        byOutcome.set(key, { start, pack });
    }
  }
  for (const { start, pack } of byOutcome.values()) {
    const list = out.get(start);
    if (list && !list.includes(pack)) list.push(pack);
  }
  return out;
}

interface Run {
  code: number | null;
  out: string;
  err: string;
}

const stats = { installs: 0, refusals: 0, queries: 0, installMs: 0, refusalMs: 0, codes: new Map<string, number>() };

let calls = 0;

/**
 * Most calls go through the installer's own `run()` in this process (the same code the binary
 * runs, minus a node start each, which was most of this matrix's cost); every tenth spawns the
 * real executable so the shipped entry point is covered too.
 */
async function servicepack(args: string[]): Promise<Run> {
  if (calls++ % 10 !== 0) return cli(args);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' }, timeout: 60_000 },
      (err, out, errOut) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, out, err: errOut });
      },
    );
  });
}

async function install(pack: Pack, root: string): Promise<Run> {
  const t0 = performance.now();
  const r = await servicepack(['install', '--accept-eula', '--root', root, '-u', '--json', pack.file]);
  const ms = performance.now() - t0;
  if (r.code === 0) {
    stats.installs++;
    stats.installMs += ms;
  } else {
    stats.refusals++;
    stats.refusalMs += ms;
  }
  return r;
}

async function query(
  root: string,
): Promise<{ level: number; levelName: string; hotfixes: string[]; consistent: boolean; problems: unknown[] }> {
  stats.queries++;
  const r = await servicepack(['query', '--root', root, '--json']);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as {
    level: number;
    levelName: string;
    hotfixes: string[];
    consistent: boolean;
    problems: unknown[];
  };
}

async function digest(dir: string, exclude: string[] = []): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [p, e] of await hashTree(dir, exclude)) out[p] = `${e.sha256} ${e.size} ${e.mode.toString(8)}`;
  return out;
}

const releaseDigests = new Map<string, Promise<Record<string, string>>>();
function releaseDigest(r: Release): Promise<Record<string, string>> {
  let d = releaseDigests.get(r.name);
  if (!d) {
    d = digest(r.dir, NOT_OWNED);
    releaseDigests.set(r.name, d);
  }
  return d;
}

const work = mkdtempSync(join(tmpdir(), 'sp-matrix-'));
let copies = 0;
/** A fresh installation: a plain copy of the vendor's release tree, modes included. */
function copyOf(r: Release): string {
  const root = join(work, `${copies++}-${r.name}`);
  cpSync(r.dir, root, { recursive: true });
  return root;
}

function refusalDoc(r: Run): { code: string; message: string; exitCode: number; details: Record<string, unknown> } {
  const doc = JSON.parse(r.out) as {
    ok: boolean;
    code: string;
    message: string;
    exitCode: number;
    details: Record<string, unknown>;
  };
  assert.equal(doc.ok, false, r.out);
  return doc;
}

const messages = new Map<string, string>();
const started = performance.now();

after(() => rmSync(work, { recursive: true, force: true }));

describe('install matrix', { concurrency: 2 }, () => {
  for (const arch of ARCHES) {
    const packs = packsFor(arch);
    const other = ARCHES.find((a) => a !== arch);
    const wrongArch =
      other === undefined
        ? undefined
        : packsFor(other).find((p) => p.def.kind === 'service-pack' && p.def.level === maxLevel);
    const starts = releases.filter((r) => r.arch === arch && r.level <= maxLevel);
    const refusals = chosenRefusals(starts, packs);
    // the tree with the whole chain: the newest release tree, where nothing applies any more
    const newest = starts
      .filter((r) => r.level === maxLevel)
      .reduce((a, b) => (b.hotfixes.length > a.hotfixes.length ? b : a));

    for (const start of starts) {
      const label = `${arch} ${levelName(start.level, start.hotfixes)} (${start.name})`;

      test(`${label}: every pack that applies installs to exactly its release tree`, async () => {
        const applying = packs.filter((p) => expected(start, p) === 'install');
        if (start === newest) assert.deepEqual(applying, [], `${start.name} is the newest tree: nothing applies`);
        else assert.ok(applying.length > 0, `no pack applies to ${start.name}: the matrix would prove nothing`);
        for (const p of applying) {
          const root = copyOf(start);
          const r = await install(p, root);
          assert.equal(r.code, 0, `${p.def.id} on ${start.name}: ${r.out}\n${r.err}`);
          assert.deepEqual(
            await digest(root, NOT_OWNED),
            await releaseDigest(p.reaches),
            `${p.def.id} on ${start.name} = ${p.reaches.name}`,
          );
          // the newest service pack, every hotfix and the rollup are also checked the way an admin would
          const rollups = p.def.kind === 'rollup' ? [{ id: p.def.id, fixes: p.def.fixes ?? [] }] : [];
          if (p.def.kind !== 'service-pack' || p.def.level === maxLevel) {
            const q = await query(root);
            assert.equal(q.level, p.reaches.level);
            assert.deepEqual(q.hotfixes, p.reaches.hotfixes);
            assert.equal(q.levelName, levelName(p.reaches.level, p.reaches.hotfixes, rollups));
            assert.equal(q.consistent, true, JSON.stringify(q.problems));
          }
          if (p.def.kind !== 'rollup') continue;
          // With the rollup installed, a hotfix it carries is refused (the rollup supersedes it) …
          const withRollup = await digest(root);
          for (const carried of packs.filter((h) => h.def.kind === 'hotfix' && rollups[0]?.fixes.includes(h.def.id))) {
            const refused = await install(carried, root);
            assert.equal(refused.code, 3, `${carried.def.id} after ${p.def.id}: ${refused.out}\n${refused.err}`);
            const doc = refusalDoc(refused);
            assert.equal(doc.code, 'E_SUPERSEDED', doc.message);
            assert.match(doc.message, /Security Rollup 1/, doc.message);
            stats.codes.set(doc.code, (stats.codes.get(doc.code) ?? 0) + 1);
            assert.deepEqual(await digest(root), withRollup, `${carried.def.id} after ${p.def.id}: nothing changed`);
          }
          // … and the next hotfix of the chain, which it does not carry, installs after it.
          const next = packs.find((h) => h.def.kind === 'hotfix' && expected(p.reaches, h) === 'install');
          assert.ok(next, `no hotfix installs after ${p.def.id}: the chain has nothing past the rollup`);
          const onTop = await install(next, root);
          assert.equal(onTop.code, 0, `${next.def.id} after ${p.def.id} on ${start.name}: ${onTop.out}\n${onTop.err}`);
          assert.deepEqual(
            await digest(root, NOT_OWNED),
            await releaseDigest(next.reaches),
            `${next.def.id} after ${p.def.id} on ${start.name} = ${next.reaches.name}`,
          );
          const q = await query(root);
          assert.deepEqual(q.hotfixes, next.reaches.hotfixes);
          assert.equal(q.levelName, levelName(next.reaches.level, next.reaches.hotfixes, rollups));
        }
      });

      test(`${label}: packs that do not apply are refused with exit 3 and change nothing`, async () => {
        const refused = refusals.get(start) ?? [];
        const root = copyOf(start);
        const before = await digest(root);
        for (const p of refused) {
          const r = await install(p, root);
          assert.equal(r.code, 3, `${p.def.id} on ${start.name}: ${r.out}\n${r.err}`);
          const doc = refusalDoc(r);
          assert.equal(doc.code, expected(start, p), `${p.def.id} on ${start.name}: ${doc.message}`);
          assert.equal(doc.exitCode, 3);
          // a chain hotfix without the ones before it names what it is built on
          const missingHere = missingRequired(start, p);
          if (expected(start, p) === 'E_WRONG_LEVEL' && start.level === maxLevel && missingHere.length > 0)
            assert.deepEqual(doc.details['requires'], missingHere, `${p.def.id} on ${start.name}: ${doc.message}`);
          stats.codes.set(doc.code, (stats.codes.get(doc.code) ?? 0) + 1);
          assert.deepEqual(
            await digest(root),
            before,
            `${p.def.id} on ${start.name}: every file as before, .servicepack/ included`,
          );
          messages.set(`${arch}:${p.def.id}@${start.name}`, doc.message);
        }
        if (wrongArch) {
          const r = await install(wrongArch, root);
          assert.equal(r.code, 3, r.out);
          const doc = refusalDoc(r);
          assert.equal(doc.code, 'E_WRONG_ARCH');
          stats.codes.set(doc.code, (stats.codes.get(doc.code) ?? 0) + 1);
          // it names the file that would apply: the same pack for this installation's arch
          assert.ok(doc.message.includes(`use ${packFileName(wrongArch.def, arch)}`), doc.message);
          messages.set(`${arch}:wrong-arch@${start.name}`, doc.message);
        }
        assert.deepEqual(await digest(root), before, 'every file as before, .servicepack/ included');
      });
    }

    test(`${arch}: a hotfix release tree reports its hotfixes as query shows them`, async () => {
      // the same installation after the superseding service pack is checked in the install loop
      const hotfixTrees = starts.filter((r) => r.hotfixes.length > 0);
      assert.ok(hotfixTrees.length >= 1 + series.fixes.filter((f) => f.level === undefined).length, 'every chain tree');
      for (const hotfixTree of hotfixTrees) {
        const q = await query(hotfixTree.dir);
        assert.equal(q.level, hotfixTree.level);
        assert.deepEqual(q.hotfixes, hotfixTree.hotfixes);
        // a release tree carries no rollup record: its chain hotfixes are listed one by one
        const sp = hotfixTree.level === maxLevel ? 'Service Pack 6a' : `Service Pack ${hotfixTree.level}`;
        const word = hotfixTree.hotfixes.length === 1 ? 'hotfix' : 'hotfixes';
        assert.equal(q.levelName, `${sp}, ${word} ${hotfixTree.hotfixes.join(', ')}`);
      }
    });
  }
});

describe('the matrix covers what the issue asks for', () => {
  test('SP3 over SP5 and the hotfix on SP4 say why and what would apply instead', () => {
    for (const arch of ARCHES) {
      const sp3 = messages.get(`${arch}:inetsrv-4.0-sp3@inetsrv-4.0-sp5-${arch}`);
      assert.equal(
        sp3,
        'inetsrv-4.0-sp3 cannot be installed over Service Pack 5 (it would downgrade); this installation is already past it and has all its fixes — only a service pack newer than Service Pack 5 applies here; to go back to Service Pack 3, uninstall the newer service packs',
      );
      const q = messages.get(`${arch}:Q236565@inetsrv-4.0-sp4-${arch}`);
      assert.equal(
        q,
        'Q236565 is for Service Pack 5; this installation is at Service Pack 4: install Service Pack 5 first, or Service Pack 6, which includes the fix',
      );
    }
  });

  test('each level changes only what its own fixes for that architecture touch (an Alpha-only fix never reaches x86)', async () => {
    // Release paths a fix's diffs touch: src/ becomes lib/ (one output per module), the rest as is.
    const touched = (fixes: typeof series.fixes): Set<string> => {
      const out = new Set<string>();
      for (const f of fixes) {
        for (const d of f.diffPaths) {
          for (const m of readFileSync(d, 'utf8').matchAll(/^(?:\+\+\+ b|--- a)\/(\S+)/gm)) {
            const src = m[1] as string;
            out.add(libPathFor(src) ?? src);
          }
        }
      }
      return out;
    };
    for (const arch of ARCHES) {
      // Every built level, packed or not: a tree changes only what its own fixes touch.
      for (let level = 1; level <= Math.max(...releases.map((r) => r.level)); level++) {
        const at = releases.find((r) => r.arch === arch && r.level === level && r.hotfixes.length === 0);
        const below = releases.find((r) => r.arch === arch && r.level === level - 1 && r.hotfixes.length === 0);
        if (!at || !below) continue;
        const a = await releaseDigest(below);
        const b = await releaseDigest(at);
        const changed = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((p) => a[p] !== b[p]).sort();
        const own = series.fixes.filter((f) => f.level === level && f.arch.includes(arch));
        const allowed = touched(own).add('BUILDINFO.json');
        const stray = changed.filter((p) => !allowed.has(p));
        const others = series.fixes.filter((f) => f.level === level && !f.arch.includes(arch)).map((f) => f.id);
        assert.deepEqual(
          stray,
          [],
          `${at.name}: changed beyond its ${arch} fixes (${own.map((f) => f.id).join(', ') || 'none'}; not for ${arch}: ${others.join(', ') || 'none'})`,
        );
        if (own.length === 0)
          assert.deepEqual(
            changed,
            ['BUILDINFO.json'],
            `${at.name}: no ${arch} fix at level ${level}: the pack moves only the level`,
          );
        else
          assert.ok(
            changed.some((p) => p.startsWith('lib/')),
            `${at.name}: ${own.map((f) => f.id).join(', ')} claim ${arch} but no lib file changed`,
          );
      }
    }
  });

  test('numbers', (t) => {
    const avg = (ms: number, n: number) => (n > 0 ? Math.round(ms / n) : 0);
    t.diagnostic(
      `${stats.installs} installs (avg ${avg(stats.installMs, stats.installs)} ms), ${stats.refusals} refusals (avg ${avg(stats.refusalMs, stats.refusals)} ms), ${stats.queries} queries, ${copies} tree copies, ${((performance.now() - started) / 1000).toFixed(1)} s wall`,
    );
    t.diagnostic(`refusals by code: ${[...stats.codes].map(([c, n]) => `${c} ${n}`).join(', ')}`);
    for (const code of ['E_WRONG_ARCH', 'E_DOWNGRADE', 'E_ALREADY_INSTALLED', 'E_WRONG_LEVEL', 'E_SUPERSEDED'])
      assert.ok(stats.codes.has(code), `no ${code} refusal ran`);
  });
});
