import type { HistoryEntry, State } from '../installation/state.js';
import { levelName } from '../rules/level.js';
import { ServicepackError } from '../support/errors.js';
import type { EventSink } from '../support/events.js';
import { type Journal, setPhase } from '../transaction/journal.js';
import type { Phase } from '../transaction/journal-rules.js';
import { checkpoint, type StepDef, type TransactionHooks } from '../transaction/transaction.js';
import { checkService, type HealthCheckResult, healthContract } from './trial.js';

/** What the trial step reads and moves of a journaled change's context (journaled-steps.ts JournaledContext). */
export interface TrialContext {
  readonly root: string;
  sink: EventSink;
  hooks: TransactionHooks;
  journal: Journal;
  phase: Phase;
  service: { restarted: boolean };
  healthCheck?: { timeoutSeconds?: number };
  trial?: HealthCheckResult;
}

/**
 * The trial (docs/transactions.md §7 "Health check"): the journal says `trial`, the new level is
 * started and checked by its release's health contract. A server that started and fails the check
 * throws E_HEALTH_CHECK_FAILED with the evidence, and the phase table's row for `trial` rolls the change back (settle-failure.ts).
 */
export const trialStep: StepDef<TrialContext> = {
  name: 'trial',
  run: async (ctx) => {
    const j = ctx.journal;
    const bi = j.service.after;
    const contract = healthContract(bi, j.service.before);
    if (j.prepared.trial === undefined || contract === undefined) return 'skipped';
    ctx.journal = await setPhase(ctx.root, j, 'trial', ctx.hooks.phase);
    ctx.phase = ctx.journal.phase;
    await checkpoint(ctx, 'trial:begun', { step: 'trial' });
    const last = j.packs[j.packs.length - 1];
    const name = last ? levelName(last.toLevel, last.toHotfixes) : `level ${bi.level}`;
    ctx.sink({ type: 'info', message: `starting ${bi.product} at ${name} and checking the server…` });
    const result = await checkService(ctx.root, bi, contract, {
      ...(ctx.healthCheck?.timeoutSeconds !== undefined ? { timeoutSeconds: ctx.healthCheck.timeoutSeconds } : {}),
      onStarted: async () => {
        ctx.service.restarted = true;
        await checkpoint(ctx, 'trial:started', { step: 'trial' });
      },
    });
    ctx.trial = result;
    // A level that does not start because another process holds its port is judged as every change
    // judges it (the restart step: exit 10, W_RESTART_FAILED): the old level could not start either,
    // so rolling back would undo a good update. Any other failure to start is the new level's own.
    if (!result.passed && result.started?.pid === undefined && result.started?.portTaken === true) {
      ctx.sink({ type: 'info', message: `no health check: ${result.summary}` });
      return;
    }
    if (!result.passed)
      throw new ServicepackError('E_HEALTH_CHECK_FAILED', `the health check of ${name} failed: ${result.summary}`, {
        health: result,
      });
    ctx.sink({ type: 'info', message: `health check passed: ${result.summary}` });
  },
};

/** The install entries of transaction `id` in `s`, marked with the health check that let it in. */
export function withHealth(s: State, id: string, trial: HealthCheckResult): State {
  const mark = (h: HistoryEntry): HistoryEntry =>
    h.id === id && h.action === 'install'
      ? { ...h, health: { passed: trial.passed, summary: trial.summary.slice(0, 2000) } }
      : h;
  return { ...s, history: s.history.map(mark) };
}
