import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
// The root has no dependency on the workspace packages, so their sources are imported by path.
import { type Catalog, identifyByCatalog } from '../packages/core/src/feed/catalog.js';
import { FEED_INDEX_FILE } from '../packages/core/src/feed/schema.js';
import { type LoadedFeed, loadCatalog, loadFeed, openFeedPack } from '../packages/core/src/feed/client.js';
import { NOT_OWNED } from '../packages/core/src/support/fsutil.js';
import { hashTree, sha256File } from '../packages/core/src/support/hash.js';
import { loadTrustedKeys, type TrustedKey, trustedKeyFromPem } from '../packages/core/src/trust/trust.js';
import { paths } from '../packages/builder/src/paths.js';
import { releaseName } from '../packages/builder/src/release.js';
import { runFeedPublish } from '../installer/src/commands/feed.js';
import type { Io } from '../installer/src/io.js';
import { CHAIN } from './support/chain.js';

/**
 * Checks the feed `pnpm build` wrote into dist/feed against dist/packs, dist/releases and the dev
 * key it was signed with. A missing build is a failure, never a skip.
 */
function feedDir(): string {
  if (!existsSync(join(paths.feed, FEED_INDEX_FILE)))
    assert.fail(`${paths.feed}/${FEED_INDEX_FILE} does not exist: run pnpm build first`);
  return paths.feed;
}

async function devKey(): Promise<TrustedKey> {
  const file = join(paths.dist, 'keys', 'dev.pub');
  if (!existsSync(file)) assert.fail(`${file} does not exist: run pnpm build first`);
  return trustedKeyFromPem(await readFile(file), file);
}

async function releaseNames(): Promise<string[]> {
  return (await readdir(paths.releases, { withFileTypes: true }))
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

async function files(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(rel: string): Promise<void> {
    for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(p);
      else out[p] = (await sha256File(join(dir, p))).sha256;
    }
  }
  await walk('');
  return out;
}

