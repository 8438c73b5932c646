import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { BUILDINFO_FILE, BuildInfoSchema } from '../installation/buildinfo.js';
import { ServicepackError } from '../support/errors.js';
import { NOT_OWNED } from '../support/fsutil.js';
import { hashTree } from '../support/hash.js';
import { ARCHES, type Arch } from '../rules/level.js';
import { RelPathSchema } from '../pack/manifest.js';

/**
 * The file catalog (docs/formats.md "File catalog"): the sha256 of every owned file of every release the vendor
 * shipped, so an installation whose state record is lost can still be identified by its files
 * (the way `rpm -V` compares against the package database, except that here the database travels
 * with the feed, pinned by the signed index).
 */
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex sha256');

export const CatalogReleaseSchema = z.strictObject({
  /** the release tree's name, e.g. inetsrv-4.0-sp5-q236565-x86 */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/),
  /** product version from BUILDINFO.json, e.g. 4.0.0 */
  version: z.string().min(1),
  level: z.number().int().min(0).max(99),
  arch: z.enum(ARCHES),
  hotfixes: z.array(z.string().regex(/^[A-Za-z0-9-]+$/)),
  /** owned path -> sha256; .servicepack/, wwwroot/, logs/ and run/ are never listed */
  files: z.record(RelPathSchema, sha256),
});
export type CatalogRelease = z.infer<typeof CatalogReleaseSchema>;

export const CatalogSchema = z
  .strictObject({
    format: z.literal(1),
    product: z.string().regex(/^[a-z][a-z0-9-]*$/),
    releases: z.array(CatalogReleaseSchema),
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    for (const [i, r] of c.releases.entries()) {
      if (seen.has(r.name))
        ctx.addIssue({ code: 'custom', message: `duplicate release ${r.name}`, path: ['releases', i, 'name'] });
      seen.add(r.name);
    }
  });
export type Catalog = z.infer<typeof CatalogSchema>;

export const CATALOG_FILE = 'catalog.json';
/** 16 trees of a few dozen files take ~50 KiB; this leaves room for a long history and stops a hostile mirror. */
export const CATALOG_MAX_BYTES = 32 * 1024 * 1024;

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** One catalog entry from a release tree on disk: identity from its BUILDINFO.json, hashes of its owned files. */
export async function catalogReleaseFromTree(
  dir: string,
  name: string = basename(dir),
): Promise<{ product: string; release: CatalogRelease }> {
  const file = join(dir, BUILDINFO_FILE);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new ServicepackError(
      'E_INVALID_BUILDINFO',
      `${file}: cannot read a BUILDINFO (${(e as Error).message}); rebuild the release trees`,
      { path: file },
      { cause: e },
    );
  }
  const info = BuildInfoSchema.safeParse(json);
  if (!info.success)
    throw new ServicepackError('E_INVALID_BUILDINFO', `${file}: invalid BUILDINFO; rebuild the release trees`, {
      path: file,
    });
  const tree = await hashTree(dir, NOT_OWNED);
  const files: Record<string, string> = {};
  for (const [p, e] of tree) files[p] = e.sha256;
  const { product, version, level, arch, hotfixes } = info.data;
  return { product, release: { name, version, level, arch, hotfixes: [...hotfixes], files } };
}

/**
 * The one serialisation of a catalog: schema-checked, releases sorted by name, files by path,
 * 2-space JSON plus a newline. The same trees therefore always give the same bytes (and sha256).
 */
export function serializeCatalog(catalog: Catalog): Buffer {
  const parsed = CatalogSchema.parse(catalog);
  const releases = [...parsed.releases]
    .sort((a, b) => byCodeUnit(a.name, b.name))
    .map((r) => ({
      ...r,
      hotfixes: [...r.hotfixes],
      files: Object.fromEntries(Object.entries(r.files).sort(([a], [b]) => byCodeUnit(a, b))),
    }));
  return Buffer.from(
    `${JSON.stringify({ format: parsed.format, product: parsed.product, releases }, null, 2)}\n`,
    'utf8',
  );
}

/** JSON + schema; the caller has already checked the bytes against the sha256 the signed index pins. */
export function parseCatalogBytes(bytes: Uint8Array, source: string): Catalog {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new ServicepackError(
      'E_FEED',
      `${source} is not valid UTF-8 JSON (${(e as Error).message}); the feed is damaged, ask its publisher to republish it`,
      { source },
    );
  }
  const r = CatalogSchema.safeParse(json);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new ServicepackError(
      'E_FEED',
      `${source} is not a catalog this installer can read:\n  ${issues.join('\n  ')}`,
      { source, issues },
    );
  }
  return r.data;
}

export interface CatalogIdentity {
  name: string;
  version: string;
  level: number;
  arch: Arch;
  hotfixes: string[];
}

export interface CatalogIdentification {
  /** the release the files agree with most */
  best: CatalogIdentity;
  /** the release's files found on disk with the release's sha256 */
  matching: number;
  /** how many files the release has */
  total: number;
  /** every path where disk and release differ (modified, missing or extra), sorted */
  disagree: string[];
  modified: string[];
  missing: string[];
  extra: string[];
  /** files and release agree completely */
  exact: boolean;
}

/** An installation's owned files: path -> sha256 (or anything carrying one, e.g. detect's TreeEntry). */
export type InstalledFiles = ReadonlyMap<string, string | { readonly sha256: string }>;

function compare(files: InstalledFiles, release: CatalogRelease): Omit<CatalogIdentification, 'best'> {
  const modified: string[] = [];
  const missing: string[] = [];
  const extra: string[] = [];
  let matching = 0;
  const listed = Object.entries(release.files);
  for (const [path, sha] of listed) {
    const f = files.get(path);
    if (f === undefined) missing.push(path);
    else if ((typeof f === 'string' ? f : f.sha256) === sha) matching++;
    else modified.push(path);
  }
  for (const path of files.keys()) if (!Object.hasOwn(release.files, path)) extra.push(path);
  const disagree = [...modified, ...missing, ...extra].sort(byCodeUnit);
  return {
    matching,
    total: listed.length,
    disagree,
    modified: modified.sort(byCodeUnit),
    missing: missing.sort(byCodeUnit),
    extra: extra.sort(byCodeUnit),
    exact: disagree.length === 0,
  };
}

/**
 * Which shipped release these files are. Score = owned files whose sha256 equals the release's;
 * ties go to the release with fewer disagreements (so a tree is not mistaken for a superset of
 * itself), then to the name, so the answer never depends on catalog order. One edited file, even
 * BUILDINFO.json, leaves the other files voting for the right release. Undefined when no release
 * shares a single file with the installation.
 */
export function identifyByCatalog(files: InstalledFiles, catalog: Catalog): CatalogIdentification | undefined {
  let best: CatalogIdentification | undefined;
  for (const release of catalog.releases) {
    const r = compare(files, release);
    if (r.matching === 0) continue;
    const better =
      best === undefined ||
      r.matching > best.matching ||
      (r.matching === best.matching &&
        (r.disagree.length < best.disagree.length ||
          (r.disagree.length === best.disagree.length && release.name < best.best.name)));
    if (better) {
      best = {
        best: {
          name: release.name,
          version: release.version,
          level: release.level,
          arch: release.arch,
          hotfixes: [...release.hotfixes],
        },
        ...r,
      };
    }
  }
  return best;
}
