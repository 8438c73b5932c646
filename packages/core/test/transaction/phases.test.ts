/**
 * Failure as data: the journal's phases and their transitions are one table (journal-rules.ts),
 * which settleFailure and recover read. These tests walk the table, drive real transactions
 * (success, a failure before and after the commit point, crashes recovered) and check every phase
 * change they make against it and against the disk, refuse the moves it does not list, and keep
 * docs/transactions.md §4 the table's own rendering.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { InstallOptions } from '../../src/operations/install/context.js';
import { installPacks } from '../../src/operations/install/install.js';
import { recoverInstallation } from '../../src/operations/recover.js';
import { uninstallUpdate } from '../../src/operations/uninstall/uninstall.js';
import { isServicepackError } from '../../src/support/errors.js';
import {
  closeJournal,
  journalCopies,
  journalPath,
  readJournal,
  serializeJournal,
  setPhase,
  writeJournal,
} from '../../src/transaction/journal.js';
import type { Journal } from '../../src/transaction/journal-schema.js';
import {
  checkTransition,
  JOURNAL_PHASES,
  PHASE_TABLE,
  PHASES,
  type Phase,
  type PhaseMove,
  recordedPhaseRow,
} from '../../src/transaction/journal-rules.js';
import type { TransactionHooks } from '../../src/transaction/transaction.js';
import { makeInstallation, makePack, makeVendor } from '../install-fixtures.js';

const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const tempDir = (prefix: string) => mkdtemp(join(base, prefix));
const repo = process.env.SERVICEPACK_REPO ?? join(import.meta.dirname, '..', '..', '..', '..');

const vendor = makeVendor();
const dirs: string[] = [];
let sp1 = '';
before(async () => {
  const out = await tempDir('sp-phase-packs-');
  dirs.push(out);
  sp1 = (await makePack(vendor, { level: 1, fromLevels: [0] }, out)).path;
});
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function rtm(): Promise<string> {
  const root = await makeInstallation(0, vendor, { dir: await tempDir('sp-phase-root-') });
  dirs.push(root);
  return root;
}

const opts = (root: string, hooks: TransactionHooks): InstallOptions => ({
  root,
  packs: [sp1],
  backup: true,
  modified: 'stop',
  restart: 'auto',
  dryRun: false,
  hooks,
});

/** What journal.json says right now: its phase, or `closed` when it is gone. */
function phaseOnDisk(root: string): string {
  const path = journalPath(root);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { phase: string }).phase : 'closed';
}

/**
 * Hooks that record every phase change and check each one as it happens: the table lists it, it
 * starts where the previous change of that transaction ended, and the disk already says it.
 */
function watchPhases(root: string, extra: TransactionHooks = {}): { hooks: TransactionHooks; moves: PhaseMove[] } {
  const moves: PhaseMove[] = [];
  const at = new Map<string, Phase>();
  return {
    moves,
    hooks: {
      ...extra,
      phase: (m) => {
        assert.ok(PHASE_TABLE[m.from].next.includes(m.to), `the table allows ${m.from} -> ${m.to}`);
        const was = at.get(m.id);
        if (was !== undefined) assert.equal(m.from, was, `${m.id} moves on from where it was`);
        assert.equal(phaseOnDisk(root), m.to, `journal.json says ${m.to} once the move is reported`);
        at.set(m.id, m.to);
        moves.push(m);
      },
    },
  };
}

const path = (moves: readonly PhaseMove[]) => moves.map((m) => `${m.from}->${m.to}`).join(' ');

/** Runs until `point`, copies the installation there (a crash image) and abandons the run. */
async function crashImage(point: string): Promise<string> {
  const root = await rtm();
  const image = await tempDir('sp-phase-crash-');
  dirs.push(image);
  await rm(image, { recursive: true });
  await new Promise<void>((resolve, reject) => {
    installPacks(
      opts(root, {
        checkpoint: async (name) => {
          if (name !== point) return;
          await cp(root, image, { recursive: true });
          resolve();
          await new Promise(() => {});
        },
      }),
    ).then(() => reject(new Error(`the run never passed ${point}`)), reject);
  });
  return image;
}

