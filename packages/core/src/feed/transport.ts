import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import { isServicepackError, ServicepackError } from '../support/errors.js';
import type { EventSink } from '../support/events.js';
import { errnoCode } from '../support/fsutil.js';
import type { FileDigest } from '../support/hash.js';
import { withoutUserinfo } from './redact.js';

/**
 * Fetching bytes: the one seam between the feed logic and a transport (file: and http(s)). Every
 * limit a hostile server could abuse (size, idle time, rate, redirects, ranges) is enforced here,
 * so the client above only ever sees bounded, complete bodies or a coded error.
 */

/** Per request, between two received chunks: a stalled server is given up on, not waited for. */
export const FEED_TIMEOUT_MS = 30_000;
/**
 * Slowest transfer accepted, measured over each FEED_TIMEOUT_MS window. An idle timeout alone is
 * defeated by a server that sends one byte just before it fires (TUF's slow-retrieval attack):
 * without a floor it could hold a client for days.
 */
export const FEED_MIN_BYTES_PER_SECOND = 4096;

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
export function displayUrl(url: URL): string {
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
