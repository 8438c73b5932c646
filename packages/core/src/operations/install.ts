import { chmod, readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { type ApplicabilityTarget, checkApplicable, hotfixIds } from '../rules/applicability.js';
import { type BuildInfo, BUILDINFO_FILE } from '../installation/buildinfo.js';
import {
  detectInstallation,
  hashPaths,
  type Installation,
  type ProblemKind,
  parseBuildInfo,
} from '../installation/detect.js';
import { isServicepackError, ServicepackError } from '../support/errors.js';
import { type EventSink, nullSink, type WarningCode } from '../support/events.js';
import { exists, inRoot, makeDirs, writeFileAtomic } from '../support/fsutil.js';
import { sha256Bytes } from '../support/hash.js';
import { at, type Journal, type JournalOp, type JournalStep, journalPath } from '../transaction/journal.js';
import { type Level, levelName } from '../rules/level.js';
import { licenseDocument } from '../rules/license.js';
import type { FixRef, Manifest } from '../pack/manifest.js';
import { openPack, type StagedPayload, stagePayload, type VerifiedPack } from '../pack/pack.js';
import {
  type FileMeta,
  filesAfter,
  type InstallPlan,
  type ModifiedPolicy,
  type PlannedOp,
  planInstall,
} from '../rules/plan.js';
import { recoverStep } from './recover.js';
import { PRIVATE_DIR_MODE } from '../installation/servicepack-dir.js';
import { type HistoryEntry, SERVICEPACK_DIR, type State } from '../installation/state.js';
import {
  acquireLock,
  checkTransactionId,
  assertNoOpenTransaction,
  BACKUP_DIR,
  checkpoint,
  releaseLock,
  runSteps,
  STAGING_DIR,
  newTransactionId,
  type StepDef,
  type TransactionHooks,
} from '../transaction/transaction.js';
import { type BackupRecord, writeBackupRecord } from '../transaction/backup-record.js';
import {
  createStaging,
  JOURNALED_STEPS,
  type JournaledContext,
  missingParents,
  predictEmptied,
  preparedPaths,
  relTo,
} from '../transaction/journaled-steps.js';
import { settleFailure } from '../transaction/settle-failure.js';
import { loadTrustStore } from '../trust/trust.js';

export interface InstallOptions {
  root: string;
  /** pack files, installed in this order in one transaction */
  packs: string[];
  trustFiles?: string[];
  allowUnsigned?: boolean;
  /** keep `backup/<pack id>/` so the pack can be uninstalled (false: `-n`) */
  backup: boolean;
  modified: ModifiedPolicy;
  restart: 'auto' | 'never';
  dryRun: boolean;
  /** install even when the state record and BUILDINFO.json disagree */
  force?: boolean;
  /** the operator accepted the license agreement of the packs that carry one (license.ts); without it they are refused */
  acceptEula?: boolean;
  sink?: EventSink;
  /** bounded wait for the service to stop */
  stopTimeoutMs?: number;
  /** SEAM: fault injection / journal hooks, see transaction.ts */
  hooks?: TransactionHooks;
  /** chosen by the caller when it logs under this id before the transaction starts (answer files, feeds) */
  transactionId?: string;
}

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
}

interface Unit {
  index: number;
  path: string;
  pack: VerifiedPack;
  manifest: Manifest;
  from: ApplicabilityTarget;
  to: { level: Level; hotfixes: string[] };
  plan?: InstallPlan;
  staged?: StagedPayload;
  stagingDir: string;
  /** the BUILDINFO.json this pack leaves, and where its bytes are staged when the installer writes it */
  buildInfo?: BuildInfo;
  generatedBuildInfo?: string;
  /** where the originals collect during the commit (inside staging; moved to backup/<id>/ with the backup) */
  stagedBackupDir: string;
  /** relative to .servicepack/, recorded in the state when the backup is kept */
  backupRel?: string;
  record?: BackupRecord;
}

interface InstallContext extends JournaledContext {
  readonly opts: InstallOptions;
  readonly time: string;
  installation?: Installation;
  units: Unit[];
}

