import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import {
  ARCHES,
  type Arch,
  BUILDINFO_FILE,
  type BuildInfo,
  BuildInfoSchema,
  levelTag,
  parsePublicKey,
} from '@servicepack/core';
import { ensureDevKey } from './keys.js';
import { applyDiff } from './patch.js';
import { paths } from './paths.js';
import { chainBefore, findFix, fixesFor, loadSeries, type Series, type SeriesFix } from './series.js';
import {
  comparePaths,
  displayPath,
  type FileTree,
  RELEASE_SOURCE_ROOTS,
  readTree,
  replaceDir,
  writeTree,
} from './tree.js';
import { libPathFor, Transpiler } from './transpile.js';

export const PRODUCT = 'inetsrv';
export const PRODUCT_VERSION = '4.0.0';
export const DISPLAY_NAME = 'inetsrv 4.0 Web Server';
/** NT 4.0's build number: every level is "1381.<level>", the way NT reported its service pack. */
export const BUILD_BASE = '1381';
export const TRUST_KEY_PATH = '.servicepack/trust/vendor.pub';
/**
 * The mtime of every file in every release (2000-01-01T00:00:00Z) unless SOURCE_DATE_EPOCH says
 * otherwise (reproducible-builds.org convention): a build's date is not part of what it ships.
 */
export const DEFAULT_SOURCE_DATE_EPOCH = 946684800;

export function sourceDate(env: NodeJS.ProcessEnv = process.env): Date {
  const raw = env['SOURCE_DATE_EPOCH'];
  if (raw === undefined || raw === '') return new Date(DEFAULT_SOURCE_DATE_EPOCH * 1000);
  if (!/^\d+$/.test(raw)) throw new Error(`SOURCE_DATE_EPOCH must be whole seconds since 1970, got "${raw}"`);
  return new Date(Number(raw) * 1000);
}

/** `inetsrv-4.0-<lvl>-<arch>` with `<lvl>` = rtm | spN | spN-<hotfix id lowercased>. */
export function releaseName(level: number, arch: Arch, hotfixes: readonly string[] = []): string {
  const tag = [levelTag(level), ...hotfixes.map((h) => h.toLowerCase())].join('-');
  return `${PRODUCT}-4.0-${tag}-${arch}`;
}

export function buildInfoFor(level: number, arch: Arch, hotfixes: readonly string[] = []): BuildInfo {
  // Literal key order: BUILDINFO.json is compared byte for byte between builds.
  return BuildInfoSchema.parse({
    product: PRODUCT,
    displayName: DISPLAY_NAME,
    version: PRODUCT_VERSION,
    level,
    arch,
    build: [BUILD_BASE, String(level), ...hotfixes].join('.'),
    hotfixes: [...hotfixes],
    service: { pidFile: 'run/inetsrv.pid', start: ['bin/inetsrv', 'start', '--detach'] },
    // What inetsrv's own config.ts reads: ListenAddress and Port in conf/inetsrv.conf, with its defaults.
    health: {
      http: {
        conf: 'conf/inetsrv.conf',
        addressKey: 'ListenAddress',
        portKey: 'Port',
        defaultAddress: '127.0.0.1',
        defaultPort: 8080,
        path: '/',
      },
      timeoutSeconds: 10,
      runningSeconds: 3,
    },
  });
}

/** Inputs that stay the same across all trees of one build, loaded once and shared. */
export interface BuildContext {
  sourceDir: string;
  patchesDir: string;
  series: Series;
  source: FileTree;
  transpiler: Transpiler;
  diffTexts: Map<string, string>;
  publicKeyPem: string;
  mtime: Date;
}

export async function loadBuildContext(opts: {
  sourceDir: string;
  patchesDir: string;
  publicKeyPem: string;
  mtime?: Date;
}): Promise<BuildContext> {
  parsePublicKey(opts.publicKeyPem);
  const srcDir = join(opts.sourceDir, 'src');
  if (!existsSync(srcDir))
    throw new Error(`${srcDir} does not exist: the product source must be in place before releases are built`);
  const series = await loadSeries(opts.patchesDir);
  const source = await readTree(opts.sourceDir, RELEASE_SOURCE_ROOTS);
  return {
    sourceDir: opts.sourceDir,
    patchesDir: opts.patchesDir,
    series,
    source,
    transpiler: new Transpiler(),
    diffTexts: new Map(),
    publicKeyPem: opts.publicKeyPem,
    mtime: opts.mtime ?? sourceDate(),
  };
}

