import { createHash, type KeyObject, randomBytes } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { unsafePathReason } from '../pack/archive-path.js';
import { CATALOG_MAX_BYTES, type Catalog, parseCatalogBytes } from './catalog.js';
import { isServicepackError, ServicepackError } from '../support/errors.js';
import { type EventSink, nullSink } from '../support/events.js';
import { errnoCode } from '../support/fsutil.js';
import type { FileDigest } from '../support/hash.js';
import { ARCHES } from '../rules/level.js';
import { FixRefSchema, type Manifest, SignatureFileSchema } from '../pack/manifest.js';
import { type OpenPackOptions, openPack, type VerifiedPack } from '../pack/open.js';
import { withoutUserinfo } from './redact.js';
import { checkSignatures, type Signature, signBytes, type TrustedKey } from '../trust/trust.js';

/**
 * The signed feed (docs/formats.md "Feed index", docs/threat-model.md): a static folder any web server
 * or CDN can serve.
 *
 *   index.json    product, version (a counter that only grows), created, expires, every pack with
 *                 the facts a client needs to choose it, pinned by url + sha256 + size, and the
 *                 catalog pinned the same way
 *   index.sig     {signatures:[{keyid,sig}]} over the exact bytes of index.json (as servicepack.sig)
 *   packs/*.tgz   the packs themselves
 *   catalog.json  the file catalog (catalog.ts)
 *
 * What TUF taught, scaled to one role: the index is bounded in size and its signature is judged on
 * the raw bytes before anything parses them; expiry defeats freeze attacks, the version floor
 * defeats rollback; every byte fetched afterwards (packs, catalog) is bound to the signed index by
 * length and hash, and a pack's own signed manifest must say what the index says about it, so a
 * valid pack served under another pack's name (mix-and-match) is refused.
 */
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex sha256');

/**
 * A path relative to the index, in a deliberately small alphabet: it is resolved as a URL and used
 * as a local file name, and must never leave the feed's folder (no `..`, no scheme, no query).
 */
export const FeedRelUrlSchema = z
  .string()
  .min(1)
  .max(240)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, 'expected a relative path of letters, digits, ".", "_", "-" and "/"')
  .superRefine((p, ctx) => {
    const reason = unsafePathReason(p);
    if (reason) ctx.addIssue({ code: 'custom', message: `expected a safe relative path: ${reason}` });
  });

export const FeedFixSchema = FixRefSchema.pick({ id: true, title: true, summary: true, security: true });
export type FeedFix = z.infer<typeof FeedFixSchema>;

export const FeedPackSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/),
  kind: z.enum(['service-pack', 'hotfix']),
  level: z.number().int().min(0).max(99),
  baseLevel: z.number().int().min(0).max(99).optional(),
  arch: z.enum(ARCHES),
  appliesTo: z.strictObject({
    version: z.string().min(1),
    levels: z.array(z.number().int().min(0).max(99)).min(1),
    hotfixes: z.array(z.string()).optional(),
  }),
  supersedes: z.array(z.string()),
  fixes: z.array(FeedFixSchema),
  /** relative to the index, e.g. packs/inetsrv-4.0-sp6-x86.tgz */
  url: FeedRelUrlSchema,
  sha256,
  size: z
    .number()
    .int()
    .min(1)
    .max(2 ** 40),
});
export type FeedPack = z.infer<typeof FeedPackSchema>;

export const FeedIndexSchema = z
  .strictObject({
    format: z.literal(1),
    product: z.string().regex(/^[a-z][a-z0-9-]*$/),
    /** grows with every change; a client refuses an index older than the newest it has seen */
    version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    created: z.string().datetime(),
    /** after this instant the index is refused: a mirror cannot freeze clients on old data forever */
    expires: z.string().datetime(),
    packs: z.array(FeedPackSchema),
    catalog: z.strictObject({ url: FeedRelUrlSchema, sha256, size: z.number().int().min(1).max(CATALOG_MAX_BYTES) }),
  })
  .superRefine((ix, ctx) => {
    if (Date.parse(ix.expires) <= Date.parse(ix.created))
      ctx.addIssue({ code: 'custom', message: 'expires must be later than created', path: ['expires'] });
    const urls = new Set<string>([ix.catalog.url]);
    const ids = new Set<string>();
    for (const [i, p] of ix.packs.entries()) {
      if (urls.has(p.url))
        ctx.addIssue({ code: 'custom', message: `url ${p.url} is used twice`, path: ['packs', i, 'url'] });
      urls.add(p.url);
      const key = `${p.id}\u0000${p.arch}`;
      if (ids.has(key))
        ctx.addIssue({ code: 'custom', message: `pack ${p.id} for ${p.arch} is listed twice`, path: ['packs', i] });
      ids.add(key);
      if (p.kind === 'hotfix' && p.baseLevel === undefined)
        ctx.addIssue({ code: 'custom', message: 'a hotfix names its baseLevel', path: ['packs', i, 'baseLevel'] });
    }
  });
