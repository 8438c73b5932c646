/**
 * The attacks of TUF's threat list that apply to a one-role signed feed, played by a loopback HTTP
 * server (node:http, started here) that serves a temporary copy of the built feed (dist/feed) and
 * misbehaves on demand: freeze (an expired index), rollback (an older index after a newer one),
 * mix-and-match (a valid pack under another pack's name, an index pinning the wrong pack), a pack
 * listed for the wrong arch, endless and oversized data, and slow retrieval (a server that drips
 * bytes, or headers, just fast enough to defeat an idle timeout). Every attack must be refused with
 * its code and leave nothing behind in the download folder.
 *
 * The copied feed is re-signed with a test publisher key that the client trusts, so each variant of
 * the index can be signed as the real publisher would sign it.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, globalAgent as httpsAgent } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ServicepackError } from '../packages/core/src/support/errors.js';
import {
  FEED_INDEX_MAX_BYTES,
  type FeedIndex,
  FeedIndexSchema,
  type FeedPack,
} from '../packages/core/src/feed/schema.js';
import { serializeFeedIndex, signFeedIndex } from '../packages/core/src/feed/publish.js';
import { fetchPack, type LoadedFeed, loadCatalog, loadFeed, openFeedPack } from '../packages/core/src/feed/client.js';
import type { TrustedKey } from '../packages/core/src/trust/trust.js';
import { cli, fixedKey, jsonDoc, selfSignedCertificate, treeSnapshot } from './support/hostile.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const distFeed = join(repo, 'dist', 'feed');

const PUBLISHER = fixedKey('feed-attacks: publisher');
const RETIRED = fixedKey('feed-attacks: retired publisher');
const trusted: TrustedKey[] = [{ keyid: PUBLISHER.keyid, key: PUBLISHER.publicKey, source: 'test publisher' }];
/** short, so that the timeout cases are fast; the production default is 30 s */
const TIMEOUT_MS = 300;

type Behaviour =
  | { kind: 'bytes'; data: Buffer }
  | { kind: 'endless' }
  | { kind: 'claims-length'; length: number }
  | { kind: 'then-endless'; data: Buffer }
  | { kind: 'drip'; data: Buffer; everyMs: number }
  | { kind: 'drip-headers'; everyMs: number }
  | { kind: 'redirect-loop' }
  | { kind: 'redirect'; location: string };

let work: string;
let feedDir: string;
let downloads: string;
let server: Server;
let base: string;
const sockets = new Set<Socket>();
const timers = new Set<NodeJS.Timeout>();
const overrides = new Map<string, Behaviour>();
/** when set, every request must carry this Authorization header (HTTP basic, from a URL's userinfo) */
let requiredAuth: string | undefined;
let original: FeedIndex;
let originalBytes: Buffer;

function every(ms: number, fn: () => boolean): void {
  const t = setInterval(() => {
    if (!fn()) {
      clearInterval(t);
      timers.delete(t);
    }
  }, ms);
  timers.add(t);
}

function misbehave(req: IncomingMessage, res: ServerResponse, b: Behaviour): void {
  switch (b.kind) {
    case 'bytes':
      res.writeHead(200, { 'content-length': b.data.length }).end(b.data);
      return;
    case 'endless': {
      // no Content-Length: only the client's own cap ends this
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk)) {
          /* fill the socket */
        }
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
      return;
    }
    case 'claims-length':
      res.writeHead(200, { 'content-length': b.length });
      res.write(Buffer.alloc(1024, 0x20));
      return;
    case 'then-endless': {
      res.writeHead(200);
      res.write(b.data);
      const chunk = Buffer.alloc(64 * 1024);
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk)) {
          /* fill the socket */
        }
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
      return;
    }
    case 'drip': {
      res.writeHead(200, { 'content-length': b.data.length });
      let i = 0;
      every(b.everyMs, () => {
        if (res.destroyed || i >= b.data.length) return false;
        res.write(b.data.subarray(i, ++i));
        return true;
      });
      return;
    }
    case 'drip-headers': {
      // a status line, then one byte of an endless header every few ms: never a complete head
      const socket = req.socket;
      socket.write('HTTP/1.1 200 OK\r\nX-Drip: ');
      every(b.everyMs, () => {
        if (socket.destroyed) return false;
        socket.write('a');
        return true;
      });
      return;
    }
    case 'redirect-loop':
      res.writeHead(302, { location: req.url ?? '/' }).end();
      return;
    case 'redirect':
      res.writeHead(302, { location: b.location }).end();
      return;
  }
}

