import { lstatSync, renameSync } from 'node:fs';
import { lstat, mkdir, readFile, rename, rm, rmdir, unlink } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { isServicepackError, ServicepackError } from '../support/errors.js';
import { flushInOrder, flushToDisk } from './durable.js';
import { errnoCode, exists, fsyncDir, makeDirs, writeFileAtomic } from '../support/fsutil.js';
import { hashFiles } from '../support/hash.js';
import { journalPathProblem } from './journal-path.js';
import { BACKUP_RECORD, JOURNAL_FILE } from '../installation/names.js';
import { checkedState } from '../installation/record-check.js';
import { folderModeFor, readRecordFile } from '../installation/servicepack-dir.js';
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

/** The open journal, or undefined. One that cannot be read is an error: guessing could destroy the only copy of a file. */
export async function readJournal(root: string): Promise<Journal | undefined> {
  const path = journalPath(root);
  let text: string;
  try {
    text = await readRecordFile(path);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    if (isServicepackError(e)) throw e;
    throw new ServicepackError('E_IO', `cannot read ${path}: ${(e as Error).message}`, { path }, { cause: e });
  }
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
// Applying and undoing the steps

export type StepCallback = (step: JournalStep, index: number) => void | Promise<void>;

/**
 * Applies `steps` in order; a target that exists already is an error (the plan saw nothing there).
 * Returns the folders to flush, in the order flushPhases gives.
 */
export async function applySteps(
  root: string,
  steps: readonly JournalStep[],
  before: StepCallback,
): Promise<string[][]> {
  const done: Primitive[] = [];
  for (const [i, s] of steps.entries()) {
    await before(s, i);
    if (s.kind === 'mkdir') {
      const dir = at(root, s.dir);
      try {
        await mkdir(dir, { mode: folderModeFor(s.dir) });
      } catch (e) {
        if (errnoCode(e) === 'EEXIST') throw appeared(s.dir);
        throw e;
      }
      done.push({ kind: 'mkdir', dir });
      continue;
    }
    const from = at(root, s.from);
    const to = at(root, s.to);
    // rename() replaces an existing target silently; the plan saw nothing there, so something
    // appeared since: never overwrite what is not backed up. Synchronous calls on purpose: each
    // is microseconds, while an async call is a thread-pool round trip, and a 2,000-file pack
    // makes 8,000 of them in a row.
    if (lstatSync(to, { throwIfNoEntry: false }) !== undefined) throw appeared(s.to);
    renameSync(from, to);
    done.push({ kind: 'rename', from, to });
  }
  return flushPhases(done);
}

/** A primitive as it was carried out, with absolute paths. */
export type Primitive = { kind: 'rename'; from: string; to: string } | { kind: 'mkdir' | 'rmdir'; dir: string };

/**
 * The folders whose entries `done` changed, at the paths they have now (a folder moved later is
 * flushed at its new path, one removed later not at all), in phases to flush one after the other
 * (durable.ts flushInOrder). An entry reaches the disk when its folder is flushed (a rename when
 * the folder receiving it is), and the changes of one name reach it in their order, so any set of
 * flushed folders leaves renames recovery can judge, with two exceptions that the phases rule out:
 * - a folder made here must be on disk before what was put in it: its parent goes first;
 * - a folder removed here must go only after what was moved out of it is on disk: the folders
 *   that received those entries go before its parent.
 * Without created or removed folders this is one phase.
 */
export function flushPhases(done: readonly Primitive[]): string[][] {
  const dirs = new Set<string>();
  // every folder above one in `dirs`: a move of anything else carries nothing along (the usual case)
  const above = new Set<string>();
  const add = (dir: string) => {
    dirs.add(dir);
    for (let a = dirname(dir); a !== dirname(a) && !above.has(a); a = dirname(a)) above.add(a);
  };
  const before: Array<[string, string]> = [];
  const under = (p: string, d: string) => p === d || p.startsWith(`${d}/`);
  const movedOut: Array<{ from: string; to: string }> = [];
  for (const d of done) {
    if (d.kind === 'rename') {
      if (dirs.has(d.from) || above.has(d.from)) {
        // a folder moved: what is known under its old path is now under the new one
        const move = (p: string) => (under(p, d.from) ? d.to + p.slice(d.from.length) : p);
        const moved = [...dirs].map(move);
        dirs.clear();
        above.clear();
        for (const m of moved) add(m);
        for (const c of before) {
          c[0] = move(c[0]);
          c[1] = move(c[1]);
        }
      }
      add(dirname(d.to));
      movedOut.push(d);
    } else if (d.kind === 'mkdir') {
      add(dirname(d.dir));
      before.push([dirname(d.dir), d.dir]);
    } else {
      for (const r of movedOut) if (under(r.from, d.dir)) before.push([dirname(r.to), dirname(d.dir)]);
      // gone, with its entries
      for (const x of [...dirs]) if (under(x, d.dir)) dirs.delete(x);
      add(dirname(d.dir));
    }
  }
  const all = [...dirs];
  const flushed = dirs;
  const phase = new Map(all.map((x) => [x, 0]));
  // longest path over the constraints between folders that are flushed; bounded, so that a cycle
  // (none is known to arise) cannot loop: the folders on it just share the last phase
  for (let round = 0; round < all.length; round++) {
    let changed = false;
    for (const [a, b] of before) {
      if (!flushed.has(a) || !flushed.has(b)) continue;
      if (phase.get(b)! <= phase.get(a)!) {
        phase.set(b, phase.get(a)! + 1);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const phases: string[][] = [];
  for (const [dir, n] of phase) {
    phases[n] ??= [];
    phases[n].push(dir);
  }
  return phases.filter((p) => p !== undefined);
}

/** Flushes what applySteps or revertSteps changed, phase after phase (see flushPhases). */
export async function flushPhasesToDisk(root: string, phases: readonly (readonly string[])[]): Promise<void> {
  await flushInOrder(root, [], phases);
}

function appeared(rel: string): ServicepackError {
  return new ServicepackError(
    'E_FAILED',
    `${rel} appeared while the change was being made (another program is writing into the installation): it was rolled back; stop that program and run again`,
    {
      path: rel,
    },
  );
}

/**
 * Undoes the journal's steps newest first, skipping those not done (see the top of this file).
 * Idempotent: a crash in the middle leaves steps that the next call finds undone. A step is undone
 * only once what it moved is checked (stepProblem): when it is not what the journal says, nothing
 * more is undone and E_NEEDS_RECOVER is thrown (the journal stays). Returns the step it could not
 * undo (permissions, I/O), and stops there too: each step is judged on the assumption that every
 * later one is undone. What was undone is flushed either way.
 */
export async function revertSteps(
  root: string,
  j: Pick<Journal, 'id' | 'steps' | 'ops' | 'staging'>,
  before: StepCallback,
): Promise<string[]> {
  const failures: string[] = [];
  const done: Primitive[] = [];
  let stop: unknown;
  for (let i = j.steps.length - 1; i >= 0 && failures.length === 0 && stop === undefined; i--) {
    const s = j.steps[i]!;
    await before(s, i);
    try {
      if (s.kind === 'mkdir') {
        const dir = at(root, s.dir);
        try {
          await rmdir(dir);
          done.push({ kind: 'rmdir', dir });
        } catch (e) {
          if (errnoCode(e) !== 'ENOENT') throw e;
        }
        continue;
      }
      const from = at(root, s.from);
      const to = at(root, s.to);
      if (!(await exists(from)) && (await exists(to))) {
        const problem = await stepProblem(root, j, s);
        if (problem !== undefined)
          throw cannotUndo(
            root,
            j,
            s,
            `${s.to} is not what the transaction moved there (${problem}) and ${s.from} is missing`,
          );
        // a lost folder is reported, never made anew: what it held is gone too
        if (!(await lstat(dirname(from)).catch(() => undefined))?.isDirectory())
          throw cannotUndo(root, j, s, `the folder ${dirname(s.from)} is missing`);
        await rename(to, from);
        done.push({ kind: 'rename', from: to, to: from });
      }
    } catch (e) {
      if (isServicepackError(e)) stop = e;
      else
        failures.push(
          `${s.kind === 'mkdir' ? `remove folder ${s.dir}` : `move ${s.to} back to ${s.from}`}: ${(e as Error).message}`,
        );
    }
  }
  await flushPhasesToDisk(root, flushPhases(done));
  if (stop !== undefined) throw stop;
  return failures;
}

/** Whether `rel` is `tree` or lies inside it. */
function inside(rel: string, tree: string): boolean {
  return rel === tree || rel.startsWith(`${tree}/`);
}

/**
 * Why the target of rename step `s` (found present, its source absent) is not what the step moved
 * there, or undefined when it is. A file step: the content the journal's op recorded for that end
 * (`before` where the original went, `after` where the new content went). A folder step (a backup
 * folder moved into place, an older one moved aside): a real folder, and a backup folder leaving
 * this transaction's staging must carry this transaction's record.
 */
async function stepProblem(
  root: string,
  j: Pick<Journal, 'id' | 'ops' | 'staging'>,
  s: Extract<JournalStep, { kind: 'rename' }>,
): Promise<string | undefined> {
  const to = at(root, s.to);
  if (s.op === undefined) {
    if (!(await lstat(to)).isDirectory()) return 'a folder was expected there';
    if (!inside(s.from, j.staging)) return undefined;
    let id: unknown;
    try {
      id = (JSON.parse(await readFile(join(to, BACKUP_RECORD), 'utf8')) as { transactionId?: unknown }).transactionId;
    } catch {
      return `its ${BACKUP_RECORD} is missing or unreadable`;
    }
    return id === j.id
      ? undefined
      : `its ${BACKUP_RECORD} belongs to another transaction (${typeof id === 'string' ? id : 'none'})`;
  }
  const op = j.ops[s.op];
  const want = op === undefined ? undefined : s.from === op.path ? op.before : s.to === op.path ? op.after : undefined;
  if (want === undefined) return 'the journal does not say what belongs there';
  const [got] = await hashFiles([to]);
  if (got === undefined) return 'it vanished while it was checked';
  if (got instanceof Error) return `it is not a regular file (${got.message})`;
  if (got.size !== want.size) return `it holds ${got.size} bytes where the journal recorded ${want.size}`;
  if (got.sha256 !== want.sha256)
    return `its sha256 is ${got.sha256.slice(0, 16)}…, the journal recorded ${want.sha256.slice(0, 16)}…`;
  return undefined;
}

function cannotUndo(
  root: string,
  j: Pick<Journal, 'id'>,
  s: Extract<JournalStep, { kind: 'rename' }>,
  problem: string,
): ServicepackError {
  return new ServicepackError(
    'E_NEEDS_RECOVER',
    `cannot undo the move of ${s.from} to ${s.to} (transaction ${j.id}): ${problem}. Undoing it could destroy the only copy of a file, so nothing more was undone and the journal is kept. Find out what changed these files (a cleaner of temporary files, another program, a damaged file system); then either put ${s.from} back and run servicepack recover --root ${root} again, or keep the installation as it is: move ${journalPath(root)} aside and run servicepack verify --root ${root}, which lists every file that differs from the state record`,
    { transactionId: j.id, path: s.to, missing: s.from, problem },
  );
}

/**
 * Before a roll-forward removes staging and the trees the change consumed (an uninstalled backup
 * folder): every step that moves something out of them must have happened. A committed journal
 * with such a source still present did not reach the disk as it says, and removing the tree
 * would delete that file; E_NEEDS_RECOVER then, with nothing removed.
 */
export async function checkMovedOut(root: string, j: Journal): Promise<void> {
  const trees = [j.staging, ...j.finish.removeTrees];
  for (const s of j.steps) {
    if (s.kind !== 'rename' || !trees.some((t) => inside(s.from, t)) || !(await exists(at(root, s.from)))) continue;
    throw new ServicepackError(
      'E_NEEDS_RECOVER',
      `the journal of transaction ${j.id} says the change was committed, but ${s.from} is still there instead of at ${s.to}: finishing would delete it, so nothing was removed and the journal is kept. Copy ${s.from} somewhere safe, check the installation with servicepack verify after moving ${journalPath(root)} aside, and restore what it reports from the copy or the release`,
      { transactionId: j.id, path: s.from, target: s.to },
    );
  }
}

/** Makes the entries of `dirs` (folders inside the installation at `root`) durable; see durable.ts. */
export async function fsyncDirs(root: string, dirs: Iterable<string>): Promise<void> {
  const list = [...dirs];
  if (list.length > 0) await flushToDisk(root, [], list);
}

// ---------------------------------------------------------------------------------------------
// Phase changes and the finishing work

/**
 * Moves the journal to `phase`. The prepared copy is renamed over journal.json (no disk space
 * needed, atomic); when it is gone (it was used, or recovery runs on a journal whose staging was
 * lost) the journal is rewritten instead.
 */
export async function setPhase(root: string, journal: Journal, phase: JournalPhase): Promise<Journal> {
  const next: Journal = { ...journal, phase };
  const prepared =
    phase === 'committed'
      ? journal.prepared.committed
      : phase === 'rolled-back'
        ? journal.prepared.rolledBack
        : undefined;
  const target = journalPath(root);
  if (prepared !== undefined) {
    try {
      await rename(at(root, prepared), target);
      await fsyncDir(dirname(target));
      return next;
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
    }
  }
  await writeFileAtomic(target, serializeJournal(next));
  return next;
}

/** Every path a journal names, root-relative. */
export function journalPaths(j: Journal): string[] {
  const paths = [
    j.staging,
    j.prepared.committed,
    j.prepared.rolledBack,
    j.prepared.state,
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
export async function writePrepared(root: string, journal: Journal): Promise<void> {
  // Three independent files: flushed together, the disk is waited for once instead of three
  // times. All of them settle before a failure is reported, so none is still being written
  // while the caller removes staging.
  const state = `${JSON.stringify(journal.state.after, null, 2)}\n`;
  const written = await Promise.allSettled([
    writeFileAtomic(at(root, journal.prepared.state), state),
    writeFileAtomic(at(root, journal.prepared.committed), serializeJournal({ ...journal, phase: 'committed' })),
    writeFileAtomic(at(root, journal.prepared.rolledBack), serializeJournal({ ...journal, phase: 'rolled-back' })),
  ]);
  for (const r of written) if (r.status === 'rejected') throw r.reason;
}

/** `journal` must have passed checkBuiltJournal, as for writePrepared. */
export async function writeJournal(root: string, journal: Journal): Promise<void> {
  await writeFileAtomic(journalPath(root), serializeJournal(journal));
}

/**
 * The work after the commit point: folders left empty, trees no longer needed, moves out of
 * staging. Idempotent. What it moves is flushed before staging (where it came from) can go.
 */
export async function finishForward(root: string, journal: Journal): Promise<void> {
  const moved = new Set<string>();
  for (const m of journal.finish.moves) {
    const from = at(root, m.from);
    const to = at(root, m.to);
    if ((await exists(from)) && !(await exists(to))) {
      await makeDirs(dirname(to), moved, folderModeFor(posix.dirname(m.to)));
      await rename(from, to);
      moved.add(dirname(to));
    }
  }
  await fsyncDirs(root, moved);
  const changed = new Set<string>();
  for (const t of journal.finish.removeTrees) {
    if (!(await exists(at(root, t)))) continue;
    await rm(at(root, t), { recursive: true, force: true });
    changed.add(dirname(at(root, t)));
  }
  for (const d of [...journal.finish.pruneDirs].sort(
    (a, b) => b.split('/').length - a.split('/').length || (a < b ? 1 : -1),
  )) {
    try {
      await rmdir(at(root, d));
      changed.add(dirname(at(root, d)));
      // gone, with its entries: nothing left to flush there
      changed.delete(at(root, d));
    } catch (e) {
      const code = errnoCode(e);
      if (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    }
  }
  await fsyncDirs(root, changed);
}

/** Removes this transaction's staging folder, and staging/ itself once empty. */
export async function removeStaging(root: string, journal: Pick<Journal, 'staging'>): Promise<void> {
  await rm(at(root, journal.staging), { recursive: true, force: true });
  await rmdir(dirname(at(root, journal.staging))).catch(() => {});
}

export async function closeJournal(root: string): Promise<void> {
  try {
    await unlink(journalPath(root));
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw e;
  }
  await fsyncDir(join(root, SERVICEPACK_DIR));
}
