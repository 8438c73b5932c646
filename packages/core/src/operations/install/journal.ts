import { chmod } from 'node:fs/promises';
import { type BuildInfo, BUILDINFO_FILE } from '../../installation/buildinfo.js';
import { exists, inRoot } from '../../support/fsutil.js';
import { at, type Journal, type JournalOp, type JournalStep } from '../../transaction/journal.js';
import { type FileMeta, filesAfter, type PlannedOp } from '../../rules/plan.js';
import { hotfixIds } from '../../rules/applicability.js';
import { type HistoryEntry, SERVICEPACK_DIR, type State } from '../../installation/state.js';
import { BACKUP_DIR } from '../../transaction/transaction.js';
import { type BackupRecord, writeBackupRecord } from '../../transaction/backup-record.js';
import { missingParents, predictEmptied, preparedPaths, relTo } from '../../transaction/journaled-steps.js';
import type { Staged, StagedUnit } from './context.js';

/** What the journal of an install is worked out from: the context once every pack is staged. */
type JournalInput = Pick<Staged, 'root' | 'stagingRoot' | 'txid' | 'time' | 'opts' | 'installation' | 'units'>;

/**
 * The journal of an install and the state record it leaves: worked out once every payload is
 * staged, so that the commit is renames only and recording the state is one more.
 */

/** The mode staging gave the file `op` moves into place, when staging wrote it. */
function stagedMode(unit: StagedUnit, op: PlannedOp): number | undefined {
  // written by the stage step in the mode the plan gave it
  if (op.path === BUILDINFO_FILE && unit.generatedBuildInfo) return op.after?.mode;
  return op.source === undefined ? undefined : unit.staged.files.get(op.source)?.mode;
}

function stagedFileOf(unit: StagedUnit, op: PlannedOp): string {
  if (op.path === BUILDINFO_FILE && unit.generatedBuildInfo) return unit.generatedBuildInfo;
  if (op.source === undefined) throw new Error(`internal: no staged content for ${op.path}`);
  return inRoot(unit.staged.dir, op.source);
}

/** Where an install moves an older backup folder of the same pack id (root-relative): named by its transaction. */
export function movedAside(packId: string, txid: string): string {
  return `${SERVICEPACK_DIR}/${BACKUP_DIR}/${packId}.replaced-${txid}`;
}

/**
 * The journal of an install (docs/transactions.md §3), built once every payload is staged and verified:
 * each pack's originals are moved into its backup folder inside staging (fresh paths nobody else
 * uses), the staged files into place, and each backup folder into `backup/<pack id>/` once its
 * files are in; the new state record is computed here, so that recording it later is a rename.
 */
