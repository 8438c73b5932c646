/**
 * Choosing updates from a feed index (check, latest) and the JSON-lines transaction log.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ApplicabilityTarget } from '../../src/rules/applicability.js';
import { isServicepackError } from '../../src/support/errors.js';
import { type FeedIndex, FeedIndexSchema } from '../../src/feed/schema.js';
import { JsonLinesFile, TransactionLog, transactionLogPath } from '../../src/fleet/log.js';
import { feedPackTitle, selectByIds, selectUpdates } from '../../src/operations/updates.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

function builtIndex(): FeedIndex {
  const file = join(repo, 'dist', 'feed', 'index.json');
  if (!existsSync(file)) assert.fail(`${file} does not exist: run pnpm build first`);
  return FeedIndexSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}

const at = (level: number, arch: 'x86' | 'alpha' = 'x86', hotfixes: string[] = []): ApplicabilityTarget => ({
  product: 'inetsrv',
  version: '4.0.0',
  arch,
  level,
  hotfixes,
});

describe('selectUpdates on the built feed', () => {
  const index = builtIndex();
  const ids = (s: { id: string; arch: string }[]) => s.map((p) => `${p.id}/${p.arch}`);
  // The post-SP6a hotfixes as the feed lists them, in chain order: each requires the ones before it.
  const chainFor = (arch: 'x86' | 'alpha') =>
    index.packs
      .filter((p) => p.arch === arch && p.kind === 'hotfix' && p.baseLevel === 7)
      .sort((a, b) => (a.appliesTo.requires?.length ?? 0) - (b.appliesTo.requires?.length ?? 0))
      .map((p) => p.id);
  const chain = chainFor('x86');
  const srp1 = index.packs.find((p) => p.id === 'SRP1' && p.arch === 'x86')!;
  const afterRollup = chain.filter((id) => !srp1.supersedes.includes(id));
  /** What latest installs on SP6a: the rollup, then the hotfixes of the chain it does not carry. */
  const toNewest = (arch: 'x86' | 'alpha') => [
    `SRP1/${arch}`,
    ...chainFor(arch)
      .filter((id) => !srp1.supersedes.includes(id))
      .map((id) => `${id}/${arch}`),
  ];

  test('SP5: SP6a and hotfix Q236565 apply (SP6, which SP6a replaces, is left out); latest is SP6a, the rollup, the rest of the chain', () => {
    const s = selectUpdates(at(5), index);
    assert.deepEqual(ids(s.applicable), ['inetsrv-4.0-sp6a/x86', 'Q236565/x86']);
    assert.deepEqual(ids(s.latest), ['inetsrv-4.0-sp6a/x86', ...toNewest('x86')]);
  });

  test('SP6 and SP5 with the hotfix: SP6a only applies; RTM and alpha SP2: SP6a for their arch, older service packs left out; latest goes on to the newest tree', () => {
    const sp6 = selectUpdates(at(6), index);
    assert.deepEqual(ids(sp6.applicable), ['inetsrv-4.0-sp6a/x86']);
    assert.deepEqual(ids(sp6.latest), ['inetsrv-4.0-sp6a/x86', ...toNewest('x86')]);
    assert.deepEqual(ids(selectUpdates(at(5, 'x86', ['Q236565']), index).applicable), ['inetsrv-4.0-sp6a/x86']);
    const rtm = selectUpdates(at(0), index);
    assert.deepEqual(ids(rtm.applicable), ['inetsrv-4.0-sp6a/x86']);
    assert.deepEqual(ids(rtm.latest), ['inetsrv-4.0-sp6a/x86', ...toNewest('x86')]);
    assert.deepEqual(ids(selectUpdates(at(2, 'alpha'), index).latest), [
      'inetsrv-4.0-sp6a/alpha',
      ...toNewest('alpha'),
    ]);
  });

  test('the index carries the chain: each post-SP6a hotfix entry requires the hotfixes before it (check sees only what installs now)', () => {
    assert.ok(chain.length > srp1.supersedes.length, 'the feed has hotfixes after the rollup');
    for (const [i, id] of chain.entries()) {
      const entry = index.packs.find((p) => p.id === id && p.arch === 'x86')!;
      assert.deepEqual(entry.appliesTo.requires ?? [], chain.slice(0, i), `${id} requires the hotfixes before it`);
    }
  });

  test('SP6a: the rollup and the first hotfix of the chain apply, no later one; latest is the rollup, then the rest of the chain', () => {
    const s = selectUpdates(at(7), index);
    assert.deepEqual(ids(s.applicable), ['SRP1/x86', `${chain[0]}/x86`]);
    assert.deepEqual(ids(s.latest), toNewest('x86'));
    const withRollup = selectUpdates(at(7, 'x86', [...srp1.supersedes]), index);
    assert.deepEqual(ids(withRollup.applicable), [`${afterRollup[0]}/x86`]);
    assert.deepEqual(
      ids(withRollup.latest),
      afterRollup.map((id) => `${id}/x86`),
    );
    // from SP6a + the first hotfix the rollup still comes first: it takes the place of the three it still adds
    const one = selectUpdates(at(7, 'x86', chain.slice(0, 1)), index);
    assert.deepEqual(ids(one.applicable), ['SRP1/x86', `${chain[1]}/x86`]);
    assert.deepEqual(ids(one.latest), toNewest('x86'));
    // an installed rollup plus the next hotfix: latest goes on from the one after it
    const rolled = selectUpdates(
      { ...at(7, 'alpha', chain.slice(0, 5)), rollups: [{ id: 'SRP1', fixes: chain.slice(0, 4) }] },
      index,
    );
    assert.deepEqual(ids(rolled.latest), toNewest('alpha').slice(2));
    const all = selectUpdates(at(7, 'x86', chain), index);
    assert.deepEqual(all, { applicable: [], latest: [] });
  });

  test('without SP6a in the feed, latest is SP6 again; without SP6 as well, latest from SP4 is SP5 plus the hotfix that applies after it', () => {
    const noSp6a: FeedIndex = { ...index, packs: index.packs.filter((p) => p.id !== 'inetsrv-4.0-sp6a') };
    // the rollup and the chain are for SP6a: without it, none of them applies
    assert.deepEqual(ids(selectUpdates(at(5), noSp6a).latest), ['inetsrv-4.0-sp6/x86']);
    const older: FeedIndex = { ...noSp6a, packs: noSp6a.packs.filter((p) => p.id !== 'inetsrv-4.0-sp6') };
    assert.deepEqual(ids(selectUpdates(at(4), older).latest), ['inetsrv-4.0-sp5/x86', 'Q236565/x86']);
  });

  test('ids pick the entry for the installation arch; unknown ids and other arches are refused', () => {
    assert.deepEqual(ids(selectByIds(at(5), index, ['Q236565'], 'feed')), ['Q236565/x86']);
    assert.throws(
      () => selectByIds(at(5), index, ['Q999999'], 'feed'),
      (e: unknown) => isServicepackError(e) && e.exitCode === 2 && /servicepack check --feed feed/.test(e.message),
    );
    const onlyAlpha: FeedIndex = {
      ...index,
      packs: index.packs.filter((p) => !(p.id === 'Q236565' && p.arch === 'x86')),
    };
    assert.throws(
      () => selectByIds(at(5), onlyAlpha, ['Q236565'], 'feed'),
      (e: unknown) => isServicepackError(e) && e.code === 'E_WRONG_ARCH',
    );
  });

  test('titles for people', () => {
    const sp6 = index.packs.find((p) => p.id === 'inetsrv-4.0-sp6')!;
    const q = index.packs.find((p) => p.id === 'Q236565')!;
    assert.equal(feedPackTitle(sp6), 'Service Pack 6');
    assert.equal(feedPackTitle(index.packs.find((p) => p.id === 'inetsrv-4.0-sp6a')!), 'Service Pack 6a');
    assert.match(feedPackTitle(q), /^hotfix Q236565 \(.+\)$/);
    assert.equal(
      feedPackTitle(index.packs.find((p) => p.id === 'SRP1')!),
      'Security Rollup 1 (Q248017, Q248395, Q247318, Q247602)',
    );
  });
});

