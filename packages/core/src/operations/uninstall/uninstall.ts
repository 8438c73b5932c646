import { join, posix, resolve } from 'node:path';
import { nullSink } from '../../support/events.js';
import { dryRecoverStep, recoverStep } from '../recover.js';
import { type Level, levelName } from '../../rules/level.js';
import { SERVICEPACK_DIR } from '../../installation/names.js';
import {
  checkTransactionId,
  checkpoint,
  newTransactionId,
  releaseLock,
  runSteps,
  SAVED_DIR,
  STAGING_DIR,
  type StepDef,
} from '../../transaction/transaction.js';
import type { BackupRecord } from '../../transaction/backup-record.js';
import { JOURNALED_STEPS } from '../../transaction/journaled-steps.js';
import { settleFailure } from '../../transaction/settle-failure.js';
import { sameMeta, type UninstallContext, type UninstallOptions } from './context.js';
import { detectStep, lockStep, planStep, stageStep } from './steps.js';

/**
 * Uninstall (docs/transactions.md §8): the newest update comes off first, and its backup puts
 * the tree back exactly as it was before it (files and modes restored, added files removed,
 * deleted files re-created, .spnew removed, BUILDINFO.json restored), in a journaled transaction
 * with the same service handling as install. Removing an older update under a newer one would
 * bring back files the newer one replaced, so the order is refused and spelled out instead.
 */

export interface UninstallResult {
  root: string;
  transactionId: string;
  packId: string;
  kind: BackupRecord['kind'];
  before: { level: Level; levelName: string; hotfixes: string[] };
  after: { level: Level; levelName: string; hotfixes: string[] };
  changed: { restored: string[]; removed: string[]; saved: string[] };
  /** --dry-run: `changed` and `after` say what would happen; nothing was changed */
  dryRun: boolean;
  /** where the files changed since the install were kept (uninstall --overwrite-modified) */
  savedDir?: string;
  restartRequired: boolean;
  restartMessage?: string;
  service: { wasRunning: boolean; stopped: boolean; restarted: boolean };
}

const UNINSTALL_STEPS = [
  lockStep,
  recoverStep,
  detectStep,
  planStep,
  stageStep,
  ...JOURNALED_STEPS,
] as readonly StepDef<UninstallContext>[];
const DRY_RUN_STEPS = [lockStep, dryRecoverStep, detectStep, planStep] as readonly StepDef<UninstallContext>[];

/**
 * --dry-run: what the restore would do with each file the backup record names (the journal's rule:
 * a file with an original is restored, one the pack added is removed, a file changed since is saved),
 * read from the record and the files as they are, with nothing staged.
 */
async function preview(ctx: UninstallContext): Promise<void> {
  const { record } = ctx.target!;
  const disk = ctx.installation!.files;
  for (const f of record.files) {
    const cur = disk.get(f.path);
    if (!cur && !f.before) continue;
    (f.before ? ctx.changed.restored : ctx.changed.removed).push(f.path);
    if (cur && !sameMeta(cur, f.after)) ctx.changed.saved.push(f.path);
  }
  ctx.after = { level: record.fromLevel, hotfixes: [...record.fromHotfixes] };
  // the plan step started hashing the backup; nothing is left running once the lock is released
  await ctx.backupDigests?.catch(() => undefined);
}

/** Removes the newest update (or `id`, when it is the newest) in one journaled transaction. */
export async function uninstallUpdate(opts: UninstallOptions): Promise<UninstallResult> {
  const root = resolve(opts.root);
  const spDir = join(root, SERVICEPACK_DIR);
  const txid = opts.transactionId !== undefined ? checkTransactionId(opts.transactionId) : newTransactionId();
  const ctx: UninstallContext = {
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
    committed: false,
    recorded: false,
    changed: { restored: [], removed: [], saved: [] },
    ...(opts.stopTimeoutMs !== undefined ? { stopTimeoutMs: opts.stopTimeoutMs } : {}),
  };
  try {
    await checkpoint(ctx, 'begin');
    await runSteps(ctx, opts.dryRun ? DRY_RUN_STEPS : UNINSTALL_STEPS);
    if (opts.dryRun) await preview(ctx);
  } catch (e) {
    const failure = await settleFailure(ctx, e);
    if (failure !== undefined) throw failure;
  } finally {
    if (ctx.lock) await releaseLock(ctx.lock).catch(() => {});
  }
  const state = ctx.state!;
  const sort = (a: string[]) => [...a].sort();
  return {
    root,
    transactionId: txid,
    packId: ctx.target!.packId,
    kind: ctx.target!.record.kind,
    before: { level: state.level, levelName: levelName(state.level, state.hotfixes), hotfixes: [...state.hotfixes] },
    after: {
      level: ctx.after!.level,
      levelName: levelName(ctx.after!.level, ctx.after!.hotfixes),
      hotfixes: ctx.after!.hotfixes,
    },
    changed: {
      restored: sort(ctx.changed.restored),
      removed: sort(ctx.changed.removed),
      saved: sort(ctx.changed.saved),
    },
    dryRun: opts.dryRun === true,
    ...(ctx.changed.saved.length > 0 && !opts.dryRun ? { savedDir: posix.join(SERVICEPACK_DIR, SAVED_DIR, txid) } : {}),
    restartRequired: ctx.restartRequired,
    ...(ctx.restartMessage ? { restartMessage: ctx.restartMessage } : {}),
    service: { wasRunning: ctx.service.wasRunning, stopped: ctx.service.stopped, restarted: ctx.service.restarted },
  };
}
