/**
 * One list of pack kinds (rules/level.ts PACK_KINDS: service pack, hotfix and, since issue 17,
 * rollup) for every record that names one: a signed manifest, a feed entry, the state record (and
 * its schema-free quick check), a backup record and the journal. Each accepts every kind in the list
 * and refuses any other; a rollup's fixes and a chain hotfix's `requires` survive the round trip.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { feedPackEntry } from '../../src/feed/publish.js';
import { FeedPackSchema } from '../../src/feed/schema.js';
import { checkedState } from '../../src/installation/record-check.js';
import { type State, StateSchema } from '../../src/installation/state.js';
import { type Manifest, ManifestSchema } from '../../src/pack/manifest.js';
import { PACK_KINDS } from '../../src/rules/level.js';
import { BackupRecordSchema } from '../../src/transaction/backup-schema.js';
import { JournalSchema } from '../../src/transaction/journal-schema.js';

const SRP1_FIXES = ['Q248017', 'Q248395', 'Q247318', 'Q247602'];
const UNKNOWN = ['patch', 'Rollup', 'service pack', '', 'rollup ', 'feature-pack'];

const srp1: Manifest = {
  format: 1,
  id: 'SRP1',
  kind: 'rollup',
  product: 'inetsrv',
  title: 'inetsrv 4.0 Security Rollup Package 1 for Service Pack 6a',
  level: 7,
  baseLevel: 7,
  arch: 'x86',
  appliesTo: { version: '>=4.0.0 <4.1.0', levels: [7], hotfixes: SRP1_FIXES },
  supersedes: SRP1_FIXES,
  fixes: SRP1_FIXES.map((id) => ({ id, title: id, summary: id, security: true })),
  files: [],
  restart: true,
  created: '2000-04-25T00:00:00.000Z',
};
const q248395: Manifest = {
  ...srp1,
  id: 'Q248395',
  kind: 'hotfix',
  title: 'Hotfix Q248395',
  appliesTo: { version: '>=4.0.0 <4.1.0', levels: [7], requires: ['Q248017'] },
  supersedes: [],
  fixes: [{ id: 'Q248395', title: 'send timeout', summary: 'send timeout', security: true }],
};

const state = (kind: string): State =>
  ({
    format: 1,
    product: 'inetsrv',
    version: '4.0.0',
    arch: 'x86',
    level: 7,
    hotfixes: SRP1_FIXES,
    installed: [
      { packId: 'inetsrv-4.0-sp6a', kind: 'service-pack', fromLevel: 0, level: 7 },
      { packId: 'SRP1', kind, fromLevel: 7, level: 7, fixes: SRP1_FIXES },
    ],
    files: { 'lib/a.js': { sha256: 'a'.repeat(64), size: 3, mode: 0o644 } },
    history: [],
  }) as State;

const backup = (kind: string) => ({
  format: 1,
  packId: 'SRP1',
  kind,
  transactionId: 'tx1',
  time: '2026-01-01T00:00:00.000Z',
  fromLevel: 7,
  toLevel: 7,
  fromHotfixes: [],
  toHotfixes: SRP1_FIXES,
  files: [],
  createdDirs: [],
  removedDirs: [],
  spnew: [],
  kept: [],
  previousState: null,
});

/** a journal's pack entry (the rest of a journal does not depend on the kind) */
const journalPack = (kind: string) => ({
  id: 'SRP1',
  kind,
  fromLevel: 7,
  toLevel: 7,
  fromHotfixes: [],
  toHotfixes: SRP1_FIXES,
});
const JournalPackSchema = JournalSchema.shape.packs.element;

describe('pack kinds: one list for every record that names one', () => {
  test('the list is service pack, hotfix and rollup', () => {
    assert.deepEqual([...PACK_KINDS], ['service-pack', 'hotfix', 'rollup']);
  });

  test('a signed manifest: every kind reads; a rollup keeps its fixes, a chain hotfix its requires; others refused', () => {
    for (const kind of PACK_KINDS) {
      const m = { ...srp1, kind, ...(kind === 'service-pack' ? { baseLevel: undefined } : {}) };
      assert.equal(ManifestSchema.safeParse(m).success, true, kind);
    }
    assert.deepEqual(ManifestSchema.parse(srp1), srp1);
    assert.deepEqual(ManifestSchema.parse(q248395).appliesTo.requires, ['Q248017']);
    for (const kind of UNKNOWN) assert.equal(ManifestSchema.safeParse({ ...srp1, kind }).success, false, kind);
    // a rollup, like a hotfix, names the level it is built for
    assert.equal(ManifestSchema.safeParse({ ...srp1, baseLevel: undefined }).success, false);
  });

  test('a feed entry: made from the manifest, with the rollup kind, its fixes and a hotfix’s requires', () => {
    const file = { url: 'packs/inetsrv-4.0-sp6a-srp1-x86.tgz', sha256: 'b'.repeat(64), size: 1 };
    const e = feedPackEntry(srp1, file);
    assert.deepEqual(
      [e.kind, e.appliesTo.hotfixes, e.supersedes, e.fixes.map((f) => f.id)],
      ['rollup', SRP1_FIXES, SRP1_FIXES, SRP1_FIXES],
    );
    // without requires in the index, check and latest would offer Q248395 where Q248017 is missing
    assert.deepEqual(feedPackEntry(q248395, file).appliesTo, q248395.appliesTo);
    for (const kind of PACK_KINDS) assert.equal(FeedPackSchema.safeParse({ ...e, kind }).success, true, kind);
    for (const kind of UNKNOWN) assert.equal(FeedPackSchema.safeParse({ ...e, kind }).success, false, kind);
  });

  test('the state record: a rollup entry with its fixes reads back, through the quick check and the schema alike', () => {
    for (const kind of PACK_KINDS) {
      const s = state(kind);
      assert.deepEqual(StateSchema.parse(s), s, kind);
      // the quick check vouches for it: query never needs zod for a record with a rollup
      assert.deepEqual(checkedState(JSON.parse(JSON.stringify(s))), s, kind);
    }
    assert.deepEqual(checkedState(state('rollup'))?.installed[1]?.fixes, SRP1_FIXES);
    for (const kind of UNKNOWN) {
      assert.equal(checkedState(state(kind)), undefined, kind);
      assert.equal(StateSchema.safeParse(state(kind)).success, false, kind);
    }
    // fixes must be a list of ids
    const bad = state('rollup') as unknown as { installed: Record<string, unknown>[] };
    bad.installed[1]!['fixes'] = 'Q248017';
    assert.equal(checkedState(bad), undefined);
    assert.equal(StateSchema.safeParse(bad).success, false);
  });

  test('the backup record and the journal: every kind reads, any other is refused', () => {
    for (const kind of PACK_KINDS) {
      assert.equal(BackupRecordSchema.safeParse(backup(kind)).success, true, `backup ${kind}`);
      assert.equal(JournalPackSchema.safeParse(journalPack(kind)).success, true, `journal ${kind}`);
    }
    for (const kind of UNKNOWN) {
      assert.equal(BackupRecordSchema.safeParse(backup(kind)).success, false, `backup ${kind}`);
      assert.equal(JournalPackSchema.safeParse(journalPack(kind)).success, false, `journal ${kind}`);
    }
  });
});
