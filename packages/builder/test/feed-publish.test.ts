import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { before, describe, it } from 'node:test';
import {
  type Arch,
  FEED_INDEX_FILE,
  FEED_SIGNATURE_FILE,
  fetchPack,
  generateKeyPair,
  identifyByCatalog,
  loadCatalog,
  loadFeed,
  type Manifest,
  openFeedPack,
  parsePrivateKey,
  parsePublicKey,
  type TrustedKey,
  writePack,
} from '@servicepack/core';
import {
  DEFAULT_FEED_DATE,
  DEFAULT_FEED_EXPIRES_DAYS,
  feedDate,
  parseCreated,
  publishFeed,
} from '../src/feed-publish.js';
import { buildInfoFor, releaseName } from '../src/release.js';
import { tempDir } from './fixture.js';

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

function key() {
  const pair = generateKeyPair();
  const trusted: TrustedKey = { keyid: pair.keyid, key: parsePublicKey(pair.publicKeyPem), source: 'test' };
  return { privateKey: parsePrivateKey(pair.privateKeyPem), trusted };
}

async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [p, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, p)), { recursive: true });
    await writeFile(join(dir, p), text);
  }
}

async function writeRelease(
  releases: string,
  level: number,
  arch: Arch,
  extra: Record<string, string> = {},
): Promise<string> {
  const dir = join(releases, releaseName(level, arch));
  await writeFiles(dir, {
    'BUILDINFO.json': `${JSON.stringify(buildInfoFor(level, arch), null, 2)}\n`,
    'lib/server.js': `server level ${level}\n`,
    [`lib/platform/${arch}.js`]: `${arch}\n`,
    'conf/inetsrv.conf': 'Port 80\n',
    'wwwroot/index.html': 'content\n',
    '.servicepack/trust/vendor.pub': 'key\n',
    ...extra,
  });
  return dir;
}

function manifestFor(arch: Arch, files: Record<string, string>): Manifest {
  return {
    format: 1,
    id: 'inetsrv-4.0-sp1',
    kind: 'service-pack',
    product: 'inetsrv',
    title: 'inetsrv 4.0 Service Pack 1',
    level: 1,
    arch,
    appliesTo: { version: '>=4.0.0 <4.1.0', levels: [0] },
    supersedes: [],
    fixes: [{ id: 'Q1', title: 'first fix', summary: 'fixes the first thing', level: 1, security: false }],
    files: Object.entries(files).map(([path, text]) => ({
      path,
      action: 'replace' as const,
      sha256: sha(text),
      size: Buffer.byteLength(text),
      mode: 0o644,
      from: [],
    })),
    restart: true,
    created: '1999-01-01T00:00:00.000Z',
  };
}

