import { createPublicKey, type KeyObject, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import {
  BUILDINFO_FILE,
  CATALOG_FILE,
  type CatalogRelease,
  catalogReleaseFromTree,
  FEED_INDEX_FILE,
  FEED_PACKS_DIR,
  FEED_SIGNATURE_FILE,
  type FeedIndex,
  FeedIndexSchema,
  type FeedPack,
  feedPackEntry,
  keyIdOf,
  openPack,
  parsePrivateKey,
  serializeCatalog,
  serializeFeedIndex,
  sha256Bytes,
  sha256File,
  signFeedIndex,
  type TrustedKey,
  verifyFeedIndex,
  walkPack,
} from '@servicepack/core';
import { ensureDevKey } from './keys.js';
import { paths } from './paths.js';

/**
 * The vendor side of the feed (docs/formats.md "Feed index"): dist/packs + dist/releases -> a signed static
 * folder. Rebuilding from the same inputs gives byte-identical files and keeps the version;
 * any change to what the index says bumps it, so clients that remember the last version they saw
 * can tell a replayed old index from a new one.
 */

/** `created` of the demo feed when SOURCE_DATE_EPOCH is not set: fixed, so rebuilds are identical. */
export const DEFAULT_FEED_DATE = '2026-01-01T00:00:00.000Z';
/** Validity of the demo feed. A live feed is re-signed often with a short --expires-in instead. */
export const DEFAULT_FEED_EXPIRES_DAYS = 3650;
const DAY_MS = 24 * 60 * 60 * 1000;

/** SOURCE_DATE_EPOCH when set (reproducible-builds.org), else DEFAULT_FEED_DATE. */
export function feedDate(env: NodeJS.ProcessEnv = process.env): Date {
  const raw = env['SOURCE_DATE_EPOCH'];
  if (raw === undefined || raw === '') return new Date(DEFAULT_FEED_DATE);
  if (!/^\d+$/.test(raw)) throw new Error(`SOURCE_DATE_EPOCH must be whole seconds since 1970, got "${raw}"`);
  return new Date(Number(raw) * 1000);
}

export interface PublishFeedOptions {
  packsDir: string;
  releasesDir: string;
  outDir: string;
  /** signs index.sig; several keys give several signatures (key rotation) */
  privateKey: KeyObject | readonly KeyObject[];
  /** keys a pack must be signed by to be published; default the public halves of `privateKey` */
  trustedKeys?: TrustedKey[];
  /** force this version (never below the previous one); default previous + 1 when the content changed */
  version?: number;
  /** default DEFAULT_FEED_EXPIRES_DAYS, counted from `created` */
  expiresInDays?: number;
  /** default feedDate() */
  created?: Date;
  /** for the "would already be expired" refusal; default the current time */
  now?: Date;
  log?: (line: string) => void;
}

export interface PublishedFeed {
  outDir: string;
  index: FeedIndex;
  /** sha256 of index.json */
  indexSha256: string;
  /** the version found in outDir before, if any */
  previousVersion?: number;
  /** false when the index is byte-identical to the previous one: nothing new was published */
  changed: boolean;
}

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function fail(message: string): never {
  throw new Error(message);
}

async function packEntries(
  packsDir: string,
  trustedKeys: TrustedKey[],
  log: (l: string) => void,
): Promise<{ entries: FeedPack[]; files: string[]; products: Set<string> }> {
  const names = existsSync(packsDir)
    ? (await readdir(packsDir)).filter((n) => n.endsWith('.tgz') && !n.startsWith('.')).sort(byCodeUnit)
    : [];
  const entries: FeedPack[] = [];
  const files: string[] = [];
  const products = new Set<string>();
  for (const name of names) {
    const path = join(packsDir, name);
    // the same checks an installer makes, so a broken or foreign pack is caught here, not by customers
    const pack = await openPack(path, { trustedKeys });
    await walkPack(pack, {});
    const digest = await sha256File(path);
    const entry = feedPackEntry(pack.manifest, { url: `${FEED_PACKS_DIR}/${name}`, ...digest });
    const twin = entries.find((e) => e.id === entry.id && e.arch === entry.arch);
    if (twin) fail(`${path} and ${twin.url} are both ${entry.id} for ${entry.arch}; remove one`);
    products.add(pack.manifest.product);
    entries.push(entry);
    files.push(path);
    log(`feed: ${entry.url} ${entry.id} (${entry.arch}) sha256 ${entry.sha256.slice(0, 16)}…`);
  }
  return { entries, files, products };
}

async function catalogReleases(releasesDir: string, products: Set<string>): Promise<CatalogRelease[]> {
  const dirs = existsSync(releasesDir)
    ? (await readdir(releasesDir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    : [];
  const out: CatalogRelease[] = [];
  for (const name of dirs.map((d) => d.name).sort(byCodeUnit)) {
    const dir = join(releasesDir, name);
    if (!existsSync(join(dir, BUILDINFO_FILE))) continue;
    const { product, release } = await catalogReleaseFromTree(dir, name);
    products.add(product);
    out.push(release);
  }
  return out;
}

async function previousIndex(outDir: string): Promise<FeedIndex | undefined> {
  const file = join(outDir, FEED_INDEX_FILE);
  if (!existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    return fail(
      `${file} is not JSON (${(e as Error).message}); remove it, or pass --version N higher than any version published before`,
    );
  }
  const r = FeedIndexSchema.safeParse(json);
  if (!r.success)
    return fail(`${file} is not a feed index; remove it, or pass --version N higher than any version published before`);
  return r.data;
}

function chooseVersion(prev: FeedIndex | undefined, same: boolean, forced: number | undefined, outDir: string): number {
  if (forced === undefined) return prev === undefined ? 1 : same ? prev.version : prev.version + 1;
  if (!Number.isSafeInteger(forced) || forced < 1) fail(`version must be a whole number from 1 up, got ${forced}`);
  if (prev !== undefined && forced < prev.version)
    fail(
      `${outDir} is at version ${prev.version}; publishing version ${forced} would look like a rollback to every client`,
    );
  if (prev !== undefined && forced === prev.version && !same)
    fail(`${outDir} already published version ${forced} with other content; a changed index needs a higher version`);
  return forced;
}

/**
 * Writes the feed into a new folder beside `outDir`, checks it with the client's own verification,
 * then swaps it into place, so readers see the whole old feed or the whole new one (save for the
 * instant between two renames), never a half-written one.
 */
export async function publishFeed(opts: PublishFeedOptions): Promise<PublishedFeed> {
  const log = opts.log ?? (() => {});
  const keys = Array.isArray(opts.privateKey)
    ? (opts.privateKey as readonly KeyObject[])
    : [opts.privateKey as KeyObject];
  if (keys.length === 0) fail('publishing a feed needs at least one signing key');
  const signers: TrustedKey[] = keys.map((k) => {
    const pub = createPublicKey(k);
    return { keyid: keyIdOf(pub), key: pub, source: 'signing key' };
  });
  const { entries, files, products } = await packEntries(opts.packsDir, opts.trustedKeys ?? signers, log);
  const releases = await catalogReleases(opts.releasesDir, products);
  if (products.size === 0)
    fail(`nothing to publish: no packs in ${opts.packsDir} and no release trees in ${opts.releasesDir}`);
  if (products.size > 1)
    fail(
      `the packs and release trees are for several products (${[...products].sort().join(', ')}); a feed serves one`,
    );
  const product = [...products][0]!;
  const catalogBytes = serializeCatalog({ format: 1, product, releases });

  const created = opts.created ?? feedDate();
  const days = opts.expiresInDays ?? DEFAULT_FEED_EXPIRES_DAYS;
  if (!Number.isFinite(days) || days <= 0) fail(`expires-in must be a positive number of days, got ${days}`);
  const expires = new Date(created.getTime() + days * DAY_MS);
  const now = opts.now ?? new Date();
  if (expires.getTime() <= now.getTime()) {
    fail(
      `the feed would expire on ${expires.toISOString()}, which is already past (created ${created.toISOString()} + ${days} days); set SOURCE_DATE_EPOCH to the current time or raise --expires-in`,
    );
  }

  const prev = await previousIndex(opts.outDir);
  const draft: FeedIndex = {
    format: 1,
    product,
    version: prev?.version ?? 1,
    created: created.toISOString(),
    expires: expires.toISOString(),
    packs: entries,
    catalog: { url: CATALOG_FILE, sha256: sha256Bytes(catalogBytes), size: catalogBytes.length },
  };
  const same = prev !== undefined && serializeFeedIndex(draft).equals(serializeFeedIndex(prev));
  const index: FeedIndex = { ...draft, version: chooseVersion(prev, same, opts.version, opts.outDir) };
  const indexBytes = serializeFeedIndex(index);
  const signatureBytes = signFeedIndex(indexBytes, keys);
  // what a client will do first, done here: a feed that would not verify is never published
  verifyFeedIndex(indexBytes, signatureBytes, {
    trustedKeys: signers,
    now,
    source: join(opts.outDir, FEED_INDEX_FILE),
  });

  const parent = dirname(opts.outDir);
  await mkdir(parent, { recursive: true });
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = join(parent, `.${basename(opts.outDir)}.tmp-${tag}`);
  const old = join(parent, `.${basename(opts.outDir)}.old-${tag}`);
  try {
    await mkdir(join(tmp, FEED_PACKS_DIR), { recursive: true });
    for (const [i, file] of files.entries()) await copyFile(file, join(tmp, entries[i]!.url));
    await writeFile(join(tmp, CATALOG_FILE), catalogBytes, { mode: 0o644 });
    await writeFile(join(tmp, FEED_INDEX_FILE), indexBytes, { mode: 0o644 });
    await writeFile(join(tmp, FEED_SIGNATURE_FILE), signatureBytes, { mode: 0o644 });
    const hadOld = existsSync(opts.outDir);
    if (hadOld) await rename(opts.outDir, old);
    await rename(tmp, opts.outDir);
    if (hadOld) await rm(old, { recursive: true, force: true });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    // put the previous feed back if the swap stopped half way
    if (existsSync(old) && !existsSync(opts.outDir)) await rename(old, opts.outDir);
    throw e;
  }
  const where = relative(process.cwd(), opts.outDir) || opts.outDir;
  log(
    `feed ${where}: version ${index.version}${same ? ' (unchanged)' : prev ? ` (was ${prev.version})` : ''}, ${entries.length} pack(s), catalog of ${releases.length} release(s), expires ${index.expires}`,
  );
  return {
    outDir: opts.outDir,
    index,
    indexSha256: sha256Bytes(indexBytes),
    ...(prev ? { previousVersion: prev.version } : {}),
    changed: !same,
  };
}

export interface PublishDistFeedOptions {
  packsDir?: string;
  releasesDir?: string;
  outDir?: string;
  /** PKCS#8 PEM file; default dist/keys/dev.key (created when absent) */
  keyFile?: string;
  version?: number;
  expiresInDays?: number;
  created?: Date;
  log?: (line: string) => void;
}

/** `--created`: an ISO 8601 time or "now" (a live feed); absent means the reproducible feedDate(). */
export function parseCreated(text: string, now: Date = new Date()): Date {
  if (text === 'now') return now;
  const ms = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(ms))
    throw new Error(`--created takes an ISO 8601 time (e.g. 2026-11-28T00:00:00Z) or "now", got "${text}"`);
  return new Date(ms);
}

/** `builder build-all` and `builder feed publish`: dist/packs + dist/releases -> dist/feed, signed with the dev key by default. */
export async function publishDistFeed(opts: PublishDistFeedOptions = {}): Promise<PublishedFeed> {
  const keyFile = opts.keyFile ?? (await ensureDevKey(paths.dist)).privateKeyPath;
  let privateKey: KeyObject;
  try {
    privateKey = parsePrivateKey(await readFile(keyFile));
  } catch (e) {
    throw new Error(`${keyFile}: not an ed25519 private key (PKCS#8 PEM) (${(e as Error).message})`);
  }
  return publishFeed({
    packsDir: opts.packsDir ?? paths.packs,
    releasesDir: opts.releasesDir ?? paths.releases,
    outDir: opts.outDir ?? paths.feed,
    privateKey,
    ...(opts.version !== undefined ? { version: opts.version } : {}),
    ...(opts.expiresInDays !== undefined ? { expiresInDays: opts.expiresInDays } : {}),
    ...(opts.created !== undefined ? { created: opts.created } : {}),
    log: opts.log ?? ((line) => process.stderr.write(`${line}\n`)),
  });
}
