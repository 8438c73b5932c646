import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Manifest } from '../pack/manifest.js';
import { type OpenPackOptions, openPack, type VerifiedPack } from '../pack/open.js';
import { isServicepackError, ServicepackError } from '../support/errors.js';
import { type EventSink, nullSink } from '../support/events.js';
import type { FileDigest } from '../support/hash.js';
import { type Catalog, parseCatalogBytes } from './catalog.js';
import { feedPackEntry } from './publish.js';
import { withoutUserinfo } from './redact.js';
import {
  FEED_INDEX_FILE,
  FEED_INDEX_MAX_BYTES,
  FEED_SIGNATURE_FILE,
  FEED_SIGNATURE_MAX_BYTES,
  type FeedIndex,
  type FeedPack,
  FeedPackSchema,
  FeedRelUrlSchema,
} from './schema.js';
import { displayUrl, FEED_TIMEOUT_MS, fetchBytes, fetchToFile } from './transport.js';
import { type VerifyFeedOptions, verifyFeedIndex } from './verify.js';

/**
 * The client: where a feed is, loading and verifying its index, and fetching what it pins (packs,
 * catalog) so that only bytes bound to the signed index by size and sha256 are ever used.
 */

export interface FeedLocation {
  /** the index, credentials and all (for fetching); without its userinfo, the key under which a client remembers the version it last accepted */
  indexUrl: URL;
  signatureUrl: URL;
  /** the folder the index's relative urls resolve against */
  baseUrl: URL;
}

/**
 * `source` is a folder (path or URL, index.json inside it) or the index itself (a path or URL
 * ending in .json, its signature beside it with .sig). Relative paths resolve against `cwd`.
 */
export function resolveFeedSource(source: string, cwd: string = process.cwd()): FeedLocation {
  let url: URL;
  if (/^(?:https?|file):/i.test(source)) {
    try {
      url = new URL(source);
    } catch {
      throw new ServicepackError('E_USAGE', `${withoutUserinfo(source)} is not a valid URL`, {
        source: withoutUserinfo(source),
      });
    }
  } else if (/^[A-Za-z][A-Za-z0-9+.-]+:\/\//.test(source)) {
    throw new ServicepackError(
      'E_USAGE',
      `${withoutUserinfo(source)}: feeds are read from a folder, a file: URL or an http(s): URL`,
      { source: withoutUserinfo(source) },
    );
  } else {
    url = pathToFileURL(isAbsolute(source) ? source : resolve(cwd, source));
  }
  url.hash = '';
  if (url.search !== '' && url.protocol === 'file:') url.search = '';
  let indexUrl: URL;
  if (url.pathname.endsWith('.json')) indexUrl = url;
  else {
    const dir = new URL(url.href);
    if (!dir.pathname.endsWith('/')) dir.pathname += '/';
    indexUrl = new URL(FEED_INDEX_FILE, dir);
  }
  const signatureUrl = new URL(indexUrl.href);
  signatureUrl.pathname = signatureUrl.pathname.replace(/\.json$/, '.sig');
  signatureUrl.search = '';
  const baseUrl = new URL('.', indexUrl);
  return { indexUrl, signatureUrl, baseUrl };
}

export interface LoadFeedOptions extends VerifyFeedOptions {
  timeoutMs?: number;
  sink?: EventSink;
  cwd?: string;
}

export interface LoadedFeed {
  /** the index URL (href) without its userinfo: the key for remembering `index.version`, and what is shown */
  url: string;
  /** the folder relative urls resolve against (href), with any userinfo: for fetching only, never stored or shown */
  baseUrl: string;
  index: FeedIndex;
  /** the exact signed bytes */
  indexBytes: Buffer;
  /** keyids of the trusted keys whose signature verified */
  signedBy: string[];
}

