import { randomBytes } from 'node:crypto';
import { chmod, link, lstat, mkdir, readFile, rename, rm, rmdir, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { ServicepackError } from './errors.js';
import type { EventSink, Step } from './events.js';
import { errnoCode, exists, fsyncDir, inRoot, mkdirParents, removeEmptyDirs, writeFileAtomic } from './fsutil.js';
import type { FileMeta, PlannedOp } from './plan.js';
import { isAlive } from './service.js';
import { SERVICEPACK_DIR } from './state.js';

/**
 * The transaction machinery shared by install (and, later, uninstall and recover): the lock, the
 * step runner, the commit-by-rename primitives with their in-process undo log, and the backup
 * record. Everything happens inside `<root>/.servicepack/` on the same file system as the product,
 * so every commit operation is a rename: atomic per file, no partially written product file ever.
 */

export const LOCK_FILE = 'lock';
export const JOURNAL_FILE = 'journal.json';
export const STAGING_DIR = 'staging';
export const BACKUP_DIR = 'backup';
export const BACKUP_RECORD = 'backup.json';

export function newTransactionId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

// ---------------------------------------------------------------------------------------------
// Lock

export interface LockHandle {
  path: string;
  pid: number;
}

function parseLockPid(text: string): number | undefined {
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * `<root>/.servicepack/lock` holds the owner's pid. The content is written to a private file first
 * and then hard-linked into place: link() fails with EEXIST exactly like O_CREAT|O_EXCL, but the
 * lock never exists half-written, so a reader can tell "busy" from "garbage". A lock whose process
 * is gone is stale (a crash or kill -9): it is replaced, not waited on (DESIGN §5 step 1).
 */
export async function acquireLock(root: string): Promise<LockHandle> {
  const dir = join(root, SERVICEPACK_DIR);
  await mkdir(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const tmp = join(dir, `.lock.${process.pid}.${randomBytes(4).toString('hex')}`);
  await writeFile(tmp, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await link(tmp, path);
        return { path, pid: process.pid };
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST') throw e;
      }
      let holder: number | undefined;
      try {
        holder = parseLockPid(await readFile(path, 'utf8'));
      } catch (e) {
        if (errnoCode(e) === 'ENOENT') continue;
        throw e;
      }
      if (holder !== undefined && holder !== process.pid && isAlive(holder)) {
        throw new ServicepackError(
          'E_BUSY',
          `another servicepack process (pid ${holder}) is working on ${root}: wait for it to finish and run again (if no servicepack is running, remove ${path})`,
          { pid: holder, lock: path },
        );
      }
      // Stale: remove it only if it is still the file we judged, then race for it again.
      const stale = `${path}.stale.${process.pid}`;
      try {
        await rename(path, stale);
        const again = parseLockPid(await readFile(stale, 'utf8'));
        if (again !== holder) {
          // Another process replaced the stale lock between our read and our rename: put it back.
          await rename(stale, path).catch(() => {});
          continue;
        }
        await unlink(stale);
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT') throw e;
      }
    }
    throw new ServicepackError('E_BUSY', `could not take the lock ${path}: other servicepack processes keep taking it; run again later`, { lock: path });
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

export async function releaseLock(lock: LockHandle): Promise<void> {
  try {
    const holder = parseLockPid(await readFile(lock.path, 'utf8'));
    if (holder === lock.pid) await unlink(lock.path);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw e;
  }
}

/** An open journal means an earlier transaction was interrupted: nothing may start before it is settled. */
export async function assertNoOpenJournal(root: string): Promise<void> {
  const path = join(root, SERVICEPACK_DIR, JOURNAL_FILE);
  if (await exists(path)) {
    throw new ServicepackError(
      'E_NEEDS_RECOVER',
      `an interrupted transaction left ${path}: run servicepack recover --root ${root} to finish or roll it back, then run again`,
      { journal: path },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Step runner

/**
 * SEAM for the journal / crash-recovery / fault-injection issue: `checkpoint` is awaited at every
 * step boundary (`after:<step>`) and between committed files (`commit:file`). Nothing is journaled
 * yet; a hook that throws here simulates a failure at exactly that point.
 */
export interface CheckpointInfo {
  step?: Step;
  packId?: string;
  path?: string;
  index?: number;
}
export interface TransactionHooks {
  checkpoint?: (name: string, info: CheckpointInfo) => void | Promise<void>;
}

export interface StepDef<C> {
  name: Step;
  /** resolves to 'skipped' when there was nothing to do (anything else counts as done) */
  run: (ctx: C) => Promise<unknown>;
}

export interface StepContext {
  sink: EventSink;
  hooks: TransactionHooks;
}

export async function checkpoint(ctx: StepContext, name: string, info: CheckpointInfo = {}): Promise<void> {
  await ctx.hooks.checkpoint?.(name, info);
}

/** Runs steps in order, reporting each; the first failure stops the run and is rethrown. */
export async function runSteps<C extends StepContext>(ctx: C, steps: readonly StepDef<C>[]): Promise<void> {
  for (const step of steps) {
    ctx.sink({ type: 'step', step: step.name, state: 'started' });
    let outcome: unknown;
    try {
      outcome = await step.run(ctx);
    } catch (e) {
      ctx.sink({ type: 'step', step: step.name, state: 'failed', message: e instanceof Error ? e.message : String(e) });
      throw e;
    }
    ctx.sink({ type: 'step', step: step.name, state: outcome === 'skipped' ? 'skipped' : 'done' });
    await checkpoint(ctx, `after:${step.name}`, { step: step.name });
  }
}

// ---------------------------------------------------------------------------------------------
// Commit by rename, with an undo log for in-process rollback

type Undo = { kind: 'move'; from: string; to: string } | { kind: 'rmdir'; dir: string } | { kind: 'mkdir'; dir: string } | { kind: 'rmtree'; dir: string };

export class UndoLog {
  private readonly entries: Undo[] = [];
  moved(from: string, to: string): void {
    this.entries.push({ kind: 'move', from, to });
  }
  createdDir(dir: string): void {
    this.entries.push({ kind: 'rmdir', dir });
  }
  removedDir(dir: string): void {
    this.entries.push({ kind: 'mkdir', dir });
  }
  createdTree(dir: string): void {
    this.entries.push({ kind: 'rmtree', dir });
  }
  get size(): number {
    return this.entries.length;
  }
  /**
   * Undoes everything, newest first. It keeps going past a failing entry (the rest can still be
   * restored) and returns what it could not undo, so the caller can say exactly what is left.
   */
  async rollback(): Promise<string[]> {
    const failures: string[] = [];
    const dirs = new Set<string>();
    while (this.entries.length > 0) {
      const u = this.entries.pop()!;
      try {
        if (u.kind === 'move') {
          // `to` is where the file is now; `from` is where it belongs again.
          await mkdir(dirname(u.from), { recursive: true });
          await rename(u.to, u.from);
          dirs.add(dirname(u.from));
        } else if (u.kind === 'rmdir') await rmdir(u.dir);
        else if (u.kind === 'mkdir') await mkdir(u.dir, { recursive: true, mode: 0o755 });
        else await rm(u.dir, { recursive: true, force: true });
      } catch (e) {
        if (!(u.kind === 'rmdir' && errnoCode(e) === 'ENOENT')) failures.push(`${u.kind} ${'dir' in u ? u.dir : `${u.to} -> ${u.from}`}: ${(e as Error).message}`);
      }
    }
    for (const d of dirs) await fsyncDir(d).catch(() => {});
    return failures;
  }
  clear(): void {
    this.entries.length = 0;
  }
}

/** One file of a backup record: what was at `path` before the pack, and what the pack left there. */
export interface BackupFile {
  path: string;
  op: PlannedOp['op'];
  reason: PlannedOp['reason'];
  before?: FileMeta;
  after?: FileMeta;
  /** relative to the backup folder; absent when nothing was there or with --no-backup */
  backup?: string;
}

/**
 * `backup/<pack id>/backup.json`: enough to put the tree back exactly as it was (uninstall):
 * which files to restore from `files/`, which added files and folders to remove, which removed
 * folders to recreate, and the state record as it was before.
 */
export interface BackupRecord {
  format: 1;
  packId: string;
  kind: 'service-pack' | 'hotfix';
  transactionId: string;
  time: string;
  fromLevel: number;
  toLevel: number;
  fromHotfixes: string[];
  toHotfixes: string[];
  files: BackupFile[];
  createdDirs: string[];
  removedDirs: string[];
  spnew: string[];
  kept: string[];
  /** the state record before this pack (null for a fresh vendor release tree) */
  previousState: unknown;
}

export interface CommitTarget {
  root: string;
  /** where originals go; `files/<path>` below it */
  backupDir: string;
  /** resolves an op's `source` to the verified staged file */
  stagedFile: (op: PlannedOp) => string;
}

export type CommitProgress = (op: PlannedOp, index: number) => void | Promise<void>;

/**
 * Commits `ops` in order: original into the backup, staged file into place (mode set first, so
 * the file never appears with the wrong permissions), empty folders left by deletions removed.
 * Every action is logged in `undo` before the next one starts. Returns the folders touched (to
 * fsync) and the folders created or removed (for the backup record).
 */
export async function commitOps(
  target: CommitTarget,
  ops: readonly PlannedOp[],
  undo: UndoLog,
  between: CommitProgress,
): Promise<{ touched: Set<string>; createdDirs: string[]; removedDirs: string[]; files: BackupFile[] }> {
  const { root, backupDir } = target;
  const filesDir = join(backupDir, 'files');
  const touched = new Set<string>();
  const createdDirs: string[] = [];
  const removedDirs: string[] = [];
  const files: BackupFile[] = [];
  const rel = (abs: string) => posix.join(...abs.slice(root.length + 1).split(/[\\/]/));

  for (const [index, op] of ops.entries()) {
    await between(op, index);
    const dest = inRoot(root, op.path);
    const entry: BackupFile = { path: op.path, op: op.op, reason: op.reason, ...(op.before ? { before: op.before } : {}), ...(op.after ? { after: op.after } : {}) };
    if (op.before) {
      const saved = inRoot(filesDir, op.path);
      await mkdir(dirname(saved), { recursive: true });
      await rename(dest, saved);
      undo.moved(dest, saved);
      touched.add(dirname(saved));
      touched.add(dirname(dest));
      entry.backup = `files/${op.path}`;
    } else if (await exists(dest)) {
      // The plan saw nothing here; something appeared since. Never overwrite what we did not back up.
      throw new ServicepackError('E_FAILED', `${dest} appeared while the update was being installed: nothing was changed; run again`, { path: op.path });
    }
    if (op.after) {
      for (const d of await mkdirParents(root, posix.dirname(op.path))) {
        undo.createdDir(d);
        createdDirs.push(rel(d));
        touched.add(dirname(d));
      }
      const src = target.stagedFile(op);
      await chmod(src, op.after.mode);
      await rename(src, dest);
      undo.moved(src, dest);
      touched.add(dirname(dest));
    } else {
      for (const d of await removeEmptyDirs(root, dirname(dest))) {
        undo.removedDir(d);
        removedDirs.push(rel(d));
        touched.add(dirname(d));
      }
    }
    files.push(entry);
  }
  return { touched, createdDirs, removedDirs, files };
}

export async function fsyncAll(dirs: Iterable<string>): Promise<void> {
  for (const d of dirs) await fsyncDir(d);
}

export async function writeBackupRecord(backupDir: string, record: BackupRecord): Promise<void> {
  await writeFileAtomic(join(backupDir, BACKUP_RECORD), `${JSON.stringify(record, null, 2)}\n`);
}

/**
 * Makes room for `backup/<pack id>/` when an old folder of that name exists (left by a pack that
 * was installed before the state record was lost, say). It is moved aside, never deleted: it may
 * be the only copy of somebody's files (KB Q248102: re-applying an SP destroyed its own backup).
 */
export async function clearBackupSlot(backupDir: string, txid: string, undo: UndoLog): Promise<string | undefined> {
  try {
    await lstat(backupDir);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
  const aside = `${backupDir}.replaced-${txid}`;
  await rename(backupDir, aside);
  undo.moved(backupDir, aside);
  return aside;
}
