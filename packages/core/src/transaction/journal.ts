import { rename, rm, rmdir, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ServicepackError } from '../support/errors.js';
import { errnoCode, fsyncDir, writeFileAtomic } from '../support/fsutil.js';
import { jsonPieces } from '../support/json-pieces.js';
import { checkTransition, journalPathProblem, type Phase, type PhaseObserver } from './journal-rules.js';
import { JOURNAL_FILE } from '../installation/names.js';
import { checkedState } from '../installation/record-check.js';
import { readRecordIfPresent } from '../installation/servicepack-dir.js';
import type { Journal, JournalPhase, JournalStep } from './journal-schema.js';
import { SERVICEPACK_DIR } from '../installation/names.js';

/**
 * The journal (docs/transactions.md §3): `<root>/.servicepack/journal.json`, written atomically and
 * fsynced before the first change to the tree, present exactly while a transaction is open.
 *
 * It holds the plan twice over. `ops` is the plan as people read it (every file with the hashes
 * before and after, where the original goes, where the new content comes from). `steps` is the
 * same plan as the list of primitive operations the commit performs, in order: renames and folder
 * creations. Every primitive is atomic, and the state of each one can be told from the disk alone,
 * so recovery needs no progress counter (which would cost an fsync per file):
 *
 * - a rename `from -> to` is done exactly when `from` is absent and `to` is present. This holds for
 *   every prefix of the commit because each `to` is a path nobody else uses (a fresh backup or
 *   trash path) or a product path whose `from` is a staged or backed-up file that exists until
 *   that very rename consumes it; the journal builder checks both properties.
 * - a mkdir is done exactly when the folder exists (only folders missing at journal time are listed).
 *
 * Undoing steps in reverse order therefore restores the previous tree from any crash point, and
 * undoing again after a crash during the undo finds the steps already undone and skips them. Before
 * a step is undone, what it moved is checked against the journal (`ops` records every file's hash
 * before and after): "from absent, to present" also holds when someone deleted a staged file, and
 * moving the original that is still in place into staging would destroy it.
 *
 * This file builds, checks, writes and reads the journal and moves it between phases; carrying out
 * and undoing its steps is journal-apply.ts.
 */

export { JOURNAL_FILE } from '../installation/names.js';

export type { Journal, JournalOp, JournalPhase, JournalStep } from './journal-schema.js';

export function journalPath(root: string): string {
  return join(root, SERVICEPACK_DIR, JOURNAL_FILE);
}

/** Absolute path of a journal path (validated by the schema, or built by us). */
export function at(root: string, rel: string): string {
  return join(root, ...rel.split('/'));
}

/**
 * One line: the journal is for recovery, not for reading (`servicepack recover` and the transaction
 * log say what it holds), and it is written three times per transaction, each copy carrying the
 * whole new state record: indented, a 10,000-file record makes each copy half as large again.
 */
export function serializeJournal(j: Journal): string {
  return `${JSON.stringify(j)}\n`;
}

/**
 * The journal's bytes for a phase, serializeJournal({ ...journal, phase }), in pieces that are
 * written one after the other (writeFileAtomic): never joined into one buffer per copy. `state` is
 * the new state record as the prepared state.json holds it: the same bytes the journal carries.
 */
export type JournalCopies = ((phase: JournalPhase) => readonly Uint8Array[]) & {
  readonly state: readonly Uint8Array[];
};

/**
 * Serializes `j` once for all the phase copies a transaction writes (journal.json and its prepared
 * copies, each holding the whole new state record) and for the prepared state record. Every copy is
 * the same text but for the phase: the copies share the bytes around it, and the state record is
 * written from the bytes of it they carry (one line, as in the journal). The text is made in
 * pieces of a few dozen KiB (jsonPieces): as one string a 10,000-file journal (2.6 MiB), the state
 * record and their buffers lay in the old generation at the install's peak until a full
 * collection. Each copy is exactly serializeJournal({ ...j, phase }).
 */