/** Every file under `dir` with its sha256: two equal snapshots mean byte-identical folders. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(rel: string): Promise<void> {
    for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(p);
      else out[p] = sha(await readFile(join(dir, p)));
    }
  }
  await walk('');
  return out;
}

describe('publishFeed', () => {
  const vendor = key();
  const created = new Date('2026-01-01T00:00:00.000Z');
  const now = new Date('2026-06-01T00:00:00.000Z');
  let root: string;
  let packsDir: string;
  let releasesDir: string;

  const publish = (outDir: string, extra: Partial<Parameters<typeof publishFeed>[0]> = {}) =>
    publishFeed({ packsDir, releasesDir, outDir, privateKey: vendor.privateKey, created, now, ...extra });

  before(async () => {
    root = await tempDir('sp-feedpub-');
    packsDir = join(root, 'packs');
    releasesDir = join(root, 'releases');
    await mkdir(packsDir);
    for (const arch of ['x86', 'alpha'] as const) {
      await writeRelease(releasesDir, 0, arch);
      const sp1 = await writeRelease(releasesDir, 1, arch);
      await writePack({
        out: join(packsDir, `${releaseName(1, arch)}.tgz`),
        manifest: manifestFor(arch, { 'lib/server.js': 'server level 1\n' }),
        privateKeys: [vendor.privateKey],
        payloadDir: sp1,
      });
    }
  });

  it('writes index.json, index.sig, packs/ and catalog.json that the client verifies and uses', async () => {
    const out = join(root, 'feed-a');
    const res = await publish(out);
    assert.equal(res.index.version, 1);
    assert.equal(res.changed, true);
    assert.equal(res.previousVersion, undefined);
    assert.deepEqual((await readdir(out)).sort(), ['catalog.json', 'index.json', 'index.sig', 'packs']);
    assert.deepEqual((await readdir(join(out, 'packs'))).sort(), [
      'inetsrv-4.0-sp1-alpha.tgz',
      'inetsrv-4.0-sp1-x86.tgz',
    ]);

    const feed = await loadFeed(out, { trustedKeys: [vendor.trusted], now });
    assert.equal(feed.index.product, 'inetsrv');
    assert.equal(feed.index.created, '2026-01-01T00:00:00.000Z');
    assert.equal(
      feed.index.expires,
      new Date(created.getTime() + DEFAULT_FEED_EXPIRES_DAYS * 86_400_000).toISOString(),
    );
    assert.equal(sha(feed.indexBytes), res.indexSha256);
    for (const entry of feed.index.packs) {
      assert.equal(entry.sha256, sha(await readFile(join(packsDir, entry.url.replace(/^packs\//, '')))));
      const pack = await openFeedPack(feed, entry, join(root, 'dl-a'), { trustedKeys: [vendor.trusted] });
      assert.deepEqual([pack.manifest.id, pack.manifest.arch], [entry.id, entry.arch]);
      assert.deepEqual(entry.fixes, [
        { id: 'Q1', title: 'first fix', summary: 'fixes the first thing', security: false },
      ]);
    }
    const catalog = await loadCatalog(feed);
    assert.deepEqual(
      catalog.releases.map((r) => r.name),
      ['inetsrv-4.0-rtm-alpha', 'inetsrv-4.0-rtm-x86', 'inetsrv-4.0-sp1-alpha', 'inetsrv-4.0-sp1-x86'],
    );
    const sp1 = catalog.releases.find((r) => r.name === 'inetsrv-4.0-sp1-x86')!;
    assert.deepEqual(Object.keys(sp1.files).sort(), [
      'BUILDINFO.json',
      'conf/inetsrv.conf',
      'lib/platform/x86.js',
      'lib/server.js',
    ]);
    assert.equal(sp1.files['lib/server.js'], sha('server level 1\n'));
    const files = new Map(Object.entries(sp1.files));
    assert.equal(identifyByCatalog(files, catalog)?.best.name, 'inetsrv-4.0-sp1-x86');
  });

  it('publishing the same inputs again gives byte-identical files and keeps the version', async () => {
    const a = join(root, 'feed-repro-a');
    const b = join(root, 'feed-repro-b');
    await publish(a);
    await publish(b);
    assert.deepEqual(await snapshot(a), await snapshot(b));
    const before = await snapshot(a);
    const again = await publish(a);
    assert.equal(again.index.version, 1);
    assert.equal(again.changed, false);
    assert.equal(again.previousVersion, 1);
    assert.deepEqual(await snapshot(a), before);
    // the swap leaves no temporary folders beside the feed
    assert.deepEqual(
      (await readdir(root)).filter((n) => n.startsWith('.')),
      [],
    );
  });

  it('a changed input bumps the version by one; unchanged again keeps it', async () => {
    const out = join(root, 'feed-bump');
    assert.equal((await publish(out)).index.version, 1);
    // a release tree changes: the catalog, pinned by the index, changes with it
    const extra = join(releasesDir, releaseName(0, 'x86'), 'lib', 'extra.js');
    await writeFile(extra, 'new\n');
    try {
      const bumped = await publish(out);
      assert.deepEqual([bumped.index.version, bumped.changed, bumped.previousVersion], [2, true, 1]);
      assert.equal((await publish(out)).index.version, 2);
      // so does a new expiry, even with the same packs
      assert.equal((await publish(out, { expiresInDays: 365 })).index.version, 3);
      const feed = await loadFeed(out, { trustedKeys: [vendor.trusted], now, lastSeenVersion: 2 });
      assert.equal(feed.index.version, 3);
      assert.equal(feed.index.expires, '2027-01-01T00:00:00.000Z');
    } finally {
      await rm(extra);
    }
  });

  it('--version: forced upward is fine; lower than published, or equal with new content, is refused', async () => {
    const out = join(root, 'feed-version');
    await publish(out);
    await assert.rejects(publish(out, { version: 0 }), /whole number/);
    assert.equal((await publish(out, { version: 7 })).index.version, 7);
    await assert.rejects(publish(out, { version: 6 }), /rollback/);
    await assert.rejects(publish(out, { version: 7, expiresInDays: 200 }), /higher version/);
    // the refused runs left the published feed alone
    assert.equal((await loadFeed(out, { trustedKeys: [vendor.trusted], now })).index.version, 7);
    assert.equal((await publish(out, { version: 7 })).changed, false);
  });

  it('refuses to publish a feed that would already be expired', async () => {
    await assert.rejects(
      publish(join(root, 'feed-expired'), { created: new Date('2000-01-01T00:00:00Z') }),
      /already past/,
    );
    assert.equal(existsSync(join(root, 'feed-expired')), false);
  });

  it('refuses a pack not signed by the feed key, or damaged, and leaves the previous feed in place', async () => {
    const out = join(root, 'feed-refuse');
    await publish(out);
    const before = await snapshot(out);
    const other = key();
    await assert.rejects(publish(out, { privateKey: other.privateKey }), (e: Error) =>
      /does not trust/.test(e.message),
    );
    // trusting the packs' signer explicitly lets a different key sign the index
    const res = await publish(join(root, 'feed-other-signer'), {
      privateKey: other.privateKey,
      trustedKeys: [vendor.trusted],
    });
    assert.deepEqual((await loadFeed(res.outDir, { trustedKeys: [other.trusted], now })).signedBy, [
      other.trusted.keyid,
    ]);

    const damaged = join(root, 'packs-damaged');
    await mkdir(damaged);
    for (const n of await readdir(packsDir)) await copyFile(join(packsDir, n), join(damaged, n));
    const victim = join(damaged, 'inetsrv-4.0-sp1-x86.tgz');
    const bytes = await readFile(victim);
    bytes[bytes.length - 12] = bytes[bytes.length - 12]! ^ 0xff;
    await writeFile(victim, bytes);
    await assert.rejects(publish(out, { packsDir: damaged }));
    assert.deepEqual(await snapshot(out), before);
  });

  it('the index signature covers the exact bytes written', async () => {
    const out = join(root, 'feed-sig');
    await publish(out);
    const idx = await readFile(join(out, FEED_INDEX_FILE));
    const sig = JSON.parse(await readFile(join(out, FEED_SIGNATURE_FILE), 'utf8')) as {
      signatures: { keyid: string }[];
    };
    assert.deepEqual(
      sig.signatures.map((s) => s.keyid),
      [vendor.trusted.keyid],
    );
    await writeFile(join(out, FEED_INDEX_FILE), Buffer.concat([idx, Buffer.from('\n')]));
    await assert.rejects(
      loadFeed(out, { trustedKeys: [vendor.trusted], now }),
      (e: Error & { code?: string }) => e.code === 'E_BAD_SIGNATURE',
    );
    const dest = join(root, 'dl-sig');
    await writeFile(join(out, FEED_INDEX_FILE), idx);
    const feed = await loadFeed(out, { trustedKeys: [vendor.trusted], now });
    assert.ok(existsSync(await fetchPack(feed, feed.index.packs[0]!, dest)));
  });

  it('dates: SOURCE_DATE_EPOCH, else the fixed demo date; --created accepts ISO or now', () => {
    assert.equal(feedDate({}).toISOString(), DEFAULT_FEED_DATE);
    assert.equal(feedDate({ SOURCE_DATE_EPOCH: '1800000000' }).toISOString(), '2027-01-15T08:00:00.000Z');
    assert.throws(() => feedDate({ SOURCE_DATE_EPOCH: 'yesterday' }), /whole seconds/);
    assert.equal(parseCreated('2026-11-28T00:00:00Z').toISOString(), '2026-11-28T00:00:00.000Z');
    assert.equal(parseCreated('now', now), now);
    assert.throws(() => parseCreated('soon'), /ISO 8601/);
  });
});