async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  if (requiredAuth !== undefined && req.headers.authorization !== requiredAuth) {
    res.writeHead(401, { 'www-authenticate': 'Basic realm="feed"' }).end();
    return;
  }
  const b = overrides.get(path);
  if (b) {
    misbehave(req, res, b);
    return;
  }
  try {
    const data = await readFile(join(feedDir, ...path.split('/').filter(Boolean)));
    res.writeHead(200, { 'content-length': data.length }).end(data);
  } catch {
    res.writeHead(404).end();
  }
}

/** index.json + index.sig bytes for `index`, signed by `keys` */
function publish(index: FeedIndex, keys = [PUBLISHER]): { index: Buffer; sig: Buffer } {
  const bytes = serializeFeedIndex(index);
  return {
    index: bytes,
    sig: signFeedIndex(
      bytes,
      keys.map((k) => k.privateKey),
    ),
  };
}

function serveIndex(p: { index: Buffer; sig: Buffer }): void {
  overrides.set('/index.json', { kind: 'bytes', data: p.index });
  overrides.set('/index.sig', { kind: 'bytes', data: p.sig });
}

function entry(index: FeedIndex, id: string, arch: string): FeedPack {
  const e = index.packs.find((p) => p.id === id && p.arch === arch);
  if (!e) throw new Error(`the built feed has no ${id} for ${arch}`);
  return e;
}

