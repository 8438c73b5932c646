import { lstat, rm, rmdir, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ServicepackError } from '../support/errors.js';
import { type EventSink, nullSink } from '../support/events.js';
import {
  at,
  closeJournal,
  type Journal,
  journalPaths,
  readJournal,
  removeStaging,
  setPhase,
} from '../transaction/journal.js';
import { checkMovedOut, finishForward, revertSteps } from '../transaction/journal-apply.js';
import {
  PHASE_TABLE,
  PHASES,
  type Phase,
  type RecoverSettlement,
  recordedPhaseRow,
} from '../transaction/journal-rules.js';
import { type Level, levelName } from '../rules/level.js';
import { serviceStatus, startService, stopService } from '../installation/service.js';
import { SERVICEPACK_DIR } from '../installation/names.js';
import { checkRootBeforeLock } from '../installation/detect.js';
import type { HistoryEntry, State } from '../installation/state.js';
import { checkNoLinkOnTheWay } from '../installation/servicepack-dir.js';
import { findLeftovers, planRecovery, type RecoverPlan } from './recover-plan.js';
import { readState, writeState } from '../installation/state-store.js';
import type { JournaledContext } from '../transaction/journaled-steps.js';
import { recordAfterRollback } from '../transaction/settle-failure.js';
import {
  assertNoOpenTransaction,
  checkpoint,
  type LockHandle,
  releaseLock,
  runStep,
  STAGING_DIR,
  type StepContext,
  type StepDef,
  type TransactionHooks,
} from '../transaction/transaction.js';
import { lockStep } from './change.js';

/**
 * Recovery (docs/transactions.md §5): an open journal is rolled back to the exact previous tree unless it says
 * the commit finished, in which case the change is rolled forward. Every action here is
 * idempotent (a crash during recovery is recovered by the next run), and every recovery is
 * recorded in the state history.
 */

export interface RecoverOutcome {
  transactionId: string;
  action: Journal['action'];
  packs: string[];
  /** pid of the process that was interrupted */
  pid: number;
  direction: 'rolled-back' | 'rolled-forward';
  level: Level;
  hotfixes: string[];
  levelName: string;
  restartRequired: boolean;
  restartMessage?: string;
}

export interface SettleResult {
  outcome?: RecoverOutcome;
  /** leftovers of a transaction that died before writing its journal, removed */
  cleaned: string[];
}

/** What the history says of a transaction caught on trial: it never proved the new level, so it was rolled back. */
const INTERRUPTED_TRIAL = {
  passed: false,
  summary: 'the run ended during the health check of the new level (phase trial): rolled back as a failed trial',
};

function entriesFor(j: Journal, result: 'rolled-back' | 'rolled-forward', trial = false): HistoryEntry[] {
  const time = new Date().toISOString();
  return j.packs.map((p) => ({
    ...(trial ? { health: INTERRUPTED_TRIAL } : {}),
    id: j.id,
    packId: p.id,
    action: 'recover',
    time,
    result,
    fromLevel: p.fromLevel,
    toLevel: p.toLevel,
  }));
}

const recordedRecovery = (s: State | undefined, j: Journal) =>
  s?.history.some((h) => h.id === j.id && h.action === 'recover') === true;

/** After a rollback: the state record is the one from before; it gets the history entry (or is created from what the journal saw on disk). */
async function recordRollback(root: string, j: Journal, sink: EventSink, trial: boolean): Promise<void> {
  const current = await readState(root);
  if (recordedRecovery(current, j)) return;
  // a failed trial recorded in-process before the run was killed is one too
  const failedTrial = trial || current?.history.some((h) => h.id === j.id && h.health?.passed === false) === true;
  await recordAfterRollback(root, j, current, entriesFor(j, 'rolled-back', failedTrial), sink);
}

/** After a roll-forward: the journal carries the new state record; it is written with the recovery's history entry. */
async function recordRollForward(root: string, j: Journal): Promise<void> {
  if (recordedRecovery(await readState(root), j)) return;
  const after = j.state.after;
  await writeState(root, { ...after, history: [...after.history, ...entriesFor(j, 'rolled-forward')] });
}