function summary(x: {
  product: string;
  version: string;
  arch: string;
  level: Level;
  hotfixes: readonly string[];
}): LevelSummary {
  return {
    product: x.product,
    version: x.version,
    arch: x.arch,
    level: x.level,
    levelName: levelName(x.level, x.hotfixes),
    hotfixes: [...x.hotfixes],
  };
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** The level and hotfix ids an installation has after `m`: a hotfix records the fixes it ships (usually just its own id). */
export function nextLevel(from: ApplicabilityTarget, m: Manifest): { level: Level; hotfixes: string[] } {
  const kept = from.hotfixes.filter((h) => !m.supersedes.includes(h));
  if (m.kind === 'service-pack') return { level: m.level, hotfixes: kept };
  return { level: from.level, hotfixes: [...new Set([...kept, ...hotfixIds(m)])] };
}

/** The mode staging gave the file `op` moves into place, when staging wrote it. */
function stagedMode(unit: Unit, op: PlannedOp): number | undefined {
  // written by the stage step in the mode the plan gave it
  if (op.path === BUILDINFO_FILE && unit.generatedBuildInfo) return op.after?.mode;
  return op.source === undefined ? undefined : unit.staged?.files.get(op.source)?.mode;
}

function stagedFileOf(unit: Unit, op: PlannedOp): string {
  if (op.path === BUILDINFO_FILE && unit.generatedBuildInfo) return unit.generatedBuildInfo;
  if (!unit.staged || op.source === undefined) throw new Error(`internal: no staged content for ${op.path}`);
  return inRoot(unit.staged.dir, op.source);
}

// ---------------------------------------------------------------------------------------------
// Steps (docs/transactions.md §2): lock → recover → detect → verify → plan → stage, then
// the journaled half shared with uninstall: journal → stop-service → commit → record → restart →
// cleanup. Each one reads and extends the one context.

/** A difference from the record that does not stop an install: warned about, one fixed code per kind. */
const PROBLEM_WARNING: Record<Exclude<ProblemKind, 'buildinfo' | 'state'>, WarningCode> = {
  modified: 'W_MODIFIED',
  missing: 'W_MISSING',
  extra: 'W_EXTRA',
};

const lockStep: StepDef<InstallContext> = {
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
    ctx.lock = await acquireLock(ctx.root);
  },
};

const detectStep: StepDef<InstallContext> = {
  name: 'detect',
  run: async (ctx) => {
    // Files the packs change are read exactly in the plan step (hashPaths), with the folders on
    // their way; the rest are not looked at (see DetectOptions: recordOnly). Listing a 10,000-file
    // tree to change 2,000 of its files costs a tenth of the install, and what it could add is a
    // warning about files the install leaves alone, which the record keeps as they were for
    // `verify` to report.
    const inst = await detectInstallation(ctx.root, { trustRecord: true, recordOnly: true });
    ctx.installation = inst;
    const serious = inst.problems.filter((p) => p.kind === 'buildinfo' || p.kind === 'state');
    if (serious.length > 0) {
      // a record that fails its own rules is invalid (exit 2), not merely out of step with the tree
      const invalid = serious.find((p) => p.kind === 'state');
      if (invalid && !ctx.opts.force)
        throw new ServicepackError(
          'E_INVALID_STATE',
          `${invalid.message}; or pass --force to install anyway, recording the tree as it is`,
          { path: invalid.path, problems: inst.problems },
        );
      if (!ctx.opts.force) {
        throw new ServicepackError(
          'E_INCONSISTENT',
          `the installation in ${ctx.root} is inconsistent (${serious[0]!.message}${serious.length > 1 ? `, and ${serious.length - 1} more` : ''}): run servicepack query --root ${ctx.root} to see what differs, repair it, or pass --force to install anyway`,
          { problems: inst.problems },
        );
      }
      ctx.sink({
        type: 'warning',
        code: 'W_INCONSISTENT',
        message: `installing despite an inconsistent installation (--force): ${serious.map((p) => p.message).join('; ')}`,
      });
    }
    for (const p of inst.problems) {
      if (p.kind !== 'buildinfo' && p.kind !== 'state')
        ctx.sink({ type: 'warning', code: PROBLEM_WARNING[p.kind], message: p.message, path: p.path });
    }
    ctx.sink({
      type: 'info',
      message: `${inst.product} ${inst.version} ${inst.arch}, ${inst.levelName}, in ${inst.root}`,
    });
  },
};

