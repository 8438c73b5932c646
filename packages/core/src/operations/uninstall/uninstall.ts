import { join, posix, resolve } from 'node:path';
import { nullSink } from '../../support/events.js';
import { isPlainFile } from '../../support/fsutil.js';
import { recoverStep } from '../recover.js';
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
import type { UninstallContext, UninstallOptions } from './context.js';
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
    deletedHere: [],
    ...(opts.stopTimeoutMs !== undefined ? { stopTimeoutMs: opts.stopTimeoutMs } : {}),
  };
  try {
    await checkpoint(ctx, 'begin');
    await runSteps(ctx, UNINSTALL_STEPS);
  } catch (e) {
    const failure = await settleFailure(ctx, e);
    if (failure !== undefined) throw failure;
  } finally {
    if (ctx.lock) await releaseLock(ctx.lock).catch(() => {});
  }
  await reportOverwritten(ctx);
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
    ...(ctx.changed.saved.length > 0 ? { savedDir: posix.join(SERVICEPACK_DIR, SAVED_DIR, txid) } : {}),
    restartRequired: ctx.restartRequired,
    ...(ctx.restartMessage ? { restartMessage: ctx.restartMessage } : {}),
    service: { wasRunning: ctx.service.wasRunning, stopped: ctx.service.stopped, restarted: ctx.service.restarted },
  };
}

/**
 * What -o did to the files changed since the install, said once the change is in; a copy in
 * saved/ is named only after it was seen there, and a file deleted here had none to keep.
 */
async function reportOverwritten(ctx: UninstallContext): Promise<void> {
  const packId = ctx.target!.packId;
  const restored = new Set(ctx.changed.restored);
  for (const p of ctx.changed.saved) {
    const copy = posix.join(SERVICEPACK_DIR, SAVED_DIR, ctx.txid, p);
    const kept = await isPlainFile(join(ctx.root, ...copy.split('/')));
    ctx.sink({
      type: 'warning',
      code: 'W_MODIFIED_OVERWRITTEN',
      message: `${p} was changed since ${packId} was installed and is replaced; ${kept ? `the changed file is kept in ${copy}` : 'no copy of the changed file was kept'}`,
      path: p,
    });
  }
  for (const p of ctx.deletedHere)
    ctx.sink({
      type: 'warning',
      code: 'W_MISSING',
      message: `${p} was deleted here since ${packId} was installed; ${restored.has(p) ? `the file from before ${packId} is put back` : 'it stays deleted'}`,
      path: p,
    });
}