async function diffText(ctx: BuildContext, path: string): Promise<string> {
  let text = ctx.diffTexts.get(path);
  if (text === undefined) {
    text = await readFile(path, 'utf8');
    ctx.diffTexts.set(path, text);
  }
  return text;
}

/** Applies fixes, in the order given, to a copy of `base`; the base is left untouched. */
export async function applyFixes(
  base: FileTree,
  fixes: readonly SeriesFix[],
  readDiff: (path: string) => Promise<string>,
  rootForMessages: string,
): Promise<FileTree> {
  const tree: FileTree = new Map(base);
  for (const fix of fixes) {
    for (const p of fix.diffPaths) {
      applyDiff(tree, await readDiff(p), { fixId: fix.id, diffFile: relative(rootForMessages, p) || p });
    }
  }
  return tree;
}

/** Which platform modules a tree for `arch` leaves out: every other architecture's. */
function isOtherArchPlatform(srcPath: string, arch: Arch): boolean {
  return ARCHES.some((a) => a !== arch && srcPath === `src/platform/${a}.ts`);
}

/** The release tree's files, from a patched source tree. */
export function releaseFiles(
  ctx: BuildContext,
  patched: FileTree,
  level: number,
  arch: Arch,
  hotfixes: readonly string[],
): FileTree {
  const out: FileTree = new Map();
  const origin = new Map<string, string>();
  const put = (path: string, data: Buffer, from: string) => {
    const other = origin.get(path);
    if (other !== undefined) throw new Error(`${from} and ${other} would both become ${path} in the release`);
    origin.set(path, from);
    out.set(path, data);
  };
  for (const path of [...patched.keys()].sort(comparePaths)) {
    const data = patched.get(path) as Buffer;
    if (path.startsWith('src/')) {
      if (isOtherArchPlatform(path, arch)) continue;
      const target = libPathFor(path);
      if (target === undefined) continue;
      put(target, path.endsWith('.ts') ? ctx.transpiler.transpile(join(ctx.sourceDir, path), data) : data, path);
    } else {
      put(path, data, path);
    }
  }
  if (!out.has('bin/inetsrv'))
    throw new Error(`${join(ctx.sourceDir, 'bin', 'inetsrv')} is missing: BUILDINFO's service.start runs it`);
  const info = buildInfoFor(level, arch, hotfixes);
  put(
    'package.json',
    Buffer.from(`${JSON.stringify({ name: PRODUCT, private: true, type: 'module' }, null, 2)}\n`),
    '(builder)',
  );
  put(BUILDINFO_FILE, Buffer.from(`${JSON.stringify(info, null, 2)}\n`), '(builder)');
  put(
    TRUST_KEY_PATH,
    Buffer.from(ctx.publicKeyPem.endsWith('\n') ? ctx.publicKeyPem : `${ctx.publicKeyPem}\n`),
    '(builder)',
  );
  return out;
}

export interface ReleaseSpec {
  level: number;
  arch: Arch;
  hotfixes?: readonly string[];
}

export interface BuiltRelease {
  name: string;
  dir: string;
  level: number;
  arch: Arch;
  hotfixes: string[];
  fixes: string[];
  files: number;
}

function checkHotfixes(series: Series, level: number, hotfixes: readonly string[]): string[] {
  return hotfixes.map((h) => {
    const fix = findFix(series, h);
    if (fix.hotfix?.baseLevel !== level) {
      const where = fix.hotfix
        ? `is a hotfix for level ${fix.hotfix.baseLevel} only`
        : 'is not released as a hotfix (no hotfix: in its fix.yaml)';
      throw new Error(`fix ${fix.id} ${where}; cannot build it on level ${level}`);
    }
    return fix.id;
  });
}