describe('the phase table (journal-rules.ts)', () => {
  test('every phase has a row with a failure and a recover outcome, and every move leads to a phase', () => {
    assert.deepEqual(Object.keys(PHASE_TABLE).sort(), [...PHASES].sort());
    for (const p of PHASES) {
      const row = PHASE_TABLE[p];
      assert.ok(row.meaning.length > 0, `${p} says what it means`);
      assert.ok(typeof row.onFailure.action === 'string', `${p} has a failure outcome`);
      assert.ok(typeof row.onRecover.action === 'string', `${p} has a recover outcome`);
      for (const n of row.next) assert.ok(PHASES.includes(n), `${p} -> ${n} leads to a phase`);
    }
    for (const p of JOURNAL_PHASES) assert.ok(PHASES.includes(p), `${p} (recorded) is in the table`);
  });

  test('every phase leads to closed, no move goes back (the table has no cycle), and only closed ends', () => {
    const reaches = (p: Phase, seen: Set<Phase> = new Set()): boolean => {
      assert.ok(!seen.has(p), `a cycle through ${p}`);
      if (p === 'closed') return true;
      const next = PHASE_TABLE[p].next;
      assert.ok(next.length > 0, `${p} is not an end`);
      return next.every((n) => reaches(n, new Set([...seen, p])));
    };
    for (const p of PHASES) assert.ok(reaches(p), `${p} reaches closed`);
  });

  test('the recovery rule is the table: rolled back unless the commit finished, after a hash check', () => {
    assert.deepEqual(PHASE_TABLE.committing.onRecover, { action: 'roll-back', check: 'hashes' });
    assert.deepEqual(PHASE_TABLE.committed.onRecover, { action: 'roll-forward', check: 'moved-out' });
    assert.deepEqual(PHASE_TABLE['rolled-back'].onRecover, { action: 'finish-rollback' });
    assert.deepEqual(PHASE_TABLE.none.onFailure, { action: 'discard' });
  });

  test('a move the table does not list is refused with E_INVALID_STATE', () => {
    for (const from of PHASES)
      for (const to of PHASES) {
        const allowed = PHASE_TABLE[from].next.includes(to);
        try {
          checkTransition(from, to);
          assert.ok(allowed, `${from} -> ${to} was let through`);
        } catch (e) {
          assert.ok(!allowed, `${from} -> ${to} was refused`);
          assert.ok(isServicepackError(e) && e.code === 'E_INVALID_STATE', String(e));
        }
      }
    assert.throws(() => checkTransition('committing', 'half-done'), { code: 'E_INVALID_STATE' });
  });
});

describe('the journal and its phase copies, serialized once', () => {
  test('each copy an install writes is the journal with its phase, byte for byte, and the prepared state record is the state the journal holds, also where a marker could be confused', async () => {
    const root = await rtm();
    let onDisk: { journal: string; committed: string; rolledBack: string; state: string } | undefined;
    await installPacks(
      opts(root, {
        checkpoint: async (name) => {
          if (name !== 'commit:file' || onDisk) return;
          const j = JSON.parse(await readFile(journalPath(root), 'utf8')) as Journal;
          onDisk = {
            journal: await readFile(journalPath(root), 'utf8'),
            committed: await readFile(join(root, ...j.prepared.committed.split('/')), 'utf8'),
            rolledBack: await readFile(join(root, ...j.prepared.rolledBack.split('/')), 'utf8'),
            state: await readFile(join(root, ...j.prepared.state.split('/')), 'utf8'),
          };
        },
      }),
    );
    assert.ok(onDisk, 'the checkpoint ran with the journal open');
    const j = JSON.parse(onDisk.journal) as Journal;
    assert.equal(onDisk.journal, serializeJournal(j));
    assert.equal(onDisk.committed, serializeJournal({ ...j, phase: 'committed' }));
    assert.equal(onDisk.rolledBack, serializeJournal({ ...j, phase: 'rolled-back' }));
    assert.equal(onDisk.state, `${JSON.stringify(j.state.after)}\n`);
    // strings that hold a marker themselves: every copy is serialized on its own, still exact
    const odd = { ...j, staging: `${j.staging}\u0000phase\u0000` };
    const oddState = { ...j, staging: `${j.staging}\u0000state\u0000` };
    for (const journal of [j, odd, oddState]) {
      const copies = journalCopies(journal);
      for (const phase of ['committing', 'committed', 'rolled-back', 'trial'] as const)
        assert.equal(Buffer.concat(copies(phase)).toString('utf8'), serializeJournal({ ...journal, phase }), phase);
      assert.deepEqual(JSON.parse(Buffer.concat(copies.state).toString('utf8')), journal.state.after);
    }
  });
});

