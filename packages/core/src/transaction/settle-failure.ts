import { rm, rmdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isServicepackError, ServicepackError } from '../support/errors.js';
import { errnoCode } from '../support/fsutil.js';
import { closeJournal, type Journal, removeStaging, setPhase } from './journal.js';
import { type FailureSettlement, PHASE_TABLE } from './journal-rules.js';
import { checkMovedOut, finishForward, revertSteps } from './journal-apply.js';
import { checkService, type HealthCheckResult, healthContract } from '../health/trial.js';
import { startService, stopService } from '../installation/service.js';
import type { HistoryEntry, State } from '../installation/state.js';
import type { EventSink } from '../support/events.js';
import { readState, writeState } from '../installation/state-store.js';
import { levelName } from '../rules/level.js';
import { installState, type JournaledContext } from './journaled-steps.js';
import { checkpoint } from './transaction.js';

/**
 * Failure settling, apart from the steps it settles: the one place that decides, after any failure
 * of a journaled change, whether it is undone or finished, and which error the operator gets.
 */

/**
 * What a failure leaves behind, in-process, as the phase table says for the phase the transaction
 * is in (journal-rules.ts, docs/transactions.md §4). Before the journal exists: only staging,
 * removed. Before the commit point: the steps are undone from the journal (the same idempotent
 * undo that recovery uses), the journal is closed, the service started again. After the commit
 * point the change is finished instead (never half undone), and the caller reports success with a
 * warning. Returns the error to throw, or undefined when the change went through.
 */
export async function settleFailure(ctx: JournaledContext, error: unknown): Promise<unknown> {
  return settle(ctx, error, PHASE_TABLE[ctx.phase].onFailure);
}