const verifyStep: StepDef<InstallContext> = {
  name: 'verify',
  run: async (ctx) => {
    const inst = ctx.installation!;
    // The revoked list goes to openPack too: a revoked signer must be refused, not merely "unknown",
    // or --allow-unsigned would let its pack through.
    const trust = await loadTrustStore({
      root: ctx.root,
      ...(ctx.opts.trustFiles ? { trustFiles: ctx.opts.trustFiles } : {}),
      sink: ctx.sink,
    });
    let target: ApplicabilityTarget = inst;
    const seen = new Set<string>();
    for (const [index, path] of ctx.opts.packs.entries()) {
      // Signature and schema first: nothing of a pack is believed, let alone extracted, before that.
      const pack = await openPack(path, {
        trustedKeys: trust.keys,
        revokedKeyIds: trust.revoked,
        ...(ctx.opts.allowUnsigned ? { allowUnsigned: true } : {}),
      });
      const m = pack.manifest;
      if (pack.unsigned)
        ctx.sink({
          type: 'warning',
          code: 'W_UNSIGNED',
          message: `${path} is not signed by a trusted key and is installed only because of --allow-unsigned`,
          path,
        });
      if (seen.has(m.id))
        throw new ServicepackError('E_USAGE', `${m.id} is listed twice: name each pack once`, { packId: m.id });
      seen.add(m.id);
      checkApplicable(target, m, { packPath: path });
      const license = licenseDocument(m);
      if (license !== undefined && ctx.opts.acceptEula !== true) {
        throw new ServicepackError(
          'E_EULA_NOT_ACCEPTED',
          `${basename(path)} carries a license agreement (${license}); read it (tar -xzOf ${path} ${license}) and pass --accept-eula (acceptEula: true in an answer file) to install it unattended`,
          { packId: m.id, path, document: license },
        );
      }
      const to = nextLevel(target, m);
      ctx.units.push({
        index,
        path,
        pack,
        manifest: m,
        from: target,
        to,
        stagingDir: join(ctx.stagingRoot, `${index}-${m.id}`),
        stagedBackupDir: join(ctx.stagingRoot, 'backup', `${index}-${m.id}`),
        ...(ctx.opts.backup ? { backupRel: `${BACKUP_DIR}/${m.id}` } : {}),
      });
      ctx.sink({
        type: 'info',
        message: `${m.title} (${m.id}, ${m.arch})${pack.signedBy.length > 0 ? `, signed by ${pack.signedBy.join(', ')}` : ''}`,
      });
      target = { product: target.product, version: target.version, arch: target.arch, ...to };
    }
  },
};