async function refuses(
  p: Promise<unknown>,
  code: string,
  exitCode: number,
  message: RegExp,
): Promise<ServicepackError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ServicepackError, `expected a ServicepackError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.exitCode, exitCode, e.message);
    assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

async function assertNothingLeft(dir: string): Promise<void> {
  assert.deepEqual(existsSync(dir) ? await readdir(dir) : [], [], `${dir}: a refused download left files behind`);
}

async function load(extra: { lastSeenVersion?: number; now?: Date } = {}): Promise<LoadedFeed> {
  return loadFeed(`${base}/`, { trustedKeys: trusted, timeoutMs: TIMEOUT_MS, ...extra });
}

before(async () => {
  for (const f of ['index.json', 'index.sig', 'catalog.json']) {
    if (!existsSync(join(distFeed, f)))
      throw new Error(
        `missing build output ${join(distFeed, f)}: run pnpm build (npx --yes pnpm@10.34.8 run build) first`,
      );
  }
  work = await mkdtemp(join(tmpdir(), 'sp-feed-attacks-'));
  feedDir = join(work, 'feed');
  downloads = join(work, 'downloads');
  await cp(distFeed, feedDir, { recursive: true });
  original = FeedIndexSchema.parse(JSON.parse(await readFile(join(feedDir, 'index.json'), 'utf8')));
  for (const p of original.packs) {
    if (!existsSync(join(feedDir, p.url)))
      throw new Error(`dist/feed lists ${p.url} but it is missing: rebuild (pnpm build)`);
  }
  // the publisher of this copy is the test key
  const p = publish(original);
  originalBytes = p.index;
  await writeFile(join(feedDir, 'index.json'), p.index);
  await writeFile(join(feedDir, 'index.sig'), p.sig);

  server = createServer((req, res) => void serve(req, res));
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const t of timers) clearInterval(t);
  for (const s of sockets) s.destroy();
  if (server) await new Promise<void>((r) => server.close(() => r()));
  if (work) await rm(work, { recursive: true, force: true });
});

describe('feed attacks (loopback http)', () => {
  test('control: the re-signed copy of the built feed loads, and its SP6 x86 pack verifies', async () => {
    overrides.clear();
    const feed = await load();
    assert.equal(feed.index.version, original.version);
    assert.deepEqual(feed.signedBy, [PUBLISHER.keyid]);
    const dest = join(downloads, 'control');
    const pack = await openFeedPack(feed, entry(feed.index, 'inetsrv-4.0-sp6', 'x86'), dest, {
      trustedKeys: await vendorKeys(),
      timeoutMs: TIMEOUT_MS,
    });
    assert.equal(pack.manifest.id, 'inetsrv-4.0-sp6');
    assert.ok((await loadCatalog(feed, { timeoutMs: TIMEOUT_MS })).releases.length > 0);
  });

  test('freeze: an expired index is refused (E_FEED_EXPIRED, exit 4), however valid its signature', async () => {
    overrides.clear();
    serveIndex(
      publish({
        ...original,
        version: original.version + 10,
        created: '2020-01-01T00:00:00.000Z',
        expires: '2021-01-01T00:00:00.000Z',
      }),
    );
    await refuses(load(), 'E_FEED_EXPIRED', 4, /expired on 2021-01-01T00:00:00\.000Z/);
    // and the built index itself, replayed after its expiry
    overrides.clear();
    await refuses(
      load({ now: new Date(Date.parse(original.expires) + 1000) }),
      'E_FEED_EXPIRED',
      4,
      /replay of old data/,
    );
  });

  test('rollback: an older index after a newer one is refused (E_FEED_ROLLBACK, exit 4); the same version is fine', async () => {
    overrides.clear();
    const newer = { ...original, version: original.version + 1 };
    serveIndex(publish(newer));
    const seen = (await load()).index.version;
    assert.equal(seen, newer.version);
    // a mirror now replays the previous (still valid, still signed) index
    overrides.clear();
    await refuses(
      load({ lastSeenVersion: seen }),
      'E_FEED_ROLLBACK',
      4,
      new RegExp(`version ${original.version}, older than version ${seen}`),
    );
    serveIndex(publish(newer));
    assert.equal((await load({ lastSeenVersion: seen })).index.version, seen);
  });

  test('mix-and-match: another valid, signed pack served under a listed name is refused (E_HASH_MISMATCH)', async () => {
    overrides.clear();
    const feed = await load();
    const sp6 = entry(feed.index, 'inetsrv-4.0-sp6', 'x86');
    const sp5 = entry(feed.index, 'inetsrv-4.0-sp5', 'x86');
    overrides.set(`/${sp6.url}`, { kind: 'bytes', data: await readFile(join(feedDir, sp5.url)) });
    const dest = join(downloads, 'mix');
    await refuses(fetchPack(feed, sp6, dest, { timeoutMs: TIMEOUT_MS }), 'E_HASH_MISMATCH', 4, /signed index/);
    await assertNothingLeft(dest);
  });

  test('mix-and-match: a signed index whose SP6 entry pins the SP5 pack is refused by the pack check', async () => {
    overrides.clear();
    const sp6 = entry(original, 'inetsrv-4.0-sp6', 'x86');
    const sp5 = entry(original, 'inetsrv-4.0-sp5', 'x86');
    // metadata of one publication, bytes of another: the pins match, the identities do not
    const mixed = {
      ...original,
      version: original.version + 1,
      packs: original.packs.map((p) =>
        p === sp6
          ? { ...sp6, sha256: sp5.sha256, size: sp5.size, url: sp5.url }
          : p === sp5
            ? { ...sp5, url: sp6.url, sha256: sp6.sha256, size: sp6.size }
            : p,
      ),
    };
    serveIndex(publish(mixed));
    const feed = await load();
    const dest = join(downloads, 'mixed-index');
    const err = await refuses(
      openFeedPack(feed, entry(feed.index, 'inetsrv-4.0-sp6', 'x86'), dest, {
        trustedKeys: await vendorKeys(),
        timeoutMs: TIMEOUT_MS,
      }),
      'E_HASH_MISMATCH',
      4,
      /mixes packs/,
    );
    assert.ok((err.details['differs'] as string[]).includes('level'));
    await rm(dest, { recursive: true, force: true });
  });

  test('wrong arch: an index listing the alpha pack as the x86 one is refused', async () => {
    overrides.clear();
    const x86 = entry(original, 'inetsrv-4.0-sp6', 'x86');
    const alpha = entry(original, 'inetsrv-4.0-sp6', 'alpha');
    const lying = {
      ...original,
      version: original.version + 1,
      packs: original.packs.map((p) =>
        p === x86
          ? { ...x86, url: alpha.url, sha256: alpha.sha256, size: alpha.size }
          : p === alpha
            ? { ...alpha, url: x86.url, sha256: x86.sha256, size: x86.size }
            : p,
      ),
    };
    serveIndex(publish(lying));
    const feed = await load();
    const dest = join(downloads, 'arch');
    const err = await refuses(
      openFeedPack(feed, entry(feed.index, 'inetsrv-4.0-sp6', 'x86'), dest, {
        trustedKeys: await vendorKeys(),
        timeoutMs: TIMEOUT_MS,
      }),
      'E_HASH_MISMATCH',
      4,
      /alpha/,
    );
    // the alpha pack also carries alpha-only fixes; the arch is what must be named
    assert.ok((err.details['differs'] as string[]).includes('arch'));
    await rm(dest, { recursive: true, force: true });
  });

  test('an index naming a url outside the feed folder is refused before anything is fetched', async () => {
    overrides.clear();
    const json = JSON.parse(originalBytes.toString()) as { packs: { url: string }[]; version: number };
    json.packs[0]!.url = '../../etc/passwd';
    json.version += 1;
    const bytes = Buffer.from(`${JSON.stringify(json, null, 2)}\n`);
    serveIndex({ index: bytes, sig: signFeedIndex(bytes, [PUBLISHER.privateKey]) });
    await refuses(load(), 'E_FEED', 1, /packs\.0\.url/);
  });

  test('an index signed only by a key the client does not trust, or a revoked one, is refused', async () => {
    overrides.clear();
    serveIndex(publish(original, [RETIRED]));
    await refuses(load(), 'E_UNTRUSTED_KEY', 4, new RegExp(RETIRED.keyid));
    await refuses(
      loadFeed(`${base}/`, {
        trustedKeys: [...trusted, { keyid: RETIRED.keyid, key: RETIRED.publicKey, source: 'retired' }],
        revokedKeyIds: [RETIRED.keyid],
        timeoutMs: TIMEOUT_MS,
      }),
      'E_UNTRUSTED_KEY',
      4,
      /revoked/,
    );
  });

  test('endless data: an index without a length that never ends is cut off at the cap', async () => {
    overrides.clear();
    overrides.set('/index.json', { kind: 'endless' });
    const t0 = performance.now();
    await refuses(load(), 'E_FEED', 1, new RegExp(`larger than ${FEED_INDEX_MAX_BYTES} bytes`));
    assert.ok(performance.now() - t0 < 10_000);
  });

  test('oversized: an index announcing 10 GiB is refused from its Content-Length, without reading it', async () => {
    overrides.clear();
    overrides.set('/index.json', { kind: 'claims-length', length: 10 * 1024 ** 3 });
    await refuses(load(), 'E_FEED', 1, /larger than/);
  });

  test('endless data: an endless index.sig is a signature failure', async () => {
    overrides.clear();
    overrides.set('/index.sig', { kind: 'endless' });
    await refuses(load(), 'E_BAD_SIGNATURE', 4, /index\.sig is larger than/);
  });

  test('endless data: a pack that goes on past its signed size is refused, and nothing is kept', async () => {
    overrides.clear();
    const feed = await load();
    const sp6 = entry(feed.index, 'inetsrv-4.0-sp6', 'x86');
    overrides.set(`/${sp6.url}`, { kind: 'then-endless', data: await readFile(join(feedDir, sp6.url)) });
    const dest = join(downloads, 'endless-pack');
    await refuses(
      fetchPack(feed, sp6, dest, { timeoutMs: TIMEOUT_MS }),
      'E_HASH_MISMATCH',
      4,
      new RegExp(`larger than the ${sp6.size} bytes`),
    );
    await assertNothingLeft(dest);
  });

  test('endless data: a catalog that goes on past its pinned size is refused', async () => {
    overrides.clear();
    const feed = await load();
    overrides.set(`/${feed.index.catalog.url}`, {
      kind: 'then-endless',
      data: await readFile(join(feedDir, feed.index.catalog.url)),
    });
    await refuses(loadCatalog(feed, { timeoutMs: TIMEOUT_MS }), 'E_HASH_MISMATCH', 4, /catalog was replaced/);
  });

  test('a redirect loop is given up after a few hops', async () => {
    overrides.clear();
    overrides.set('/index.json', { kind: 'redirect-loop' });
    await refuses(load(), 'E_FEED', 1, /more than 5 redirects/);
  });

  test('a redirect to another scheme (file:) is a hostile server: E_FEED_REDIRECT, exit 4, nothing read', async () => {
    overrides.clear();
    overrides.set('/index.json', { kind: 'redirect', location: 'file:///etc/passwd' });
    await refuses(load(), 'E_FEED_REDIRECT', 4, /redirects to \/etc\/passwd; only http\(s\) is followed/);
    overrides.set('/index.json', { kind: 'redirect', location: 'file://elsewhere/etc/passwd' });
    await refuses(load(), 'E_FEED_REDIRECT', 4, /only http\(s\) is followed/);
  });

  test('a redirect from https to http is a downgrade: E_FEED_REDIRECT, exit 4', async () => {
    overrides.clear();
    const tlsKey = fixedKey('feed-attacks: tls');
    const tls = createHttpsServer({ key: tlsKey.privateKeyPem, cert: selfSignedCertificate(tlsKey) }, (req, res) => {
      res.writeHead(301, { location: `${base}${req.url ?? '/'}` }).end();
    });
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
    // the certificate is made here: the client is told not to verify it, for this test only
    const verify = httpsAgent.options.rejectUnauthorized;
    httpsAgent.options.rejectUnauthorized = false;
    try {
      const url = `https://127.0.0.1:${(tls.address() as AddressInfo).port}/`;
      await refuses(
        loadFeed(url, { trustedKeys: trusted, timeoutMs: TIMEOUT_MS }),
        'E_FEED_REDIRECT',
        4,
        /which is not https; refusing the downgrade/,
      );
    } finally {
      httpsAgent.options.rejectUnauthorized = verify;
      tls.closeAllConnections();
      await new Promise<void>((r) => tls.close(() => r()));
    }
  });

  test('slow retrieval: an index dripped one byte at a time is given up on, in bounded time', async () => {
    overrides.clear();
    overrides.set('/index.json', { kind: 'drip', data: originalBytes, everyMs: 20 });
    const t0 = performance.now();
    await refuses(load(), 'E_IO', 1, /too slow|slower than/);
    const ms = performance.now() - t0;
    // at 50 bytes/s the whole index would take minutes; each attempt is cut after one timeout window
    assert.ok(ms < 8_000, `took ${Math.round(ms)} ms`);
  });

  test('slow retrieval: a pack dripped one byte at a time is given up on, and nothing is kept', async () => {
    overrides.clear();
    const feed = await load();
    const sp6 = entry(feed.index, 'inetsrv-4.0-sp6', 'x86');
    overrides.set(`/${sp6.url}`, { kind: 'drip', data: await readFile(join(feedDir, sp6.url)), everyMs: 20 });
    const dest = join(downloads, 'drip-pack');
    const t0 = performance.now();
    await refuses(fetchPack(feed, sp6, dest, { timeoutMs: TIMEOUT_MS, retries: 1 }), 'E_IO', 1, /too slow|slower than/);
    assert.ok(performance.now() - t0 < 8_000);
    await assertNothingLeft(dest);
  });

  test('slow retrieval: response headers dripped forever are given up on', async () => {
    overrides.clear();
    overrides.set('/index.json', { kind: 'drip-headers', everyMs: 20 });
    const t0 = performance.now();
    await refuses(load(), 'E_IO', 1, /no complete response|headers/);
    assert.ok(performance.now() - t0 < 8_000);
  });
});