async function settleService(
  root: string,
  j: Journal,
  forward: boolean,
  sink: EventSink,
  afterTrial = false,
): Promise<{ restartRequired: boolean; restartMessage?: string }> {
  // Only a service this transaction meant to stop is touched: one it never stopped runs as it did.
  if (!j.service.stop) return { restartRequired: false };
  const bi = forward ? j.service.after : j.service.before;
  // A run killed while its trial was starting the new level leaves that start under way: a server
  // that came up after recovery stopped it runs new code over the old files. The old level is
  // started in its place.
  if (afterTrial) await stopService(root, j.service.after);
  if ((await serviceStatus(root, bi)).running) return { restartRequired: false };
  if (forward && j.service.restart === 'never') {
    return {
      restartRequired: true,
      restartMessage: `${bi.product} was stopped for the change and not started again (--no-restart): start it with bin/inetsrv start`,
    };
  }
  const started = await startService(root, bi);
  if (started.started) {
    sink({ type: 'info', message: `${bi.product} started again (pid ${started.pid})` });
    return { restartRequired: false };
  }
  const restartMessage = `${bi.product} could not be started again (${started.message}): start it with bin/inetsrv start`;
  sink({ type: 'warning', code: 'W_RESTART_FAILED', message: restartMessage });
  return { restartRequired: true, restartMessage };
}

/**
 * Whether the transaction got as far as its trial: the journal says so, or, rolled back since, the
 * prepared trial copy was used (renamed over journal.json when the trial began) while staging,
 * which holds it, is still there. A recovery killed after removing staging has lost that, and
 * records the rollback without the health mark.
 */
async function wasOnTrial(root: string, j: Journal): Promise<boolean> {
  if (j.phase === 'trial') return true;
  const copy = j.prepared.trial;
  if (j.phase !== 'rolled-back' || copy === undefined) return false;
  const there = async (rel: string) => (await lstat(at(root, rel)).catch(() => undefined)) !== undefined;
  return (await there(j.staging)) && !(await there(copy));
}

/** Leftovers of a transaction that died before its journal existed: nothing in the tree changed, so they are garbage. */
async function cleanLeftovers(root: string): Promise<string[]> {
  const found = await findLeftovers(root);
  const staging = `${SERVICEPACK_DIR}/${STAGING_DIR}/`;
  for (const rel of found) {
    // rm removes links inside staging, never follows them
    if (rel.startsWith(staging)) await rm(join(root, rel), { recursive: true, force: true });
    else await unlink(join(root, rel)).catch(() => {});
  }
  await rmdir(join(root, SERVICEPACK_DIR, STAGING_DIR)).catch(() => {});
  return found;
}

/** What a settlement leaves: the phase the journal is in afterwards, and the service's state once it is closed. */
interface Settled {
  journal: Journal;
  phase: Phase;
  /** the journal was found on trial: the new level never proved itself */
  trial?: boolean;
  service?: { restartRequired: boolean; restartMessage?: string };
}

/**
 * Settles whatever an earlier run left: the caller holds the lock. Used by `recover` and as the
 * first step of install and uninstall. What is done is the phase table's (journal-rules.ts)
 * `onRecover` for the journal's phase, again for each phase it moves to, until it is closed.
 */
