import { lstatSync, renameSync } from 'node:fs';
import { lstat, mkdir, readFile, rename, rm, rmdir } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { isServicepackError, ServicepackError } from '../support/errors.js';
import { flushInOrder, flushToDisk } from './durable.js';
import { errnoCode, exists, makeDirs } from '../support/fsutil.js';
import { hashFiles } from '../support/hash.js';
import { BACKUP_RECORD } from '../installation/names.js';
import { folderModeFor } from '../installation/servicepack-dir.js';
import type { Journal, JournalStep } from './journal-schema.js';
import { at, journalPath } from './journal.js';

/**
 * Carrying out a journal's steps, undoing them, and the work after the commit point: the half of
 * the journal that touches the product's tree, apart from building and writing the journal
 * (journal.ts), whose header says why every step can be judged from the disk alone.
 */

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
 * Undoes the journal's steps newest first, skipping those not done (see the top of journal.ts).
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
