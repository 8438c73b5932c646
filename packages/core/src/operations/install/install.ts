import { join } from 'node:path';
import type { HealthCheckResult } from '../../health/trial.js';
import { ServicepackError } from '../../support/errors.js';
import { isDirectory, isPlainFile } from '../../support/fsutil.js';
import { type Level, levelName, type RollupOnLevel, rollupsOf } from '../../rules/level.js';
import { rollupsAfter } from '../../rules/applicability.js';
import type { FixRef, Manifest } from '../../pack/manifest.js';
import { checkOverwriteHasBackup, type PlannedOp } from '../../rules/plan.js';
import { dryRecoverStep, recoverStep } from '../recover.js';
import { SERVICEPACK_DIR } from '../../installation/state.js';
import { runStep } from '../../transaction/transaction.js';
import { runJournaledSteps } from '../../transaction/journaled-steps.js';
import { lockStep, runChange, serviceOutcome, startChange } from '../change.js';
import type { InstallContext, InstallOptions, Planned } from './context.js';
import { movedAside } from './journal.js';
import { detectStep, planStep, stageStep, verifyStep } from './steps.js';

/**
 * Install as an operation: the ordered list of steps over one context, and what the caller gets back.
 */

export interface LevelSummary {
  product: string;
  version: string;
  arch: string;
  level: Level;
  levelName: string;
  hotfixes: string[];
}

export interface InstalledPackSummary {
  path: string;
  id: string;
  kind: Manifest['kind'];
  title: string;
  level: Level;
  arch: string;
  fixes: FixRef[];
  signedBy: string[];
  unsigned: boolean;
  /** folder under .servicepack/ holding what this pack replaced; absent with --no-backup or --dry-run */
  backup?: string;
}

export interface InstallResult {
  root: string;
  transactionId: string;
  dryRun: boolean;
  before: LevelSummary;
  after: LevelSummary;
  packs: InstalledPackSummary[];
  changed: { added: string[]; replaced: string[]; deleted: string[]; spnew: string[]; kept: string[] };
  restartRequired: boolean;
  /** why a restart is still required */
  restartMessage?: string;
  service: { wasRunning: boolean; stopped: boolean; restarted: boolean };
  /** the health check the new level passed on trial (docs/transactions.md §7); absent when there was no trial */
  health?: HealthCheckResult;
}

function summary(x: {
  product: string;
  version: string;
  arch: string;
  level: Level;
  hotfixes: readonly string[];
  rollups: readonly RollupOnLevel[];
}): LevelSummary {
  return {
    product: x.product,
    version: x.version,
    arch: x.arch,
    level: x.level,
    levelName: levelName(x.level, x.hotfixes, x.rollups),
    hotfixes: [...x.hotfixes],
  };
}

/**
 * Installs one or more packs in one transaction (docs/transactions.md). Every pack is verified and planned
 * before the first file changes; a failure before the commit point leaves the tree, the state
 * record and .servicepack/ as they were, and a crash anywhere is settled by the journal.
 */
