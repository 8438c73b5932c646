import { mkdir, readFile, rm, rmdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type ApplicabilityTarget, checkApplicable, hotfixIds } from './applicability.js';
import { type BuildInfo, BUILDINFO_FILE, BuildInfoSchema } from './buildinfo.js';
import { detectInstallation, type Installation } from './detect.js';
import { isServicepackError, ServicepackError } from './errors.js';
import { type EventSink, nullSink } from './events.js';
import { exists, inRoot, writeFileAtomic } from './fsutil.js';
import { sha256Bytes } from './hash.js';
import { type Level, levelName } from './level.js';
import type { FixRef, Manifest } from './manifest.js';
import { openPack, type StagedPayload, stagePayload, type VerifiedPack } from './pack.js';
import { type FileMeta, filesAfter, type InstallPlan, type ModifiedPolicy, type PlannedOp, planInstall } from './plan.js';
import { serviceStatus, startService, stopService } from './service.js';
import { type HistoryEntry, SERVICEPACK_DIR, type State } from './state.js';
import { STATE_FILE, writeState } from './state-store.js';
import {
  acquireLock,
  assertNoOpenJournal,
  BACKUP_DIR,
  type BackupRecord,
  checkpoint,
  clearBackupSlot,
  commitOps,
  fsyncAll,
  type LockHandle,
  newTransactionId,
  releaseLock,
  runSteps,
  STAGING_DIR,
  type StepContext,
  type StepDef,
  type TransactionHooks,
  UndoLog,
  writeBackupRecord,
} from './transaction.js';
import { loadTrustStore } from './trust.js';

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
  sink?: EventSink;
  /** bounded wait for the service to stop */
  stopTimeoutMs?: number;
  /** SEAM: fault injection / journal hooks, see transaction.ts */
  hooks?: TransactionHooks;
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
  backupDir: string;
  /** relative to .servicepack/, recorded in the state when the backup is kept */
  backupRel?: string;
  record?: BackupRecord;
}

interface InstallContext extends StepContext {
  readonly opts: InstallOptions;
  readonly root: string;
  readonly spDir: string;
  readonly txid: string;
  readonly time: string;
  readonly undo: UndoLog;
  lock?: LockHandle;
  installation?: Installation;
  units: Unit[];
  stagingRoot: string;
  service: { wasRunning: boolean; stopped: boolean; restarted: boolean; pid?: number };
  restartRequired: boolean;
  restartMessage?: string;
  committed: boolean;
  recorded: boolean;
  state?: State;
}

