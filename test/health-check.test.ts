/**
 * Health-checked installs (issue 18, docs/transactions.md §7 "Health check"), the story end to end
 * through the real CLI and the release trees, on x86 and Alpha: a site whose conf/inetsrv.conf sets
 * `MaxConnections = 0` runs Service Pack 5; Service Pack 6 reads that as "no connections" (Q246009)
 * and stops answering. `install SP6` puts it on trial, the probe gets no answer, the update is rolled
 * back in the same run, SP5 serves again, exit 1 with E_HEALTH_CHECK_FAILED and the evidence in
 * --json; `install SP6a` passes. Without the trigger SP6 installs and passes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  buildInfoOf,
  digest,
  digestDiff,
  expectedServerHeader,
  freezeBuild,
  installationFrom,
  pack,
  repo,
  sameDigest,
  servicepack,
  tempFolders,
  tempRoot,
  tree,
} from './support/servicepack.js';
import { freePort, killSites, serverHeader, sitePid } from './support/site.js';

const ARCHES = ['x86', 'alpha'] as const;

before(async () => {
  await freezeBuild(
    ARCHES.flatMap((a) => [`sp5-${a}`, `sp6-${a}`, `sp6a-${a}`]),
    ARCHES.flatMap((a) => [`sp6-${a}`, `sp6a-${a}`]),
  );
});
after(async () => {
  killSites();
  for (const d of tempFolders()) await rm(d, { recursive: true, force: true });
});

const header = (name: string): string => expectedServerHeader(buildInfoOf(tree(name)));

/** An SP5 site of `arch` on a port of its own, `MaxConnections = 0` when `trigger`, its server running. */
async function runningSp5(arch: string, trigger: boolean): Promise<{ root: string; port: number; conf: string }> {
  const root = await installationFrom(`sp5-${arch}`);
  const port = await freePort();
  const confPath = join(root, 'conf', 'inetsrv.conf');
  let conf = (await readFile(confPath, 'utf8')).replace(/^Port = \d+$/m, `Port = ${port}`);
  if (trigger) conf = conf.replace(/^MaxConnections = \d+$/m, 'MaxConnections = 0');
  assert.equal(/^MaxConnections = 0$/m.test(conf), trigger);
  await writeFile(confPath, conf);
  execFileSync(process.execPath, [join(root, 'bin', 'inetsrv'), 'start', '--detach'], {
    cwd: root,
    stdio: 'pipe',
    timeout: 20_000,
  });
  assert.ok(await sitePid(root), 'the SP5 server runs');
  assert.equal(await serverHeader(port), header(`sp5-${arch}`));
  return { root, port, conf };
}

interface Failure {
  ok: false;
  code: string;
  exitCode: number;
  message: string;
  details: {
    health: {
      passed: boolean;
      level: number;
      summary: string;
      target: { host: string; port: number; from: string };
      probe: {
        passed: boolean;
        exchanges: { request: string; bytes: number; ms: number; error?: string }[];
        ms: number;
      };
    };
    afterRollback: { passed: boolean; level: number; probe: { exchanges: { status: number }[] } };
  };
}

interface StateFile {
  level: number;
  history: { action: string; result: string; toLevel: number; health?: { passed: boolean; summary: string } }[];
}

const state = async (root: string): Promise<StateFile> =>
  JSON.parse(await readFile(join(root, '.servicepack', 'state.json'), 'utf8')) as StateFile;