export type FeedIndex = z.infer<typeof FeedIndexSchema>;

export const FEED_INDEX_FILE = 'index.json';
export const FEED_SIGNATURE_FILE = 'index.sig';
export const FEED_PACKS_DIR = 'packs';
/** Refused before a byte is parsed (TUF's "endless data" defence); a thousand packs fit in ~2 MiB. */
export const FEED_INDEX_MAX_BYTES = 4 * 1024 * 1024;
export const FEED_SIGNATURE_MAX_BYTES = 64 * 1024;
/** Per request, between two received chunks: a stalled server is given up on, not waited for. */
export const FEED_TIMEOUT_MS = 30_000;
/**
 * Slowest transfer accepted, measured over each FEED_TIMEOUT_MS window. An idle timeout alone is
 * defeated by a server that sends one byte just before it fires (TUF's slow-retrieval attack):
 * without a floor it could hold a client for days.
 */
export const FEED_MIN_BYTES_PER_SECOND = 4096;

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

// ---------------------------------------------------------------------------------------------------
// Writing (the publisher in the builder uses these so that reader and writer share one definition)

/** What the index says about a pack, taken from its signed manifest; `file` pins the .tgz itself. */
export function feedPackEntry(manifest: Manifest, file: { url: string; sha256: string; size: number }): FeedPack {
  return FeedPackSchema.parse({
    id: manifest.id,
    kind: manifest.kind,
    level: manifest.level,
    ...(manifest.baseLevel !== undefined ? { baseLevel: manifest.baseLevel } : {}),
    arch: manifest.arch,
    appliesTo: {
      version: manifest.appliesTo.version,
      levels: [...manifest.appliesTo.levels],
      ...(manifest.appliesTo.hotfixes !== undefined ? { hotfixes: [...manifest.appliesTo.hotfixes] } : {}),
    },
    supersedes: [...manifest.supersedes],
    fixes: manifest.fixes.map((f) => ({
      id: f.id,
      title: f.title,
      summary: f.summary,
      ...(f.security !== undefined ? { security: f.security } : {}),
    })),
    url: file.url,
    sha256: file.sha256,
    size: file.size,
  });
}

/**
 * The one serialisation of an index: schema-checked (which also fixes key order), packs sorted by
 * url, 2-space JSON plus a newline. Signed exactly as written, so equal content gives equal bytes.
 */
export function serializeFeedIndex(index: FeedIndex): Buffer {
  const r = FeedIndexSchema.safeParse(index);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ServicepackError('E_FEED', `refusing to write an invalid feed index:\n  ${issues.join('\n  ')}`, {
      issues,
    });
  }
  const packs = [...r.data.packs].sort((a, b) => byCodeUnit(a.url, b.url));
  return Buffer.from(`${JSON.stringify(FeedIndexSchema.parse({ ...r.data, packs }), null, 2)}\n`, 'utf8');
}

/** index.sig: one signature per key over `indexBytes`, sorted by keyid (ed25519 is deterministic). */
export function signFeedIndex(indexBytes: Uint8Array, privateKeys: readonly KeyObject[]): Buffer {
  const unique = new Map<string, Signature>();
  for (const k of privateKeys) {
    const s = signBytes(indexBytes, k);
    unique.set(s.keyid, s);
  }
  const signatures = [...unique.values()].sort((a, b) => byCodeUnit(a.keyid, b.keyid));
  return Buffer.from(`${JSON.stringify(SignatureFileSchema.parse({ signatures }), null, 2)}\n`, 'utf8');
}

// ---------------------------------------------------------------------------------------------------
// Verification of an index already in memory

export interface VerifyFeedOptions {
  trustedKeys: readonly TrustedKey[];
  revokedKeyIds?: readonly string[];
  /** the highest version this client has accepted from this feed before (its state record keeps it) */
  lastSeenVersion?: number;
  /** defaults to the current time; tests and `--now`-style tooling pass their own */
  now?: Date;
  /** when given, an index for another product is refused */
  product?: string;
}

