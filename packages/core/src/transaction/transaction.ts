import { randomBytes } from 'node:crypto';
import { lstatSync } from 'node:fs';
import { link, readdir, rename, rm, rmdir, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { isServicepackError, ServicepackError } from '../support/errors.js';
import type { EventSink, Step } from '../support/events.js';
import { errnoCode, fsyncDir, isDirectory, makeDirs, writeFileAtomic } from '../support/fsutil.js';
import { disposeGarbage, moveToGarbage } from './garbage.js';
import {
  applySteps,
  at,
  checkBuiltJournal,
  closeJournal,
  finishForward,
  flushPhasesToDisk,
  type Journal,
  removeStaging,
  revertSteps,
  setPhase,
  writeJournal,
  writePrepared,
} from './journal.js';
import type { FileMeta, PlannedOp } from '../rules/plan.js';
import { serviceStatus, startService, stopService } from '../installation/service.js';
import { LOCK_FILE, ownerAlive, parseLock, processStart } from './open-transaction.js';
import { BACKUP_DIR, BACKUP_RECORD, SAVED_DIR, SERVICEPACK_DIR, STAGING_DIR } from '../installation/names.js';
import type { State } from '../installation/state.js';
import {
  checkOneFileSystem,
  isRealFolder,
  notFollowed,
  PRIVATE_DIR_MODE,
  prepareServicepackDir,
  readRecordFile,
} from '../installation/servicepack-dir.js';
import { statePath, writeState } from '../installation/state-store.js';

/**
 * The transaction machinery shared by install, uninstall and recover (docs/transactions.md §2): the lock, the
 * step runner with its checkpoints, and the journaled half of every change (journal, stop the
 * service, commit by rename, record, restart, clean up) together with what happens when it fails.
 * Everything the installer writes lives in `<root>/.servicepack/`, on the product's own file
 * system, so every commit operation is a rename: atomic per file, no half-written product file.
 */

export { BACKUP_DIR, BACKUP_RECORD, SAVED_DIR, STAGING_DIR } from '../installation/names.js';

export { assertNoOpenJournal, assertNoOpenTransaction, LOCK_FILE, lockHolder } from './open-transaction.js';

export function newTransactionId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** A caller-chosen transaction id names folders under .servicepack/ and the journal: letters, digits and dashes only. */
export function checkTransactionId(id: string): string {
  if (!/^[0-9A-Za-z][0-9A-Za-z-]{0,63}$/.test(id))
    throw new ServicepackError(
      'E_USAGE',
      `transaction id ${JSON.stringify(id)}: use letters, digits and dashes (at most 64)`,
    );
  return id;
}

// ---------------------------------------------------------------------------------------------
// Lock

export interface LockHandle {
  path: string;
  pid: number;
}

/**
 * `<root>/.servicepack/lock` holds the owner's pid and start time. The content is written to a
 * private file first and then hard-linked into place: link() fails with EEXIST exactly like
 * O_CREAT|O_EXCL, but the lock never exists half-written, so a reader can tell "busy" from
 * "garbage". A lock whose process is gone is stale (a crash or kill -9): it is replaced, not
 * waited on (docs/transactions.md §6).
 */
export async function acquireLock(root: string): Promise<LockHandle> {
  const dir = join(root, SERVICEPACK_DIR);
  // every command that changes the installation comes through here first
  await prepareServicepackDir(root);
  const path = join(dir, LOCK_FILE);
  const tmp = join(dir, `.lock.${process.pid}.${randomBytes(4).toString('hex')}`);
  const start = await processStart(process.pid);
  try {
    await writeFile(tmp, `${process.pid}${start !== undefined ? ` ${start}` : ''}\n`, { flag: 'wx', mode: 0o644 });
  } catch (e) {
    // a full disk can create the file and then fail the write: leave nothing behind
    await unlink(tmp).catch(() => {});
    throw e;
  }
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await link(tmp, path);
        return { path, pid: process.pid };
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST') throw e;
      }
      let text: string;
      try {
        text = await readRecordFile(path);
      } catch (e) {
        if (errnoCode(e) === 'ENOENT') continue;
        throw e;
      }
      const holder = parseLock(text);
      if (holder !== undefined && holder.pid !== process.pid && (await ownerAlive(holder))) {
        throw new ServicepackError(
          'E_BUSY',
          `another servicepack process (pid ${holder.pid}) is working on ${root}: wait for it to finish and run again (if no servicepack is running, remove ${path})`,
          { pid: holder.pid, lock: path },
        );
      }
      // Stale: remove it only if it is still the file we judged, then race for it again.
      const stale = `${path}.stale.${process.pid}`;
      try {
        await rename(path, stale);
        const again = await readRecordFile(stale);
        if (again !== text) {
          // Another process replaced the stale lock between our read and our rename: put it back.
          await rename(stale, path).catch(() => {});
          continue;
        }
        await unlink(stale);
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT') throw e;
      }
    }
    throw new ServicepackError(
      'E_BUSY',
      `could not take the lock ${path}: other servicepack processes keep taking it; run again later`,
      { lock: path },
    );
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