describe('TransactionLog', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sp-log-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('one line per event with time, target, transaction and step; the result last; shared files appended', async () => {
    const root = join(dir, 'root');
    await mkdir(root);
    await writeFile(join(root, 'BUILDINFO.json'), '{}');
    const shared = new JsonLinesFile(join(dir, 'logs', 'fleet.jsonl'));
    const t = new Date('2026-01-02T03:04:05.000Z');
    const log = new TransactionLog({ root, transactionId: 'tx1', shared: [shared], now: () => t });
    log.begin({ packs: ['a.tgz'] });
    log.sink({ type: 'step', step: 'verify', state: 'started' });
    log.sink({ type: 'info', message: 'hello' });
    assert.equal(
      existsSync(transactionLogPath(root, 'tx1')),
      false,
      'nothing in the installation before it is changed',
    );
    log.sink({ type: 'step', step: 'stage', state: 'started' });
    assert.equal(existsSync(transactionLogPath(root, 'tx1')), false, 'staging is undone without a trace on a refusal');
    log.sink({ type: 'step', step: 'commit', state: 'started' });
    log.sink({ type: 'progress', step: 'commit', files: 1, totalFiles: 2, bytes: 3, totalBytes: 4 });
    log.end({ exitCode: 0, ok: true });
    log.end({ exitCode: 1, ok: false });
    log.close();
    shared.close();
    const own = (await readFile(transactionLogPath(root, 'tx1'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      own.map((l) => [l['event'], l['step'] ?? null]),
      [
        ['begin', null],
        ['step', 'verify'],
        ['info', 'verify'],
        ['step', 'stage'],
        ['step', 'commit'],
        ['progress', 'commit'],
        ['result', null],
      ],
    );
    assert.deepEqual(own[0], {
      time: '2026-01-02T03:04:05.000Z',
      target: root,
      transactionId: 'tx1',
      event: 'begin',
      packs: ['a.tgz'],
    });
    assert.equal(own[6]!['exitCode'], 0, 'the first outcome is the one logged');
    assert.equal(
      await readFile(join(dir, 'logs', 'fleet.jsonl'), 'utf8'),
      await readFile(transactionLogPath(root, 'tx1'), 'utf8'),
    );
    assert.deepEqual(log.files, [transactionLogPath(root, 'tx1'), join(dir, 'logs', 'fleet.jsonl')]);
  });

  test('a refused transaction (never staged) writes only the shared log', async () => {
    const root = join(dir, 'refused');
    await mkdir(root);
    await writeFile(join(root, 'BUILDINFO.json'), '{}');
    const shared = new JsonLinesFile(join(dir, 'refused.jsonl'));
    const log = new TransactionLog({ root, transactionId: 'tx3', shared: [shared] });
    log.begin({});
    log.sink({ type: 'step', step: 'verify', state: 'failed', message: 'no' });
    log.end({ exitCode: 4, ok: false, code: 'E_BAD_SIGNATURE' });
    log.close();
    shared.close();
    assert.equal(existsSync(join(root, '.servicepack')), false);
    assert.deepEqual(log.files, [join(dir, 'refused.jsonl')]);
    assert.equal((await readFile(join(dir, 'refused.jsonl'), 'utf8')).trim().split('\n').length, 3);
  });

  test('a folder that is not an installation gets no .servicepack/', () => {
    const root = join(dir, 'not-an-installation');
    const log = new TransactionLog({ root, transactionId: 'tx2' });
    log.sink({ type: 'step', step: 'commit', state: 'started' });
    log.end({ exitCode: 3, ok: false });
    log.close();
    assert.deepEqual(log.files, []);
    assert.equal(existsSync(join(root, '.servicepack')), false);
  });
});