describe('built feed (dist/feed)', () => {
  let feed: LoadedFeed;
  let catalog: Catalog;
  const temps: string[] = [];
  const temp = async (prefix: string) => {
    const d = await mkdtemp(join(tmpdir(), prefix));
    temps.push(d);
    return d;
  };

  before(async () => {
    feed = await loadFeed(feedDir(), { trustedKeys: [await devKey()] });
    catalog = await loadCatalog(feed);
  });
  after(async () => {
    for (const t of temps) await rm(t, { recursive: true, force: true });
  });

  it('the index verifies with dist/keys/dev.pub, and with the vendor key every release tree carries', async () => {
    assert.equal(feed.index.product, 'inetsrv');
    assert.ok(feed.index.version >= 1);
    assert.ok(Date.parse(feed.index.expires) > Date.now() + 365 * 86_400_000, 'the demo feed stays valid for years');
    const keys = await loadTrustedKeys({ root: join(paths.releases, releaseName(0, 'x86')) });
    const again = await loadFeed(paths.feed, { trustedKeys: keys, lastSeenVersion: feed.index.version });
    assert.deepEqual(again.signedBy, [(await devKey()).keyid]);
  });

  it('lists every pack in dist/packs with its sha256 and size, and serves identical copies', async () => {
    const packs = (await readdir(paths.packs)).filter((n) => n.endsWith('.tgz')).sort();
    assert.ok(packs.length >= 2, 'SP6 for x86 and alpha at least');
    assert.deepEqual(
      feed.index.packs.map((p) => p.url).sort(),
      packs.map((n) => `packs/${n}`),
    );
    for (const name of packs) {
      const entry = feed.index.packs.find((p) => p.url === `packs/${name}`)!;
      const digest = await sha256File(join(paths.packs, name));
      assert.deepEqual([entry.sha256, entry.size], [digest.sha256, digest.size], name);
      assert.equal((await sha256File(join(paths.feed, 'packs', name))).sha256, digest.sha256, `feed copy of ${name}`);
    }
    const sp6 = feed.index.packs.filter((p) => p.id === 'inetsrv-4.0-sp6');
    assert.deepEqual(sp6.map((p) => p.arch).sort(), ['alpha', 'x86']);
    for (const p of sp6) {
      assert.equal(p.level, 6);
      assert.ok(p.supersedes.includes('Q236565'));
      assert.ok(p.fixes.some((f) => f.id === 'Q236565'));
    }
    // SP6a: SP6 plus Q246009, one level up, named by its tag (issue 17)
    const sp6a = feed.index.packs.filter((p) => p.id === 'inetsrv-4.0-sp6a');
    assert.deepEqual(sp6a.map((p) => [p.url, p.level]).sort(), [
      ['packs/inetsrv-4.0-sp6a-alpha.tgz', 7],
      ['packs/inetsrv-4.0-sp6a-x86.tgz', 7],
    ]);
    for (const p of sp6a) {
      assert.deepEqual(p.appliesTo.levels, [0, 1, 2, 3, 4, 5, 6]);
      assert.ok(p.fixes.some((f) => f.id === 'Q246009'));
    }
    // after SP6a (issue 17): the hotfix chain on SP6a, each requiring the ones before it, and
    // Security Rollup 1 carrying (and superseding) the first four, the security fixes
    const chain = CHAIN;
    for (const arch of ['x86', 'alpha']) {
      for (const [i, id] of chain.entries()) {
        const e = feed.index.packs.find((p) => p.id === id && p.arch === arch);
        assert.ok(e, `${id} (${arch}) in the feed`);
        assert.deepEqual([e.kind, e.level, e.baseLevel, e.appliesTo.levels], ['hotfix', 7, 7, [7]], id);
        assert.deepEqual(e.appliesTo.requires ?? [], chain.slice(0, i), `${id} requires the chain before it`);
        assert.deepEqual(
          e.fixes.map((f) => [f.id, f.security]),
          [[id, i < 4]],
          `${id}: its own fix, security for the first four`,
        );
        assert.equal(e.url, `packs/inetsrv-4.0-sp6a-${id.toLowerCase()}-${arch}.tgz`);
      }
      const srp1 = feed.index.packs.filter((p) => p.kind === 'rollup' && p.arch === arch);
      assert.deepEqual(
        srp1.map((p) => [p.id, p.url, p.level, p.baseLevel, p.appliesTo.levels]),
        [['SRP1', `packs/inetsrv-4.0-sp6a-srp1-${arch}.tgz`, 7, 7, [7]]],
      );
      assert.deepEqual(
        srp1[0]!.fixes.map((f) => [f.id, f.security]),
        chain.slice(0, 4).map((id) => [id, true]),
      );
      assert.deepEqual(srp1[0]!.supersedes, chain.slice(0, 4));
      assert.deepEqual(srp1[0]!.appliesTo.hotfixes, chain.slice(0, 4));
    }
  });

  it('a listed pack downloads and opens with the trust a release tree ships with', async () => {
    const entry = feed.index.packs.find((p) => p.id === 'inetsrv-4.0-sp6' && p.arch === 'x86')!;
    const keys = await loadTrustedKeys({ root: join(paths.releases, releaseName(5, 'x86')) });
    const pack = await openFeedPack(feed, entry, await temp('sp-feed-dl-'), { trustedKeys: keys });
    assert.deepEqual([pack.manifest.id, pack.manifest.arch, pack.manifest.level], ['inetsrv-4.0-sp6', 'x86', 6]);
  });

  it('the catalog has one entry per release tree, with the sha256 of every owned file', async () => {
    const names = await releaseNames();
    // RTM through SP6a (levels 0-7), the Q236565 hotfix build on SP5 and SP6a with each prefix of
    // the post-SP6a hotfix chain (issue 17), for x86 and Alpha
    assert.equal(names.length, 2 * (8 + 1 + CHAIN.length));
    assert.deepEqual(
      catalog.releases.map((r) => r.name),
      names,
    );
    for (const name of names) {
      const dir = join(paths.releases, name);
      const release = catalog.releases.find((r) => r.name === name)!;
      const info = JSON.parse(await readFile(join(dir, 'BUILDINFO.json'), 'utf8')) as {
        level: number;
        arch: string;
        hotfixes: string[];
      };
      assert.deepEqual([release.level, release.arch, release.hotfixes], [info.level, info.arch, info.hotfixes], name);
      const tree = await hashTree(dir, NOT_OWNED);
      assert.deepEqual(Object.keys(release.files).sort(), [...tree.keys()].sort(), name);
      for (const [p, e] of tree) assert.equal(release.files[p], e.sha256, `${name}/${p}`);
      assert.ok(
        !Object.keys(release.files).some((p) => /^(\.servicepack|wwwroot|logs|run)\//.test(p)),
        `${name}: only owned files`,
      );
    }
    // spot checks straight from the files, independent of hashTree
    for (const [level, arch, hotfixes, path] of [
      [6, 'x86', [], 'BUILDINFO.json'],
      [0, 'alpha', [], 'bin/inetsrv'],
      [5, 'x86', ['Q236565'], 'BUILDINFO.json'],
      [3, 'x86', [], 'lib/platform/x86.js'],
      [7, 'alpha', ['Q248017', 'Q248395', 'Q247318', 'Q247602'], 'lib/connection.js'],
      [7, 'x86', [...CHAIN], 'BUILDINFO.json'],
    ] as const) {
      const name = releaseName(level, arch, hotfixes);
      const expected = (await sha256File(join(paths.releases, name, path))).sha256;
      assert.equal(catalog.releases.find((r) => r.name === name)?.files[path], expected, `${name}/${path}`);
    }
    assert.ok(!('lib/platform/alpha.js' in catalog.releases.find((r) => r.name === releaseName(6, 'x86'))!.files));
  });

  it('identifies every release tree by its files alone', async () => {
    for (const name of await releaseNames()) {
      const id = identifyByCatalog(await hashTree(join(paths.releases, name), NOT_OWNED), catalog);
      assert.equal(id?.best.name, name);
      assert.equal(id?.exact, true, `${name}: ${id?.disagree.join(', ')}`);
    }
  });

  it('publishing again from the same inputs reproduces the feed (builder and servicepack commands)', async () => {
    const a = join(await temp('sp-feed-pub-'), 'feed');
    const b = join(await temp('sp-feed-pub-'), 'feed');
    const builderCli = join(paths.repoRoot, 'packages', 'builder', 'dist', 'cli.js');
    execFileSync(process.execPath, [builderCli, 'feed', 'publish', '--out', a], { stdio: 'pipe' });
    const out: string[] = [];
    const err: string[] = [];
    const io: Io = {
      out: { write: (t) => void out.push(t), isTTY: false },
      err: { write: (t) => void err.push(t), isTTY: false },
      env: {},
      interactive: false,
    };
    const code = await runFeedPublish({ out: b, json: true }, io);
    assert.equal(code, 0, err.join(''));
    const doc = JSON.parse(out.join('')) as { version: number; changed: boolean; packs: unknown[] };
    assert.deepEqual([doc.version, doc.changed, doc.packs.length], [1, true, feed.index.packs.length]);

    const fa = await files(a);
    assert.deepEqual(fa, await files(b));
    const built = await files(paths.feed);
    // the same content as dist/feed; only the version may differ, when dist/feed has seen changes
    assert.deepEqual({ ...fa, 'index.json': '', 'index.sig': '' }, { ...built, 'index.json': '', 'index.sig': '' });
    const ix = JSON.parse(await readFile(join(a, 'index.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual({ ...ix, version: 0 }, { ...feed.index, version: 0 });

    // a second run over an existing feed changes nothing and keeps version 1
    execFileSync(process.execPath, [builderCli, 'feed', 'publish', '--out', a], { stdio: 'pipe' });
    assert.deepEqual(await files(a), fa);
  });
});
