import { randomBytes } from 'node:crypto';
import { link, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isServicepackError, ServicepackError } from '../support/errors.js';
import type { EventSink, Step } from '../support/events.js';
import { errnoCode } from '../support/fsutil.js';
import type { PhaseObserver } from './journal-rules.js';
import { LOCK_FILE, ownerAlive, parseLock, processStart } from './open-transaction.js';
import { MAX_LOCK_WAIT_SECONDS, SERVICEPACK_DIR } from '../installation/names.js';
import { prepareServicepackDir, readRecordFile } from '../installation/servicepack-dir.js';

/**
 * The transaction machinery shared by install, uninstall and recover (docs/transactions.md §2): the lock and the
 * step runner with its checkpoints, the two things every command that changes an installation goes
 * through, whether or not it journals. The journaled half of a change is journaled-steps.ts, what a
 * failure leaves behind settle-failure.ts, the backup record backup-record.ts.
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
async function tryLock(root: string): Promise<LockHandle> {
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

export interface LockWait {
  /**
   * How long to wait for a live holder to let go, in seconds (apt's DPkg::Lock::Timeout); 0 or
   * absent refuses at once (exit 5). A stale lock is never waited on, whatever this says.
   */
  seconds?: number;
  /** told, once per holder, that the run waits */
  sink?: EventSink;
}

/**
 * acquireLock waits for a busy lock up to `wait.seconds`, polling with a doubling delay (50 ms to
 * 1 s): a holder that ends is followed within a second, and a long wait costs one attempt a second.
 * When the time is up the refusal is the one without waiting, saying how long was waited.
 */
export async function acquireLock(root: string, wait: LockWait = {}): Promise<LockHandle> {
  const seconds = Math.min(Math.max(wait.seconds ?? 0, 0), MAX_LOCK_WAIT_SECONDS);
  if (!(seconds > 0)) return tryLock(root);
  const deadline = Date.now() + seconds * 1000;
  let delay = 50;
  let told: unknown = null;
  for (;;) {
    try {
      return await tryLock(root);
    } catch (e) {
      if (!isServicepackError(e) || e.code !== 'E_BUSY') throw e;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new ServicepackError('E_BUSY', `waited ${seconds} s for the lock: ${e.message}`, {
          ...e.details,
          waited: seconds,
        });
      }
      const pid = e.details['pid'];
      if (pid !== told) {
        told = pid;
        wait.sink?.({
          type: 'info',
          message: `waiting for the lock held by ${typeof pid === 'number' ? `pid ${pid}` : 'another servicepack process'} on ${root} (up to ${seconds} s)…`,
        });
      }
      await new Promise((r) => setTimeout(r, Math.min(delay, left)));
      delay = Math.min(delay * 2, 1000);
    }
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
  /** every phase change of the journal, once it is on disk (journal-rules.ts) */
  phase?: PhaseObserver;
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
  'trial:begun': 'the journal says trial (a health check follows); the new level is not started yet',
  'trial:started': 'the new level was started for its health check, not yet probed',
  'after:trial': 'the health check passed (or the change has none); the journal still says trial or committing',
  'record:committed': 'the journal says committed (the commit point); the state record is still the old one',
  'after:record': 'the new state record is in place',
  'after:restart': 'the service was started again (or did not need to be)',
  'cleanup:staging': 'staging is gone; journal.json not yet removed',
  'after:cleanup': 'the transaction is closed',
  'rollback:stopped': 'in-process rollback of a failed trial: the new level was stopped, nothing undone yet',
  'rollback:step': 'in-process rollback after a failure, before undoing each commit step (newest first)',
  'rollback:restarted':
    'a failed trial rolled back and recorded, the old level started and checked again; staging and journal not yet removed',
  'recover:stopped': 'recovery of a transaction caught on trial: the new level was stopped, nothing undone yet',
  'recover:step': 'recovery rolling back, before undoing each commit step (newest first)',
  'recover:reverted': 'recovery rolled the files back; the journal still says committing',
  'recover:rolled-back': 'the journal says rolled-back; staging not yet removed',
  'recover:cleaned': 'recovery removed staging (and finished the moves of a roll-forward)',
  'recover:recorded': 'recovery wrote the state record and its history entry; journal.json not yet removed',
};

/**
 * A step declares the part of the context it reads (`N`, a `Pick` of what the steps before it
 * added) and resolves to what it adds (`A`), which runStep merges into the context: so a step can
 * only be run where what it reads is there, checked by the compiler, with no `!` in the step.
 */
export interface StepDef<N, A extends object | undefined = undefined> {
  name: Step;
  /** resolves to what the step adds; one that adds nothing resolves to 'skipped' when there was nothing to do */
  run: (ctx: N) => Promise<A extends object ? A : unknown>;
}

export interface StepContext {
  sink: EventSink;
  hooks: TransactionHooks;
}

export async function checkpoint(ctx: StepContext, name: string, info: CheckpointInfo = {}): Promise<void> {
  await ctx.hooks.checkpoint?.(name, info);
}

/** `C` once a step added `A`: what it adds replaces what was there under the same names, as Object.assign does. */
export type WithAdded<C, A> = A extends object ? Omit<C, keyof A> & A : C;

/**
 * Runs one step, reporting it; a failure is reported and rethrown. What the step adds is merged
 * into `ctx` itself (the same object, so that failure settling sees everything the run got to),
 * and the context is handed on with the step's additions in its type.
 */
export async function runStep<C extends StepContext & N, N, A extends object | undefined>(
  ctx: C,
  step: StepDef<N, A>,
): Promise<WithAdded<C, A>> {
  ctx.sink({ type: 'step', step: step.name, state: 'started' });
  let outcome: unknown;
  try {
    outcome = await step.run(ctx);
  } catch (e) {
    ctx.sink({ type: 'step', step: step.name, state: 'failed', message: e instanceof Error ? e.message : String(e) });
    throw e;
  }
  if (typeof outcome === 'object' && outcome !== null) Object.assign(ctx, outcome);
  ctx.sink({ type: 'step', step: step.name, state: outcome === 'skipped' ? 'skipped' : 'done' });
  await checkpoint(ctx, `after:${step.name}`, { step: step.name });
  return ctx as WithAdded<C, A>;
}