function settle(ctx: JournaledContext, error: unknown, how: FailureSettlement): Promise<unknown> {
  switch (how.action) {
    case 'discard':
      return discard(ctx, error);
    case 'roll-back':
      return rollBack(ctx, error, how.first);
    case 'finish-rollback':
      return finishRollback(ctx, error);
    case 'roll-forward':
      return rollForward(ctx, error, how.check);
    case 'done':
      ctx.sink({ type: 'warning', code: 'W_AFTER_COMMIT', message: message(error) });
      return Promise.resolve(undefined);
  }
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The journal a phase past `none` has: the journal step sets both together. */
function openJournal(ctx: JournaledContext): Journal {
  if (ctx.journal === undefined) throw new Error(`internal: phase ${ctx.phase} without a journal`);
  return ctx.journal;
}

async function discard(ctx: JournaledContext, error: unknown): Promise<unknown> {
  await rm(ctx.stagingRoot, { recursive: true, force: true }).catch(() => {});
  await rmdir(dirname(ctx.stagingRoot)).catch(() => {});
  return failureAfterRollback(ctx, error, []);
}

async function rollBack(ctx: JournaledContext, error: unknown, first?: 'stop-service'): Promise<unknown> {
  const j = openJournal(ctx);
  let failures: string[] = [];
  if (first === 'stop-service') {
    // the trial started the new level: files are never moved under a running server
    try {
      await stopService(
        ctx.root,
        j.service.after,
        ctx.stopTimeoutMs !== undefined ? { timeoutMs: ctx.stopTimeoutMs } : {},
      );
      ctx.service.restarted = false;
      await checkpoint(ctx, 'rollback:stopped', {});
    } catch (e) {
      failures = [`stopping ${j.service.after.product} of the new level: ${(e as Error).message}`];
    }
  }
  if (failures.length === 0) {
    try {
      // every step is hash-checked before it is undone (the table's check): revertSteps does it
      failures = await revertSteps(ctx.root, j, (_s, i) => checkpoint(ctx, 'rollback:step', { index: i }));
    } catch (e) {
      // Anything that stops the undo itself (the final flush of the folders, say) leaves the
      // journal open and the tree part-way: that is exit 6 (recover), never "rolled back".
      failures = [`undoing the change: ${(e as Error).message}`];
    }
  }
  if (failures.length === 0) {
    try {
      ctx.journal = await setPhase(ctx.root, j, 'rolled-back', ctx.hooks.phase);
      ctx.phase = ctx.journal.phase;
    } catch (e) {
      failures.push(`closing the journal: ${(e as Error).message}`);
    }
  }
  if (failures.length > 0) return failureAfterRollback(ctx, error, failures);
  // rolled back: from here on the table's row for the new phase decides
  return settle(ctx, error, PHASE_TABLE[ctx.phase].onFailure);
}

async function finishRollback(ctx: JournaledContext, error: unknown): Promise<unknown> {
  const j = openJournal(ctx);
  if (ctx.service.stopped && isServicepackError(error) && error.code === 'E_HEALTH_CHECK_FAILED')
    return afterFailedTrial(ctx, j, error);
  const failures: string[] = [];
  try {
    await removeStaging(ctx.root, j);
    await closeJournal(ctx.root, j, ctx.hooks.phase);
    ctx.phase = 'closed';
  } catch (e) {
    failures.push(`closing the journal: ${(e as Error).message}`);
  }
  if (ctx.service.stopped && failures.length === 0) {
    const started = await startService(ctx.root, j.service.before).catch((e: unknown) => ({
      started: false,
      message: String(e),
    }));
    if (!started.started)
      ctx.sink({
        type: 'warning',
        code: 'W_RESTART_FAILED',
        message: `the previous version was restored but could not be started again: start it with bin/inetsrv start`,
      });
  }
  return failureAfterRollback(ctx, error, failures);
}

/**
 * A failed trial, rolled back (the journal says `rolled-back`): the rollback and its reason go into
 * the state record's history (so `query` can say why later), the previous level is started and
 * checked again, and only then are staging and the journal removed, as recover does it: a kill
 * before that leaves a journal recover finishes, starting the old level. The error carries the
 * evidence of both checks.
 */
async function afterFailedTrial(ctx: JournaledContext, j: Journal, error: ServicepackError): Promise<unknown> {
  const before = j.service.before;
  const health = error.details['health'] as HealthCheckResult | undefined;
  const summary = health?.summary ?? error.message;
  try {
    const time = new Date().toISOString();
    const entries: HistoryEntry[] = j.packs.map((p) => ({
      id: j.id,
      packId: p.id,
      action: 'install',
      time,
      result: 'rolled-back',
      fromLevel: p.fromLevel,
      toLevel: p.toLevel,
      health: { passed: false, summary: summary.slice(0, 2000) },
    }));
    await recordAfterRollback(ctx.root, j, await readState(ctx.root), entries, ctx.sink);
  } catch (e) {
    ctx.sink({
      type: 'warning',
      code: 'W_NOT_RECORDED',
      message: `the rollback could not be recorded in the state record (${(e as Error).message}): query will not show it`,
    });
  }
  const contract = healthContract(before, j.service.after);
  const head = j.packs[0];
  const oldName = head ? levelName(head.fromLevel, head.fromHotfixes) : `level ${before.level}`;
  let again: HealthCheckResult | undefined;
  let serving: string;
  if (contract !== undefined) {
    again = await checkService(ctx.root, before, contract, {
      ...(ctx.healthCheck?.timeoutSeconds !== undefined ? { timeoutSeconds: ctx.healthCheck.timeoutSeconds } : {}),
    });
    ctx.service.restarted = again.started?.pid !== undefined;
    serving = again.passed
      ? `${before.product} runs again and passes its health check`
      : `${before.product} does not pass its health check either (${again.summary})`;
  } else {
    const started = await startService(ctx.root, before).catch((e: unknown) => ({
      started: false,
      message: String(e),
    }));
    ctx.service.restarted = started.started;
    serving = started.started ? `${before.product} runs again` : `${before.product} could not be started again`;
  }
  if (!ctx.service.restarted)
    ctx.sink({
      type: 'warning',
      code: 'W_RESTART_FAILED',
      message: `the previous version was restored but could not be started again: start it with bin/inetsrv start`,
    });
  await checkpoint(ctx, 'rollback:restarted', {});
  try {
    await removeStaging(ctx.root, j);
    await closeJournal(ctx.root, j, ctx.hooks.phase);
    ctx.phase = 'closed';
  } catch (e) {
    return failureAfterRollback(ctx, error, [`closing the journal: ${(e as Error).message}`]);
  }
  return new ServicepackError(
    'E_HEALTH_CHECK_FAILED',
    `${error.message}. The update was rolled back: the installation is at ${oldName} again and ${serving}. Nothing was installed: find out why the new level does not serve here (the evidence is in the --json output, details.health), then install again, or install with --no-health-check to keep it regardless`,
    { health, ...(again !== undefined ? { afterRollback: again } : {}), rolledBackTo: oldName },
    { cause: error },
  );
}

/**
 * The state record after a rollback, with `entries` added to its history: the record from before
 * (`current`), or, when there was none (a vendor release tree), one made from the journal's view of
 * the tree before the change, so that the rollback is on file and `verify` has something to check.
 */
export async function recordAfterRollback(
  root: string,
  j: Journal,
  current: State | undefined,
  entries: readonly HistoryEntry[],
  sink: EventSink,
): Promise<void> {
  if (current) {
    await writeState(root, { ...current, history: [...current.history, ...entries] });
    return;
  }
  if (!j.state.previousFiles) {
    sink({
      type: 'warning',
      code: 'W_NOT_RECORDED',
      message: `the rollback of ${j.id} could not be recorded: the installation had no state record and the journal lists no files`,
    });
    return;
  }
  const bi = j.service.before;
  await writeState(root, {
    format: 1,
    product: bi.product,
    version: bi.version,
    arch: bi.arch,
    level: bi.level,
    hotfixes: [...bi.hotfixes],
    installed: [],
    files: j.state.previousFiles,
    history: [...entries],
  });
}

async function rollForward(ctx: JournaledContext, error: unknown, check: 'none' | 'moved-out'): Promise<unknown> {
  const j = openJournal(ctx);
  ctx.sink({ type: 'warning', code: 'W_AFTER_COMMIT', message: message(error) });
  try {
    if (check === 'moved-out') await checkMovedOut(ctx.root, j);
    if (!ctx.recorded) {
      await installState(ctx.root, j);
      ctx.recorded = true;
    }
    await finishForward(ctx.root, j);
    await removeStaging(ctx.root, j);
    await closeJournal(ctx.root, j, ctx.hooks.phase);
    ctx.phase = 'closed';
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

/** The error a failure before the commit point is reported as, once it was undone (or could not be). */
function failureAfterRollback(ctx: JournaledContext, error: unknown, failures: readonly string[]): unknown {
  if (failures.length > 0) {
    return new ServicepackError(
      'E_NEEDS_RECOVER',
      `${message(error)}; rolling back also failed for: ${failures.join('; ')}: the journal is kept; run servicepack recover --root ${ctx.root} once the cause is fixed`,
      { rollbackFailures: [...failures], ...(isServicepackError(error) ? { cause: error.code } : {}) },
      { cause: error },
    );
  }
  if (isServicepackError(error)) return error;
  // An unexpected failure (I/O, a bug) after which everything was put back: exit 1 says exactly that.
  const code = errnoCode(error);
  const hint = code === 'ENOSPC' ? ' (the disk is full: free some space and run again)' : '';
  return new ServicepackError(
    'E_FAILED',
    `${message(error)}${hint}: the installation was rolled back, nothing changed`,
    code ? { errno: code } : {},
    {
      cause: error,
    },
  );
}