export async function releaseLock(lock: LockHandle): Promise<void> {
  try {
    const holder = parseLock(await readRecordFile(lock.path));
    if (holder?.pid === lock.pid) await unlink(lock.path);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Step runner and checkpoints

/**
 * Checkpoints are the named points of a transaction (docs/transactions.md lists them): every step
 * boundary (`after:<step>`), every file of the commit, and the points inside recovery. Tests hang
 * fault injection on them (the installer's SERVICEPACK_FAULT); without a hook they cost nothing.
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

/** Every checkpoint name with where it is, for the documentation and the fault-injection hook. */
export const CHECKPOINTS: Readonly<Record<string, string>> = {
  begin: 'before anything, even the lock (install, uninstall, recover)',
  'after:lock': 'the lock is held',
  'after:recover': 'an interrupted transaction found at the start was settled (or there was none)',
  'after:detect': 'the installation was identified',
  'after:verify': 'install: every pack was verified (signature, schema, applicability)',
  'after:plan': 'every file operation was decided',
  'after:stage': 'payloads (install) or the uninstall skeleton were written to staging',
  'journal:prepared': 'the prepared phase copies and new state record are in staging; journal.json not yet written',
  'after:journal': 'journal.json is on disk: from here on a crash is recovered by the journal',
  'after:stop-service': 'the service was stopped (or did not need to be)',
  'commit:prepare': 'before a commit step that belongs to no file (the backup folder moves)',
  'commit:file': 'before the first change to one file (n-th hit = n-th file)',
  'commit:backed-up': 'the original of a file is in the backup, the new content not yet in place',
  'commit:mkdir': 'before creating a further missing folder for a file',
  'after:commit': 'every file is in place and fsynced; the journal still says committing',
  'record:committed': 'the journal says committed (the commit point); the state record is still the old one',
  'after:record': 'the new state record is in place',
  'after:restart': 'the service was started again (or did not need to be)',
  'cleanup:staging': 'staging is gone; journal.json not yet removed',
  'after:cleanup': 'the transaction is closed',
  'rollback:step': 'in-process rollback after a failure, before undoing each commit step (newest first)',
  'recover:step': 'recovery rolling back, before undoing each commit step (newest first)',
  'recover:reverted': 'recovery rolled the files back; the journal still says committing',
  'recover:rolled-back': 'the journal says rolled-back; staging not yet removed',
  'recover:cleaned': 'recovery removed staging (and finished the moves of a roll-forward)',
  'recover:recorded': 'recovery wrote the state record and its history entry; journal.json not yet removed',
};

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
// Backup records

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
  /** whether the service must restart when this pack's files change (the manifest's `restart`) */
  restart?: boolean;
  /** the state record before this pack (null for a fresh vendor release tree, or for a later pack of one run) */
  previousState: unknown;
}

export async function writeBackupRecord(backupDir: string, record: BackupRecord): Promise<void> {
  await writeFileAtomic(join(backupDir, BACKUP_RECORD), `${JSON.stringify(record, null, 2)}\n`);
}

// ---------------------------------------------------------------------------------------------
// The journaled half of a transaction, shared by install and uninstall

export interface JournaledContext extends StepContext {
  readonly root: string;
  readonly spDir: string;
  readonly txid: string;
  /** this transaction's staging folder (absolute) */
  readonly stagingRoot: string;
  /** built by the command's plan/stage steps; written by the journal step */
  draft?: Journal;
  journal?: Journal;
  lock?: LockHandle;
  stopTimeoutMs?: number;
  service: { wasRunning: boolean; stopped: boolean; restarted: boolean; pid?: number };
  restartRequired: boolean;
  restartMessage?: string;
  /** the journal says committed: from here on the change is only ever finished, never undone */
  committed: boolean;
  recorded: boolean;
}

export const STAGING_REL = `${SERVICEPACK_DIR}/${STAGING_DIR}`;

/** Root-relative POSIX form of an absolute path inside the root. */
export function relTo(root: string, abs: string): string {
  return posix.join(...abs.slice(root.length + 1).split(/[\\/]/));
}

export function preparedPaths(txid: string): Journal['prepared'] {
  const s = `${STAGING_REL}/${txid}`;
  return {
    committed: `${s}/journal.committed.json`,
    rolledBack: `${s}/journal.rolled-back.json`,
    state: `${s}/state.json`,
  };
}

/**
 * The folders above a relative path, innermost first. Records are checked before they get here;
 * still, this ends on any input: `posix.dirname` never reaches `.` from an absolute path (it stays
 * at `/`), and a forged record once made that an endless loop holding the lock.
 */
function* parentFolders(rel: string): Generator<string> {
  for (let d = posix.dirname(rel), prev = rel; d !== '.' && d !== '/' && d !== prev; prev = d, d = posix.dirname(d))
    yield d;
}

/**
 * Folders that the change leaves empty: the parents of removed files that hold nothing the tree
 * keeps afterwards (`finalFiles`), deepest first. Predicted before the commit so that the backup
 * record can say which folders to recreate, and pruned only after the commit point, so that a
 * rollback never needs to create a folder (which could fail on a full disk).
 */
export async function predictEmptied(
  root: string,
  removed: readonly string[],
  finalFiles: Iterable<string>,
): Promise<string[]> {
  const keep = new Set<string>();
  for (const p of finalFiles) for (const d of parentFolders(p)) keep.add(d);
  const memo = new Map<string, boolean>();
  const empties = async (d: string): Promise<boolean> => {
    const known = memo.get(d);
    if (known !== undefined) return known;
    let result = !keep.has(d);
    if (result) {
      const entries = await readdir(at(root, d), { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        if (e.isDirectory() && !(await empties(`${d}/${e.name}`))) {
          result = false;
          break;
        }
      }
    }
    memo.set(d, result);
    return result;
  };
  const out = new Set<string>();
  for (const p of removed) {
    for (const d of parentFolders(p)) {
      if (!(await empties(d))) break;
      out.add(d);
    }
  }
  return [...out].sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? -1 : 1));
}