export async function settleOpenTransaction(root: string, ctx: StepContext): Promise<SettleResult> {
  const found = await readJournal(root);
  if (!found) return { cleaned: await cleanLeftovers(root) };
  // The journal names paths inside the root, but a link on the way to one (a staging folder
  // swapped for a link, say) would make the undo move files in from, or out to, anywhere.
  checkNoLinkOnTheWay(root, journalPaths(found));
  const first = recordedPhaseRow(found.phase).onRecover;
  const packs = found.packs.map((p) => p.id);
  const forward = first.action === 'roll-forward';
  ctx.sink({
    type: 'info',
    message: `${forward ? 'finishing' : 'rolling back'} the interrupted ${found.action} of ${packs.join(', ')} (transaction ${found.id}, pid ${found.pid}, ${found.phase === 'rolled-back' ? 'already rolled back' : found.phase})`,
  });
  let settled: Settled = { journal: found, phase: found.phase, trial: await wasOnTrial(root, found) };
  // bounded: every settlement moves the journal on along the table, which has no cycle
  for (let n = 0; settled.phase !== 'closed' && n < PHASES.length; n++)
    settled = await settleByTable(root, settled, PHASE_TABLE[settled.phase].onRecover, ctx);
  if (settled.phase !== 'closed' || settled.service === undefined)
    throw new Error(`internal: recovery of ${found.id} ended in phase ${settled.phase}`);
  const j = settled.journal;
  const head = j.packs[0];
  const last = j.packs[j.packs.length - 1];
  const level = (forward ? last?.toLevel : head?.fromLevel) ?? j.service.before.level;
  const hotfixes = (forward ? last?.toHotfixes : head?.fromHotfixes) ?? j.service.before.hotfixes;
  return {
    cleaned: [],
    outcome: {
      transactionId: j.id,
      action: j.action,
      packs,
      pid: j.pid,
      direction: forward ? 'rolled-forward' : 'rolled-back',
      level,
      hotfixes,
      levelName: levelName(level, hotfixes),
      ...settled.service,
    },
  };
}

async function settleByTable(
  root: string,
  { journal: j, phase, trial = false }: Settled,
  how: RecoverSettlement,
  ctx: StepContext,
): Promise<Settled> {
  switch (how.action) {
    case 'roll-forward': {
      // nothing is recorded or removed before the disk is known to hold what the journal says
      if (how.check === 'moved-out') await checkMovedOut(root, j);
      await recordRollForward(root, j);
      await checkpoint(ctx, 'recover:recorded', { step: 'recover' });
      await finishForward(root, j);
      await removeStaging(root, j);
      await checkpoint(ctx, 'recover:cleaned', { step: 'recover' });
      const service = await settleService(root, j, true, ctx.sink);
      await closeJournal(root, j, ctx.hooks.phase);
      return { journal: j, phase: 'closed', service };
    }
    case 'roll-back': {
      if (how.first === 'stop-service') {
        // the trial had started the new level: nothing is moved under a running server
        await stopService(root, j.service.after);
        await checkpoint(ctx, 'recover:stopped', { step: 'recover' });
      }
      const total = j.steps.length;
      let done = 0;
      // each step's files are checked first (the table's `hashes`): one that is not what the
      // journal says stops it with E_NEEDS_RECOVER (exit 6)
      const failures = await revertSteps(root, j, async (_s, i) => {
        await checkpoint(ctx, 'recover:step', { step: 'recover', index: i });
        ctx.sink({ type: 'progress', step: 'recover', files: done++, totalFiles: total, bytes: 0, totalBytes: 0 });
      });
      if (failures.length > 0) {
        throw new ServicepackError(
          'E_FAILED',
          `could not roll back the interrupted ${j.action} of ${j.packs.map((p) => p.id).join(', ')}: ${failures.join('; ')}: the journal is kept; fix the cause (permissions, disk) and run servicepack recover --root ${root} again`,
          { failures, transactionId: j.id },
        );
      }
      await checkpoint(ctx, 'recover:reverted', { step: 'recover' });
      const rolledBack = await setPhase(root, j, 'rolled-back', ctx.hooks.phase);
      await checkpoint(ctx, 'recover:rolled-back', { step: 'recover' });
      return { journal: rolledBack, phase: rolledBack.phase, trial };
    }
    case 'finish-rollback': {
      await removeStaging(root, j);
      await checkpoint(ctx, 'recover:cleaned', { step: 'recover' });
      await recordRollback(root, j, ctx.sink, trial);
      await checkpoint(ctx, 'recover:recorded', { step: 'recover' });
      const service = await settleService(root, j, false, ctx.sink, trial);
      await closeJournal(root, j, ctx.hooks.phase);
      return { journal: j, phase: 'closed', service };
    }
    case 'clean-leftovers':
      throw new Error(`internal: a journal in phase ${phase} to clean up as leftovers`);
  }
}

