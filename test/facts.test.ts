/**
 * `servicepack facts` (issue 19): one installation's facts for Ansible's servicepack_facts and the
 * compliance report. They are query's and check's answers in one document, so the test holds them
 * to what query and check print for the same tree, and reads every document back with the schema
 * the report reads with.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FactsDocumentSchema } from '../packages/core/src/fleet/facts.js';
import { installationFrom, pack, repo, requireBuild, servicepack, tempFolders } from './support/servicepack.js';

const FEED = join(repo, 'dist', 'feed');

after(async () => {
  for (const d of tempFolders()) await rm(d, { recursive: true, force: true });
});

async function json(args: string[], code = 0): Promise<Record<string, unknown>> {
  const r = await servicepack(args);
  assert.equal(r.code, code, `${args.join(' ')}: ${r.err}${r.out}`);
  return JSON.parse(r.out) as Record<string, unknown>;
}

test('facts on a release tree without a feed: query’s answers, no feed, nothing compared', async () => {
  requireBuild([join(FEED, 'index.json')]);
  const root = await installationFrom('sp5-q236565-x86');
  const facts = FactsDocumentSchema.parse(await json(['facts', '--root', root, '--json']));
  const q = await json(['query', '--root', root, '--json']);
  for (const k of ['product', 'displayName', 'version', 'arch', 'level', 'levelName', 'hotfixes', 'rollups', 'root'])
    assert.deepEqual(facts[k as keyof typeof facts], q[k], k);
  assert.equal(facts.level, 5);
  assert.deepEqual(facts.hotfixes, ['Q236565']);
  assert.equal(facts.consistent, true);
  assert.equal(facts.problems, 0);
  assert.equal(facts.lastChange, null);
  assert.equal(facts.feed, null);
  assert.deepEqual(facts.updates, []);
  assert.deepEqual(facts.latest, []);
  assert.equal(facts.upToDate, null);
  assert.ok(Math.abs(Date.parse(facts.collected) - Date.now()) < 120_000, facts.collected);

  const plain = await servicepack(['facts', '--root', root]);
  assert.equal(plain.code, 0, plain.err);
  assert.match(plain.out, /Service Pack 5, hotfix Q236565/);
  assert.match(plain.out, /last change none/);
});

test('facts with a feed: check’s updates, latest and security flags; up to date once latest is in', async () => {
  requireBuild([join(FEED, 'index.json')]);
  const index = JSON.parse(await readFile(join(FEED, 'index.json'), 'utf8')) as {
    packs: { id: string; arch: string; fixes: { id: string; security?: boolean }[] }[];
  };
  const root = await installationFrom('rtm-alpha');
  const facts = FactsDocumentSchema.parse(await json(['facts', '--root', root, '--feed', FEED, '--json']));
  const check = (await json(['check', '--root', root, '--feed', FEED, '--json'])) as {
    updates: { id: string; kind: string; title: string; security: boolean }[];
    latest: string[];
    feed: { url: string; version: number; expires: string };
  };
  assert.deepEqual(
    facts.updates,
    check.updates.map((u) => ({ id: u.id, kind: u.kind, title: u.title, security: u.security })),
  );
  assert.deepEqual(facts.latest, check.latest);
  assert.deepEqual(facts.feed, { url: check.feed.url, version: check.feed.version, expires: check.feed.expires });
  assert.equal(facts.upToDate, false);
  assert.ok(facts.updates.length > 0);
  // the flag is the index's: any fix of the update marked security
  for (const u of facts.updates) {
    const entry = index.packs.find((p) => p.id === u.id && p.arch === 'alpha')!;
    assert.equal(
      u.security,
      entry.fixes.some((f) => f.security === true),
      u.id,
    );
  }
  assert.ok(
    facts.updates.some((u) => u.security),
    'an RTM installation misses security fixes',
  );

  const inst = await servicepack([
    'install',
    '--root',
    root,
    '--feed',
    FEED,
    '-u',
    '--accept-eula',
    '--no-health-check',
    'latest',
  ]);
  assert.ok(inst.code === 0 || inst.code === 10, inst.err);
  const current = FactsDocumentSchema.parse(await json(['facts', '--root', root, '--feed', FEED, '--json']));
  assert.equal(current.upToDate, true);
  assert.deepEqual(current.updates, []);
  assert.deepEqual(current.latest, []);
  assert.deepEqual(current.lastChange?.ids, facts.latest);
  assert.equal(current.lastChange?.action, 'install');
});

test('facts on an installation with history: lastChange names the newest change in effect', async () => {
  const root = await installationFrom('rtm-x86');
  const sp6 = pack('sp6-x86');
  const r = await servicepack(['install', '--root', root, '-u', '--accept-eula', '--no-health-check', sp6]);
  assert.ok(r.code === 0 || r.code === 10, r.err);
  let facts = FactsDocumentSchema.parse(await json(['facts', '--root', root, '--json']));
  const q = (await json(['query', '--root', root, '--json'])) as { history: { time: string; packId: string }[] };
  assert.equal(facts.level, 6);
  assert.deepEqual(facts.lastChange, { at: q.history.at(-1)!.time, action: 'install', ids: ['inetsrv-4.0-sp6'] });

  const u = await servicepack(['uninstall', '--root', root, '-u']);
  assert.ok(u.code === 0 || u.code === 10, u.err);
  facts = FactsDocumentSchema.parse(await json(['facts', '--root', root, '--json']));
  assert.equal(facts.level, 0);
  assert.equal(facts.lastChange?.action, 'uninstall');
  assert.deepEqual(facts.lastChange?.ids, ['inetsrv-4.0-sp6']);
});

test('facts with a locally modified file: consistent false and the problem count', async () => {
  // a vendor tree has no record to differ from: an installed service pack has
  const root = await installationFrom('rtm-x86');
  const r = await servicepack(['install', '--root', root, '-u', '--accept-eula', '--no-health-check', pack('sp6-x86')]);
  assert.ok(r.code === 0 || r.code === 10, r.err);
  assert.equal(FactsDocumentSchema.parse(await json(['facts', '--root', root, '--json'])).consistent, true);
  await writeFile(join(root, 'lib', 'mime.js'), '// changed by hand\n', { flag: 'a' });
  const facts = FactsDocumentSchema.parse(await json(['facts', '--root', root, '--json']));
  const q = (await json(['query', '--root', root, '--json'])) as { problems: unknown[]; consistent: boolean };
  assert.equal(facts.consistent, false);
  assert.equal(q.consistent, false);
  assert.equal(facts.problems, q.problems.length);
  assert.ok(facts.problems > 0);
});

test('facts with an open transaction: exit 6 (recover first) and exit 5 (busy), as check answers', async () => {
  // a crash after the journal was written: the transaction is open and nobody holds it
  const crashed = await installationFrom('rtm-x86');
  const killed = await servicepack(['install', '--root', crashed, '-u', '--accept-eula', pack('sp6-x86')], {
    env: { SERVICEPACK_FAULT: 'after:journal' },
  });
  assert.equal(killed.signal, 'SIGKILL', killed.err);
  const f6 = await json(['facts', '--root', crashed, '--feed', FEED, '--json'], 6);
  const c6 = await json(['check', '--root', crashed, '--feed', FEED, '--json'], 6);
  assert.equal(f6['code'], 'E_NEEDS_RECOVER');
  assert.equal(f6['code'], c6['code']);
  await json(['facts', '--root', crashed, '--json'], 6);

  // a live install holding the lock, stopped at the same point
  const busy = await installationFrom('rtm-x86');
  const gate = await mkdtemp(join(tmpdir(), 'sp-facts-gate-'));
  tempFolders().push(gate);
  const holder = servicepack(['install', '--root', busy, '-u', '--accept-eula', pack('sp6-x86')], {
    env: { SERVICEPACK_FAULT: `after:journal=wait:${gate}` },
  });
  try {
    for (let i = 0; i < 600 && !(await readyIn(gate)); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(await readyIn(gate), 'the install did not reach after:journal');
    const f5 = await json(['facts', '--root', busy, '--json'], 5);
    const c5 = await json(['check', '--root', busy, '--feed', FEED, '--json'], 5);
    assert.equal(f5['code'], 'E_BUSY');
    assert.equal(f5['code'], c5['code']);
  } finally {
    await writeFile(join(gate, 'go'), '');
    await holder;
  }
  assert.equal(existsSync(join(busy, '.servicepack', 'journal.json')), false);
});

async function readyIn(dir: string): Promise<boolean> {
  const { readdir } = await import('node:fs/promises');
  return (await readdir(dir)).some((n) => n.startsWith('ready.'));
}