function summary(x: { product: string; version: string; arch: string; level: Level; hotfixes: readonly string[] }): LevelSummary {
  return { product: x.product, version: x.version, arch: x.arch, level: x.level, levelName: levelName(x.level, x.hotfixes), hotfixes: [...x.hotfixes] };
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

function stagedFileOf(unit: Unit, op: PlannedOp): string {
  if (op.path === BUILDINFO_FILE && unit.generatedBuildInfo) return unit.generatedBuildInfo;
  if (!unit.staged || op.source === undefined) throw new Error(`internal: no staged content for ${op.path}`);
  return inRoot(unit.staged.dir, op.source);
}

// ---------------------------------------------------------------------------------------------
// Steps (DESIGN §5): lock → recover → detect → verify → plan → stage → stop-service → commit →
// record → restart → cleanup. Each one reads and extends the one context.

const lockStep: StepDef<InstallContext> = {
  name: 'lock',
  run: async (ctx) => {
    if (!(await exists(join(ctx.root, BUILDINFO_FILE)))) {
      // Refuse before creating .servicepack/ in a folder that is not an installation at all.
      throw new ServicepackError('E_NOT_INSTALLED', `no inetsrv installation found in ${ctx.root}: pass --root or set SERVICEPACK_ROOT`, { root: ctx.root });
    }
    ctx.lock = await acquireLock(ctx.root);
  },
};

const recoverStep: StepDef<InstallContext> = {
  name: 'recover',
  // SEAM: the journal issue replaces this check with recovery of the interrupted transaction.
  run: async (ctx) => {
    await assertNoOpenJournal(ctx.root);
    return 'skipped';
  },
};

const detectStep: StepDef<InstallContext> = {
  name: 'detect',
  run: async (ctx) => {
    const inst = await detectInstallation(ctx.root);
    ctx.installation = inst;
    const serious = inst.problems.filter((p) => p.kind === 'buildinfo' || p.kind === 'state');
    if (serious.length > 0) {
      if (!ctx.opts.force) {
        throw new ServicepackError(
          'E_INCONSISTENT',
          `the installation in ${ctx.root} is inconsistent (${serious[0]!.message}${serious.length > 1 ? `, and ${serious.length - 1} more` : ''}): run servicepack query --root ${ctx.root} to see what differs, repair it, or pass --force to install anyway`,
          { problems: inst.problems },
        );
      }
      ctx.sink({ type: 'warning', code: 'W_INCONSISTENT', message: `installing despite an inconsistent installation (--force): ${serious.map((p) => p.message).join('; ')}` });
    }
    for (const p of inst.problems.filter((q) => q.kind !== 'buildinfo' && q.kind !== 'state')) {
      ctx.sink({ type: 'warning', code: `W_${p.kind.toUpperCase()}`, message: p.message, path: p.path });
    }
    ctx.sink({ type: 'info', message: `${inst.product} ${inst.version} ${inst.arch}, ${inst.levelName}, in ${inst.root}` });
  },
};

const verifyStep: StepDef<InstallContext> = {
  name: 'verify',
  run: async (ctx) => {
    const inst = ctx.installation!;
    // The revoked list goes to openPack too: a revoked signer must be refused, not merely "unknown",
    // or --allow-unsigned would let its pack through.
    const trust = await loadTrustStore({ root: ctx.root, ...(ctx.opts.trustFiles ? { trustFiles: ctx.opts.trustFiles } : {}), sink: ctx.sink });
    let target: ApplicabilityTarget = inst;
    const seen = new Set<string>();
    for (const [index, path] of ctx.opts.packs.entries()) {
      // Signature and schema first: nothing of a pack is believed, let alone extracted, before that.
      const pack = await openPack(path, { trustedKeys: trust.keys, revokedKeyIds: trust.revoked, ...(ctx.opts.allowUnsigned ? { allowUnsigned: true } : {}) });
      const m = pack.manifest;
      if (pack.unsigned) ctx.sink({ type: 'warning', code: 'W_UNSIGNED', message: `${path} is not signed by a trusted key and is installed only because of --allow-unsigned`, path });
      if (seen.has(m.id)) throw new ServicepackError('E_USAGE', `${m.id} is listed twice: name each pack once`, { packId: m.id });
      seen.add(m.id);
      checkApplicable(target, m, { packPath: path });
      const to = nextLevel(target, m);
      const backupDir = join(ctx.spDir, BACKUP_DIR, m.id);
      const tempBackup = join(ctx.stagingRoot, `backup-${index}-${m.id}`);
      ctx.units.push({
        index,
        path,
        pack,
        manifest: m,
        from: target,
        to,
        stagingDir: join(ctx.stagingRoot, `${index}-${m.id}`),
        backupDir: ctx.opts.backup ? backupDir : tempBackup,
        ...(ctx.opts.backup ? { backupRel: `${BACKUP_DIR}/${m.id}` } : {}),
      });
      ctx.sink({ type: 'info', message: `${m.title} (${m.id}, ${m.arch})${pack.signedBy.length > 0 ? `, signed by ${pack.signedBy.join(', ')}` : ''}` });
      target = { product: target.product, version: target.version, arch: target.arch, ...to };
    }
  },
};

const planStep: StepDef<InstallContext> = {
  name: 'plan',
  run: async (ctx) => {
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
          message: k.reason === 'config-modified' ? `${k.path} was changed here and is kept; the new default is written beside it as ${k.path}.spnew` : `${k.path} was changed here and is kept as it is (--keep-modified)`,
          path: k.path,
        });
      }
      for (const p of plan.overwritten) ctx.sink({ type: 'warning', code: 'W_MODIFIED_OVERWRITTEN', message: `${p} was changed here and is replaced (--overwrite-modified); the changed file goes to the backup`, path: p });
      files = filesAfter(files, plan);
    }
  },
};