/**
 * Missing parent folders of `rel`, outermost first, that no earlier step creates; `known` caches
 * what exists (or will, once earlier steps ran) across the whole plan.
 */
export async function missingParents(root: string, rel: string, known: Map<string, boolean>): Promise<string[]> {
  const out: string[] = [];
  const segs = rel.split('/').slice(0, -1);
  let d = '';
  for (const s of segs) {
    d = d ? `${d}/${s}` : s;
    let there = known.get(d);
    if (there === undefined) {
      there = await isDirectory(at(root, d));
      known.set(d, there);
    }
    if (!there) {
      out.push(d);
      known.set(d, true);
    }
  }
  return out;
}

/**
 * Creates this transaction's staging folder (private, and a real folder all the way down from the
 * root: nothing staged may land elsewhere), after checking that it and the folders of
 * `.servicepack/` the commit moves into are on the installation's file system; the journal step
 * checks the product's folders once the plan names them. Before anything is extracted.
 */
export async function createStaging(ctx: JournaledContext, made: Set<string>): Promise<void> {
  await makeDirs(ctx.stagingRoot, made, PRIVATE_DIR_MODE);
  const rel = relTo(ctx.root, ctx.stagingRoot);
  if (!isRealFolder(ctx.root, rel))
    throw notFollowed(ctx.stagingRoot, lstatSync(ctx.stagingRoot, { throwIfNoEntry: false }));
  checkOneFileSystem(ctx.root, [rel, `${SERVICEPACK_DIR}/${BACKUP_DIR}`, `${SERVICEPACK_DIR}/${SAVED_DIR}`]);
}

