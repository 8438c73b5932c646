import { join, resolve } from 'node:path';
import { BUILDINFO_FILE } from '../installation/buildinfo.js';
import { detectInstallation, type Installation, type Problem } from '../installation/detect.js';
import { SERVICEPACK_DIR } from '../installation/names.js';
import { ServicepackError } from '../support/errors.js';
import { type EventSink, nullSink } from '../support/events.js';
import { exists } from '../support/fsutil.js';
import { journalPath } from '../transaction/journal.js';
import type { JournaledContext } from '../transaction/journaled-steps.js';
import { settleFailure } from '../transaction/settle-failure.js';
import {
  acquireLock,
  checkpoint,
  checkTransactionId,
  type LockHandle,
  newTransactionId,
  releaseLock,
  STAGING_DIR,
  type StepDef,
  type TransactionHooks,
} from '../transaction/transaction.js';

/**
 * What install and uninstall share as changes to an installation: the context they start from, the
 * lock and detect steps, and the run that settles a failure and releases the lock. One copy, so
 * that the two cannot differ in how a change begins or ends.
 */

export interface ChangeOptions {
  root: string;
  sink?: EventSink;
  /** bounded wait for the service to stop */
  stopTimeoutMs?: number;
  /** SEAM: fault injection / journal hooks, see transaction.ts */
  hooks?: TransactionHooks;
  /** names the transaction (e.g. after the caller's log file); default: a new id */
  transactionId?: string;
}

/** What every change knows before its first step: the caller's options and the transaction's own state. */
export interface ChangeContext<O extends ChangeOptions> extends JournaledContext {
  readonly opts: O;
  readonly time: string;
}

export function startChange<O extends ChangeOptions>(opts: O): ChangeContext<O> {
  const root = resolve(opts.root);
  const spDir = join(root, SERVICEPACK_DIR);
  const txid = opts.transactionId !== undefined ? checkTransactionId(opts.transactionId) : newTransactionId();
  return {
    opts,
    root,
    spDir,
    txid,
    time: new Date().toISOString(),
    sink: opts.sink ?? nullSink,
    hooks: opts.hooks ?? {},
    stagingRoot: join(spDir, STAGING_DIR, txid),
    service: { wasRunning: false, stopped: false, restarted: false },
    restartRequired: false,
    phase: 'none',
    recorded: false,
    ...(opts.stopTimeoutMs !== undefined ? { stopTimeoutMs: opts.stopTimeoutMs } : {}),
  };
}

/**
 * Runs a change's steps; a failure is settled as the phase table says (settleFailure), and the
 * lock is released whatever happened. Resolves when the change went through (also when a failure
 * after the commit point was settled by finishing it); rejects with the error to report otherwise.
 */
export async function runChange<C extends JournaledContext>(ctx: C, steps: (ctx: C) => Promise<void>): Promise<void> {
  try {
    await checkpoint(ctx, 'begin');
    await steps(ctx);
  } catch (e) {
    const failure = await settleFailure(ctx, e);
    if (failure !== undefined) throw failure;
  } finally {
    if (ctx.lock) await releaseLock(ctx.lock).catch(() => {});
  }
}

/** The end of every change's result: whether the service still has to be started, and what happened to it. */
export function serviceOutcome(ctx: JournaledContext): {
  restartRequired: boolean;
  restartMessage?: string;
  service: { wasRunning: boolean; stopped: boolean; restarted: boolean };
} {
  return {
    restartRequired: ctx.restartRequired,
    ...(ctx.restartMessage ? { restartMessage: ctx.restartMessage } : {}),
    service: { wasRunning: ctx.service.wasRunning, stopped: ctx.service.stopped, restarted: ctx.service.restarted },
  };
}

export const lockStep: StepDef<Pick<JournaledContext, 'root'>, { lock: LockHandle }> = {
  name: 'lock',
  run: async (ctx) => {
    // An interrupted commit can leave BUILDINFO.json in the backup: the journal still marks an installation.
    if (!(await exists(join(ctx.root, BUILDINFO_FILE))) && !(await exists(journalPath(ctx.root)))) {
      // Refuse before creating .servicepack/ in a folder that is not an installation at all.
      throw new ServicepackError(
        'E_NOT_INSTALLED',
        `no inetsrv installation found in ${ctx.root}: pass --root or set SERVICEPACK_ROOT`,
        { root: ctx.root },
      );
    }
    return { lock: await acquireLock(ctx.root) };
  },
};

/** How a change words its refusals of an installation that is not as its records say; absent: it goes on. */
export interface DetectRefusals {
  /** a state record that fails its own rules (exit 2): the message, from the problem's */
  invalid?: (message: string) => string;
  /** BUILDINFO.json and the state record disagree (exit 3): the message, from the problems found */
  inconsistent?: (serious: readonly [Problem, ...Problem[]]) => string;
}

/**
 * The detect step's common part: the installation as its records say (the files a change touches
 * are read exactly later, in its plan step: see DetectOptions' recordOnly), refused as `refuse`
 * says when its records fail their rules or disagree; `accept` may refuse further or warn, before
 * the installation found is announced.
 */
export async function detectForChange(
  ctx: Pick<JournaledContext, 'root' | 'sink'>,
  refuse: DetectRefusals,
  accept: (inst: Installation, serious: readonly Problem[]) => void = () => {},
): Promise<Installation> {
  const inst = await detectInstallation(ctx.root, { trustRecord: true, recordOnly: true });
  const serious = inst.problems.filter((p) => p.kind === 'buildinfo' || p.kind === 'state');
  // a record that fails its own rules is invalid (exit 2), not merely out of step with the tree
  const invalid = serious.find((p) => p.kind === 'state');
  if (invalid && refuse.invalid)
    throw new ServicepackError('E_INVALID_STATE', refuse.invalid(invalid.message), {
      path: invalid.path,
      problems: inst.problems,
    });
  const [first, ...more] = serious;
  if (first && refuse.inconsistent)
    throw new ServicepackError('E_INCONSISTENT', refuse.inconsistent([first, ...more]), { problems: inst.problems });
  accept(inst, serious);
  ctx.sink({
    type: 'info',
    message: `${inst.product} ${inst.version} ${inst.arch}, ${inst.levelName}, in ${inst.root}`,
  });
  return inst;
}