describe('feed attacks through servicepack check --feed / install --feed', () => {
  let root: string;
  let publisherPub: string;
  let url: string;
  let before_: string[];
  const newer = (): FeedIndex => ({ ...original, version: original.version + 1 });
  const withoutLogs = (lines: string[]) => lines.filter((l) => !/ \.servicepack\/log(\/|$)/.test(l));
  const recorded = async (): Promise<number | undefined> => {
    const state = JSON.parse(await readFile(join(root, '.servicepack', 'state.json'), 'utf8')) as {
      feeds?: Record<string, { version: number }>;
    };
    return state.feeds?.[`${url}index.json`]?.version;
  };
  /** the error code of a run: top level, or the (only) target's */
  const codeOf = (doc: Record<string, unknown>): unknown =>
    doc['code'] ?? (doc['targets'] as { error?: { code?: string } }[] | undefined)?.[0]?.error?.code;

  before(async () => {
    const rtm = join(repo, 'dist', 'releases', 'inetsrv-4.0-rtm-x86');
    const sp5 = join(repo, 'dist', 'packs', 'inetsrv-4.0-sp5-x86.tgz');
    for (const p of [rtm, sp5, join(repo, 'installer', 'dist', 'cli.js')])
      if (!existsSync(p)) throw new Error(`missing build output ${p}: run pnpm build first`);
    root = join(work, 'inetsrv');
    await cp(rtm, root, { recursive: true });
    // an installation with a state record (SP5), where the last seen feed version is kept
    const r = await cli(['install', '--accept-eula', '--root', root, '-u', '--json', sp5]);
    assert.equal(r.code, 0, r.out);
    publisherPub = join(work, 'publisher.pub');
    await writeFile(publisherPub, PUBLISHER.publicKeyPem);
    url = `${base}/`;
    overrides.clear();
    serveIndex(publish(newer()));
    const c = await cli(['check', '--feed', url, '--root', root, '--trust', publisherPub, '--json']);
    assert.equal(c.code, 0, c.out);
    assert.equal(await recorded(), original.version + 1, 'check remembers the version it accepted');
    before_ = withoutLogs(await treeSnapshot(root));
  });

  test('rollback: check and install refuse the older index (exit 4), and the floor stays', async () => {
    overrides.clear();
    const c = await cli(['check', '--feed', url, '--root', root, '--trust', publisherPub, '--json']);
    assert.equal(c.code, 4, c.out);
    assert.equal(codeOf(jsonDoc(c)), 'E_FEED_ROLLBACK');
    const i = await cli([
      'install',
      '--accept-eula',
      '--feed',
      url,
      '--root',
      root,
      '-u',
      '--trust',
      publisherPub,
      '--json',
      '--',
      'latest',
    ]);
    assert.equal(i.code, 4, i.out);
    assert.equal(codeOf(jsonDoc(i)), 'E_FEED_ROLLBACK');
    assert.equal(await recorded(), original.version + 1);
    assert.deepEqual(withoutLogs(await treeSnapshot(root)), before_);
  });

  test('freeze: an expired index is refused (exit 4) and does not raise the floor', async () => {
    overrides.clear();
    serveIndex(
      publish({
        ...original,
        version: original.version + 5,
        created: '2020-01-01T00:00:00.000Z',
        expires: '2021-01-01T00:00:00.000Z',
      }),
    );
    const c = await cli(['check', '--feed', url, '--root', root, '--trust', publisherPub, '--json']);
    assert.equal(c.code, 4, c.out);
    assert.equal(codeOf(jsonDoc(c)), 'E_FEED_EXPIRED');
    assert.equal(await recorded(), original.version + 1);
    assert.deepEqual(withoutLogs(await treeSnapshot(root)), before_);
  });

  test('mix-and-match: install --feed refuses SP5 bytes served as SP6a (exit 4), nothing changes', async () => {
    overrides.clear();
    serveIndex(publish(newer()));
    // the pack `latest` picks: SP6a, the newest service pack
    const sp6 = entry(original, 'inetsrv-4.0-sp6a', 'x86');
    const sp5 = entry(original, 'inetsrv-4.0-sp5', 'x86');
    overrides.set(`/${sp6.url}`, { kind: 'bytes', data: await readFile(join(feedDir, sp5.url)) });
    const i = await cli([
      'install',
      '--accept-eula',
      '--feed',
      url,
      '--root',
      root,
      '-u',
      '--trust',
      publisherPub,
      '--json',
      '--',
      'latest',
    ]);
    assert.equal(i.code, 4, i.out);
    assert.equal(codeOf(jsonDoc(i)), 'E_HASH_MISMATCH');
    assert.deepEqual(withoutLogs(await treeSnapshot(root)), before_);
  });

  test('a hostile redirect: check and install --feed refuse with exit 4 (E_FEED_REDIRECT), nothing changes', async () => {
    overrides.clear();
    overrides.set('/index.json', { kind: 'redirect', location: 'file:///etc/passwd' });
    const c = await cli(['check', '--feed', url, '--root', root, '--trust', publisherPub, '--json']);
    assert.equal(c.code, 4, c.out);
    assert.equal(codeOf(jsonDoc(c)), 'E_FEED_REDIRECT');
    const i = await cli([
      'install',
      '--accept-eula',
      '--feed',
      url,
      'latest',
      '--root',
      root,
      '-u',
      '--trust',
      publisherPub,
      '--json',
    ]);
    assert.equal(i.code, 4, i.out);
    assert.equal(codeOf(jsonDoc(i)), 'E_FEED_REDIRECT');
    assert.deepEqual(withoutLogs(await treeSnapshot(root)), before_);
  });

  test('wrong arch: install --feed refuses the alpha pack listed as x86 (exit 4), nothing changes', async () => {
    overrides.clear();
    const x86 = entry(original, 'inetsrv-4.0-sp6a', 'x86');
    const alpha = entry(original, 'inetsrv-4.0-sp6a', 'alpha');
    // same version as the one recorded: equal versions are accepted, so only the pack checks stand in the way
    serveIndex(
      publish({
        ...newer(),
        packs: original.packs.map((p) =>
          p === x86
            ? { ...x86, url: alpha.url, sha256: alpha.sha256, size: alpha.size }
            : p === alpha
              ? { ...alpha, url: x86.url, sha256: x86.sha256, size: x86.size }
              : p,
        ),
      }),
    );
    const i = await cli([
      'install',
      '--accept-eula',
      '--feed',
      url,
      '--root',
      root,
      '-u',
      '--trust',
      publisherPub,
      '--json',
      '--',
      'latest',
    ]);
    assert.equal(i.code, 4, i.out);
    assert.equal(codeOf(jsonDoc(i)), 'E_HASH_MISMATCH');
    assert.deepEqual(withoutLogs(await treeSnapshot(root)), before_);
  });
});