function parseSignatureFile(bytes: Buffer, source: string): Signature[] {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new ServicepackError(
      'E_BAD_SIGNATURE',
      `${source} is not valid JSON; the feed was damaged or tampered with, do not use it`,
      { source },
    );
  }
  const r = SignatureFileSchema.safeParse(json);
  if (!r.success)
    throw new ServicepackError(
      'E_BAD_SIGNATURE',
      `${source} is malformed; the feed was damaged or tampered with, do not use it`,
      { source },
    );
  return r.data.signatures;
}

/**
 * Judges `indexBytes` in the order that keeps hostile input away from the parser: size, then the
 * signature over the exact bytes, then JSON and schema, then freshness (expiry) and the version
 * floor. Returns the index and the keyids whose signature verified.
 */
export function verifyFeedIndex(
  indexBytes: Buffer,
  signatureBytes: Buffer,
  opts: VerifyFeedOptions & { source: string },
): { index: FeedIndex; signedBy: string[] } {
  const { source } = opts;
  if (indexBytes.length > FEED_INDEX_MAX_BYTES) {
    throw new ServicepackError(
      'E_FEED',
      `${source} is larger than ${FEED_INDEX_MAX_BYTES} bytes; the feed is misconfigured or hostile, use another`,
      {
        source,
        limit: FEED_INDEX_MAX_BYTES,
      },
    );
  }
  const signatures = parseSignatureFile(signatureBytes, `${source} (${FEED_SIGNATURE_FILE})`);
  if (signatures.length === 0) {
    throw new ServicepackError(
      'E_UNSIGNED',
      `${source} is not signed; a feed is only used when a trusted key signed its index`,
      { source },
    );
  }
  const checks = checkSignatures(indexBytes, signatures, {
    trustedKeys: opts.trustedKeys,
    revokedKeyIds: opts.revokedKeyIds ?? [],
  });
  const signedBy = checks.filter((c) => c.status === 'valid').map((c) => c.keyid);
  if (signedBy.length === 0) {
    const bad = checks.filter((c) => c.status === 'bad');
    if (bad.length > 0) {
      throw new ServicepackError(
        'E_BAD_SIGNATURE',
        `${source}: the signature by trusted key ${bad[0]!.keyid} does not match the index; the feed was tampered with or damaged, do not use it`,
        {
          source,
          keyids: bad.map((c) => c.keyid),
        },
      );
    }
    const revoked = checks.filter((c) => c.status === 'revoked').map((c) => c.keyid);
    throw new ServicepackError(
      'E_UNTRUSTED_KEY',
      revoked.length > 0
        ? `${source} is signed only by revoked key(s) ${revoked.join(', ')}; ask the publisher to re-sign the feed with a current key`
        : `${source} is signed by key(s) this installation does not trust (${checks.map((c) => c.keyid).join(', ')}); add the vendor's public key with --trust FILE or to .servicepack/trust/`,
      { source, keyids: checks.map((c) => c.keyid), revoked },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(indexBytes));
  } catch (e) {
    throw new ServicepackError(
      'E_FEED',
      `${source} is signed but not valid UTF-8 JSON (${(e as Error).message}); ask the publisher to republish the feed`,
      { source },
    );
  }
  const r = FeedIndexSchema.safeParse(json);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new ServicepackError(
      'E_FEED',
      `${source} is signed but is not an index this installer can read (a newer format?); update servicepack:\n  ${issues.join('\n  ')}`,
      {
        source,
        issues,
      },
    );
  }
  const index = r.data;
  const now = opts.now ?? new Date();
  if (Date.parse(index.expires) <= now.getTime()) {
    throw new ServicepackError(
      'E_FEED_EXPIRED',
      `${source} expired on ${index.expires} (now ${now.toISOString()}); an expired index may be a replay of old data, so it is not used. Ask the publisher to re-sign the feed, or check this machine's clock`,
      { source, expires: index.expires, now: now.toISOString(), version: index.version },
    );
  }
  if (opts.lastSeenVersion !== undefined && index.version < opts.lastSeenVersion) {
    throw new ServicepackError(
      'E_FEED_ROLLBACK',
      `${source} is version ${index.version}, older than version ${opts.lastSeenVersion} seen before; a mirror may be replaying old data. Use another mirror or ask the publisher`,
      { source, version: index.version, lastSeenVersion: opts.lastSeenVersion },
    );
  }
  if (opts.product !== undefined && index.product !== opts.product) {
    throw new ServicepackError(
      'E_WRONG_PRODUCT',
      `${source} is a feed for ${index.product}, not ${opts.product}; check the feed URL`,
      { source, product: index.product },
    );
  }
  return { index, signedBy };
}