export async function installPacks(opts: InstallOptions): Promise<InstallResult> {
  if (opts.packs.length === 0) throw new ServicepackError('E_USAGE', 'no pack given: name at least one pack file');
  checkOverwriteHasBackup(opts);
  const ctx = startChange(opts);
  if (opts.healthCheck !== false)
    ctx.healthCheck = opts.healthTimeoutSeconds !== undefined ? { timeoutSeconds: opts.healthTimeoutSeconds } : {};
  // what the result is made of: every pack planned (and, unless --dry-run, staged)
  let reached: Planned | undefined;
  // Steps (docs/transactions.md §2): lock → recover → detect → verify → plan → stage, then the
  // journaled half shared with uninstall: journal → stop-service → commit → record → restart →
  // cleanup. Each step's type says what it reads of the context and what it adds.
  await runChange(ctx, async (start) => {
    const locked = await runStep(start, lockStep);
    if (opts.dryRun) await runStep(locked, dryRecoverStep);
    else await runStep(locked, recoverStep);
    const verified = await runStep(await runStep(locked, detectStep), verifyStep);
    reached = await runStep(verified, planStep);
    if (opts.dryRun) return;
    const staged = await runStep(reached, stageStep);
    reached = staged;
    await runJournaledSteps(staged);
  });
  // a run that did not get this far failed before the commit point, and that is always thrown
  const last = reached?.units.at(-1);
  if (reached === undefined || last === undefined) throw new Error('internal: an install ended without a plan');
  const { installation: inst, units } = reached;
  await reportKeptCopies(ctx, units);
  const ops = units.flatMap((u) => u.plan.ops);
  const paths = (f: (o: PlannedOp) => boolean) => [...new Set(ops.filter(f).map((o) => o.path))].sort();
  return {
    root: ctx.root,
    transactionId: ctx.txid,
    dryRun: opts.dryRun,
    before: summary({ ...inst, rollups: rollupsOf(inst.state) }),
    after: summary({
      product: inst.product,
      version: last.buildInfo?.version ?? inst.version,
      arch: inst.arch,
      level: last.to.level,
      hotfixes: last.to.hotfixes,
      // the verify step judged each pack on the installation the ones before it leave, rollups included
      rollups: rollupsAfter(last.from, last.manifest),
    }),
    packs: units.map((u) => ({
      path: u.path,
      id: u.manifest.id,
      kind: u.manifest.kind,
      title: u.manifest.title,
      level: u.manifest.level,
      arch: u.manifest.arch,
      fixes: u.manifest.fixes,
      signedBy: u.pack.signedBy,
      unsigned: u.pack.unsigned,
      ...(u.backupRel && !opts.dryRun ? { backup: `${SERVICEPACK_DIR}/${u.backupRel}` } : {}),
    })),
    changed: {
      added: paths((o) => o.op === 'add' && o.reason !== 'spnew'),
      replaced: paths((o) => o.op === 'replace' && o.reason !== 'spnew'),
      deleted: paths((o) => o.op === 'delete'),
      spnew: [...new Set(units.flatMap((u) => u.plan.spnew))].sort(),
      kept: [...new Set(units.flatMap((u) => u.plan.kept.map((k) => k.path)))].sort(),
    },
    ...serviceOutcome(ctx),
    ...(ctx.trial !== undefined ? { health: ctx.trial } : {}),
  };
}

/**
 * The files -o replaced and an older backup folder moved aside, said once the change is in, and
 * where their copy is only after it was seen there: a warning that promises a copy the operator
 * then cannot find is worse than none.
 */
async function reportKeptCopies(
  ctx: Pick<InstallContext, 'root' | 'txid' | 'sink' | 'opts'>,
  units: Planned['units'],
): Promise<void> {
  const there = (rel: string, test: (abs: string) => Promise<boolean>) => test(join(ctx.root, ...rel.split('/')));
  for (const u of units) {
    // the transaction's own name: a folder there now was moved aside by this change
    const aside = movedAside(u.manifest.id, ctx.txid);
    if (!ctx.opts.dryRun && (await there(aside, isDirectory)))
      ctx.sink({
        type: 'warning',
        code: 'W_OLD_BACKUP',
        message: `an older backup folder for ${u.manifest.id} was moved aside to ${aside}`,
      });
    for (const p of u.plan.overwritten) {
      const copy = u.backupRel !== undefined ? `${SERVICEPACK_DIR}/${u.backupRel}/files/${p}` : undefined;
      const where = ctx.opts.dryRun
        ? 'would be replaced (--overwrite-modified); the changed file would be kept in the backup'
        : copy !== undefined && (await there(copy, isPlainFile))
          ? `is replaced (--overwrite-modified); the changed file is kept in ${copy}`
          : 'is replaced (--overwrite-modified); no copy of the changed file was kept';
      ctx.sink({
        type: 'warning',
        code: 'W_MODIFIED_OVERWRITTEN',
        message: `${p} was changed here and ${where}`,
        path: p,
      });
    }
  }
}
