/**
 * The rollout story of issue 19 through the collection's playbook (integrations/ansible/playbooks/
 * rollout.yml), over SSH against the six hosts of test/support/fleet.ts:
 * 1. the feed before SP6a (SP1-SP6, Q236565): the canary (SP5 + Q236565, running) gets SP6 and passes
 *    its health check; in wave 2 the host with `MaxConnections = 0` fails SP6's health check, is
 *    rolled back (SP5, serving) and `max_fail_percentage: 0` stops the rollout: wave 3 is untouched;
 * 2. the feed publishes SP6a, Security Rollup 1 and the hotfixes after it (index version 2): the same
 *    playbook converges every host, the regression host serves SP6a and the locally modified file is
 *    replaced as the host's `servicepack_modified: overwrite` says, the edit kept in the backup;
 * 3. a third run changes nothing.
 */
import assert from 'node:assert/strict';
import { createHash, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { signPack } from '../packages/core/src/pack/pack-write.js';
import { PLAYBOOKS, type PlayReport } from './support/ansible.js';
import { type Fleet, STORY_FLEET, startFleet } from './support/fleet.js';
import { newestReleaseTree, releaseTree } from './support/inetsrv.js';
import {
  buildInfoOf,
  type Digest,
  digest,
  digestDiff,
  expectedServerHeader,
  packsDir,
  releases,
} from './support/servicepack.js';
import { serverHeader } from './support/site.js';

const ROLLOUT = join(PLAYBOOKS, 'rollout.yml');
const work = mkdtempSync(join(tmpdir(), 'sp-rollout-'));
const feed = join(work, 'feed');
let fleet: Fleet;
let keyFile = '';
const started = performance.now();

interface Query {
  root: string;
  arch: string;
  level: number;
  levelName: string;
  hotfixes: string[];
  lastHealthCheck?: { passed: boolean; rolledBack: boolean; toLevel: number } | null;
}

/** The packs the vendor had published before SP6a: every service pack up to SP6 and Q236565, both arches. */
const beforeSp6a = (name: string): boolean => !name.includes('-sp6a');

/**
 * Publishes the packs of dist/packs that `pick` selects as index version `version`, signed with the
 * test's own feed key; the packs get that key's signature beside the vendor's (on copies), so a host
 * that trusts the feed's key alone could check them too.
 */
async function publish(version: number, pick: (name: string) => boolean): Promise<void> {
  const dir = join(work, `packs-v${version}`);
  await mkdir(dir);
  const key = createPrivateKey(readFileSync(keyFile));
  const names = readdirSync(packsDir).filter((n) => n.endsWith('.tgz') && pick(n));
  for (const n of names) {
    await copyFile(join(packsDir, n), join(dir, n));
    await signPack(join(dir, n), key);
  }
  const r = await fleet.servicepack([
    'feed',
    'publish',
    '--packs',
    dir,
    '--releases',
    releases,
    '--out',
    feed,
    '--key',
    keyFile,
    '--index-version',
    String(version),
    '--json',
  ]);
  assert.equal(r.code, 0, r.err);
  assert.equal((JSON.parse(r.out) as { version: number }).version, version);
}

async function query(host: string): Promise<Query> {
  const r = await fleet.servicepack(['query', '--root', fleet.host(host).root, '--json']);
  assert.equal(r.code, 0, `${host}: ${r.out}${r.err}`);
  return JSON.parse(r.out) as Query;
}

const levelOf = (q: Query) => [q.arch, q.level, q.hotfixes.join('+')];

/** Each host's recap (ok, changed, failures...) from the JSON callback, and the hosts the play reached. */
function recap(report: PlayReport): Record<string, { changed: number; failures: number }> {
  return Object.fromEntries(
    Object.entries(report.stats).map(([h, s]) => [h, { changed: s.changed, failures: s.failures + s.unreachable }]),
  );
}

/** Every result of a host, as text, for failure messages and evidence searches. */
const resultsOf = (report: PlayReport, host: string): string =>
  JSON.stringify(report.results.filter((r) => r.host === host));

before(async () => {
  const keys = join(work, 'keys');
  await mkdir(keys);
  // the site accepted the vendor's license once, for the whole group
  fleet = await startFleet(STORY_FLEET, { vars: { servicepack_feed: feed, servicepack_accept_eula: true } });
  const kg = await fleet.servicepack(['keygen', '--out', keys, '--name', 'fleet-feed']);
  assert.equal(kg.code, 0, kg.err);
  keyFile = join(keys, 'fleet-feed.key');
  // each host trusts the feed's key, as an operator installs it once per host
  for (const h of fleet.hosts)
    await copyFile(join(keys, 'fleet-feed.pub'), join(h.root, '.servicepack', 'trust', 'fleet-feed.pub'));
});
after(async () => {
  await fleet?.stop();
  await rm(work, { recursive: true, force: true });
});

const wave3 = ['rtm', 'alpha', 'modified'];

describe('a rollout through the collection playbook, over SSH, to six hosts', () => {
  test('the feed before SP6a: the canary passes, the regression host fails its health check, is rolled back and stops the rollout before wave 3', async (t) => {
    await publish(1, beforeSp6a);
    const untouched = new Map<string, Digest>();
    for (const h of wave3) untouched.set(h, await digest(fleet.host(h).root, []));
    const levels = Object.fromEntries(await Promise.all(wave3.map(async (h) => [h, levelOf(await query(h))])));

    const r = await fleet.playbook([ROLLOUT]);
    t.diagnostic(`playbook run 1: ${r.ms} ms`);
    assert.notEqual(r.code, 0, 'a failed host fails the run');
    const hosts = recap(r.report);
    // wave 1 and wave 2 only: max_fail_percentage 0 ended the play after the regression host failed
    assert.deepEqual(Object.keys(hosts).sort(), ['canary', 'current', 'regress'], r.out);
    assert.equal(hosts['canary']?.failures, 0, resultsOf(r.report, 'canary'));
    assert.ok(hosts['canary']!.changed > 0, 'the canary was updated');
    assert.equal(hosts['regress']?.failures, 1, resultsOf(r.report, 'regress'));
    assert.deepEqual(hosts['current'], { changed: 0, failures: 0 }, resultsOf(r.report, 'current'));
    assert.match(resultsOf(r.report, 'regress'), /E_HEALTH_CHECK_FAILED/, 'the failure carries the evidence');

    const canary = await query('canary');
    assert.deepEqual(levelOf(canary), ['x86', 6, '']);
    assert.equal(canary.lastHealthCheck?.passed, true);
    assert.equal(
      await serverHeader(fleet.host('canary').port),
      expectedServerHeader(buildInfoOf(releaseTree('inetsrv-4.0-sp6-x86'))),
    );

    const regress = await query('regress');
    assert.deepEqual(levelOf(regress), ['x86', 5, '']);
    assert.equal(regress.lastHealthCheck?.rolledBack, true);
    assert.equal(regress.lastHealthCheck?.toLevel, 6);
    assert.equal(
      await serverHeader(fleet.host('regress').port),
      expectedServerHeader(buildInfoOf(releaseTree('inetsrv-4.0-sp5-x86'))),
      'SP5 serves again',
    );

    assert.deepEqual(levelOf(await query('current')), ['x86', 6, '']);
    for (const h of wave3) {
      const now = await digest(fleet.host(h).root, []);
      assert.deepEqual(digestDiff(now, untouched.get(h)!), [], `${h} was not touched`);
      assert.deepEqual(levelOf(await query(h)), levels[h]);
    }
  });

  test('the feed publishes SP6a, Security Rollup 1 and the hotfixes after it: the same playbook converges every host', async (t) => {
    await publish(2, () => true);
    const edited = readFileSync(join(fleet.host('modified').root, 'lib', 'server.js'), 'utf8');

    const r = await fleet.playbook([ROLLOUT]);
    t.diagnostic(`playbook run 2: ${r.ms} ms`);
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);
    const hosts = recap(r.report);
    assert.deepEqual(Object.keys(hosts).sort(), STORY_FLEET.map((h) => h.name).sort());
    for (const h of STORY_FLEET) {
      assert.equal(hosts[h.name]?.failures, 0, resultsOf(r.report, h.name));
      assert.ok((hosts[h.name]?.changed ?? 0) > 0, `${h.name} changed`);
    }

    for (const h of STORY_FLEET) {
      const arch = h.tree.endsWith('alpha') ? 'alpha' : 'x86';
      const newest = buildInfoOf(newestReleaseTree(arch));
      assert.deepEqual(levelOf(await query(h.name)), [arch, newest.level, newest.hotfixes.join('+')], h.name);
    }
    const newestX86 = newestReleaseTree('x86');
    for (const h of ['canary', 'regress']) {
      assert.equal(await serverHeader(fleet.host(h).port), expectedServerHeader(buildInfoOf(newestX86)), `${h} serves`);
      assert.equal((await query(h)).lastHealthCheck?.passed, true);
    }
    // the site's policy for the admin's edit: the vendor's file, the edit in the backup
    const root = fleet.host('modified').root;
    assert.equal(
      readFileSync(join(root, 'lib', 'server.js'), 'utf8'),
      readFileSync(join(newestX86, 'lib', 'server.js'), 'utf8'),
    );
    const backups = JSON.stringify(await digest(join(root, '.servicepack'), []));
    assert.ok(
      backups.includes(createHash('sha256').update(edited).digest('hex')),
      'the edited file is kept in the backup',
    );
  });

  test('a third run changes nothing anywhere', async (t) => {
    const r = await fleet.playbook([ROLLOUT]);
    t.diagnostic(`playbook run 3: ${r.ms} ms; the story so far ${Math.round(performance.now() - started)} ms`);
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);
    assert.deepEqual(
      recap(r.report),
      Object.fromEntries(STORY_FLEET.map((h) => [h.name, { changed: 0, failures: 0 }])),
      r.out,
    );
  });
});