// ---------------------------------------------------------------------------------------------------
// Fetching bytes: the one seam between the feed logic and a transport (file: now, http(s) below)

export interface FetchOptions {
  /** more bytes than this is an error, found out before (Content-Length, file size) or while reading */
  maxBytes: number;
  /** idle time allowed between two chunks, for connecting, and for the whole response head; also the window of the rate floor */
  timeoutMs?: number;
  /** http(s) only: a window of `timeoutMs` bringing fewer bytes per second than this is a stall (default FEED_MIN_BYTES_PER_SECOND) */
  minBytesPerSecond?: number;
  /** http(s) only: attempts for a download interrupted by the network (default 3) */
  retries?: number;
  sink?: EventSink;
}

function notFound(url: URL, cause?: unknown): ServicepackError {
  return new ServicepackError(
    'E_FEED',
    `nothing at ${displayUrl(url)}; check the feed URL`,
    { url: displayUrl(url), notFound: true },
    { cause },
  );
}
function tooLarge(url: URL, maxBytes: number): ServicepackError {
  return new ServicepackError(
    'E_FEED',
    `${displayUrl(url)} is larger than ${maxBytes} bytes; the feed is misconfigured or hostile, use another`,
    {
      url: displayUrl(url),
      limit: maxBytes,
      tooLarge: true,
    },
  );
}
function ioError(url: URL, e: unknown): ServicepackError {
  return new ServicepackError(
    'E_IO',
    `cannot read ${displayUrl(url)}: ${(e as Error).message}`,
    { url: displayUrl(url) },
    { cause: e },
  );
}

/** file: URLs print as paths, the way the user typed them; others without their userinfo (redact.ts). */
function displayUrl(url: URL): string {
  if (url.protocol === 'file:') {
    try {
      return fileURLToPath(url);
    } catch {
      // file://otherhost/...: not a path here (a hostile redirect can name one)
    }
  }
  return withoutUserinfo(url);
}

async function openFileSource(url: URL, maxBytes: number): Promise<{ path: string; size: number }> {
  const path = fileURLToPath(url);
  try {
    const st = await stat(path);
    if (!st.isFile()) throw notFound(url);
    if (st.size > maxBytes) throw tooLarge(url, maxBytes);
    return { path, size: st.size };
  } catch (e) {
    if (isServicepackError(e)) throw e;
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw notFound(url, e);
    throw ioError(url, e);
  }
}

/** The whole body of `url`, refused beyond `maxBytes` without reading further. */
export async function fetchBytes(url: URL | string, opts: FetchOptions): Promise<Buffer> {
  const u = typeof url === 'string' ? new URL(url) : url;
  const retries = u.protocol === 'file:' ? 0 : (opts.retries ?? 3);
  for (let attempt = 0; ; attempt++) {
    const parts: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of openStream(u, 0, opts)) {
        total += chunk.length;
        if (total > opts.maxBytes) throw tooLarge(u, opts.maxBytes);
        parts.push(chunk);
      }
      return Buffer.concat(parts, total);
    } catch (e) {
      // small documents are simply fetched again rather than resumed
      if (!(e instanceof TransientError)) throw e;
      if (attempt >= retries) throw e.toServicepackError();
      opts.sink?.({ type: 'info', message: `fetching ${displayUrl(u)} failed (${e.message}); trying again` });
      await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
    }
  }
}