export function journalCopies(j: Journal): JournalCopies {
  const phaseHole = {};
  const after = j.state.after;
  const state = jsonPieces(after).segments[0]!;
  const stateFile = [...state, Buffer.from('\n')];
  const { segments, at } = jsonPieces({ ...j, phase: phaseHole }, 0, new Set([phaseHole, after]));
  segments.at(-1)!.push(Buffer.from('\n'));
  // the state record's object met elsewhere too (no journal this engine builds): each copy on its own
  if (at.length !== 2 || !at.includes(phaseHole))
    return Object.assign((phase: JournalPhase) => [...jsonPieces({ ...j, phase }).segments[0]!, Buffer.from('\n')], {
      state: stateFile,
    });
  return Object.assign(
    (phase: JournalPhase) => {
      const phaseBytes = Buffer.from(JSON.stringify(phase), 'utf8');
      return segments.flatMap((seg, i) =>
        i < at.length ? [...seg, ...(at[i] === phaseHole ? [phaseBytes] : state)] : seg,
      );
    },
    { state: stateFile },
  );
}

/** The open journal, or undefined. One that cannot be read is an error: guessing could destroy the only copy of a file. */
export async function readJournal(root: string): Promise<Journal | undefined> {
  const path = journalPath(root);
  const text = await readRecordIfPresent(path);
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw invalidJournal(path, 'it is not valid JSON', e);
  }
  // the schema (and zod) load only here: a transaction that finds no journal never needs them
  const [{ JournalSchema }, { z }] = await Promise.all([import('./journal-schema.js'), import('zod')]);
  const parsed = JournalSchema.safeParse(json);
  if (!parsed.success) throw invalidJournal(path, z.prettifyError(parsed.error).replace(/\s*\n\s*/g, '; '));
  return parsed.data;
}

