import { join, posix } from 'node:path';
import { isPlainFile } from '../../support/fsutil.js';
import { dryRecoverStep, recoverStep } from '../recover.js';
import { type Level, levelName, rollupsOf } from '../../rules/level.js';
import { SERVICEPACK_DIR } from '../../installation/names.js';
import { runStep, SAVED_DIR } from '../../transaction/transaction.js';
import type { BackupRecord } from '../../transaction/backup-record.js';
import { runJournaledSteps } from '../../transaction/journaled-steps.js';
import { lockStep, runChange, serviceOutcome, startChange } from '../change.js';
import {
  type Changed,
  type LevelAfter,
  type Planned,
  sameMeta,
  type UninstallContext,
  type UninstallOptions,
} from './context.js';
import { detectStep, planStep, stageStep } from './steps.js';

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

/**
 * --dry-run: what the restore would do with each file the backup record names (the journal's rule:
 * a file with an original is restored, one the pack added is removed, a file changed since is saved),
 * read from the record and the files as they are, with nothing staged.
 */
async function preview(ctx: Pick<Planned, 'target' | 'installation' | 'backupDigests'>): Promise<{
  after: LevelAfter;
  changed: Changed;
}> {
  const { record } = ctx.target;
  const disk = ctx.installation.files;
  const changed: Changed = { restored: [], removed: [], saved: [], deletedHere: [] };
  for (const f of record.files) {
    const cur = disk.get(f.path);
    if (!cur && !f.before) continue;
    (f.before ? changed.restored : changed.removed).push(f.path);
    if (!sameMeta(cur, f.after)) (cur ? changed.saved : changed.deletedHere).push(f.path);
  }
  // the plan step started hashing the backup; nothing is left running once the lock is released
  await ctx.backupDigests.catch(() => undefined);
  return { after: { level: record.fromLevel, hotfixes: [...record.fromHotfixes] }, changed };
}

/** Removes the newest update (or `id`, when it is the newest) in one journaled transaction. */
export async function uninstallUpdate(opts: UninstallOptions): Promise<UninstallResult> {
  const ctx = startChange(opts);
  let reached: (Planned & { after: LevelAfter; changed: Changed }) | undefined;
  // lock → recover → detect → plan → stage, then the journaled half shared with install;
  // --dry-run stops after the plan and says what the restore would change
  await runChange(ctx, async (start) => {
    const locked = await runStep(start, lockStep);
    await runStep(locked, opts.dryRun ? dryRecoverStep : recoverStep);
    const planned = await runStep(await runStep(locked, detectStep), planStep);
    if (opts.dryRun) {
      reached = { ...planned, ...(await preview(planned)) };
      return;
    }
    const staged = await runStep(planned, stageStep);
    reached = staged;
    await runJournaledSteps(staged);
  });
  // a run that did not get this far failed before the commit point, and that is always thrown
  if (reached === undefined) throw new Error('internal: an uninstall ended without its journal');
  const { state, target, after, changed } = reached;
  const dryRun = opts.dryRun === true;
  await reportOverwritten(ctx, target.packId, changed, dryRun);
  const sort = (a: string[]) => [...a].sort();
  return {
    root: ctx.root,
    transactionId: ctx.txid,
    packId: target.packId,
    kind: target.record.kind,
    before: {
      level: state.level,
      levelName: levelName(state.level, state.hotfixes, rollupsOf(state)),
      hotfixes: [...state.hotfixes],
    },
    after: {
      level: after.level,
      // the rollups still listed once the newest entry (this one) is off
      levelName: levelName(after.level, after.hotfixes, rollupsOf({ installed: state.installed.slice(0, -1) })),
      hotfixes: after.hotfixes,
    },
    changed: {
      restored: sort(changed.restored),
      removed: sort(changed.removed),
      saved: sort(changed.saved),
    },
    dryRun,
    ...(changed.saved.length > 0 && !dryRun ? { savedDir: posix.join(SERVICEPACK_DIR, SAVED_DIR, ctx.txid) } : {}),
    ...serviceOutcome(ctx),
  };
}

/**
 * What -o did to the files changed since the install, said once the change is in (or, with
 * --dry-run, what it would do); a copy in saved/ is named only after it was seen there, and a file
 * deleted here had none to keep.
 */
async function reportOverwritten(
  ctx: Pick<UninstallContext, 'root' | 'txid' | 'sink'>,
  packId: string,
  changed: Changed,
  dryRun: boolean,
): Promise<void> {
  const restored = new Set(changed.restored);
  for (const p of changed.saved) {
    const copy = posix.join(SERVICEPACK_DIR, SAVED_DIR, ctx.txid, p);
    const what = dryRun
      ? `would be replaced; the changed file would be kept in ${posix.join(SERVICEPACK_DIR, SAVED_DIR)}/`
      : (await isPlainFile(join(ctx.root, ...copy.split('/'))))
        ? `is replaced; the changed file is kept in ${copy}`
        : 'is replaced; no copy of the changed file was kept';
    ctx.sink({
      type: 'warning',
      code: 'W_MODIFIED_OVERWRITTEN',
      message: `${p} was changed since ${packId} was installed and ${what}`,
      path: p,
    });
  }
  for (const p of changed.deletedHere)
    ctx.sink({
      type: 'warning',
      code: 'W_MISSING',
      message: `${p} was deleted here since ${packId} was installed; ${restored.has(p) ? `the file from before ${packId} ${dryRun ? 'would be' : 'is'} put back` : 'it stays deleted'}`,
      path: p,
    });
}