const planStep: StepDef<InstallContext> = {
  name: 'plan',
  run: async (ctx) => {
    // every file a pack may replace, delete, back up or write a default beside must be known exactly
    const touched = ctx.units.flatMap((u) => u.manifest.files.flatMap((f) => [f.path, `${f.path}.spnew`]));
    await hashPaths(ctx.installation!, [BUILDINFO_FILE, ...touched]);
    let files: ReadonlyMap<string, FileMeta> = ctx.installation!.files;
    for (const unit of ctx.units) {
      const plan = planInstall({ files }, unit.manifest, { modified: ctx.opts.modified });
      const carriesBuildInfo = unit.manifest.files.some((f) => f.path === BUILDINFO_FILE);
      if (!carriesBuildInfo) {
        // The level lives in BUILDINFO.json; a pack that does not ship one gets it written by us,
        // from the current one with the new level, so the product reports what is installed.
        const current = files.get(BUILDINFO_FILE);
        const base = ctx.units[unit.index - 1]?.buildInfo ?? ctx.installation!.buildInfo;
        const bi: BuildInfo = { ...base, level: unit.to.level, hotfixes: unit.to.hotfixes };
        const bytes = `${JSON.stringify(bi, null, 2)}\n`;
        unit.buildInfo = bi;
        plan.ops.push({
          path: BUILDINFO_FILE,
          op: current ? 'replace' : 'add',
          source: BUILDINFO_FILE,
          ...(current ? { before: current } : {}),
          after: { sha256: sha256Bytes(bytes), size: Buffer.byteLength(bytes), mode: current?.mode ?? 0o644 },
          config: false,
          reason: 'pack',
        });
      }
      unit.plan = plan;
      for (const k of plan.kept) {
        ctx.sink({
          type: 'warning',
          code: k.reason === 'config-modified' ? 'W_CONFIG_KEPT' : 'W_MODIFIED_KEPT',
          message:
            k.reason === 'config-modified'
              ? `${k.path} was changed here and is kept; the new default is written beside it as ${k.path}.spnew`
              : `${k.path} was changed here and is kept as it is (--keep-modified)`,
          path: k.path,
        });
      }
      for (const p of plan.overwritten)
        ctx.sink({
          type: 'warning',
          code: 'W_MODIFIED_OVERWRITTEN',
          message: `${p} was changed here and is replaced (--overwrite-modified); the changed file goes to the backup`,
          path: p,
        });
      files = filesAfter(files, plan);
    }
  },
};

const stageStep: StepDef<InstallContext> = {
  name: 'stage',
  run: async (ctx) => {
    // Every folder made here (staging/<tx>, the backup folders the commit moves the originals
    // into) is flushed with the first payload, before the journal can name anything in them. The
    // root and .servicepack/ too: the lock step may have created .servicepack/.
    const made = new Set<string>([ctx.root, ctx.spDir]);
    await createStaging(ctx, made);
    // The staged files reach the disk (fsync) while the journal is worked out, and the journal
    // is written only once they are there: a crash never leaves a journal naming unflushed files.
    const flushes: Promise<void>[] = [];
    let failure: { error: unknown } | undefined;
    try {
      await makeBackupDirs(ctx, made);
      for (const unit of ctx.units) {
        unit.staged = await stagePayload(unit.pack, unit.stagingDir, ctx.sink, {
          deferFlush: true,
          ...(unit.index === 0 ? { alsoFlush: made } : {}),
        });
        if (unit.staged.flushed) flushes.push(unit.staged.flushed);
        if (unit.buildInfo) {
          const file = join(ctx.stagingRoot, `${unit.index}-generated-${BUILDINFO_FILE}`);
          const mode = unit.plan!.ops.find((o) => o.path === BUILDINFO_FILE)?.after?.mode ?? 0o644;
          await writeFileAtomic(file, `${JSON.stringify(unit.buildInfo, null, 2)}\n`, mode);
          unit.generatedBuildInfo = file;
        } else {
          unit.buildInfo = await checkStagedBuildInfo(ctx, unit);
        }
      }
      ctx.draft = await buildInstallJournal(ctx);
    } catch (e) {
      failure = { error: e };
    }
    const flushed = await Promise.allSettled(flushes);
    if (failure) throw failure.error;
    for (const r of flushed) if (r.status === 'rejected') throw r.reason;
  },
};

/** The folders each pack's originals collect in during the commit: `<staged backup>/files/<folder of each replaced or deleted file>`. */
async function makeBackupDirs(ctx: InstallContext, made: Set<string>): Promise<void> {
  for (const unit of ctx.units) {
    const dirs = new Set([unit.stagedBackupDir]);
    for (const op of unit.plan!.ops)
      if (op.before) dirs.add(dirname(join(unit.stagedBackupDir, 'files', ...op.path.split('/'))));
    for (const d of dirs) await makeDirs(d, made, PRIVATE_DIR_MODE);
  }
}