const stageStep: StepDef<InstallContext> = {
  name: 'stage',
  run: async (ctx) => {
    await mkdir(ctx.stagingRoot, { recursive: true });
    for (const unit of ctx.units) {
      unit.staged = await stagePayload(unit.pack, unit.stagingDir, ctx.sink);
      if (unit.buildInfo) {
        const file = join(ctx.stagingRoot, `${unit.index}-generated-${BUILDINFO_FILE}`);
        await writeFileAtomic(file, `${JSON.stringify(unit.buildInfo, null, 2)}\n`);
        unit.generatedBuildInfo = file;
      } else {
        unit.buildInfo = await checkStagedBuildInfo(ctx, unit);
      }
    }
  },
};

/** A pack that ships BUILDINFO.json must say what the rules computed; a mismatch is a defective pack, caught before any change. */
async function checkStagedBuildInfo(ctx: InstallContext, unit: Unit): Promise<BuildInfo> {
  const staged = inRoot(unit.staged!.dir, BUILDINFO_FILE);
  const fallback = ctx.units[unit.index - 1]?.buildInfo ?? ctx.installation!.buildInfo;
  if (!(await exists(staged))) return { ...fallback, level: unit.to.level, hotfixes: unit.to.hotfixes };
  let parsed: BuildInfo;
  try {
    parsed = BuildInfoSchema.parse(JSON.parse(await readFile(staged, 'utf8')));
  } catch (e) {
    throw new ServicepackError('E_INVALID_MANIFEST', `${unit.path}: its ${BUILDINFO_FILE} is not valid: the pack is defective; get a corrected one from the vendor`, { packId: unit.manifest.id }, { cause: e });
  }
  const want = { product: unit.from.product, arch: unit.from.arch, level: unit.to.level };
  if (parsed.product !== want.product || parsed.arch !== want.arch || parsed.level !== want.level || !sameSet(parsed.hotfixes, unit.to.hotfixes)) {
    throw new ServicepackError(
      'E_INVALID_MANIFEST',
      `${unit.path}: its ${BUILDINFO_FILE} says ${parsed.product} ${parsed.arch} level ${parsed.level} hotfixes [${parsed.hotfixes.join(', ')}], but installing it here gives level ${want.level} hotfixes [${unit.to.hotfixes.join(', ')}]: the pack is defective; nothing was changed`,
      { packId: unit.manifest.id, buildInfo: parsed, expected: { ...want, hotfixes: unit.to.hotfixes } },
    );
  }
  return parsed;
}

const stopServiceStep: StepDef<InstallContext> = {
  name: 'stop-service',
  run: async (ctx) => {
    const needsRestart = ctx.units.some((u) => u.manifest.restart);
    const bi = ctx.installation!.buildInfo;
    const status = await serviceStatus(ctx.root, bi);
    ctx.service.wasRunning = status.running;
    if (status.pid !== undefined) ctx.service.pid = status.pid;
    if (!status.running || !needsRestart) return 'skipped';
    if (ctx.opts.restart === 'never') {
      // -z: like NT's "do not reboot", the files are replaced under the running server, which keeps
      // its old code until the admin restarts it; the exit code says a restart is still required.
      ctx.restartRequired = true;
      ctx.restartMessage = `${bi.product} (pid ${status.pid}) still runs the previous code: restart it (bin/inetsrv stop, then bin/inetsrv start) to finish`;
      return 'skipped';
    }
    ctx.sink({ type: 'info', message: `stopping ${bi.product} (pid ${status.pid})` });
    await stopService(ctx.root, bi, ctx.opts.stopTimeoutMs !== undefined ? { timeoutMs: ctx.opts.stopTimeoutMs } : {});
    ctx.service.stopped = true;
  },
};