/**
 * The folders a journal's renames (and the phase and record renames) move entries in or out of,
 * but those inside this transaction's staging folder: createStaging checked it, and nothing
 * mounts on a folder made a moment ago under a fresh name.
 */
function renameFolders(j: Journal): string[] {
  const dirs = new Set<string>([SERVICEPACK_DIR, j.staging]);
  const add = (d: string): void => {
    if (!d.startsWith(`${j.staging}/`)) dirs.add(d);
  };
  for (const s of j.steps) {
    if (s.kind === 'mkdir') add(s.dir);
    else {
      add(posix.dirname(s.from));
      add(posix.dirname(s.to));
    }
  }
  for (const m of j.finish.moves) {
    add(posix.dirname(m.from));
    add(posix.dirname(m.to));
  }
  return [...dirs];
}

const journalStep: StepDef<JournaledContext> = {
  name: 'journal',
  run: async (ctx) => {
    const draft = ctx.draft!;
    // What recovery must restore includes the service: its state is read right before the
    // journal is written, and the journal says whether this transaction stops it.
    const status = await serviceStatus(ctx.root, draft.service.before);
    if (status.distrust)
      ctx.sink({
        type: 'warning',
        code: status.distrust.code,
        message: status.distrust.message,
        path: draft.service.before.service.pidFile,
      });
    ctx.service.wasRunning = status.running;
    if (status.pid !== undefined) ctx.service.pid = status.pid;
    const journal: Journal = {
      ...draft,
      service: {
        ...draft.service,
        wasRunning: status.running,
        ...(status.pid !== undefined ? { pid: status.pid } : {}),
        stop: status.running && draft.service.stop,
      },
    };
    await checkBuiltJournal(journal);
    checkOneFileSystem(ctx.root, renameFolders(journal));
    await writePrepared(ctx.root, journal);
    await checkpoint(ctx, 'journal:prepared', { step: 'journal' });
    await writeJournal(ctx.root, journal);
    ctx.journal = journal;
  },
};

const stopServiceStep: StepDef<JournaledContext> = {
  name: 'stop-service',
  run: async (ctx) => {
    const j = ctx.journal!;
    if (!j.service.stop) return 'skipped';
    // Also with --no-restart: files are never replaced under a running server (it could load a
    // mix of old and new modules); -z only means it is not started again afterwards.
    ctx.sink({ type: 'info', message: `stopping ${j.service.before.product} (pid ${j.service.pid})` });
    await stopService(
      ctx.root,
      j.service.before,
      ctx.stopTimeoutMs !== undefined ? { timeoutMs: ctx.stopTimeoutMs } : {},
    );
    ctx.service.stopped = true;
  },
};