/** A pack that ships BUILDINFO.json must say what the rules computed; a mismatch is a defective pack, caught before any change. */
async function checkStagedBuildInfo(ctx: InstallContext, unit: Unit): Promise<BuildInfo> {
  const staged = inRoot(unit.staged!.dir, BUILDINFO_FILE);
  const fallback = ctx.units[unit.index - 1]?.buildInfo ?? ctx.installation!.buildInfo;
  if (!(await exists(staged))) return { ...fallback, level: unit.to.level, hotfixes: unit.to.hotfixes };
  let parsed: BuildInfo;
  try {
    // the rules the record is read back with, every field: one this pack could install but no later run accept would be a trap
    parsed = await parseBuildInfo(
      await readFile(staged, 'utf8'),
      `${unit.path}: its ${BUILDINFO_FILE}`,
      'the pack is defective, nothing was changed; get a corrected one from the vendor',
    );
  } catch (e) {
    if (!isServicepackError(e) || e.code !== 'E_INVALID_BUILDINFO') throw e;
    throw new ServicepackError(
      'E_INVALID_MANIFEST',
      e.message,
      { packId: unit.manifest.id, ...e.details },
      { cause: e },
    );
  }
  const want = { product: unit.from.product, arch: unit.from.arch, level: unit.to.level };
  if (
    parsed.product !== want.product ||
    parsed.arch !== want.arch ||
    parsed.level !== want.level ||
    !sameSet(parsed.hotfixes, unit.to.hotfixes)
  ) {
    throw new ServicepackError(
      'E_INVALID_MANIFEST',
      `${unit.path}: its ${BUILDINFO_FILE} says ${parsed.product} ${parsed.arch} level ${parsed.level} hotfixes [${parsed.hotfixes.join(', ')}], but installing it here gives level ${want.level} hotfixes [${unit.to.hotfixes.join(', ')}]: the pack is defective; nothing was changed`,
      { packId: unit.manifest.id, buildInfo: parsed, expected: { ...want, hotfixes: unit.to.hotfixes } },
    );
  }
  return parsed;
}

/**
 * The journal of an install (docs/transactions.md §3), built once every payload is staged and verified:
 * each pack's originals are moved into its backup folder inside staging (fresh paths nobody else
 * uses), the staged files into place, and each backup folder into `backup/<pack id>/` once its
 * files are in; the new state record is computed here, so that recording it later is a rename.
 */
async function buildInstallJournal(ctx: InstallContext): Promise<Journal> {
  const root = ctx.root;
  const inst = ctx.installation!;
  const stagingRel = relTo(root, ctx.stagingRoot);
  const ops: JournalOp[] = [];
  const steps: JournalStep[] = [];
  const tail: JournalStep[] = [];
  const dirs = new Map<string, boolean>();
  const removedAll: string[] = [];
  let files: ReadonlyMap<string, FileMeta> = inst.files;
  for (const unit of ctx.units) {
    const plan = unit.plan!;
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
    unit.record = {
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
      await writeBackupRecord(unit.stagedBackupDir, unit.record);
      const finalRel = `${SERVICEPACK_DIR}/${BACKUP_DIR}/${unit.manifest.id}`;
      if (await exists(at(root, finalRel))) {
        // An old folder of that name (a pack installed before the state record was lost, say) is
        // moved aside, never deleted: it may be the only copy of somebody's files (KB Q248102:
        // re-applying an SP destroyed its own backup).
        const aside = `${finalRel}.replaced-${ctx.txid}`;
        tail.push({ kind: 'rename', from: finalRel, to: aside });
        ctx.sink({
          type: 'warning',
          code: 'W_OLD_BACKUP',
          message: `an older backup folder for ${unit.manifest.id} is moved aside to ${aside}`,
        });
      }
      tail.push({ kind: 'rename', from: bdirRel, to: finalRel });
    }
  }
  const backupRoot = `${SERVICEPACK_DIR}/${BACKUP_DIR}`;
  if (tail.length > 0 && !(await exists(at(root, backupRoot)))) steps.push({ kind: 'mkdir', dir: backupRoot });
  steps.push(...tail);

  const last = ctx.units[ctx.units.length - 1]!;
  const lastBuildInfo = last.buildInfo!;
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

/** The state record once every pack of the run is in. */
function newState(ctx: InstallContext, files: ReadonlyMap<string, FileMeta>, bi: BuildInfo): State {
  const prev = ctx.installation!.state;
  const last = ctx.units[ctx.units.length - 1]!;
  const replacedNow = new Set(
    ctx.units.flatMap((u) => u.plan!.ops.filter((o) => o.reason !== 'spnew').map((o) => o.path)),
  );
  const kept = new Set([
    ...(prev?.keptModified ?? []).filter((p) => !replacedNow.has(p)),
    ...ctx.units.flatMap((u) => u.plan!.kept.map((k) => k.path)),
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
      })),
    ],
    files: metaRecord(files),
    ...(kept.size > 0 ? { keptModified: [...kept].sort() } : {}),
    ...(prev?.feeds ? { feeds: prev.feeds } : {}),
    history: [...(prev?.history ?? []), ...history],
  };
}