const commitStep: StepDef<InstallContext> = {
  name: 'commit',
  run: async (ctx) => {
    const totalFiles = ctx.units.reduce((n, u) => n + u.plan!.ops.length, 0);
    const totalBytes = ctx.units.reduce((n, u) => n + u.plan!.totalBytes, 0);
    let files = 0;
    let bytes = 0;
    const backupRoot = join(ctx.spDir, BACKUP_DIR);
    if (ctx.opts.backup && !(await exists(backupRoot))) {
      await mkdir(backupRoot, { recursive: true });
      ctx.undo.createdDir(backupRoot);
    }
    for (const unit of ctx.units) {
      const plan = unit.plan!;
      const aside = ctx.opts.backup ? await clearBackupSlot(unit.backupDir, ctx.txid, ctx.undo) : undefined;
      if (aside) ctx.sink({ type: 'warning', code: 'W_OLD_BACKUP', message: `an older backup folder for ${unit.manifest.id} was moved aside to ${aside}` });
      await mkdir(unit.backupDir, { recursive: true });
      ctx.undo.createdTree(unit.backupDir);
      const done = await commitOps({ root: ctx.root, backupDir: unit.backupDir, stagedFile: (op) => stagedFileOf(unit, op) }, plan.ops, ctx.undo, async (op, index) => {
        // SEAM: fault injection / journal progress between files.
        await checkpoint(ctx, 'commit:file', { step: 'commit', packId: unit.manifest.id, path: op.path, index });
        ctx.sink({ type: 'progress', step: 'commit', files: files++, totalFiles, bytes, totalBytes, path: op.path });
        bytes += op.after?.size ?? 0;
      });
      await fsyncAll(done.touched);
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
        files: done.files,
        createdDirs: done.createdDirs,
        removedDirs: done.removedDirs,
        spnew: plan.spnew,
        kept: plan.kept.map((k) => k.path),
        previousState: unit.index === 0 ? (ctx.installation!.state ?? null) : null,
      };
      if (ctx.opts.backup) await writeBackupRecord(unit.backupDir, unit.record);
    }
    ctx.sink({ type: 'progress', step: 'commit', files, totalFiles, bytes, totalBytes });
    ctx.committed = true;
  },
};

const recordStep: StepDef<InstallContext> = {
  name: 'record',
  run: async (ctx) => {
    const inst = ctx.installation!;
    const prev = inst.state;
    let files: ReadonlyMap<string, FileMeta> = inst.files;
    for (const u of ctx.units) files = filesAfter(files, u.plan!);
    const last = ctx.units[ctx.units.length - 1]!;
    const bi = last.buildInfo!;
    const replacedNow = new Set(ctx.units.flatMap((u) => u.plan!.ops.filter((o) => o.reason !== 'spnew').map((o) => o.path)));
    const kept = new Set([...(prev?.keptModified ?? []).filter((p) => !replacedNow.has(p)), ...ctx.units.flatMap((u) => u.plan!.kept.map((k) => k.path))]);
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
    const state: State = {
      format: 1,
      product: bi.product,
      version: bi.version,
      arch: bi.arch,
      level: last.to.level,
      hotfixes: last.to.hotfixes,
      installed: [
        ...(prev?.installed ?? []),
        ...ctx.units.map((u) => ({ packId: u.manifest.id, kind: u.manifest.kind, fromLevel: u.from.level, level: u.to.level, ...(u.backupRel ? { backup: u.backupRel } : {}) })),
      ],
      files: Object.fromEntries([...files.entries()].map(([p, f]) => [p, { sha256: f.sha256, size: f.size, mode: f.mode }])),
      ...(kept.size > 0 ? { keptModified: [...kept].sort() } : {}),
      ...(prev?.feeds ? { feeds: prev.feeds } : {}),
      history: [...(prev?.history ?? []), ...history],
    };
    try {
      await writeState(ctx.root, state);
    } catch (e) {
      // The rename may have happened before the failure (a failing directory fsync): put the old
      // record back so that the rollback of the files leaves record and tree in agreement.
      await (prev ? writeState(ctx.root, prev) : rm(join(ctx.spDir, STATE_FILE), { force: true })).catch(() => {});
      throw e;
    }
    ctx.state = state;
    ctx.recorded = true;
  },
};

const restartStep: StepDef<InstallContext> = {
  name: 'restart',
  run: async (ctx) => {
    if (!ctx.service.stopped) return 'skipped';
    const bi = ctx.units[ctx.units.length - 1]!.buildInfo!;
    const started = await startService(ctx.root, bi);
    if (started.started) {
      ctx.service.restarted = true;
      ctx.sink({ type: 'info', message: `${bi.product} started again (pid ${started.pid})` });
      return;
    }
    ctx.restartRequired = true;
    ctx.restartMessage = `the update is installed but ${bi.product} could not be started again (${started.message}): start it with bin/inetsrv start`;
    ctx.sink({ type: 'warning', code: 'W_RESTART_FAILED', message: ctx.restartMessage });
  },
};