for (const arch of ARCHES) {
  describe(`health-checked install, ${arch}`, () => {
    test('MaxConnections = 0: SP6 fails its health check and is rolled back, SP5 serves again; SP6a passes', async () => {
      const { root, port, conf } = await runningSp5(arch, true);
      const sp5 = await digest(root);
      const r = await servicepack(['install', '--accept-eula', '--root', root, '-u', '--json', pack(`sp6-${arch}`)]);
      assert.equal(r.code, 1, `${r.out}${r.err}`);
      const doc = JSON.parse(r.out) as Failure;
      assert.equal(doc.code, 'E_HEALTH_CHECK_FAILED');
      assert.match(doc.message, /health check of Service Pack 6 failed/);
      assert.match(doc.message, /rolled back: the installation is at Service Pack 5 again/);
      // the evidence: what was asked, of whom (the site's own conf), what came back, how long
      const h = doc.details.health;
      assert.equal(h.passed, false);
      assert.equal(h.level, 6);
      assert.deepEqual(h.target, { host: '127.0.0.1', port, from: 'conf/inetsrv.conf:9, :10' });
      assert.equal(h.probe.exchanges[0]?.request, 'GET / HTTP/1.1');
      assert.match(h.probe.exchanges[0]?.error ?? '', /(closed|reset) the connection without an answer/);
      assert.equal(h.probe.exchanges[0]?.bytes, 0);
      assert.ok(h.probe.ms < 10_000);
      assert.equal(doc.details.afterRollback.passed, true, 'the old level was checked again');
      assert.equal(doc.details.afterRollback.level, 5);

      // exactly SP5 again (outside .servicepack/, logs/, run/), the site's conf as it was, and serving
      assert.ok(sameDigest(await digest(root), sp5), digestDiff(await digest(root), sp5).join(', '));
      assert.equal(await readFile(join(root, 'conf', 'inetsrv.conf'), 'utf8'), conf);
      assert.ok(!existsSync(join(root, '.servicepack', 'journal.json')));
      assert.ok(await sitePid(root));
      assert.equal(await serverHeader(port), header(`sp5-${arch}`));
      const rolledBack = (await state(root)).history.at(-1);
      assert.equal(rolledBack?.result, 'rolled-back');
      assert.equal(rolledBack?.toLevel, 6);
      assert.equal(rolledBack?.health?.passed, false);
      assert.match(rolledBack?.health?.summary ?? '', /without an answer/);
      const q = await servicepack(['query', '--root', root, '--json']);
      const qd = JSON.parse(q.out) as {
        level: number;
        lastHealthCheck?: { passed: boolean; rolledBack: boolean; toLevel: number; summary: string };
      };
      assert.equal(qd.level, 5);
      assert.equal(qd.lastHealthCheck?.rolledBack, true);
      assert.equal(qd.lastHealthCheck?.passed, false);
      assert.equal(qd.lastHealthCheck?.toLevel, 6);
      const qt = await servicepack(['query', '--root', root]);
      assert.match(
        qt.out,
        /health {5}the last update \(inetsrv-4\.0-sp6, level 5 -> 6\) was rolled back by its health check on \S+: GET http:\/\/127\.0\.0\.1:\d+\/ failed/,
      );

      const fixed = await servicepack([
        'install',
        '--accept-eula',
        '--root',
        root,
        '-u',
        '--json',
        pack(`sp6a-${arch}`),
      ]);
      assert.equal(fixed.code, 0, `${fixed.out}${fixed.err}`);
      assert.deepEqual((JSON.parse(fixed.out) as { service: unknown }).service, {
        wasRunning: true,
        stopped: true,
        restarted: true,
      });
      const health = (JSON.parse(fixed.out) as { health?: { passed: boolean; level: number } }).health;
      assert.equal(health?.passed, true, 'the --json result carries the passed check');
      assert.equal(health?.level, 7);
      assert.equal(await serverHeader(port), header(`sp6a-${arch}`));
      const passed = (await state(root)).history.at(-1);
      assert.equal(passed?.result, 'done');
      assert.equal(passed?.health?.passed, true);
      const pid = await sitePid(root);
      if (pid) process.kill(pid, 'SIGKILL');
    });

    test('--no-health-check keeps SP6 even where it does not serve; --health-timeout takes whole seconds', async () => {
      const { root, port } = await runningSp5(arch, true);
      const bad = await servicepack([
        'install',
        '--accept-eula',
        '--root',
        root,
        '-u',
        '--health-timeout',
        '0',
        pack(`sp6-${arch}`),
      ]);
      assert.equal(bad.code, 2, bad.err);
      assert.match(bad.err, /--health-timeout/);
      const r = await servicepack([
        'install',
        '--accept-eula',
        '--root',
        root,
        '-u',
        '--no-health-check',
        '--json',
        pack(`sp6-${arch}`),
      ]);
      assert.equal(r.code, 0, `${r.out}${r.err}`);
      const q = await servicepack(['query', '--root', root, '--json']);
      assert.equal((JSON.parse(q.out) as { level: number }).level, 6);
      await assert.rejects(serverHeader(port), 'SP6 with MaxConnections = 0 answers nothing');
      const pid = await sitePid(root);
      if (pid) process.kill(pid, 'SIGKILL');
    });

    test('a conf the check will not read (over 256 KiB; the server reads it) refuses the install before any change: exit 2 E_HEALTH_CHECK_UNAVAILABLE, the server untouched', async () => {
      const { root, port, conf } = await runningSp5(arch, false);
      const confPath = join(root, 'conf', 'inetsrv.conf');
      // a conf padded with comments: the server started on it; the check reads at most 256 KiB
      const padded = `${conf}${'# padding\n'.repeat(30_000)}`;
      await writeFile(confPath, padded);
      const pid = await sitePid(root);
      const before = await digest(root);
      const r = await servicepack(['install', '--accept-eula', '--root', root, '-u', '--json', pack(`sp6-${arch}`)]);
      assert.equal(r.code, 2, `${r.out}${r.err}`);
      const doc = JSON.parse(r.out) as { code: string; message: string };
      assert.equal(doc.code, 'E_HEALTH_CHECK_UNAVAILABLE');
      assert.match(doc.message, /conf\/inetsrv\.conf is larger than 262144 bytes/);
      assert.match(doc.message, /nothing was changed/);
      assert.match(doc.message, /--no-health-check/);
      assert.ok(sameDigest(await digest(root), before), digestDiff(await digest(root), before).join(', '));
      assert.ok(!existsSync(join(root, '.servicepack', 'journal.json')));
      assert.equal(await sitePid(root), pid, 'the server was not stopped');
      assert.equal(await serverHeader(port), header(`sp5-${arch}`));
      if (pid) process.kill(pid, 'SIGKILL');
    });

    test('a new level that does not start at all (SP6 refuses KeepAliveTimeout = forever, a key SP5 ignores) is rolled back, SP5 serves again', async () => {
      const { root, port, conf } = await runningSp5(arch, false);
      const confPath = join(root, 'conf', 'inetsrv.conf');
      // SP5 does not know the key and warns; SP6 (Q236565) reads it and refuses the value
      const site = `${conf}KeepAliveTimeout = forever\n`;
      await writeFile(confPath, site);
      const pid = await sitePid(root);
      if (pid) process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 200 && (await sitePid(root)); i++) await new Promise((r) => setTimeout(r, 25));
      execFileSync(process.execPath, [join(root, 'bin', 'inetsrv'), 'start', '--detach'], {
        cwd: root,
        stdio: 'pipe',
        timeout: 20_000,
      });
      assert.equal(await serverHeader(port), header(`sp5-${arch}`), 'SP5 runs with the key it does not know');
      const sp5 = await digest(root);
      const r = await servicepack(['install', '--accept-eula', '--root', root, '-u', '--json', pack(`sp6-${arch}`)]);
      assert.equal(r.code, 1, `${r.out}${r.err}`);
      const doc = JSON.parse(r.out) as Failure;
      assert.equal(doc.code, 'E_HEALTH_CHECK_FAILED');
      assert.match(doc.details.health.summary, /did not start/);
      assert.doesNotMatch(doc.details.health.summary, /another process holds/);
      assert.equal(doc.details.afterRollback.passed, true, 'the old level was started and checked again');
      assert.ok(sameDigest(await digest(root), sp5), digestDiff(await digest(root), sp5).join(', '));
      assert.equal(await readFile(confPath, 'utf8'), site);
      assert.equal(await serverHeader(port), header(`sp5-${arch}`));
      const now = await sitePid(root);
      if (now) process.kill(now, 'SIGKILL');
    });

    test('without the trigger SP6 passes its health check and stays', async () => {
      const { root, port } = await runningSp5(arch, false);
      const r = await servicepack(['install', '--accept-eula', '--root', root, '-u', '--json', pack(`sp6-${arch}`)]);
      assert.equal(r.code, 0, `${r.out}${r.err}`);
      assert.equal(await serverHeader(port), header(`sp6-${arch}`));
      const last = (await state(root)).history.at(-1);
      assert.equal(last?.health?.passed, true);
      assert.match(last?.health?.summary ?? '', /answered twice on one connection \(200, 200\)/);
      const pid = await sitePid(root);
      if (pid) process.kill(pid, 'SIGKILL');
    });
  });
}