/** --dry-run changes nothing, not even by recovering: an open journal is reported (exit 6) instead. */
const dryRecoverStep: StepDef<InstallContext> = {
  name: 'recover',
  run: async (ctx) => {
    await assertNoOpenTransaction(ctx.root);
    return 'skipped';
  },
};

const INSTALL_STEPS = [
  lockStep,
  recoverStep,
  detectStep,
  verifyStep,
  planStep,
  stageStep,
  ...JOURNALED_STEPS,
] as readonly StepDef<InstallContext>[];
const DRY_RUN_STEPS = [
  lockStep,
  dryRecoverStep,
  detectStep,
  verifyStep,
  planStep,
] as readonly StepDef<InstallContext>[];

/**
 * Installs one or more packs in one transaction (docs/transactions.md). Every pack is verified and planned
 * before the first file changes; a failure before the commit point leaves the tree, the state
 * record and .servicepack/ as they were, and a crash anywhere is settled by the journal.
 */
export async function installPacks(opts: InstallOptions): Promise<InstallResult> {
  if (opts.packs.length === 0) throw new ServicepackError('E_USAGE', 'no pack given: name at least one pack file');
  const root = resolve(opts.root);
  const spDir = join(root, SERVICEPACK_DIR);
  const txid = opts.transactionId !== undefined ? checkTransactionId(opts.transactionId) : newTransactionId();
  const ctx: InstallContext = {
    opts,
    root,
    spDir,
    txid,
    time: new Date().toISOString(),
    sink: opts.sink ?? nullSink,
    hooks: opts.hooks ?? {},
    units: [],
    stagingRoot: join(spDir, STAGING_DIR, txid),
    service: { wasRunning: false, stopped: false, restarted: false },
    restartRequired: false,
    committed: false,
    recorded: false,
    ...(opts.stopTimeoutMs !== undefined ? { stopTimeoutMs: opts.stopTimeoutMs } : {}),
  };
  try {
    await checkpoint(ctx, 'begin');
    await runSteps(ctx, opts.dryRun ? DRY_RUN_STEPS : INSTALL_STEPS);
  } catch (e) {
    const failure = await settleFailure(ctx, e);
    if (failure !== undefined) throw failure;
  } finally {
    if (ctx.lock) await releaseLock(ctx.lock).catch(() => {});
  }
  const inst = ctx.installation!;
  const last = ctx.units[ctx.units.length - 1]!;
  const ops = ctx.units.flatMap((u) => u.plan!.ops);
  const paths = (f: (o: PlannedOp) => boolean) => [...new Set(ops.filter(f).map((o) => o.path))].sort();
  return {
    root,
    transactionId: txid,
    dryRun: opts.dryRun,
    before: summary(inst),
    after: summary({
      product: inst.product,
      version: last.buildInfo?.version ?? inst.version,
      arch: inst.arch,
      level: last.to.level,
      hotfixes: last.to.hotfixes,
    }),
    packs: ctx.units.map((u) => ({
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
      spnew: [...new Set(ctx.units.flatMap((u) => u.plan!.spnew))].sort(),
      kept: [...new Set(ctx.units.flatMap((u) => u.plan!.kept.map((k) => k.path)))].sort(),
    },
    restartRequired: ctx.restartRequired,
    ...(ctx.restartMessage ? { restartMessage: ctx.restartMessage } : {}),
    service: { wasRunning: ctx.service.wasRunning, stopped: ctx.service.stopped, restarted: ctx.service.restarted },
  };
}