const cleanupStep: StepDef<InstallContext> = {
  name: 'cleanup',
  run: async (ctx) => {
    await removeStaging(ctx);
  },
};

async function removeStaging(ctx: InstallContext): Promise<void> {
  await rm(ctx.stagingRoot, { recursive: true, force: true });
  // staging/ itself goes too when nothing else is in it, so a refused install leaves no trace.
  await rmdir(join(ctx.spDir, STAGING_DIR)).catch(() => {});
}

const INSTALL_STEPS = [lockStep, recoverStep, detectStep, verifyStep, planStep, stageStep, stopServiceStep, commitStep, recordStep, restartStep, cleanupStep];
const DRY_RUN_STEPS = [lockStep, recoverStep, detectStep, verifyStep, planStep];

/**
 * Undo after a failure before the state record was written: the tree goes back to exactly what it
 * was (files moved back from the backup, added files and folders removed), the service is started
 * again if we stopped it, staging is removed. Rollback problems are attached to the error.
 */
async function rollback(ctx: InstallContext, error: unknown): Promise<unknown> {
  const failures = ctx.recorded ? [] : await ctx.undo.rollback();
  await removeStaging(ctx).catch(() => {});
  if (ctx.service.stopped && !ctx.recorded) {
    const started = await startService(ctx.root, ctx.installation!.buildInfo).catch((e: unknown) => ({ started: false, message: String(e) }));
    if (!started.started) ctx.sink({ type: 'warning', code: 'W_RESTART_FAILED', message: `the previous version was restored but could not be started again: start it with bin/inetsrv start` });
  }
  if (failures.length > 0) {
    return new ServicepackError(
      'E_FAILED',
      `${error instanceof Error ? error.message : String(error)}; rolling back also failed for: ${failures.join('; ')}: restore these from ${join(ctx.spDir, BACKUP_DIR)} by hand`,
      { rollbackFailures: failures, ...(isServicepackError(error) ? { cause: error.code } : {}) },
      { cause: error },
    );
  }
  if (isServicepackError(error)) return error;
  // An unexpected failure (I/O, a bug) after which everything was put back: exit 1 says exactly that.
  return new ServicepackError('E_FAILED', `${error instanceof Error ? error.message : String(error)}: the installation was rolled back, nothing changed`, {}, { cause: error });
}

/**
 * Installs one or more packs in one transaction (DESIGN §5). Every pack is verified and planned
 * before the first file changes; a failure before the state record is written leaves the tree,
 * the state record and .servicepack/ as they were.
 */
export async function installPacks(opts: InstallOptions): Promise<InstallResult> {
  if (opts.packs.length === 0) throw new ServicepackError('E_USAGE', 'no pack given: name at least one pack file');
  const root = resolve(opts.root);
  const spDir = join(root, SERVICEPACK_DIR);
  const txid = newTransactionId();
  const ctx: InstallContext = {
    opts,
    root,
    spDir,
    txid,
    time: new Date().toISOString(),
    undo: new UndoLog(),
    sink: opts.sink ?? nullSink,
    hooks: opts.hooks ?? {},
    units: [],
    stagingRoot: join(spDir, STAGING_DIR, txid),
    service: { wasRunning: false, stopped: false, restarted: false },
    restartRequired: false,
    committed: false,
    recorded: false,
  };
  try {
    await runSteps(ctx, opts.dryRun ? DRY_RUN_STEPS : INSTALL_STEPS);
  } catch (e) {
    if (ctx.recorded) {
      // Only restart/cleanup can fail after the record: the update is in; report, don't undo,
      // and finish what the remaining steps would have done as far as that is safe.
      ctx.sink({ type: 'warning', code: 'W_AFTER_COMMIT', message: e instanceof Error ? e.message : String(e) });
      await removeStaging(ctx).catch(() => {});
      if (ctx.service.stopped && !ctx.service.restarted && !ctx.restartRequired) {
        ctx.restartRequired = true;
        ctx.restartMessage = 'the update is installed but the service was not started again: start it with bin/inetsrv start';
      }
    } else {
      throw await rollback(ctx, e);
    }
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
    after: summary({ product: inst.product, version: last.buildInfo?.version ?? inst.version, arch: inst.arch, level: last.to.level, hotfixes: last.to.hotfixes }),
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