describe('every phase change a transaction makes is in the table', () => {
  test('install: none -> committing -> committed -> closed', async () => {
    const root = await rtm();
    const w = watchPhases(root);
    await installPacks(opts(root, w.hooks));
    assert.equal(path(w.moves), 'none->committing committing->committed committed->closed');
  });

  test('uninstall: none -> committing -> committed -> closed', async () => {
    const root = await rtm();
    await installPacks(opts(root, {}));
    const w = watchPhases(root);
    await uninstallUpdate({ root, restart: 'auto', hooks: w.hooks });
    assert.equal(path(w.moves), 'none->committing committing->committed committed->closed');
  });

  test('a failure during the commit: rolled back, then closed', async () => {
    const root = await rtm();
    const w = watchPhases(root, {
      checkpoint: (name) => {
        if (name === 'commit:backed-up') throw Object.assign(new Error('disk gone'), { code: 'EIO' });
      },
    });
    await assert.rejects(installPacks(opts(root, w.hooks)), { code: 'E_FAILED' });
    assert.equal(path(w.moves), 'none->committing committing->rolled-back rolled-back->closed');
  });

  test('a failure after the commit point: finished, then closed', async () => {
    const root = await rtm();
    const w = watchPhases(root, {
      checkpoint: (name) => {
        if (name === 'after:record') throw new Error('late failure');
      },
    });
    await installPacks(opts(root, w.hooks));
    assert.equal(path(w.moves), 'none->committing committing->committed committed->closed');
  });

  test('a failure before the journal: no phase change at all', async () => {
    const root = await rtm();
    const w = watchPhases(root, {
      checkpoint: (name) => {
        if (name === 'journal:prepared') throw new Error('early failure');
      },
    });
    await assert.rejects(installPacks(opts(root, w.hooks)), { code: 'E_FAILED' });
    assert.equal(path(w.moves), '');
  });

  test('recover after a crash before the commit point: committing -> rolled-back -> closed', async () => {
    const image = await crashImage('commit:backed-up');
    const w = watchPhases(image);
    const r = await recoverInstallation({ root: image, hooks: w.hooks });
    assert.equal(r.outcome?.direction, 'rolled-back');
    assert.equal(path(w.moves), 'committing->rolled-back rolled-back->closed');
  });

  test('recover after a crash past the commit point: committed -> closed', async () => {
    const image = await crashImage('record:committed');
    const w = watchPhases(image);
    const r = await recoverInstallation({ root: image, hooks: w.hooks });
    assert.equal(r.outcome?.direction, 'rolled-forward');
    assert.equal(path(w.moves), 'committed->closed');
  });

  test('recover after a crash in rolled-back: only closed is left', async () => {
    const image = await crashImage('commit:backed-up');
    const first = await tempDir('sp-phase-rb-');
    dirs.push(first);
    // recovery crashed right after it wrote rolled-back
    await new Promise<void>((resolve, reject) => {
      recoverInstallation({
        root: image,
        hooks: {
          checkpoint: async (name) => {
            if (name !== 'recover:rolled-back') return;
            await cp(image, first, { recursive: true });
            resolve();
            await new Promise(() => {});
          },
        },
      }).then(() => reject(new Error('recovery never passed recover:rolled-back')), reject);
    });
    assert.equal(phaseOnDisk(first), 'rolled-back');
    await rm(join(first, '.servicepack', 'lock'), { force: true });
    const w = watchPhases(first);
    const r = await recoverInstallation({ root: first, hooks: w.hooks });
    assert.equal(r.outcome?.direction, 'rolled-back');
    assert.equal(path(w.moves), 'rolled-back->closed');
  });
});

