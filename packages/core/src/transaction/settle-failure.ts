import { rm, rmdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isServicepackError, ServicepackError } from '../support/errors.js';
import { errnoCode } from '../support/fsutil.js';
import { closeJournal, removeStaging, setPhase } from './journal.js';
import { finishForward, revertSteps } from './journal-apply.js';
import { startService } from '../installation/service.js';
import { installState, type JournaledContext, markRestartPending } from './journaled-steps.js';
import { checkpoint } from './transaction.js';

/**
 * Failure settling, apart from the steps it settles: the one place that decides, after any failure
 * of a journaled change, whether it is undone or finished, and which error the operator gets.
 */

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
      await markRestartPending(ctx, 'start-failed');
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
