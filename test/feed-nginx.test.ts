/**
 * The feed served by a real web server: nginx on a loopback port (test/support/nginx.ts) serves
 * copies of dist/feed, some altered and re-signed with the dev key. Covers `check`, `install
 * --feed URL latest`, a fleet answer file over HTTP, a download cut mid-file and resumed with a
 * Range request, and the three feed attacks (freeze, rollback, swapped pack), each exit 4 with
 * nothing changed.
 */
import assert from 'node:assert/strict';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FeedIndexSchema } from '../packages/core/src/feed/schema.js';
import { serializeFeedIndex, signFeedIndex } from '../packages/core/src/feed/publish.js';
import { parsePrivateKey } from '../packages/core/src/trust/trust.js';
import { repoRoot } from './support/inetsrv.js';
import { freePort, type Nginx, startCuttingProxy, startNginx } from './support/nginx.js';
import {
  buildInfoOf,
  distFeed,
  json,
  readJsonLines,
  requireBuild,
  servicepack,
  snapshot,
  Temps,
} from './support/unattended.js';
import { CHAIN } from './support/chain.js';

interface TargetDoc {
  root: string;
  ok: boolean;
  exitCode: number;
  packs: string[];
  feed?: { url: string; version: number };
  logs: string[];
  result?: { after: { level: number; arch: string; hotfixes: string[] } };
  error?: { code: string; message: string };
}