/** A body as a stream of chunks from `offset` on; http(s) resumes are handled in fetchToFile. */
async function* openStream(url: URL, offset: number, opts: FetchOptions): AsyncGenerator<Buffer> {
  switch (url.protocol) {
    case 'file:': {
      const { path } = await openFileSource(url, opts.maxBytes);
      try {
        for await (const chunk of createReadStream(path, { start: offset, highWaterMark: 256 * 1024 }))
          yield chunk as Buffer;
      } catch (e) {
        throw ioError(url, e);
      }
      return;
    }
    case 'http:':
    case 'https:': {
      const res = await httpGet(url, { offset, timeoutMs: opts.timeoutMs ?? FEED_TIMEOUT_MS });
      if (res.status !== 200) {
        res.body.resume();
        throw httpStatusError(url, res.status);
      }
      const length = Number(res.body.headers['content-length']);
      if (Number.isFinite(length) && length > opts.maxBytes) {
        res.body.destroy();
        throw tooLarge(url, opts.maxBytes);
      }
      yield* readBody(url, res.body, pace(opts));
      return;
    }
    default:
      throw new ServicepackError(
        'E_USAGE',
        `${displayUrl(url)}: feeds are read from a folder, a file: URL or an http(s): URL, not ${url.protocol}`,
        { url: displayUrl(url) },
      );
  }
}

/**
 * Copies `url` into a new file `dest` (created exclusively), hashing as it writes; refuses more than
 * `maxBytes`. Over http(s) an interrupted transfer is resumed with a Range request, up to
 * `retries` times; a server that ignores the range makes it start over.
 */
export async function fetchToFile(url: URL | string, dest: string, opts: FetchOptions): Promise<FileDigest> {
  const u = typeof url === 'string' ? new URL(url) : url;
  const fh = await open(dest, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
  let hash = createHash('sha256');
  let size = 0;
  const retries = u.protocol === 'file:' ? 0 : (opts.retries ?? 3);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        const stream = u.protocol === 'file:' ? openStream(u, 0, opts) : httpResumable(u, size, opts);
        for await (const item of stream) {
          if (item === RESTART) {
            // the server sent the whole body again: throw away what was written before
            await fh.truncate(0);
            hash = createHash('sha256');
            size = 0;
            continue;
          }
          size += item.length;
          if (size > opts.maxBytes) throw tooLarge(u, opts.maxBytes);
          hash.update(item);
          await fh.write(item, 0, item.length, size - item.length);
        }
        break;
      } catch (e) {
        if (!(e instanceof TransientError) || attempt >= retries)
          throw e instanceof TransientError ? e.toServicepackError() : e;
        opts.sink?.({
          type: 'info',
          message: `download of ${displayUrl(u)} interrupted at ${size} bytes (${e.message}); resuming`,
        });
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      }
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { sha256: hash.digest('hex'), size };
}

// ---------------------------------------------------------------------------------------------------
// http(s): bounded, time-limited, resumable; loaded on first use so file: feeds never pay for it

const RESTART: unique symbol = Symbol('restart');
const MAX_REDIRECTS = 5;

/** A network failure worth retrying (reset, timeout, 5xx); becomes E_IO when retries run out. */
class TransientError extends Error {
  constructor(
    message: string,
    readonly url: URL,
  ) {
    super(message);
  }
  toServicepackError(): ServicepackError {
    return new ServicepackError(
      'E_IO',
      `cannot download ${displayUrl(this.url)}: ${this.message}; check the network and try again`,
      { url: displayUrl(this.url) },
      { cause: this },
    );
  }
}

function httpStatusError(url: URL, status: number): Error {
  if (status === 404 || status === 410) return notFound(url);
  if (status >= 500 || status === 408 || status === 429) return new TransientError(`HTTP ${status}`, url);
  return new ServicepackError('E_FEED', `${displayUrl(url)} answered HTTP ${status}; check the feed URL`, {
    url: displayUrl(url),
    status,
  });
}

interface HttpResponse {
  status: number;
  body: IncomingMessage;
  url: URL;
}

interface Pace {
  timeoutMs: number;
  minBytesPerSecond: number;
}

function pace(opts: FetchOptions): Pace {
  return {
    timeoutMs: opts.timeoutMs ?? FEED_TIMEOUT_MS,
    minBytesPerSecond: opts.minBytesPerSecond ?? FEED_MIN_BYTES_PER_SECOND,
  };
}