export async function buildInstallJournal(ctx: JournalInput): Promise<Journal> {
  const root = ctx.root;
  const inst = ctx.installation;
  const stagingRel = relTo(root, ctx.stagingRoot);
  const ops: JournalOp[] = [];
  const steps: JournalStep[] = [];
  const tail: JournalStep[] = [];
  const dirs = new Map<string, boolean>();
  const removedAll: string[] = [];
  let files: ReadonlyMap<string, FileMeta> = inst.files;
  for (const unit of ctx.units) {
    const plan = unit.plan;
    const bdirRel = relTo(root, unit.stagedBackupDir);
    const createdDirs: string[] = [];
    const removed: string[] = [];
    const backupFiles: BackupRecord['files'] = [];
    for (const op of plan.ops) {
      const k = ops.length;
      const backup = op.before ? `${bdirRel}/files/${op.path}` : undefined;
      const source = op.after ? relTo(root, stagedFileOf(unit, op)) : undefined;
      ops.push({
        pack: unit.manifest.id,
        path: op.path,
        op: op.op,
        reason: op.reason,
        ...(op.before ? { before: op.before } : {}),
        ...(op.after ? { after: op.after } : {}),
        ...(backup ? { backup } : {}),
        ...(source ? { source } : {}),
      });
      // (its folder was made by makeBackupDirs)
      if (backup) steps.push({ kind: 'rename', from: op.path, to: backup, op: k });
      if (op.after && source) {
        for (const d of await missingParents(root, op.path, dirs)) {
          steps.push({ kind: 'mkdir', dir: d, op: k });
          createdDirs.push(d);
        }
        // the mode is set now, so the file never appears in the tree with the wrong permissions
        // (staging already gave most files theirs: one call fewer per file)
        if (stagedMode(unit, op) !== op.after.mode) await chmod(at(root, source), op.after.mode);
        steps.push({ kind: 'rename', from: source, to: op.path, op: k });
      } else removed.push(op.path);
      backupFiles.push({
        path: op.path,
        op: op.op,
        reason: op.reason,
        ...(op.before ? { before: op.before } : {}),
        ...(op.after ? { after: op.after } : {}),
        ...(backup && ctx.opts.backup ? { backup: `files/${op.path}` } : {}),
      });
    }
    files = filesAfter(files, plan);
    removedAll.push(...removed);
    const record: BackupRecord = {
      format: 1,
      packId: unit.manifest.id,
      kind: unit.manifest.kind,
      transactionId: ctx.txid,
      time: ctx.time,
      fromLevel: unit.from.level,
      toLevel: unit.to.level,
      fromHotfixes: [...unit.from.hotfixes],
      toHotfixes: unit.to.hotfixes,
      files: backupFiles,
      createdDirs,
      removedDirs: await predictEmptied(root, removed, files.keys()),
      spnew: plan.spnew,
      kept: plan.kept.map((k) => k.path),
      restart: unit.manifest.restart,
      previousState: unit.index === 0 ? (inst.state ?? null) : null,
    };
    if (ctx.opts.backup) {
      await writeBackupRecord(unit.stagedBackupDir, record);
      const finalRel = `${SERVICEPACK_DIR}/${BACKUP_DIR}/${unit.manifest.id}`;
      if (await exists(at(root, finalRel))) {
        // An old folder of that name (a pack installed before the state record was lost, say) is
        // moved aside, never deleted: it may be the only copy of somebody's files (KB Q248102:
        // re-applying an SP destroyed its own backup).
        // said once the change is in (install.ts reportKeptCopies): a rollback leaves it where it was
        tail.push({ kind: 'rename', from: finalRel, to: movedAside(unit.manifest.id, ctx.txid) });
      }
      tail.push({ kind: 'rename', from: bdirRel, to: finalRel });
    }
  }
  const backupRoot = `${SERVICEPACK_DIR}/${BACKUP_DIR}`;
  if (tail.length > 0 && !(await exists(at(root, backupRoot)))) steps.push({ kind: 'mkdir', dir: backupRoot });
  steps.push(...tail);

  const last = lastUnit(ctx.units);
  const lastBuildInfo = last.buildInfo;
  return {
    format: 1,
    id: ctx.txid,
    action: 'install',
    phase: 'committing',
    pid: process.pid,
    time: ctx.time,
    staging: stagingRel,
    packs: ctx.units.map((u) => ({
      id: u.manifest.id,
      kind: u.manifest.kind,
      fromLevel: u.from.level,
      toLevel: u.to.level,
      fromHotfixes: [...u.from.hotfixes],
      toHotfixes: u.to.hotfixes,
      ...(u.backupRel ? { backup: u.backupRel } : {}),
    })),
    ops,
    steps,
    finish: { pruneDirs: await predictEmptied(root, removedAll, files.keys()), removeTrees: [], moves: [] },
    state: {
      existed: inst.state !== undefined,
      ...(inst.state ? {} : { previousFiles: metaRecord(inst.files) }),
      after: newState(ctx, files, lastBuildInfo),
    },
    service: {
      wasRunning: false,
      stop: ctx.units.some((u) => u.manifest.restart),
      restart: ctx.opts.restart,
      before: inst.buildInfo,
      after: lastBuildInfo,
    },
    prepared: preparedPaths(ctx.txid),
  };
}

function metaRecord(files: ReadonlyMap<string, FileMeta>): Record<string, FileMeta> {
  return Object.fromEntries(
    [...files.entries()].map(([p, f]) => [p, { sha256: f.sha256, size: f.size, mode: f.mode }]),
  );
}

/** The pack whose level the run ends at (installPacks refuses a run without one). */
function lastUnit(units: readonly StagedUnit[]): StagedUnit {
  const last = units.at(-1);
  if (last === undefined) throw new Error('internal: an install journal without a pack');
  return last;
}

/** The state record once every pack of the run is in. */
function newState(ctx: JournalInput, files: ReadonlyMap<string, FileMeta>, bi: BuildInfo): State {
  const prev = ctx.installation.state;
  const last = lastUnit(ctx.units);
  const replacedNow = new Set(
    ctx.units.flatMap((u) => u.plan.ops.filter((o) => o.reason !== 'spnew').map((o) => o.path)),
  );
  const kept = new Set([
    ...(prev?.keptModified ?? []).filter((p) => !replacedNow.has(p)),
    ...ctx.units.flatMap((u) => u.plan.kept.map((k) => k.path)),
  ]);
  const history: HistoryEntry[] = ctx.units.map((u) => ({
    id: ctx.txid,
    packId: u.manifest.id,
    action: 'install',
    time: ctx.time,
    result: 'done',
    fromLevel: u.from.level,
    toLevel: u.to.level,
    ...(u.backupRel ? { backup: u.backupRel } : {}),
  }));
  return {
    format: 1,
    product: bi.product,
    version: bi.version,
    arch: bi.arch,
    level: last.to.level,
    hotfixes: last.to.hotfixes,
    installed: [
      ...(prev?.installed ?? []),
      ...ctx.units.map((u) => ({
        packId: u.manifest.id,
        kind: u.manifest.kind,
        fromLevel: u.from.level,
        level: u.to.level,
        ...(u.backupRel ? { backup: u.backupRel } : {}),
        ...(u.manifest.kind === 'rollup' ? { fixes: hotfixIds(u.manifest) } : {}),
      })),
    ],
    files: metaRecord(files),
    ...(kept.size > 0 ? { keptModified: [...kept].sort() } : {}),
    ...(prev?.feeds ? { feeds: prev.feeds } : {}),
    // still pending unless the journal step finds the service running again
    ...(prev?.restartPending ? { restartPending: prev.restartPending } : {}),
    history: [...(prev?.history ?? []), ...history],
  };
}