/** Rewrites `dir`/index.json (and index.sig) with `change` applied, signed by dist/keys/dev.key. */
async function resign(
  dir: string,
  change: (ix: ReturnType<typeof FeedIndexSchema.parse>) => ReturnType<typeof FeedIndexSchema.parse>,
): Promise<void> {
  const index = FeedIndexSchema.parse(JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')));
  const bytes = serializeFeedIndex(change(index));
  const key = parsePrivateKey(await readFile(join(repoRoot, 'dist', 'keys', 'dev.key')));
  await writeFile(join(dir, 'index.json'), bytes);
  await writeFile(join(dir, 'index.sig'), signFeedIndex(bytes, [key]));
}

const LATEST = ['inetsrv-4.0-sp6a', 'SRP1', ...CHAIN.slice(4)];

describe('the feed over HTTP (nginx on loopback)', () => {
  const temps = new Temps();
  let nginx: Nginx;
  let docRoot: string;
  let work: string;
  let version: number;
  /** installed by the fleet test; later tests use its state record */
  let fleetX86 = '';

  before(async () => {
    requireBuild();
    docRoot = await temps.dir('sp-docroot-');
    work = await temps.dir('sp-work-');
    for (const name of ['feed', 'expired', 'rollback', 'tampered'])
      await cp(distFeed, join(docRoot, name), { recursive: true });
    version = FeedIndexSchema.parse(JSON.parse(await readFile(join(distFeed, 'index.json'), 'utf8'))).version;
    // freeze attack: a correctly signed index whose time is up
    await resign(join(docRoot, 'expired'), (ix) => ({
      ...ix,
      created: '2020-01-01T00:00:00.000Z',
      expires: '2020-06-01T00:00:00.000Z',
    }));
    // a pack whose bytes differ from what the signed index pins (same size, one byte changed)
    const pack = join(docRoot, 'tampered', 'packs', 'inetsrv-4.0-sp6a-x86.tgz');
    const bytes = await readFile(pack);
    bytes[100] = (bytes[100]! + 1) % 256;
    await writeFile(pack, bytes);
    nginx = await startNginx(docRoot);
  });

  after(async () => {
    await nginx?.stop();
    await temps.cleanup();
  });

  test('a fleet answer file over HTTP: x86 RTM, x86 SP5 + Q236565, alpha SP2 all end at the newest level for their arch (SP6a, Security Rollup 1, the hotfix chain)', async (t) => {
    const roots = [
      await temps.installation('rtm-x86'),
      await temps.installation('sp5-q236565-x86'),
      await temps.installation('sp2-alpha'),
    ];
    fleetX86 = roots[0]!;
    const file = join(work, 'fleet.yaml');
    await writeFile(
      file,
      `targets:\n${roots.map((r) => `  - root: ${r}\n`).join('')}feed: ${nginx.url}feed/\nlatest: true\nacceptEula: true\nlog: fleet.jsonl\n`,
    );
    const run = await servicepack(['install', '--answer-file', file, '--json']);
    t.diagnostic(`three targets over HTTP: ${run.ms} ms`);
    assert.equal(run.code, 0, run.err);
    assert.doesNotMatch(run.out + run.err, /\x1b/);
    const doc = json(run);
    assert.equal(doc['exitCode'], 0);
    const targets = doc['targets'] as TargetDoc[];
    assert.deepEqual(
      targets.map((x) => [
        x.root,
        x.exitCode,
        x.packs,
        x.result?.after.level,
        x.result?.after.arch,
        x.result?.after.hotfixes,
      ]),
      [
        [roots[0], 0, LATEST, 7, 'x86', CHAIN],
        [roots[1], 0, LATEST, 7, 'x86', CHAIN],
        [roots[2], 0, LATEST, 7, 'alpha', CHAIN],
      ],
    );
    for (const r of roots) {
      const bi = await buildInfoOf(r);
      assert.equal(bi.level, 7);
      const state = JSON.parse(await readFile(join(r, '.servicepack', 'state.json'), 'utf8')) as {
        feeds: Record<string, { version: number }>;
      };
      assert.deepEqual(
        Object.entries(state.feeds).map(([u, v]) => [u, v.version]),
        [[`${nginx.url}feed/index.json`, version]],
        'the feed version is remembered',
      );
    }
    assert.equal((await buildInfoOf(roots[2]!)).arch, 'alpha');
    // the x86 pack was fetched once for both x86 targets
    const gets = nginx
      .accessLog()
      .split('\n')
      .filter((l) => l.includes('GET /feed/packs/'));
    assert.equal(gets.filter((l) => l.includes('sp6a-x86.tgz')).length, 1, nginx.accessLog());
    assert.equal(gets.filter((l) => l.includes('sp6a-alpha.tgz')).length, 1);
    const shared = await readJsonLines(join(work, 'fleet.jsonl'));
    assert.deepEqual(
      shared.filter((l) => l['event'] === 'result').map((l) => [l['target'], l['exitCode']]),
      roots.map((r) => [r, 0]),
    );
  });

  test('check: SP5 is offered SP6a (not SP6, which it replaces) and hotfix Q236565 (latest: SP6a, the rollup, the chain after it); the newest level is up to date; --require-none exits 3', async () => {
    const sp5 = await temps.installation('sp5-x86');
    const run = await servicepack(['check', '--feed', `${nginx.url}feed/`, '--root', sp5, '--json']);
    assert.equal(run.code, 0, run.err);
    const doc = json(run);
    assert.deepEqual(
      (doc['updates'] as { id: string; kind: string }[]).map((u) => [u.id, u.kind]),
      [
        ['inetsrv-4.0-sp6a', 'service-pack'],
        ['Q236565', 'hotfix'],
      ],
    );
    assert.deepEqual(doc['latest'], LATEST);
    assert.equal((doc['feed'] as { version: number }).version, version);
    const current = await servicepack(['check', '--feed', `${nginx.url}feed/`, '--root', fleetX86, '--json']);
    assert.equal(current.code, 0, current.err);
    assert.equal(json(current)['upToDate'], true);
    assert.deepEqual(json(current)['updates'], []);
    const pending = await servicepack(['check', '--feed', `${nginx.url}feed/`, '--root', sp5, '--require-none']);
    assert.equal(pending.code, 3);
    assert.match(pending.out, /2 updates apply and are not installed:\n {2}inetsrv-4\.0-sp6a +Service Pack 6a /);
    assert.match(pending.err, /2 update\(s\) pending/);
    assert.doesNotMatch(pending.out + pending.err, /\x1b/);
  });

  test('install --feed URL latest resumes a download cut mid-file with a Range request, then verifies the pack', async () => {
    const root = await temps.installation('sp5-x86');
    const path = '/feed/packs/inetsrv-4.0-sp6a-x86.tgz';
    const cutAfter = 4000;
    const proxy = await startCuttingProxy(nginx.port, { path, cutAfter });
    try {
      const run = await servicepack([
        'install',
        '-u',
        '--accept-eula',
        '--feed',
        `${proxy.url}feed/`,
        '--root',
        root,
        '--json',
        'latest',
      ]);
      assert.equal(run.code, 0, `${run.out}\n${run.err}`);
      const target = (json(run)['targets'] as TargetDoc[])[0]!;
      assert.deepEqual(target.packs, LATEST);
      assert.equal(target.result?.after.level, 7);
      const packRequests = proxy.requests.filter((r) => r.url === path);
      assert.equal(packRequests.length, 2, JSON.stringify(proxy.requests));
      assert.deepEqual(
        [packRequests[0]!.range, packRequests[0]!.cut, packRequests[0]!.sent],
        [undefined, true, cutAfter],
      );
      assert.deepEqual([packRequests[1]!.range, packRequests[1]!.status], [`bytes=${cutAfter}-`, 206]);
      assert.match(nginx.accessLog(), /"GET \/feed\/packs\/inetsrv-4\.0-sp6a-x86\.tgz HTTP\/1\.1" 206 /);
      // the interruption is reported, and logged
      const log = await readJsonLines(target.logs[0]!);
      assert.ok(
        log.some((l) => l['event'] === 'info' && /interrupted at 4000 bytes .*resuming/.test(String(l['message']))),
        JSON.stringify(log),
      );
      assert.equal((await buildInfoOf(root)).level, 7);
    } finally {
      await proxy.close();
    }
  });

  test('an expired index: exit 4 for install and check, nothing changed', async () => {
    const root = await temps.installation('rtm-x86');
    const before = await snapshot(root);
    const install = await servicepack([
      'install',
      '-u',
      '--accept-eula',
      '--feed',
      `${nginx.url}expired/`,
      '--root',
      root,
      '--json',
      'latest',
    ]);
    assert.equal(install.code, 4, install.err);
    assert.equal((json(install)['targets'] as TargetDoc[])[0]!.error?.code, 'E_FEED_EXPIRED');
    const check = await servicepack(['check', '--feed', `${nginx.url}expired/`, '--root', root]);
    assert.equal(check.code, 4);
    assert.match(check.err, /expired on 2020-06-01/);
    assert.deepEqual(await snapshot(root), before);
  });

  test('an index older than the one seen before (rollback): exit 4, nothing changed', async () => {
    const root = fleetX86;
    assert.ok(root, 'the fleet test ran first');
    // seen once at its current version ...
    // (at a version of at least 2, so that an older one exists even on a fresh build's version 1)
    await resign(join(docRoot, 'rollback'), (ix) => ({ ...ix, version: version + 1 }));
    const seen = await servicepack(['check', '--feed', `${nginx.url}rollback/`, '--root', root, '--json']);
    assert.equal(seen.code, 0, seen.err);
    assert.equal((json(seen)['feed'] as { recorded: boolean }).recorded, true);
    // ... then the mirror serves an older, validly signed index at the same URL
    await resign(join(docRoot, 'rollback'), (ix) => ({ ...ix, version }));
    const before = await snapshot(root);
    const install = await servicepack([
      'install',
      '-u',
      '--accept-eula',
      '--feed',
      `${nginx.url}rollback/`,
      '--root',
      root,
      'latest',
    ]);
    assert.equal(install.code, 4, install.err);
    assert.match(install.err, new RegExp(`is version ${version}, older than version ${version + 1} seen before`));
    const check = await servicepack(['check', '--feed', `${nginx.url}rollback/`, '--root', root, '--json']);
    assert.equal(check.code, 4);
    assert.equal(json(check)['code'], 'E_FEED_ROLLBACK');
    assert.deepEqual(await snapshot(root), before);
  });

  test('a pack whose bytes differ from the signed index: exit 4 before anything is installed', async () => {
    const root = await temps.installation('rtm-x86');
    const before = await snapshot(root);
    const run = await servicepack([
      'install',
      '-u',
      '--accept-eula',
      '--feed',
      `${nginx.url}tampered/`,
      '--root',
      root,
      '--json',
      'latest',
    ]);
    assert.equal(run.code, 4, run.err);
    const target = (json(run)['targets'] as TargetDoc[])[0]!;
    assert.equal(target.error?.code, 'E_HASH_MISMATCH');
    assert.match(target.error!.message, /does not match the sha256 in the signed index/);
    assert.deepEqual(await snapshot(root), before);
  });

  test('an unreachable feed: exit 1 after bounded retries, each reported', async () => {
    const root = await temps.installation('rtm-x86');
    const dead = await freePort();
    const run = await servicepack([
      'install',
      '-u',
      '--accept-eula',
      '--feed',
      `http://127.0.0.1:${dead}/feed/`,
      '--root',
      root,
      'latest',
    ]);
    assert.equal(run.code, 1, run.err);
    assert.equal(run.err.match(/failed \(.*\); trying again/g)?.length, 3, run.err);
    assert.match(run.err, /check the network and try again/);
  });
});