/** Fetches index.json and index.sig and verifies them (verifyFeedIndex) before returning anything. */
export async function loadFeed(source: string, opts: LoadFeedOptions): Promise<LoadedFeed> {
  const loc = resolveFeedSource(source, opts.cwd);
  const fetchOpts = { timeoutMs: opts.timeoutMs ?? FEED_TIMEOUT_MS, ...(opts.sink ? { sink: opts.sink } : {}) };
  const indexBytes = await fetchBytes(loc.indexUrl, { ...fetchOpts, maxBytes: FEED_INDEX_MAX_BYTES });
  let signatureBytes: Buffer;
  try {
    signatureBytes = await fetchBytes(loc.signatureUrl, { ...fetchOpts, maxBytes: FEED_SIGNATURE_MAX_BYTES });
  } catch (e) {
    if (isServicepackError(e) && e.details['notFound'] === true) {
      throw new ServicepackError(
        'E_UNSIGNED',
        `${displayUrl(loc.indexUrl)} has no signature (${FEED_SIGNATURE_FILE}); a feed is only used when a trusted key signed its index`,
        {
          source: displayUrl(loc.indexUrl),
        },
      );
    }
    if (isServicepackError(e) && e.details['tooLarge'] === true) {
      throw new ServicepackError(
        'E_BAD_SIGNATURE',
        `${displayUrl(loc.signatureUrl)} is larger than ${FEED_SIGNATURE_MAX_BYTES} bytes; the feed was tampered with, do not use it`,
        {
          source: displayUrl(loc.signatureUrl),
        },
      );
    }
    throw e;
  }
  const { index, signedBy } = verifyFeedIndex(indexBytes, signatureBytes, {
    ...opts,
    source: displayUrl(loc.indexUrl),
  });
  (opts.sink ?? nullSink)({
    type: 'info',
    message: `feed ${displayUrl(loc.indexUrl)}: ${index.product} version ${index.version}, ${index.packs.length} pack(s), expires ${index.expires}`,
  });
  return { url: withoutUserinfo(loc.indexUrl), baseUrl: loc.baseUrl.href, index, indexBytes, signedBy };
}

/** Absolute URL of something the index names; never outside the feed's folder. */
export function feedUrl(feed: Pick<LoadedFeed, 'baseUrl'>, rel: string): URL {
  const reason = FeedRelUrlSchema.safeParse(rel);
  const url = new URL(rel, feed.baseUrl);
  if (!reason.success || !url.href.startsWith(feed.baseUrl)) {
    throw new ServicepackError(
      'E_FEED',
      `the feed names ${JSON.stringify(rel)}, which is outside its folder; refusing it`,
      { url: rel },
    );
  }
  return url;
}

export interface FetchPackOptions {
  timeoutMs?: number;
  retries?: number;
  sink?: EventSink;
}

/**
 * Downloads (or copies) a pack the index lists into `destDir` under its file name, through a
 * temporary file: only bytes whose size and sha256 equal the signed index's ever get the real name.
 */