const commitStep: StepDef<JournaledContext> = {
  name: 'commit',
  run: async (ctx) => {
    const j = ctx.journal!;
    const totalFiles = j.ops.length;
    const totalBytes = j.ops.reduce((n, o) => n + (o.after?.size ?? 0), 0);
    let files = 0;
    let bytes = 0;
    const started = new Set<number>();
    const phases = await applySteps(ctx.root, j.steps, async (s, i) => {
      if (s.op === undefined) return checkpoint(ctx, 'commit:prepare', { step: 'commit', index: i });
      const op = j.ops[s.op]!;
      const info = { step: 'commit' as const, packId: op.pack, path: op.path, index: s.op };
      if (!started.has(s.op)) {
        started.add(s.op);
        await checkpoint(ctx, 'commit:file', info);
        ctx.sink({ type: 'progress', step: 'commit', files: files++, totalFiles, bytes, totalBytes, path: op.path });
        bytes += op.after?.size ?? 0;
        return;
      }
      await checkpoint(ctx, s.kind === 'rename' ? 'commit:backed-up' : 'commit:mkdir', info);
    });
    await flushPhasesToDisk(ctx.root, phases);
    ctx.sink({ type: 'progress', step: 'commit', files, totalFiles, bytes, totalBytes });
  },
};

/** Puts the new state record in place: the prepared copy by rename, or written from the journal. */
async function installState(root: string, j: Journal, extra: State['history'] = []): Promise<void> {
  if (extra.length === 0) {
    try {
      await rename(at(root, j.prepared.state), statePath(root));
      await fsyncDir(dirname(statePath(root)));
      return;
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
    }
  }
  await writeState(root, { ...j.state.after, history: [...j.state.after.history, ...extra] });
}

const recordStep: StepDef<JournaledContext> = {
  name: 'record',
  run: async (ctx) => {
    ctx.journal = await setPhase(ctx.root, ctx.journal!, 'committed');
    ctx.committed = true;
    await checkpoint(ctx, 'record:committed', { step: 'record' });
    await installState(ctx.root, ctx.journal);
    ctx.recorded = true;
  },
};

const restartStep: StepDef<JournaledContext> = {
  name: 'restart',
  run: async (ctx) => {
    if (!ctx.service.stopped) return 'skipped';
    const j = ctx.journal!;
    const bi = j.service.after;
    if (j.service.restart === 'never') {
      ctx.restartRequired = true;
      ctx.restartMessage = `${bi.product} was stopped for the change and not started again (--no-restart): start it with bin/inetsrv start`;
      return 'skipped';
    }
    const started = await startService(ctx.root, bi);
    if (started.started) {
      ctx.service.restarted = true;
      ctx.sink({ type: 'info', message: `${bi.product} started again (pid ${started.pid})` });
      return;
    }
    ctx.restartRequired = true;
    ctx.restartMessage = `the change is made but ${bi.product} could not be started again (${started.message}): start it with bin/inetsrv start`;
    ctx.sink({ type: 'warning', code: 'W_RESTART_FAILED', message: ctx.restartMessage });
  },
};

const cleanupStep: StepDef<JournaledContext> = {
  name: 'cleanup',
  run: async (ctx) => {
    const j = ctx.journal!;
    await finishForward(ctx.root, j);
    // Staging holds what the change threw away after an uninstall (the update's files) or an
    // install without backup (the replaced originals): that can be hundreds of MiB, deleted in the
    // background (garbage.ts). After an install with backup, whose originals moved on to backup/,
    // it is nearly empty, and deleting it here costs less than starting a process.
    const discards = j.action === 'uninstall' || j.packs.some((p) => p.backup === undefined);
    if (!discards || !moveToGarbage(ctx.root, j.staging)) await removeStaging(ctx.root, j);
    await checkpoint(ctx, 'cleanup:staging', { step: 'cleanup' });
    await closeJournal(ctx.root);
    await disposeGarbage(ctx.root);
  },
};

/** journal → stop-service → commit → record → restart → cleanup: the same for every change to an installation. */
export const JOURNALED_STEPS: readonly StepDef<JournaledContext>[] = [
  journalStep,
  stopServiceStep,
  commitStep,
  recordStep,
  restartStep,
  cleanupStep,
];