describe('feed credentials: the userinfo of a feed URL is sent, never stored or printed', () => {
  const USER = 'feeduser';
  const PASSWORD = 'pw-Z3cr3t-9f1c';
  let root: string;
  let publisherPub: string;
  let authed: string;
  const key = (): string => `${base}/index.json`;
  const feedsOf = async (): Promise<Record<string, { version: number }>> =>
    (
      JSON.parse(await readFile(join(root, '.servicepack', 'state.json'), 'utf8')) as {
        feeds?: Record<string, { version: number }>;
      }
    ).feeds ?? {};

  /** every file under .servicepack/ (state, logs, backup records, anything) and every output that names the user or the password */
  async function leaks(runs: { out: string; err: string }[]): Promise<string[]> {
    const found: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if ((await readFile(p, 'latin1')).match(new RegExp(`${USER}|${PASSWORD}`))) found.push(p);
      }
    };
    await walk(join(root, '.servicepack'));
    for (const [i, r] of runs.entries())
      if (`${r.out}${r.err}`.includes(PASSWORD) || `${r.out}${r.err}`.includes(USER)) found.push(`output of run ${i}`);
    return found;
  }

  before(async () => {
    const rtm = join(repo, 'dist', 'releases', 'inetsrv-4.0-rtm-x86');
    root = join(work, 'inetsrv-credentials');
    await cp(rtm, root, { recursive: true });
    const r = await cli([
      'install',
      '--accept-eula',
      join(repo, 'dist', 'packs', 'inetsrv-4.0-sp5-x86.tgz'),
      '--root',
      root,
      '-u',
      '--json',
    ]);
    assert.equal(r.code, 0, r.out);
    publisherPub = join(work, 'publisher-credentials.pub');
    await writeFile(publisherPub, PUBLISHER.publicKeyPem);
    authed = `${base.replace('http://', `http://${USER}:${PASSWORD}@`)}/`;
    requiredAuth = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
  });
  after(() => {
    requiredAuth = undefined;
  });

  test('check and install --feed http://user:password@host/: the server gets them; no record, log, backup or output holds them', async () => {
    overrides.clear();
    serveIndex(publish({ ...original, version: original.version + 1 }));
    // the server does ask for them
    const anonymous = await cli(['check', '--feed', `${base}/`, '--root', root, '--trust', publisherPub, '--json']);
    assert.equal(anonymous.code, 1, anonymous.out);
    assert.match(anonymous.out, /HTTP 401/);
    const runs = [
      await cli(['check', '--feed', authed, '--root', root, '--trust', publisherPub, '--json']),
      await cli(['check', '--feed', authed, '--root', root, '--trust', publisherPub]),
      await cli([
        'install',
        '--accept-eula',
        '--feed',
        authed,
        'latest',
        '--root',
        root,
        '-u',
        '--trust',
        publisherPub,
        '--json',
      ]),
      // nothing newer now: the refusal names the feed
      await cli([
        'install',
        '--accept-eula',
        '--feed',
        authed,
        'latest',
        '--root',
        root,
        '-u',
        '--trust',
        publisherPub,
      ]),
    ];
    assert.deepEqual(
      runs.map((r) => r.code),
      [0, 0, 0, 3],
      runs.map((r) => r.out + r.err).join('\n'),
    );
    assert.match(runs[1]!.out, new RegExp(`feed ${key().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: version`));
    assert.match(runs[3]!.err, new RegExp(`${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/ has nothing newer`));
    assert.deepEqual(Object.keys(await feedsOf()), [key()]);
    assert.equal((await feedsOf())[key()]!.version, original.version + 1);
    // the feed is in the backup record (the state before SP6a, which latest installed), without the userinfo
    const backup = await readFile(join(root, '.servicepack', 'backup', 'inetsrv-4.0-sp6a', 'backup.json'), 'utf8');
    assert.ok(backup.includes(key()), 'backup.json keeps the feed');
    assert.ok((await readdir(join(root, '.servicepack', 'log'))).length >= 2);
    assert.deepEqual(await leaks(runs), []);
  });

  test('a record that still has the password in its key keeps its rollback floor, and is written again without it', async () => {
    const old = `${authed}index.json`;
    const statePath = join(root, '.servicepack', 'state.json');
    const state = JSON.parse(await readFile(statePath, 'utf8')) as Record<string, unknown>;
    await writeFile(
      statePath,
      `${JSON.stringify({ ...state, feeds: { [old]: { version: original.version + 3, seen: '2026-01-01T00:00:00.000Z' } } }, null, 2)}\n`,
    );
    overrides.clear();
    serveIndex(publish({ ...original, version: original.version + 2 }));
    const rolledBack = await cli(['check', '--feed', authed, '--root', root, '--trust', publisherPub, '--json']);
    assert.equal(rolledBack.code, 4, rolledBack.out);
    assert.equal(jsonDoc(rolledBack)['code'], 'E_FEED_ROLLBACK');
    serveIndex(publish({ ...original, version: original.version + 3 }));
    const same = await cli(['check', '--feed', authed, '--root', root, '--trust', publisherPub, '--json']);
    assert.equal(same.code, 0, same.out);
    assert.deepEqual(Object.keys(await feedsOf()), [key()]);
    assert.equal((await feedsOf())[key()]!.version, original.version + 3);
    assert.ok(!(await readFile(statePath, 'utf8')).includes(PASSWORD));
    assert.deepEqual(await leaks([rolledBack, same]), []);
  });
});

let vendorTrust: TrustedKey[] | undefined;
/** The packs in dist/feed are signed by the build's vendor key. */
async function vendorKeys(): Promise<TrustedKey[]> {
  const { loadTrustedKeys } = await import('../packages/core/src/trust/trust.js');
  vendorTrust ??= await loadTrustedKeys({ trustFiles: [join(repo, 'dist', 'keys', 'dev.pub')] });
  return vendorTrust;
}