async function httpGet(url: URL, opts: { offset: number; timeoutMs: number }): Promise<HttpResponse> {
  let current = url;
  for (let hop = 0; ; hop++) {
    const mod = current.protocol === 'https:' ? await import('node:https') : await import('node:http');
    const res = await new Promise<IncomingMessage>((resolveRes, reject) => {
      let deadline: NodeJS.Timeout | undefined;
      const req = mod.get(
        current,
        {
          headers: {
            'accept-encoding': 'identity',
            'user-agent': 'servicepack',
            ...(opts.offset > 0 ? { range: `bytes=${opts.offset}-` } : {}),
          },
        },
        (r) => {
          clearTimeout(deadline);
          resolveRes(r);
        },
      );
      // the idle timeout is reset by every byte: a head dripped byte by byte needs a deadline of its own
      deadline = setTimeout(
        () => req.destroy(new TransientError(`no complete response head within ${opts.timeoutMs} ms`, current)),
        opts.timeoutMs,
      );
      req.setTimeout(opts.timeoutMs, () =>
        req.destroy(new TransientError(`no answer within ${opts.timeoutMs} ms`, current)),
      );
      req.on('error', (e) => {
        clearTimeout(deadline);
        reject(e instanceof TransientError ? e : new TransientError(e.message, current));
      });
    });
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (status >= 300 && status < 400 && status !== 304 && location !== undefined) {
      res.resume();
      if (hop >= MAX_REDIRECTS)
        throw new ServicepackError(
          'E_FEED',
          `${displayUrl(url)}: more than ${MAX_REDIRECTS} redirects; check the feed URL`,
          { url: displayUrl(url) },
        );
      const next = new URL(location, current);
      // A server that answers this way is hostile (or taken over), not misconfigured: an
      // integrity refusal (exit 4), like a bad signature. A signed index would survive a
      // downgrade, but the privacy of what is fetched would not; another scheme (file:) would
      // read this machine's own files.
      if (current.protocol === 'https:' && next.protocol !== 'https:') {
        throw new ServicepackError(
          'E_FEED_REDIRECT',
          `${displayUrl(current)} redirects to ${displayUrl(next)}, which is not https; refusing the downgrade: use another mirror`,
          {
            url: displayUrl(current),
            location: displayUrl(next),
          },
        );
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new ServicepackError(
          'E_FEED_REDIRECT',
          `${displayUrl(current)} redirects to ${displayUrl(next)}; only http(s) is followed: use another mirror`,
          {
            url: displayUrl(current),
            location: displayUrl(next),
          },
        );
      }
      current = next;
      continue;
    }
    res.setTimeout(opts.timeoutMs, () => res.destroy(new TransientError(`stalled for ${opts.timeoutMs} ms`, current)));
    return { status, body: res, url: current };
  }
}

async function* readBody(url: URL, body: IncomingMessage, limits: Pace): AsyncGenerator<Buffer> {
  let windowStart = performance.now();
  let windowBytes = 0;
  try {
    for await (const chunk of body) {
      const buf = chunk as Buffer;
      windowBytes += buf.length;
      const elapsed = performance.now() - windowStart;
      if (elapsed >= limits.timeoutMs) {
        if ((windowBytes * 1000) / elapsed < limits.minBytesPerSecond) {
          body.destroy();
          throw new TransientError(
            `too slow: ${windowBytes} bytes in ${Math.round(elapsed)} ms, slower than ${limits.minBytesPerSecond} bytes/s`,
            url,
          );
        }
        windowStart = performance.now();
        windowBytes = 0;
      }
      yield buf;
    }
  } catch (e) {
    if (e instanceof TransientError) throw e;
    throw new TransientError((e as Error).message, url);
  }
  // a connection closed early ends the stream quietly; only the length tells
  if (!body.complete) throw new TransientError('connection closed before the end of the body', url);
}

async function* httpResumable(url: URL, offset: number, opts: FetchOptions): AsyncGenerator<Buffer | typeof RESTART> {
  const res = await httpGet(url, { offset, timeoutMs: opts.timeoutMs ?? FEED_TIMEOUT_MS });
  if (offset > 0 && res.status === 206) {
    const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(String(res.body.headers['content-range'] ?? ''));
    if (range && Number(range[1]) === offset) {
      yield* readBody(url, res.body, pace(opts));
      return;
    }
    res.body.destroy();
    throw new ServicepackError(
      'E_FEED',
      `${displayUrl(url)} answered a range request with the wrong range; the server or a proxy is broken`,
      { url: displayUrl(url) },
    );
  }
  if (res.status !== 200) {
    res.body.resume();
    throw httpStatusError(url, res.status);
  }
  const length = Number(res.body.headers['content-length']);
  if (Number.isFinite(length) && length > opts.maxBytes) {
    res.body.destroy();
    throw tooLarge(url, opts.maxBytes);
  }
  if (offset > 0) yield RESTART;
  yield* readBody(url, res.body, pace(opts));
}

// ---------------------------------------------------------------------------------------------------
// The client

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