function invalidJournal(path: string, why: string, cause?: unknown): ServicepackError {
  return new ServicepackError(
    'E_INVALID_STATE',
    `${path} is not a journal this installer can read (${why}), so the interrupted transaction cannot be finished or rolled back automatically: nothing was changed; compare the installation with servicepack verify and restore damaged files from .servicepack/backup/ or the release, then remove ${path}`,
    { path },
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Checks the property recovery relies on (see the top of this file) before anything is written:
 * every rename has one end that no other step mentions. Such a `from` (a staged file, a backed-up
 * original) exists until this rename consumes it; such a `to` (a fresh backup or trash path) is
 * absent until this rename creates it. Either way "from absent and to present" cannot hold before
 * the rename has happened, even when the other end is a product path several steps share (two
 * packs of one run replacing the same file).
 */
export function checkSteps(steps: readonly JournalStep[]): void {
  const uses = new Map<string, number>();
  const use = (p: string) => uses.set(p, (uses.get(p) ?? 0) + 1);
  for (const s of steps) {
    if (s.kind === 'mkdir') use(s.dir);
    else {
      use(s.from);
      use(s.to);
    }
  }
  for (const s of steps) {
    if (s.kind === 'mkdir') {
      if (uses.get(s.dir) !== 1) throw new Error(`internal: the journal uses ${s.dir} in more than one step`);
    } else if (uses.get(s.from) !== 1 && uses.get(s.to) !== 1) {
      throw new Error(
        `internal: the journal step ${s.from} -> ${s.to} shares both ends with other steps, so a crash could not be judged from the disk`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Phase changes and writing the journal

/**
 * Moves the journal to `phase`, a move the phase table allows (journal-rules.ts). The prepared copy
 * is renamed over journal.json (no disk space needed, atomic); when it is gone (it was used, or
 * recovery runs on a journal whose staging was lost) the journal is rewritten instead.
 */
export async function setPhase(
  root: string,
  journal: Journal,
  phase: JournalPhase,
  observe?: PhaseObserver,
): Promise<Journal> {
  checkTransition(journal.phase, phase);
  const moved = () => observe?.({ id: journal.id, from: journal.phase, to: phase });
  const next: Journal = { ...journal, phase };
  const prepared =
    phase === 'committed'
      ? journal.prepared.committed
      : phase === 'rolled-back'
        ? journal.prepared.rolledBack
        : phase === 'trial'
          ? journal.prepared.trial
          : undefined;
  const target = journalPath(root);
  if (prepared !== undefined) {
    try {
      await rename(at(root, prepared), target);
      await fsyncDir(dirname(target));
      await moved();
      return next;
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
    }
  }
  await writeFileAtomic(target, serializeJournal(next));
  await moved();
  return next;
}

/** Every path a journal names, root-relative. */
export function journalPaths(j: Journal): string[] {
  const paths = [
    j.staging,
    j.prepared.committed,
    j.prepared.rolledBack,
    j.prepared.state,
    ...(j.prepared.trial !== undefined ? [j.prepared.trial] : []),
    ...j.finish.pruneDirs,
    ...j.finish.removeTrees,
  ];
  for (const m of j.finish.moves) paths.push(m.from, m.to);
  for (const o of j.ops) {
    paths.push(o.path);
    if (o.backup !== undefined) paths.push(o.backup);
    if (o.source !== undefined) paths.push(o.source);
  }
  for (const s of j.steps) {
    if (s.kind === 'mkdir') paths.push(s.dir);
    else paths.push(s.from, s.to);
  }
  return paths;
}

/**
 * The checks for a journal this process has just built (the journal step), where JournalSchema is
 * for journals read back (recovery). Its shape is its type's, built from input already validated
 * (the signed manifest, the state record); what must hold beyond the type is checked here: every
 * path stays inside the installation (a rename sent elsewhere is the damage recovery could do), the
 * steps can be judged from the disk (checkSteps), and the new state record is one the next run
 * accepts. The schema itself costs about 0.3 s for a 2,000-file pack in a one-shot process (zod
 * compiles each object schema on its first use); tests read every journal the engine writes back
 * through it (crash matrix, recover tests).
 */
export async function checkBuiltJournal(j: Journal): Promise<void> {
  for (const p of journalPaths(j)) {
    const why = journalPathProblem(p);
    if (why)
      throw new Error(`internal: the journal names ${JSON.stringify(p)}, not a path inside the installation (${why})`);
  }
  checkSteps(j.steps);
  if (checkedState(j.state.after) === undefined)
    (await import('../installation/state.js')).StateSchema.parse(j.state.after);
}

/**
 * Writes the prepared phase copies and the new state record into staging; called before
 * journal.json exists. `journal` must have passed checkBuiltJournal (the journal step checks it
 * once; parsing a 10,000-file state record again costs tens of milliseconds per pass).
 */
export async function writePrepared(
  root: string,
  journal: Journal,
  copies: JournalCopies = journalCopies(journal),
): Promise<void> {
  // Three independent files: flushed together, the disk is waited for once instead of three
  // times. All of them settle before a failure is reported, so none is still being written
  // while the caller removes staging.
  const written = await Promise.allSettled([
    writeFileAtomic(at(root, journal.prepared.state), copies.state),
    writeFileAtomic(at(root, journal.prepared.committed), copies('committed')),
    writeFileAtomic(at(root, journal.prepared.rolledBack), copies('rolled-back')),
    ...(journal.prepared.trial !== undefined
      ? [writeFileAtomic(at(root, journal.prepared.trial), copies('trial'))]
      : []),
  ]);
  for (const r of written) if (r.status === 'rejected') throw r.reason;
}

/** `journal` must have passed checkBuiltJournal, as for writePrepared; it opens the transaction. */
export async function writeJournal(
  root: string,
  journal: Journal,
  observe?: PhaseObserver,
  copies?: JournalCopies,
): Promise<void> {
  checkTransition('none', journal.phase);
  await writeFileAtomic(journalPath(root), copies ? copies(journal.phase) : serializeJournal(journal));
  await observe?.({ id: journal.id, from: 'none', to: journal.phase });
}

/** Removes this transaction's staging folder, and staging/ itself once empty. */
export async function removeStaging(root: string, journal: Pick<Journal, 'staging'>): Promise<void> {
  await rm(at(root, journal.staging), { recursive: true, force: true });
  await rmdir(dirname(at(root, journal.staging))).catch(() => {});
}

/** Removes journal.json: the move of `journal` from its phase to `closed`. */
export async function closeJournal(
  root: string,
  journal: { readonly id: string; readonly phase: Phase },
  observe?: PhaseObserver,
): Promise<void> {
  checkTransition(journal.phase, 'closed');
  try {
    await unlink(journalPath(root));
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw e;
  }
  await fsyncDir(join(root, SERVICEPACK_DIR));
  await observe?.({ id: journal.id, from: journal.phase, to: 'closed' });
}