describe('a phase outside the table is refused', () => {
  test('setPhase and closeJournal refuse a move the table does not list, writing nothing', async () => {
    const image = await crashImage('record:committed');
    const j = await readJournal(image);
    assert.ok(j);
    const before = await readFile(journalPath(image));
    // committed -> rolled-back would undo a change past its commit point
    await assert.rejects(setPhase(image, j, 'rolled-back'), { code: 'E_INVALID_STATE' });
    await assert.rejects(setPhase(image, j, 'committing'), { code: 'E_INVALID_STATE' });
    await assert.rejects(writeJournal(image, j), { code: 'E_INVALID_STATE' });
    await assert.rejects(closeJournal(image, { id: j.id, phase: 'none' }), { code: 'E_INVALID_STATE' });
    assert.deepEqual(await readFile(journalPath(image)), before, 'journal.json untouched');
  });

  for (const phase of ['none', 'closed', 'committing-again']) {
    test(`a journal that says phase ${JSON.stringify(phase)} is not read, and recover changes nothing`, async () => {
      const image = await crashImage('commit:backed-up');
      const text = await readFile(journalPath(image), 'utf8');
      const forged = JSON.stringify({ ...JSON.parse(text), phase });
      await writeFile(journalPath(image), forged);
      await assert.rejects(readJournal(image), { code: 'E_INVALID_STATE' });
      await rm(join(image, '.servicepack', 'lock'), { force: true });
      await assert.rejects(recoverInstallation({ root: image }), { code: 'E_INVALID_STATE' });
      assert.equal(await readFile(journalPath(image), 'utf8'), forged, 'journal kept as it was');
      assert.throws(() => recordedPhaseRow(phase), { code: 'E_INVALID_STATE' });
    });
  }
});

/** The table as docs/transactions.md §4 shows it, rendered from the code: each outcome (and its check) in words. */
function renderTable(): string {
  const words: Record<string, string> = {
    discard: 'remove staging',
    'roll-back/hashes': 'roll back: each file hash-checked, then its step undone, newest first; then `rolled-back`',
    'stop-service+roll-back/hashes':
      'stop the new level, then roll back: each file hash-checked, then its step undone, newest first; then `rolled-back`',
    'finish-rollback': 'remove staging and the journal, start the service again',
    'roll-forward/none': 'roll forward: state record, cleanup, journal removed; success with a warning',
    'roll-forward/moved-out':
      'roll forward once every move out of staging is seen done (else exit 6): state record, cleanup, service',
    done: 'nothing: the change went through (a warning)',
    'clean-leftovers': 'no journal: remove the leftovers (staging, temp files, dead lock files)',
  };
  const recoverWords: Record<string, string> = {
    ...words,
    'finish-rollback': 'remove staging, record the recovery, start the service again, remove the journal',
  };
  const say = (table: Record<string, string>, how: { action: string; check?: string; first?: string }) => {
    const action = how.first === undefined ? how.action : `${how.first}+${how.action}`;
    const key = how.check === undefined ? action : `${action}/${how.check}`;
    const text = table[key];
    assert.ok(text !== undefined, `the docs have words for ${key}`);
    return text;
  };
  const rows = PHASES.map((p) => {
    const r = PHASE_TABLE[p];
    const next = r.next.length > 0 ? r.next.map((n) => `\`${n}\``).join(', ') : '—';
    return `| \`${p}\` | ${r.meaning} | ${next} | ${say(words, r.onFailure)} | ${say(recoverWords, r.onRecover)} |`;
  });
  return [
    '| phase | meaning | may become | a step fails (in-process) | recover finds it |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

test('docs/transactions.md §4 shows the phase table exactly as the code has it', async () => {
  const doc = await readFile(join(repo, 'docs', 'transactions.md'), 'utf8');
  assert.ok(doc.includes(`${renderTable()}\n`), `docs/transactions.md §4 must contain:\n${renderTable()}`);
});