export async function fetchPack(
  feed: LoadedFeed,
  entry: FeedPack,
  destDir: string,
  opts: FetchPackOptions = {},
): Promise<string> {
  const url = feedUrl(feed, entry.url);
  const name = entry.url.split('/').pop()!;
  await mkdir(destDir, { recursive: true });
  const final = join(destDir, name);
  const tmp = join(destDir, `.${name}.${randomBytes(6).toString('hex')}.part`);
  try {
    let digest: FileDigest;
    try {
      digest = await fetchToFile(url, tmp, {
        maxBytes: entry.size,
        timeoutMs: opts.timeoutMs ?? FEED_TIMEOUT_MS,
        ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
        ...(opts.sink ? { sink: opts.sink } : {}),
      });
    } catch (e) {
      if (isServicepackError(e) && e.details['tooLarge'] === true) {
        throw new ServicepackError(
          'E_HASH_MISMATCH',
          `${displayUrl(url)} is larger than the ${entry.size} bytes the signed index says; the pack was replaced or damaged, do not use it`,
          {
            url: displayUrl(url),
            expected: entry.size,
          },
        );
      }
      throw e;
    }
    if (digest.size !== entry.size) {
      throw new ServicepackError(
        'E_HASH_MISMATCH',
        `${displayUrl(url)} is ${digest.size} bytes but the signed index says ${entry.size}; the pack was replaced or damaged, do not use it`,
        {
          url: displayUrl(url),
          expected: entry.size,
          actual: digest.size,
        },
      );
    }
    if (digest.sha256 !== entry.sha256) {
      throw new ServicepackError(
        'E_HASH_MISMATCH',
        `${displayUrl(url)} does not match the sha256 in the signed index; the pack was replaced or damaged, do not use it`,
        {
          url: displayUrl(url),
          expected: entry.sha256,
          actual: digest.sha256,
        },
      );
    }
    await rename(tmp, final);
    return final;
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * The pack's signed manifest must say what the signed index says about it. The sha256 pin already
 * binds the bytes; this second check keeps a valid pack from being used under another entry's
 * identity when a caller opened it some other way, or when the index itself is wrong.
 */
export function checkPackAgainstFeed(
  manifest: Manifest,
  entry: FeedPack,
  opts: { product?: string; source?: string } = {},
): void {
  const source = opts.source ?? entry.url;
  const expected = { ...entry, url: '', sha256: '', size: 0 };
  const actual = { ...feedPackEntry(manifest, entry), url: '', sha256: '', size: 0 };
  const differs: string[] = (Object.keys(FeedPackSchema.shape) as (keyof FeedPack)[]).filter(
    (k) => JSON.stringify(expected[k]) !== JSON.stringify(actual[k]),
  );
  if (opts.product !== undefined && manifest.product !== opts.product) differs.unshift('product');
  if (differs.length > 0) {
    throw new ServicepackError(
      'E_HASH_MISMATCH',
      `${source} is ${manifest.id} for ${manifest.arch} (level ${manifest.level}), not what the signed index lists there (${entry.id} for ${entry.arch}, level ${entry.level}): ${differs.join(', ')} differ. The feed mixes packs; do not use it`,
      {
        source,
        differs,
        expected: { id: entry.id, arch: entry.arch, level: entry.level },
        actual: { id: manifest.id, arch: manifest.arch, level: manifest.level },
      },
    );
  }
}

/** fetchPack, then openPack (signature by a trusted key), then checkPackAgainstFeed. */
export async function openFeedPack(
  feed: LoadedFeed,
  entry: FeedPack,
  destDir: string,
  opts: OpenPackOptions & FetchPackOptions,
): Promise<VerifiedPack> {
  const path = await fetchPack(feed, entry, destDir, opts);
  const pack = await openPack(path, opts);
  checkPackAgainstFeed(pack.manifest, entry, { product: feed.index.product, source: path });
  return pack;
}

/** The catalog the index pins, checked against its size and sha256 before it is parsed. */
export async function loadCatalog(feed: LoadedFeed, opts: { timeoutMs?: number } = {}): Promise<Catalog> {
  const pin = feed.index.catalog;
  const url = feedUrl(feed, pin.url);
  let bytes: Buffer;
  try {
    bytes = await fetchBytes(url, { maxBytes: pin.size, timeoutMs: opts.timeoutMs ?? FEED_TIMEOUT_MS });
  } catch (e) {
    if (isServicepackError(e) && e.details['tooLarge'] === true) {
      throw new ServicepackError(
        'E_HASH_MISMATCH',
        `${displayUrl(url)} is larger than the ${pin.size} bytes the signed index says; the catalog was replaced or damaged`,
        { url: displayUrl(url) },
      );
    }
    throw e;
  }
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (bytes.length !== pin.size || actual !== pin.sha256) {
    throw new ServicepackError(
      'E_HASH_MISMATCH',
      `${displayUrl(url)} does not match the size and sha256 in the signed index; the catalog was replaced or damaged, do not use it`,
      {
        url: displayUrl(url),
        expected: pin.sha256,
        actual,
      },
    );
  }
  const catalog = parseCatalogBytes(bytes, displayUrl(url));
  if (catalog.product !== feed.index.product) {
    throw new ServicepackError(
      'E_FEED',
      `${displayUrl(url)} is a catalog for ${catalog.product}, but the feed is for ${feed.index.product}; ask the publisher to republish it`,
      {
        url: displayUrl(url),
      },
    );
  }
  return catalog;
}