/** Builds one release tree from a loaded context and puts it in place under `releasesDir`. */
export async function buildReleaseIn(ctx: BuildContext, releasesDir: string, spec: ReleaseSpec): Promise<BuiltRelease> {
  const hotfixes = checkHotfixes(ctx.series, spec.level, spec.hotfixes ?? []);
  const fixes = fixesFor(ctx.series, spec.level, hotfixes);
  const patched = await applyFixes(ctx.source, fixes, (p) => diffText(ctx, p), join(ctx.patchesDir, '..'));
  const files = releaseFiles(ctx, patched, spec.level, spec.arch, hotfixes);
  const name = releaseName(spec.level, spec.arch, hotfixes);
  const dir = join(releasesDir, name);
  await mkdir(releasesDir, { recursive: true });
  const temp = join(releasesDir, `.${name}.tmp-${process.pid}`);
  await rm(temp, { recursive: true, force: true });
  try {
    await writeTree(temp, files, { mtime: ctx.mtime });
    await replaceDir(temp, dir, ctx.mtime);
  } catch (e) {
    await rm(temp, { recursive: true, force: true });
    throw e;
  }
  return { name, dir, level: spec.level, arch: spec.arch, hotfixes, fixes: fixes.map((f) => f.id), files: files.size };
}

export interface BuildReleaseOptions extends ReleaseSpec {
  sourceDir: string;
  patchesDir: string;
  /** The releases folder; the tree lands in `<outDir>/inetsrv-4.0-<lvl>-<arch>/`. */
  outDir: string;
  publicKeyPem: string;
  mtime?: Date;
}

/** One release tree, e.g. for a test or a one-off build. */
export async function buildRelease(opts: BuildReleaseOptions): Promise<BuiltRelease> {
  const ctx = await loadBuildContext(opts);
  return buildReleaseIn(ctx, opts.outDir, opts);
}

/** Every tree the vendor ships: RTM and each level up to the series' highest, per arch, plus hotfix builds. */
export function releasePlan(series: Series): ReleaseSpec[] {
  const plan: ReleaseSpec[] = [];
  for (const arch of ARCHES) {
    for (let level = 0; level <= series.maxLevel; level++) plan.push({ level, arch });
    for (const fix of series.fixes) {
      // A hotfix is built only for the architectures its fix.yaml says it affects; a hotfix-only
      // fix is built on the ones before it in its chain (series.ts chainBefore).
      if (fix.hotfix && fix.arch.includes(arch))
        plan.push({
          level: fix.hotfix.baseLevel,
          arch,
          hotfixes: [...chainBefore(series, fix).map((f) => f.id), fix.id],
        });
    }
  }
  return plan;
}

export interface BuildReleasesOptions {
  sourceDir: string;
  patchesDir: string;
  releasesDir: string;
  publicKeyPem: string;
  mtime?: Date;
  log?: (line: string) => void;
}

const RELEASE_DIR_PATTERN = /^\.?inetsrv-4\.0-/;

/**
 * Builds the whole plan. Trees left from an earlier series (a level or hotfix that no longer
 * exists) are removed, so the releases folder always mirrors the sources.
 */
export async function buildReleases(opts: BuildReleasesOptions): Promise<BuiltRelease[]> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const ctx = await loadBuildContext(opts);
  const built: BuiltRelease[] = [];
  for (const spec of releasePlan(ctx.series)) {
    const started = performance.now();
    const r = await buildReleaseIn(ctx, opts.releasesDir, spec);
    const ms = Math.round(performance.now() - started);
    log(`release ${r.name}: level ${r.level}, ${r.fixes.length} fix(es), ${r.files} files (${ms} ms)`);
    built.push(r);
  }
  const keep = new Set(built.map((r) => r.name));
  for (const entry of await readdir(opts.releasesDir)) {
    if (RELEASE_DIR_PATTERN.test(entry) && !keep.has(entry)) {
      await rm(join(opts.releasesDir, entry), { recursive: true, force: true });
      log(`release ${entry}: removed (no longer in the series)`);
    }
  }
  return built;
}

/** `builder build-all` / `builder releases`: every release tree into dist/releases, signed-for by the dev key. */
export async function buildAllReleases(): Promise<void> {
  const key = await ensureDevKey(paths.dist);
  const started = performance.now();
  const built = await buildReleases({
    sourceDir: paths.inetsrvSource,
    patchesDir: paths.patches,
    releasesDir: paths.releases,
    publicKeyPem: key.publicKeyPem,
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  process.stderr.write(`releases: ${built.length} trees in ${displayPath(paths.releases)} (${seconds} s)\n`);
}