export interface RecoverOptions {
  root: string;
  sink?: EventSink;
  /** seconds to wait for a busy lock before refusing with E_BUSY (acquireLock); default 0 */
  lockWait?: number;
  hooks?: TransactionHooks;
  /** say what recover would do and change nothing (recover-plan.ts) */
  dryRun?: boolean;
}

export interface RecoverResult extends SettleResult {
  root: string;
  restartRequired: boolean;
  restartMessage?: string;
  /** --dry-run: what recover would do; nothing was changed */
  dryRun?: true;
  plan?: RecoverPlan;
}

export type { RecoverPlan, RecoverPlanFile } from './recover-plan.js';

/** `servicepack recover`: take the lock, settle an interrupted transaction (or clean leftovers), release. */
export async function recoverInstallation(opts: RecoverOptions): Promise<RecoverResult> {
  const root = resolve(opts.root);
  const ctx: StepContext = { sink: opts.sink ?? nullSink, hooks: opts.hooks ?? {} };
  await checkpoint(ctx, 'begin');
  if (opts.dryRun) {
    // no lock step to judge the root: the same check, so a dry run refuses where recover would
    await checkRootBeforeLock(root);
    return { root, dryRun: true, plan: await planRecovery(root), cleaned: [], restartRequired: false };
  }
  let lock: LockHandle | undefined;
  try {
    // the lock step of every change: a folder that is not an installation gets no .servicepack/
    ({ lock } = await runStep({ ...ctx, root, opts }, lockStep));
    ctx.sink({ type: 'step', step: 'recover', state: 'started' });
    let settled: SettleResult;
    try {
      settled = await settleOpenTransaction(root, ctx);
    } catch (e) {
      ctx.sink({ type: 'step', step: 'recover', state: 'failed', message: e instanceof Error ? e.message : String(e) });
      throw e;
    }
    ctx.sink({
      type: 'step',
      step: 'recover',
      state: settled.outcome || settled.cleaned.length > 0 ? 'done' : 'skipped',
    });
    await checkpoint(ctx, 'after:recover', { step: 'recover' });
    const o = settled.outcome;
    return {
      root,
      ...settled,
      restartRequired: o?.restartRequired ?? false,
      ...(o?.restartMessage !== undefined ? { restartMessage: o.restartMessage } : {}),
    };
  } finally {
    if (lock) await releaseLock(lock).catch(() => {});
  }
}

/** --dry-run changes nothing, not even by recovering: an open journal is reported (exit 6) instead. */
export const dryRecoverStep: StepDef<Pick<JournaledContext, 'root'>> = {
  name: 'recover',
  run: async (ctx) => {
    await assertNoOpenTransaction(ctx.root);
    return 'skipped';
  },
};

/** Whatever an earlier run left is settled before anything else is looked at (docs/transactions.md §2, "recover"). */
export const recoverStep: StepDef<JournaledContext> = {
  name: 'recover',
  run: async (ctx) => {
    const settled = await settleOpenTransaction(ctx.root, ctx);
    const o = settled.outcome;
    if (o) {
      ctx.sink({
        type: 'warning',
        code: 'W_RECOVERED',
        message: `an interrupted ${o.action} of ${o.packs.join(', ')} was ${o.direction === 'rolled-back' ? 'rolled back' : 'finished'}: the installation is at ${o.levelName}`,
      });
      if (o.restartMessage) ctx.sink({ type: 'warning', code: 'W_RESTART_FAILED', message: o.restartMessage });
      return;
    }
    if (settled.cleaned.length > 0) {
      ctx.sink({ type: 'info', message: `removed leftovers of an interrupted run: ${settled.cleaned.join(', ')}` });
      return;
    }
    return 'skipped';
  },
};
