import assert from 'node:assert/strict';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { CATALOG_FILE, type Catalog, serializeCatalog } from '../../src/feed/catalog.js';
import { ServicepackError } from '../../src/support/errors.js';
import {
  FEED_INDEX_FILE,
  FEED_INDEX_MAX_BYTES,
  FEED_SIGNATURE_FILE,
  type FeedIndex,
  type FeedPack,
} from '../../src/feed/schema.js';
import { feedPackEntry, serializeFeedIndex, signFeedIndex } from '../../src/feed/publish.js';
import {
  checkPackAgainstFeed,
  feedUrl,
  fetchPack,
  type LoadedFeed,
  loadCatalog,
  loadFeed,
  openFeedPack,
  resolveFeedSource,
} from '../../src/feed/client.js';
import type { Manifest } from '../../src/pack/manifest.js';
import { openPack } from '../../src/pack/open.js';
import { writePack } from '../../src/pack/pack-write.js';
import { makeKey, makePayload, sha, type TestKey, tempDir } from '../pack-helpers.js';

const NOW = new Date('2026-06-01T00:00:00.000Z');

/** Asserts a ServicepackError with `code` and its exit code. */
async function refuses(p: Promise<unknown>, code: string, exitCode: number): Promise<ServicepackError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ServicepackError, `expected a ServicepackError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.exitCode, exitCode);
    return e;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

interface Built {
  file: string;
  manifest: Manifest;
}

/**
 * A feed folder written with the core functions the publisher uses, so every test starts from a
 * valid signed feed and breaks exactly one thing.
 */
class FeedFixture {
  readonly packs = new Map<string, Built>();
  catalog: Catalog = {
    format: 1,
    product: 'inetsrv',
    releases: [
      {
        name: 'inetsrv-4.0-rtm-x86',
        version: '4.0.0',
        level: 0,
        arch: 'x86',
        hotfixes: [],
        files: { 'lib/a.js': sha('a0\n') },
      },
    ],
  };

  constructor(readonly dir: string) {}

  async addPack(name: string, manifest: Manifest, payloadDir: string, key: TestKey): Promise<void> {
    const file = join(this.dir, 'packs', name);
    await mkdir(join(this.dir, 'packs'), { recursive: true });
    await writePack({ out: file, manifest, privateKeys: [key.privateKey], payloadDir });
    this.packs.set(name, { file, manifest });
  }

  async entries(): Promise<FeedPack[]> {
    const out: FeedPack[] = [];
    for (const [name, b] of this.packs) {
      const bytes = await readFile(b.file);
      out.push(feedPackEntry(b.manifest, { url: `packs/${name}`, sha256: sha(bytes), size: bytes.length }));
    }
    return out;
  }

  async index(over: Partial<FeedIndex> = {}): Promise<FeedIndex> {
    const catalogBytes = serializeCatalog(this.catalog);
    return {
      format: 1,
      product: 'inetsrv',
      version: 3,
      created: '2026-01-01T00:00:00.000Z',
      expires: '2027-01-01T00:00:00.000Z',
      packs: await this.entries(),
      catalog: { url: CATALOG_FILE, sha256: sha(catalogBytes), size: catalogBytes.length },
      ...over,
    };
  }

  /** Writes catalog.json, index.json and index.sig; returns the index bytes. */
  async publish(opts: { over?: Partial<FeedIndex>; keys?: TestKey[]; raw?: Buffer } = {}): Promise<Buffer> {
    await writeFile(join(this.dir, CATALOG_FILE), serializeCatalog(this.catalog));
    const bytes = opts.raw ?? serializeFeedIndex(await this.index(opts.over));
    await writeFile(join(this.dir, FEED_INDEX_FILE), bytes);
    await writeFile(
      join(this.dir, FEED_SIGNATURE_FILE),
      signFeedIndex(
        bytes,
        (opts.keys ?? [vendor]).map((k) => k.privateKey),
      ),
    );
    return bytes;
  }
}

const vendor = makeKey();
const stranger = makeKey();

describe('feed client', () => {
  let root: string;
  let feedDir: string;
  let fx: FeedFixture;
  const opts = () => ({ trustedKeys: [vendor.trusted], now: NOW });

  before(async () => {
    root = await tempDir('sp-feed-');
    feedDir = join(root, 'feed');
    fx = new FeedFixture(feedDir);
    const payload = join(root, 'payload');
    const files = [
      { path: 'lib/a.js', content: 'a1\n' },
      { path: 'lib/platform/x86.js', content: 'x86 v9\n' },
    ];
    await fx.addPack('inetsrv-4.0-sp9-x86.tgz', await makePayload(payload, files), payload, vendor);
    await fx.addPack(
      'inetsrv-4.0-sp9-alpha.tgz',
      await makePayload(payload, files, { arch: 'alpha' }),
      payload,
      vendor,
    );
    await fx.addPack(
      'inetsrv-4.0-sp1-q9-x86.tgz',
      await makePayload(payload, files, {
        id: 'Q9',
        kind: 'hotfix',
        title: 'Hotfix Q9',
        level: 1,
        baseLevel: 1,
        appliesTo: { version: '>=4.0.0 <4.1.0', levels: [1] },
        fixes: [{ id: 'Q9', title: 'leak', summary: 'fixes a leak', security: true }],
      }),
      payload,
      vendor,
    );
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('loads and verifies a feed from a folder, a file: URL or the index path', async () => {
    const bytes = await fx.publish();
    for (const source of [
      feedDir,
      pathToFileURL(feedDir).href,
      join(feedDir, FEED_INDEX_FILE),
      `${pathToFileURL(feedDir).href}/`,
    ]) {
      const feed = await loadFeed(source, opts());
      assert.equal(feed.index.version, 3);
      assert.equal(feed.index.product, 'inetsrv');
      assert.deepEqual(feed.signedBy, [vendor.trusted.keyid]);
      assert.ok(feed.indexBytes.equals(bytes));
      assert.equal(feed.url, pathToFileURL(join(feedDir, FEED_INDEX_FILE)).href);
      assert.deepEqual(
        feed.index.packs.map((p) => `${p.id}/${p.arch}`),
        ['Q9/x86', 'inetsrv-4.0-sp9/alpha', 'inetsrv-4.0-sp9/x86'],
      );
    }
    const hotfix = (await loadFeed(feedDir, opts())).index.packs.find((p) => p.id === 'Q9');
    assert.equal(hotfix?.baseLevel, 1);
    assert.deepEqual(hotfix?.fixes, [{ id: 'Q9', title: 'leak', summary: 'fixes a leak', security: true }]);
  });

  it('a relative folder resolves against cwd', () => {
    const loc = resolveFeedSource('feed', root);
    assert.equal(loc.indexUrl.href, pathToFileURL(join(feedDir, 'index.json')).href);
    assert.equal(loc.signatureUrl.href, pathToFileURL(join(feedDir, 'index.sig')).href);
    assert.equal(loc.baseUrl.href, `${pathToFileURL(feedDir).href}/`);
    assert.throws(
      () => resolveFeedSource('ftp://example.com/feed'),
      (e: unknown) => e instanceof ServicepackError && e.code === 'E_USAGE',
    );
  });

  it('serialisation is canonical: the order packs are given in does not change the signed bytes', async () => {
    const ix = await fx.index();
    const reversed = { ...ix, packs: [...ix.packs].reverse() };
    assert.ok(serializeFeedIndex(ix).equals(serializeFeedIndex(reversed)));
    assert.ok(
      signFeedIndex(serializeFeedIndex(ix), [vendor.privateKey]).equals(
        signFeedIndex(serializeFeedIndex(reversed), [vendor.privateKey]),
      ),
    );
  });

  it('refuses an index signed only by an unknown key, or by a revoked one', async () => {
    await fx.publish({ keys: [stranger] });
    const e = await refuses(loadFeed(feedDir, opts()), 'E_UNTRUSTED_KEY', 4);
    assert.match(e.message, /--trust/);
    await fx.publish({ keys: [vendor] });
    await refuses(loadFeed(feedDir, { ...opts(), revokedKeyIds: [vendor.trusted.keyid] }), 'E_UNTRUSTED_KEY', 4);
    // a second signature by a key the client does not know changes nothing (key rotation)
    await fx.publish({ keys: [vendor, stranger] });
    assert.deepEqual((await loadFeed(feedDir, opts())).signedBy, [vendor.trusted.keyid]);
  });

  it('refuses a feed without index.sig, or with no signature in it', async () => {
    await fx.publish();
    await rm(join(feedDir, FEED_SIGNATURE_FILE));
    await refuses(loadFeed(feedDir, opts()), 'E_UNSIGNED', 4);
    await writeFile(join(feedDir, FEED_SIGNATURE_FILE), '{"signatures":[]}\n');
    await refuses(loadFeed(feedDir, opts()), 'E_UNSIGNED', 4);
    await writeFile(join(feedDir, FEED_SIGNATURE_FILE), 'not json');
    await refuses(loadFeed(feedDir, opts()), 'E_BAD_SIGNATURE', 4);
  });

  it('one changed byte of index.json is refused by its signature (exit 4)', async () => {
    const bytes = await fx.publish();
    const text = bytes.toString('utf8');
    // a change that keeps the index valid JSON and valid by schema: only the signature can tell
    const bumped = Buffer.from(text.replace('"version": 3', '"version": 4'));
    assert.notEqual(bumped.toString(), text);
    await writeFile(join(feedDir, FEED_INDEX_FILE), bumped);
    const e = await refuses(loadFeed(feedDir, opts()), 'E_BAD_SIGNATURE', 4);
    assert.match(e.message, /tampered/);
    for (const at of [0, Math.floor(bytes.length / 2), bytes.length - 1]) {
      const flipped = Buffer.from(bytes);
      flipped[at] = flipped[at]! ^ 0x01;
      await writeFile(join(feedDir, FEED_INDEX_FILE), flipped);
      await refuses(loadFeed(feedDir, opts()), 'E_BAD_SIGNATURE', 4);
    }
  });

  it('judges the signature before parsing: garbage under a bad signature is a signature failure, not a parse error', async () => {
    await fx.publish();
    await writeFile(join(feedDir, FEED_INDEX_FILE), '{"this is": not json');
    await refuses(loadFeed(feedDir, opts()), 'E_BAD_SIGNATURE', 4);
  });

  it('refuses an index larger than the cap before reading it', async () => {
    await fx.publish({ raw: Buffer.alloc(FEED_INDEX_MAX_BYTES + 1, 0x20) });
    const e = await refuses(loadFeed(feedDir, opts()), 'E_FEED', 1);
    assert.equal(e.details['limit'], FEED_INDEX_MAX_BYTES);
  });

  it('a signed index this installer cannot read is an error naming the problem', async () => {
    const ix = await fx.index();
    const raw = Buffer.from(`${JSON.stringify({ ...ix, format: 2 }, null, 2)}\n`);
    await fx.publish({ raw });
    const e = await refuses(loadFeed(feedDir, opts()), 'E_FEED', 1);
    assert.match(e.message, /format/);
    // an entry that would leave the feed's folder is refused by the schema even though it is signed
    const escaping = { ...ix, packs: [{ ...ix.packs[0]!, url: '../elsewhere/x.tgz' }] };
    await fx.publish({ raw: Buffer.from(JSON.stringify(escaping)) });
    const e2 = await refuses(loadFeed(feedDir, opts()), 'E_FEED', 1);
    assert.match(e2.message, /packs\.0\.url/);
  });

  it('refuses an expired index (freeze attack), at and after the instant it expires', async () => {
    await fx.publish({ over: { expires: '2026-06-01T00:00:00.000Z' } });
    const e = await refuses(loadFeed(feedDir, opts()), 'E_FEED_EXPIRED', 4);
    assert.match(e.message, /re-sign/);
    assert.equal(e.details['expires'], '2026-06-01T00:00:00.000Z');
    await refuses(loadFeed(feedDir, { ...opts(), now: new Date('2030-01-01T00:00:00Z') }), 'E_FEED_EXPIRED', 4);
    const ok = await loadFeed(feedDir, { ...opts(), now: new Date('2026-05-31T23:59:59Z') });
    assert.equal(ok.index.version, 3);
  });

  it('refuses an index older than the last version seen (rollback attack); the same or a newer one is fine', async () => {
    await fx.publish();
    const e = await refuses(loadFeed(feedDir, { ...opts(), lastSeenVersion: 4 }), 'E_FEED_ROLLBACK', 4);
    assert.deepEqual([e.details['version'], e.details['lastSeenVersion']], [3, 4]);
    assert.equal((await loadFeed(feedDir, { ...opts(), lastSeenVersion: 3 })).index.version, 3);
    assert.equal((await loadFeed(feedDir, { ...opts(), lastSeenVersion: 1 })).index.version, 3);
  });

  it('refuses a feed for another product when the caller names one', async () => {
    await fx.publish();
    await refuses(loadFeed(feedDir, { ...opts(), product: 'othersrv' }), 'E_WRONG_PRODUCT', 3);
  });

  describe('packs', () => {
    let feed: LoadedFeed;
    const entry = (id: string, arch: string) => {
      const e = feed.index.packs.find((p) => p.id === id && p.arch === arch);
      assert.ok(e, `${id}/${arch} not in the index`);
      return e;
    };
    before(async () => {
      await fx.publish();
      feed = await loadFeed(feedDir, opts());
    });
    it('fetches a listed pack by size and sha256, and it opens as a verified pack', async () => {
      const dest = join(root, 'dl-ok');
      const e = entry('inetsrv-4.0-sp9', 'x86');
      const path = await fetchPack(feed, e, dest);
      assert.equal(path, join(dest, 'inetsrv-4.0-sp9-x86.tgz'));
      assert.equal(sha(await readFile(path)), e.sha256);
      assert.deepEqual(await readdir(dest), ['inetsrv-4.0-sp9-x86.tgz']);
      const pack = await openFeedPack(feed, e, join(root, 'dl-ok2'), { trustedKeys: [vendor.trusted] });
      assert.equal(pack.manifest.id, 'inetsrv-4.0-sp9');
      assert.equal(pack.manifest.arch, 'x86');
    });

    it('refuses pack bytes that differ from the index (tampered, truncated, extended) and leaves nothing behind', async () => {
      const e = entry('inetsrv-4.0-sp9', 'x86');
      const file = join(feedDir, e.url);
      const good = await readFile(file);
      try {
        const flipped = Buffer.from(good);
        flipped[flipped.length - 10] = flipped[flipped.length - 10]! ^ 0xff;
        for (const [bytes, what] of [
          [flipped, 'sha256'],
          [good.subarray(0, good.length - 1), 'bytes'],
          [Buffer.concat([good, Buffer.from('x')]), 'larger'],
        ] as const) {
          await writeFile(file, bytes);
          const dest = join(root, `dl-bad-${what}`);
          const err = await refuses(fetchPack(feed, e, dest), 'E_HASH_MISMATCH', 4);
          assert.match(err.message, new RegExp(what));
          assert.deepEqual(await readdir(dest), [], 'no partial or final file may remain');
        }
      } finally {
        await writeFile(file, good);
      }
    });

    it('refuses another valid, signed pack served under a listed name (mix-and-match)', async () => {
      const x86 = entry('inetsrv-4.0-sp9', 'x86');
      const alphaFile = join(feedDir, entry('inetsrv-4.0-sp9', 'alpha').url);
      const x86File = join(feedDir, x86.url);
      const good = await readFile(x86File);
      try {
        // the alpha pack is genuine and signed by the vendor, just not the one the index lists here
        await copyFile(alphaFile, x86File);
        await openPack(x86File, { trustedKeys: [vendor.trusted] });
        await refuses(fetchPack(feed, x86, join(root, 'dl-mix')), 'E_HASH_MISMATCH', 4);
      } finally {
        await writeFile(x86File, good);
      }
    });

    it('a pack whose signed manifest disagrees with its index entry is refused even when its bytes match', async () => {
      // an index that pins the alpha pack's bytes under the x86 identity: only the manifest check can tell
      const alpha = entry('inetsrv-4.0-sp9', 'alpha');
      const lying: FeedPack = { ...alpha, arch: 'x86', url: alpha.url };
      const lyingFeed: LoadedFeed = { ...feed, index: { ...feed.index, packs: [lying] } };
      const err = await refuses(
        openFeedPack(lyingFeed, lying, join(root, 'dl-lie'), { trustedKeys: [vendor.trusted] }),
        'E_HASH_MISMATCH',
        4,
      );
      assert.deepEqual(err.details['differs'], ['arch']);
      const pack = await openPack(join(feedDir, alpha.url), { trustedKeys: [vendor.trusted] });
      checkPackAgainstFeed(pack.manifest, alpha, { product: 'inetsrv' });
      assert.throws(
        () => checkPackAgainstFeed(pack.manifest, { ...alpha, id: 'Q9', kind: 'hotfix', baseLevel: 1 }),
        (e: unknown) => e instanceof ServicepackError && e.code === 'E_HASH_MISMATCH' && /mixes packs/.test(e.message),
      );
      assert.throws(
        () => checkPackAgainstFeed(pack.manifest, alpha, { product: 'othersrv' }),
        (e: unknown) => e instanceof ServicepackError && e.exitCode === 4,
      );
    });

    it('an index entry carries appliesTo.requires, and one that leaves out what the manifest requires is refused', async () => {
      const alpha = entry('inetsrv-4.0-sp9', 'alpha');
      const pack = await openPack(join(feedDir, alpha.url), { trustedKeys: [vendor.trusted] });
      const chained: Manifest = { ...pack.manifest, appliesTo: { ...pack.manifest.appliesTo, requires: ['Q1', 'Q2'] } };
      assert.deepEqual(feedPackEntry(chained, alpha).appliesTo.requires, ['Q1', 'Q2']);
      assert.throws(
        () => checkPackAgainstFeed(chained, alpha),
        (e: unknown) =>
          e instanceof ServicepackError && e.code === 'E_HASH_MISMATCH' && String(e.details['differs']) === 'appliesTo',
      );
    });

    it('never resolves a url outside the feed folder', () => {
      assert.throws(
        () => feedUrl(feed, '../secret'),
        (e: unknown) => e instanceof ServicepackError && e.code === 'E_FEED',
      );
      assert.throws(
        () => feedUrl(feed, '/etc/passwd'),
        (e: unknown) => e instanceof ServicepackError && e.code === 'E_FEED',
      );
      assert.equal(feedUrl(feed, 'packs/a.tgz').href, `${feed.baseUrl}packs/a.tgz`);
    });

    it('loads the catalog the index pins, and refuses a replaced one', async () => {
      const catalog = await loadCatalog(feed);
      assert.deepEqual(catalog, fx.catalog);
      const file = join(feedDir, CATALOG_FILE);
      const good = await readFile(file);
      try {
        await writeFile(file, good.toString().replace('"level": 0', '"level": 1'));
        await refuses(loadCatalog(feed), 'E_HASH_MISMATCH', 4);
        await writeFile(file, Buffer.concat([good, Buffer.from(' ')]));
        await refuses(loadCatalog(feed), 'E_HASH_MISMATCH', 4);
      } finally {
        await writeFile(file, good);
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------------

describe('feed client over http (loopback)', () => {
  let root: string;
  let feedDir: string;
  let server: Server;
  let base: string;
  /** per-request behaviour, switched by each test */
  let mode: 'normal' | 'drop-once' | 'ignore-range' | 'stall' = 'normal';
  const requests: { url: string; range: string | undefined }[] = [];
  let dropped = false;

  before(async () => {
    root = await tempDir('sp-feed-http-');
    feedDir = join(root, 'feed');
    const fx = new FeedFixture(feedDir);
    const payload = join(root, 'payload');
    // large enough that a dropped connection leaves a real partial download
    const big = Buffer.alloc(512 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
    await fx.addPack(
      'inetsrv-4.0-sp9-x86.tgz',
      await makePayload(payload, [{ path: 'lib/big.bin', content: big }]),
      payload,
      vendor,
    );
    await fx.publish();
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      void serve(req, res);
    });
    async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      requests.push({ url: path, range: req.headers.range });
      if (path.startsWith('/moved/')) {
        res.writeHead(302, { location: path.slice('/moved'.length) });
        res.end();
        return;
      }
      let body: Buffer;
      try {
        body = await readFile(join(feedDir, ...path.split('/').filter(Boolean)));
      } catch {
        res.writeHead(404).end();
        return;
      }
      if (mode === 'stall' && path.endsWith('.tgz')) {
        res.writeHead(200, { 'content-length': body.length });
        res.write(body.subarray(0, 1000));
        return; // never finishes
      }
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (m && mode !== 'ignore-range') {
        const start = Number(m[1]);
        res.writeHead(206, {
          'content-length': body.length - start,
          'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
        });
        res.end(body.subarray(start));
        return;
      }
      if ((mode === 'drop-once' || mode === 'ignore-range') && path.endsWith('.tgz') && !dropped) {
        dropped = true;
        res.writeHead(200, { 'content-length': body.length });
        res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
        return;
      }
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    }
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await rm(root, { recursive: true, force: true });
  });

  const load = (url = `${base}/`) => loadFeed(url, { trustedKeys: [vendor.trusted], now: NOW });

  it('loads, verifies and downloads over http, following a redirect', async () => {
    mode = 'normal';
    const feed = await load(`${base}/moved/index.json`);
    assert.equal(feed.url, `${base}/moved/index.json`);
    const viaRoot = await load();
    const entry = viaRoot.index.packs[0]!;
    const path = await fetchPack(viaRoot, entry, join(root, 'dl'));
    assert.equal(sha(await readFile(path)), entry.sha256);
  });

  it('resumes an interrupted download with a Range request', async () => {
    mode = 'drop-once';
    dropped = false;
    requests.length = 0;
    const feed = await load();
    const entry = feed.index.packs[0]!;
    const path = await fetchPack(feed, entry, join(root, 'dl-resume'), { retries: 2 });
    assert.equal(sha(await readFile(path)), entry.sha256);
    const packRequests = requests.filter((r) => r.url.endsWith('.tgz'));
    assert.equal(packRequests.length, 2);
    assert.equal(packRequests[0]!.range, undefined);
    assert.match(packRequests[1]!.range ?? '', /^bytes=[1-9]\d*-$/);
  });

  it('starts over when the server ignores the range', async () => {
    mode = 'ignore-range';
    dropped = false;
    const feed = await load();
    const entry = feed.index.packs[0]!;
    const path = await fetchPack(feed, entry, join(root, 'dl-restart'), { retries: 2 });
    assert.equal(sha(await readFile(path)), entry.sha256);
  });

  it('gives up on a stalled server after the timeout and retries, leaving nothing behind', async () => {
    mode = 'stall';
    const feed = await load();
    const dest = join(root, 'dl-stall');
    const started = Date.now();
    await refuses(fetchPack(feed, feed.index.packs[0]!, dest, { timeoutMs: 200, retries: 1 }), 'E_IO', 1);
    assert.ok(Date.now() - started < 5000);
    assert.deepEqual(await readdir(dest), []);
    mode = 'normal';
  });

  it('a missing index.sig over http is an unsigned feed; a missing feed says where it looked', async () => {
    mode = 'normal';
    await rm(join(feedDir, FEED_SIGNATURE_FILE));
    try {
      await refuses(load(), 'E_UNSIGNED', 4);
    } finally {
      await writeFile(
        join(feedDir, FEED_SIGNATURE_FILE),
        signFeedIndex(await readFile(join(feedDir, FEED_INDEX_FILE)), [vendor.privateKey]),
      );
    }
    const e = await refuses(load(`${base}/nowhere/`), 'E_FEED', 1);
    assert.match(e.message, /nowhere\/index\.json/);
  });
});

describe('withoutUserinfo: what is stored or printed of a feed URL', () => {
  it('takes out user and password however the URL is written, and leaves everything else', async () => {
    const { withoutUserinfo } = await import('../../src/feed/redact.js');
    const cases: [string, string][] = [
      ['http://u:pw@host:8080/feed/index.json?x=a@b', 'http://host:8080/feed/index.json?x=a@b'],
      ['https://token@cdn.example/feed/', 'https://cdn.example/feed/'],
      ['HTTP://u:p%40ss@host/', 'HTTP://host/'],
      // URL parsers accept these for http(s) as well
      ['http:u:pw@host/', 'http:host/'],
      ['https:\\\\u:pw@host/', 'https:\\\\host/'],
      ['http://host/a@b/index.json', 'http://host/a@b/index.json'],
      ['file:///srv/feed@2/index.json', 'file:///srv/feed@2/index.json'],
      ['/srv/u:pw@feed', '/srv/u:pw@feed'],
      ['dist/feed', 'dist/feed'],
    ];
    for (const [typed, shown] of cases) {
      assert.equal(withoutUserinfo(typed), shown, typed);
      // and a URL parser finds no credentials in what is left
      if (URL.canParse(shown)) assert.equal(`${new URL(shown).username}${new URL(shown).password}`, '', shown);
    }
    assert.equal(withoutUserinfo(new URL('http://u:pw@host/x')), 'http://host/x');
  });
});
