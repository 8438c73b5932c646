import type { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import {
  type Arch,
  BUILDINFO_FILE,
  type BuildInfo,
  BuildInfoSchema,
  type FixRef,
  hashTree,
  jsonSchemas,
  type Manifest,
  type ManifestFile,
  NOT_OWNED,
  normalizeMode,
  parsePrivateKey,
  sha256File,
  type TreeEntry,
  writePack,
} from '@servicepack/core';
import { ensureDevKey } from './keys.js';
import { loadPackDef, type PackDef } from './pack-def.js';
import { paths } from './paths.js';
import { DEFAULT_SOURCE_DATE_EPOCH, releaseName } from './release.js';
import { findFix, loadSeries, type Series } from './series.js';
import { BUNDLE_PATH, writeSfx } from './sfx.js';

/**
 * Top-level folders of a release tree no pack ever carries: the installation's NOT_OWNED folders.
 * A pack that touched them could destroy data that exists nowhere else, or swap the keys that
 * decide what is trusted next time; one list, so the builder never ships what the installer refuses.
 */
export const NEVER_IN_PACKS = NOT_OWNED;

/** Files the running server has loaded: changing one means the service must restart. */
function needsRestart(path: string): boolean {
  return path.startsWith('lib/') || path.startsWith('bin/') || path === 'package.json';
}

/** The admin's files: never overwritten when edited; the new default lands beside as .spnew. */
function isConfig(path: string): boolean {
  return path.startsWith('conf/');
}

export interface BaseTree {
  level: number;
  hotfixes: string[];
  dir: string;
}

const byPath = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The file list of a pack from the new tree and the trees it installs on (docs/formats.md "Pack manifest"):
 * - a path in the new tree that differs from (or is missing in) any base tree is shipped: `replace`
 *   when every base tree has it, `add` when some lack it (the installer accepts an add over a file
 *   whose hash is in `from`, and a replace never over a missing file);
 * - a path in some base tree but not in the new tree is deleted;
 * - `from` is every distinct sha256 the base trees have for that path, so any of them counts as
 *   unmodified; BUILDINFO.json always ships, since it is what records the level.
 */
export function diffReleaseTrees(
  next: ReadonlyMap<string, TreeEntry>,
  bases: readonly ReadonlyMap<string, TreeEntry>[],
): ManifestFile[] {
  const all = new Set<string>(next.keys());
  for (const b of bases) for (const p of b.keys()) all.add(p);
  const files: ManifestFile[] = [];
  for (const path of [...all].sort(byPath)) {
    const now = next.get(path);
    const before = bases.map((b) => b.get(path));
    const from = [...new Set(before.filter((e): e is TreeEntry => e !== undefined).map((e) => e.sha256))].sort();
    const config = isConfig(path) ? { config: true } : {};
    if (!now) {
      files.push({ path, action: 'delete', ...config, from });
      continue;
    }
    const mode = normalizeMode(now.mode);
    const differs =
      bases.length === 0 ||
      before.some((e) => e === undefined || e.sha256 !== now.sha256 || normalizeMode(e.mode) !== mode);
    if (!differs && path !== BUILDINFO_FILE) continue;
    const everywhere = bases.length > 0 && before.every((e) => e !== undefined);
    files.push({
      path,
      action: everywhere ? 'replace' : 'add',
      sha256: now.sha256,
      size: now.size,
      mode,
      ...config,
      from,
    });
  }
  return files;
}

export interface BuildPackOptions {
  def: PackDef;
  arch: Arch;
  /** the release tree the pack brings an installation to */
  newTree: string;
  /** release trees of the installations it applies to (levels without a tree are simply absent) */
  oldTrees: BaseTree[];
  privateKey: KeyObject;
  out: string;
  /** ISO 8601; fixed per build so that rebuilds are byte-identical */
  created: string;
  /** the fixes it ships, as listed in the manifest */
  fixes: FixRef[];
  /** EULA text file; shipped as a document named after the definition's `eula` */
  eula?: string;
}

export interface BuiltPack {
  out: string;
  id: string;
  arch: Arch;
  sha256: string;
  size: number;
  manifest: Manifest;
  counts: { add: number; replace: number; delete: number };
}

async function readBuildInfo(dir: string): Promise<BuildInfo> {
  const file = join(dir, BUILDINFO_FILE);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new Error(
      `${file}: cannot read a BUILDINFO (${(e as Error).message}); rebuild the release trees (pnpm build)`,
    );
  }
  const r = BuildInfoSchema.safeParse(json);
  if (!r.success)
    throw new Error(
      `${file}: invalid BUILDINFO: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x) => b.includes(x));

/** Diffs the trees, writes the manifest and the signed pack. */
export async function buildPack(opts: BuildPackOptions): Promise<BuiltPack> {
  const { def, arch } = opts;
  const info = await readBuildInfo(opts.newTree);
  // a pack built from the wrong tree would install the wrong level under a correct-looking name
  if (info.product !== def.product || info.arch !== arch || info.level !== def.level) {
    throw new Error(
      `${opts.newTree} is ${info.product} level ${info.level} for ${info.arch}, but ${def.id} wants ${def.product} level ${def.level} for ${arch}; check the pack definition`,
    );
  }
  const next = await hashTree(opts.newTree, NEVER_IN_PACKS);
  const bases = await Promise.all(opts.oldTrees.map((t) => hashTree(t.dir, NEVER_IN_PACKS)));
  const files = diffReleaseTrees(next, bases);
  const documents: NonNullable<Manifest['documents']> = [];
  const docFiles: { name: string; path: string }[] = [];
  if (def.eula !== undefined) {
    if (opts.eula === undefined) throw new Error(`${def.id} names eula ${def.eula} but no EULA file was given`);
    documents.push({ name: def.eula, ...(await sha256File(opts.eula)) });
    docFiles.push({ name: def.eula, path: opts.eula });
  }
  const manifest: Manifest = {
    format: 1,
    id: def.id,
    kind: def.kind,
    product: def.product,
    title: def.title,
    level: def.level,
    ...(def.baseLevel !== undefined ? { baseLevel: def.baseLevel } : {}),
    arch,
    appliesTo: {
      version: def.appliesTo.version,
      levels: [...def.appliesTo.levels].sort((a, b) => a - b),
      ...(def.appliesTo.hotfixes ? { hotfixes: [...def.appliesTo.hotfixes] } : {}),
      ...(def.appliesTo.requires ? { requires: [...def.appliesTo.requires] } : {}),
    },
    supersedes: [...def.supersedes],
    fixes: opts.fixes,
    files,
    restart: files.some((f) => needsRestart(f.path)),
    created: opts.created,
    ...(documents.length ? { documents } : {}),
  };
  const written = await writePack({
    out: opts.out,
    manifest,
    privateKeys: [opts.privateKey],
    payloadDir: opts.newTree,
    documents: docFiles,
  });
  const count = (a: ManifestFile['action']) => files.filter((f) => f.action === a).length;
  return {
    out: opts.out,
    id: def.id,
    arch,
    ...written,
    manifest,
    counts: { add: count('add'), replace: count('replace'), delete: count('delete') },
  };
}

// ---------------------------------------------------------------------------------------------------
// From definitions in manifests/packs/ to dist/packs/

/** SOURCE_DATE_EPOCH when set (reproducible-builds.org), else the definition's date, else the release default. */
export function packCreated(def: PackDef, env: NodeJS.ProcessEnv = process.env): string {
  const raw = env['SOURCE_DATE_EPOCH'];
  if (raw !== undefined && raw !== '') {
    if (!/^\d+$/.test(raw)) throw new Error(`SOURCE_DATE_EPOCH must be whole seconds since 1970, got "${raw}"`);
    return new Date(Number(raw) * 1000).toISOString();
  }
  return new Date(def.created ?? DEFAULT_SOURCE_DATE_EPOCH * 1000).toISOString();
}

/**
 * The hotfixes a pack's resulting tree carries: none for a service pack; for a hotfix or rollup the
 * ones it requires and its own fixes, in series order (the order the release tree's name uses).
 */
function hotfixesOf(def: PackDef, series?: Series): string[] {
  if (def.kind === 'service-pack') return [];
  const ids = [...(def.appliesTo.requires ?? []), ...(def.fixes ?? [def.id])];
  if (series === undefined) return ids;
  return ids
    .map((id) => findFix(series, id))
    .sort((a, b) => a.index - b.index)
    .map((f) => f.id);
}

/** The manifest's fix list: explicit in the definition, or every fix of the series up to the level for this arch. */
export function fixesForDef(def: PackDef, series: Series, arch: Arch): FixRef[] {
  const chosen =
    def.fixes !== undefined || def.kind === 'hotfix'
      ? (def.fixes ?? [def.id]).map((id) => findFix(series, id))
      : series.fixes.filter((f) => f.level !== undefined && f.level <= def.level && f.arch.includes(arch));
  return chosen.map((f) => ({
    id: f.id,
    title: f.title,
    summary: f.summary.trim(),
    ...(f.level !== undefined ? { level: f.level } : {}),
    security: f.security,
  }));
}

/**
 * Pack file name: the level it is for and, for a hotfix or rollup, its own id: inetsrv-4.0-sp6-x86.tgz,
 * inetsrv-4.0-sp5-q236565-x86.tgz, inetsrv-4.0-sp6a-srp1-x86.tgz.
 */
export function packFileName(def: PackDef, arch: Arch): string {
  return `${releaseName(def.level, arch, def.kind === 'service-pack' ? [] : [def.id])}.tgz`;
}

/**
 * Release trees an installation taking this pack may be: same product and arch, a level the pack
 * applies to, and hotfixes the pack supersedes or tolerates. Levels without a tree are skipped.
 */
export async function findBaseTrees(releasesDir: string, def: PackDef, arch: Arch): Promise<BaseTree[]> {
  const required = def.appliesTo.requires ?? [];
  const allowedHotfixes = new Set([...def.supersedes, ...(def.appliesTo.hotfixes ?? []), ...required]);
  const own = hotfixesOf(def);
  const out: BaseTree[] = [];
  const names = existsSync(releasesDir)
    ? (await readdir(releasesDir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    : [];
  for (const e of names.map((n) => n.name).sort(byPath)) {
    const dir = join(releasesDir, e);
    if (!existsSync(join(dir, BUILDINFO_FILE))) continue;
    const info = await readBuildInfo(dir);
    if (info.product !== def.product || info.arch !== arch || !def.appliesTo.levels.includes(info.level)) continue;
    if (!info.hotfixes.every((h) => allowedHotfixes.has(h))) continue;
    if (!required.every((h) => info.hotfixes.includes(h))) continue;
    if (info.level === def.level && sameSet(info.hotfixes, own)) continue;
    out.push({ level: info.level, hotfixes: info.hotfixes, dir });
  }
  return out.sort((a, b) => a.level - b.level || a.hotfixes.length - b.hotfixes.length || byPath(a.dir, b.dir));
}

export interface PackBuildEnv {
  releasesDir: string;
  manifestsDir: string;
  series: Series;
  privateKey: KeyObject;
  log: (line: string) => void;
}

/** One definition for one architecture, from the release trees under `env.releasesDir`. */
export async function buildPackFromDef(def: PackDef, arch: Arch, out: string, env: PackBuildEnv): Promise<BuiltPack> {
  const started = performance.now();
  const newTree = join(env.releasesDir, releaseName(def.level, arch, hotfixesOf(def, env.series)));
  if (!existsSync(join(newTree, BUILDINFO_FILE))) {
    throw new Error(
      `${def.id} (${arch}) is built from ${newTree}, which does not exist: build the release trees first (pnpm build)`,
    );
  }
  const oldTrees = await findBaseTrees(env.releasesDir, def, arch);
  const missing = def.appliesTo.levels.filter((l) => !oldTrees.some((t) => t.level === l));
  if (missing.length > 0)
    env.log(
      `pack ${def.id} (${arch}): no release tree for level(s) ${missing.join(', ')}; their files are not in "from"`,
    );
  const built = await buildPack({
    def,
    arch,
    newTree,
    oldTrees,
    privateKey: env.privateKey,
    out,
    created: packCreated(def),
    fixes: fixesForDef(def, env.series, arch),
    ...(def.eula !== undefined ? { eula: join(env.manifestsDir, def.eula) } : {}),
  });
  const ms = Math.round(performance.now() - started);
  const c = built.counts;
  env.log(
    `pack ${relative(process.cwd(), out) || out}: ${c.add} add, ${c.replace} replace, ${c.delete} delete, ${(built.size / 1024).toFixed(1)} KiB, sha256 ${built.sha256.slice(0, 16)}… (${ms} ms)`,
  );
  return built;
}

export interface BuildAllPacksOptions {
  /** default dist/packs */
  outDir?: string;
  releasesDir?: string;
  manifestsDir?: string;
  patchesDir?: string;
  /** default dist/keys/dev.key (created when absent) */
  privateKey?: KeyObject;
  log?: (line: string) => void;
  /** also write X.run beside each X.tgz (default: when the bundled CLI is there, see sfx.ts) */
  sfx?: boolean;
}

/** Every manifests/packs/*.yaml for each of its architectures, into dist/packs/ (or `outDir`). */
export async function buildAllPacks(opts: BuildAllPacksOptions = {}): Promise<BuiltPack[]> {
  const outDir = opts.outDir ?? paths.packs;
  const manifestsDir = opts.manifestsDir ?? paths.manifests;
  const defsDir = join(manifestsDir, 'packs');
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const privateKey =
    opts.privateKey ?? parsePrivateKey(await readFile((await ensureDevKey(paths.dist)).privateKeyPath));
  const env: PackBuildEnv = {
    releasesDir: opts.releasesDir ?? paths.releases,
    manifestsDir,
    series: await loadSeries(opts.patchesDir ?? paths.patches),
    privateKey,
    log,
  };
  const sfx = opts.sfx ?? existsSync(BUNDLE_PATH);
  if (!sfx) log(`packs: no .run files (no bundled CLI at ${relative(process.cwd(), BUNDLE_PATH)}; bundle it first)`);
  const started = performance.now();
  const defFiles = existsSync(defsDir) ? (await readdir(defsDir)).filter((n) => n.endsWith('.yaml')).sort(byPath) : [];
  const built: BuiltPack[] = [];
  const names = new Set<string>();
  for (const file of defFiles) {
    const def = await loadPackDef(join(defsDir, file));
    for (const arch of def.arches) {
      const name = packFileName(def, arch);
      if (names.has(name)) throw new Error(`${join(defsDir, file)}: ${name} is also produced by another definition`);
      names.add(name);
      const pack = await buildPackFromDef(def, arch, join(outDir, name), env);
      built.push(pack);
      if (sfx) log(`pack ${relative(process.cwd(), await writeSfx({ pack: pack.out }))}`);
    }
  }
  // the folder mirrors the definitions: a pack whose definition is gone must not linger and be published
  if (existsSync(outDir)) {
    for (const entry of await readdir(outDir)) {
      const tgz = entry.replace(/\.run$/, '.tgz');
      if ((entry.endsWith('.tgz') || entry.endsWith('.run')) && !names.has(tgz)) {
        await rm(join(outDir, entry), { force: true });
        log(`pack ${entry}: removed (no definition in ${relative(process.cwd(), defsDir) || defsDir})`);
      }
    }
  }
  log(
    `packs: ${built.length} in ${relative(process.cwd(), outDir) || outDir} (${((performance.now() - started) / 1000).toFixed(2)} s)`,
  );
  return built;
}

/** manifests/schema/<name>.schema.json from the zod schemas; a file is rewritten only when its text changes. */
export async function writeSchemas(dir: string = join(paths.manifests, 'schema')): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, schema] of Object.entries(jsonSchemas())) {
    const file = join(dir, `${name}.schema.json`);
    const text = `${JSON.stringify(schema, null, 2)}\n`;
    if (existsSync(file) && (await readFile(file, 'utf8')) === text) continue;
    const tmp = `${file}.tmp-${process.pid}`;
    await writeFile(tmp, text);
    await rename(tmp, file);
    written.push(file);
  }
  return written;
}