test('a first install from a feed rolled back by its health check still records the feed version (the rollback floor)', async () => {
  // A vendor tree has no state record before its first install, so the version could only be kept
  // after it; a rolled-back install left the record without it and the next, older index was believed.
  const { root } = await runningSp5('x86', true);
  const work = await tempRoot('sp-feed-floor-');
  const packs = join(work, 'packs');
  await mkdir(packs, { recursive: true });
  await cp(pack('sp6-x86'), join(packs, 'inetsrv-4.0-sp6-x86.tgz'));
  const feed = join(work, 'feed');
  const key = join(repo, 'dist', 'keys', 'dev.key');
  const published = await servicepack([
    'feed',
    'publish',
    '--packs',
    packs,
    '--out',
    feed,
    '--key',
    key,
    '--index-version',
    '3',
    '--json',
  ]);
  assert.equal(published.code, 0, published.err);
  const r = await servicepack(['install', '--accept-eula', '--root', root, '-u', '--json', '--feed', feed, 'latest']);
  assert.equal(r.code, 1, `${r.out}${r.err}`);
  const failed = JSON.parse(r.out) as { targets: { error?: { code: string } }[] };
  assert.equal(failed.targets[0]?.error?.code, 'E_HEALTH_CHECK_FAILED');
  const feeds = (
    JSON.parse(await readFile(join(root, '.servicepack', 'state.json'), 'utf8')) as {
      feeds?: Record<string, { version: number }>;
    }
  ).feeds;
  assert.deepEqual(
    Object.entries(feeds ?? {}).map(([url, f]) => [url, f.version]),
    [[pathToFileURL(join(feed, 'index.json')).href, 3]],
  );
  // and the floor holds: an index of version 2 put in its place (a stale mirror) is refused
  const stale = join(work, 'stale');
  const older = await servicepack([
    'feed',
    'publish',
    '--packs',
    packs,
    '--out',
    stale,
    '--key',
    key,
    '--index-version',
    '2',
    '--json',
  ]);
  assert.equal(older.code, 0, older.err);
  for (const f of ['index.json', 'index.sig']) await cp(join(stale, f), join(feed, f));
  const again = await servicepack(['check', '--root', root, '--json', '--feed', feed]);
  assert.equal(again.code, 4, `${again.out}${again.err}`);
  const pid = await sitePid(root);
  if (pid) process.kill(pid, 'SIGKILL');
});