/**
 * What a failure leaves behind, in-process. Before the journal exists: only staging, removed.
 * Before the commit point: the steps are undone from the journal (the same idempotent undo that
 * recovery uses), the journal is closed, the service started again. After the commit point the
 * change is finished instead (never half undone), and the caller reports success with a warning.
 * Returns the error to throw, or undefined when the change went through.
 */
export async function settleFailure(ctx: JournaledContext, error: unknown): Promise<unknown> {
  const j = ctx.journal;
  if (j && ctx.committed) {
    ctx.sink({
      type: 'warning',
      code: 'W_AFTER_COMMIT',
      message: error instanceof Error ? error.message : String(error),
    });
    try {
      if (!ctx.recorded) {
        await installState(ctx.root, j);
        ctx.recorded = true;
      }
      await finishForward(ctx.root, j);
      await removeStaging(ctx.root, j);
      await closeJournal(ctx.root);
    } catch (e) {
      return new ServicepackError(
        'E_NEEDS_RECOVER',
        `the change is committed but could not be finished (${(e as Error).message}): run servicepack recover --root ${ctx.root}`,
        {},
        { cause: e },
      );
    }
    if (ctx.service.stopped && !ctx.service.restarted && !ctx.restartRequired) {
      ctx.restartRequired = true;
      ctx.restartMessage = `the change is made but ${j.service.after.product} was not started again: start it with bin/inetsrv start`;
    }
    return undefined;
  }
  let failures: string[] = [];
  if (j) {
    try {
      failures = await revertSteps(ctx.root, j, (_s, i) => checkpoint(ctx, 'rollback:step', { index: i }));
    } catch (e) {
      // Anything that stops the undo itself (the final flush of the folders, say) leaves the
      // journal open and the tree part-way: that is exit 6 (recover), never "rolled back".
      failures = [`undoing the change: ${(e as Error).message}`];
    }
    if (failures.length === 0) {
      try {
        await setPhase(ctx.root, j, 'rolled-back');
        await removeStaging(ctx.root, j);
        await closeJournal(ctx.root);
      } catch (e) {
        failures.push(`closing the journal: ${(e as Error).message}`);
      }
    }
  } else {
    await rm(ctx.stagingRoot, { recursive: true, force: true }).catch(() => {});
    await rmdir(dirname(ctx.stagingRoot)).catch(() => {});
  }
  if (ctx.service.stopped && failures.length === 0) {
    const bi = j!.service.before;
    const started = await startService(ctx.root, bi).catch((e: unknown) => ({ started: false, message: String(e) }));
    if (!started.started)
      ctx.sink({
        type: 'warning',
        code: 'W_RESTART_FAILED',
        message: `the previous version was restored but could not be started again: start it with bin/inetsrv start`,
      });
  }
  if (failures.length > 0) {
    return new ServicepackError(
      'E_NEEDS_RECOVER',
      `${error instanceof Error ? error.message : String(error)}; rolling back also failed for: ${failures.join('; ')}: the journal is kept; run servicepack recover --root ${ctx.root} once the cause is fixed`,
      { rollbackFailures: failures, ...(isServicepackError(error) ? { cause: error.code } : {}) },
      { cause: error },
    );
  }
  if (isServicepackError(error)) return error;
  // An unexpected failure (I/O, a bug) after which everything was put back: exit 1 says exactly that.
  const code = errnoCode(error);
  const hint = code === 'ENOSPC' ? ' (the disk is full: free some space and run again)' : '';
  return new ServicepackError(
    'E_FAILED',
    `${error instanceof Error ? error.message : String(error)}${hint}: the installation was rolled back, nothing changed`,
    code ? { errno: code } : {},
    {
      cause: error,
    },
  );
}

export async function stagingLeftovers(root: string): Promise<string[]> {
  const dir = join(root, SERVICEPACK_DIR, STAGING_DIR);
  try {
    return (await readdir(dir)).map((n) => `${STAGING_REL}/${n}`);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return [];
    throw e;
  }
}
