import { readFile } from 'node:fs/promises';
import { dirname, join, posix, resolve } from 'node:path';
import { type BackupRecord, checkedBackupRecord } from '../transaction/backup-record.js';
import type { BuildInfo } from '../installation/buildinfo.js';
import { detectInstallation, hashPaths, type Installation } from '../installation/detect.js';
import { isServicepackError, ServicepackError } from '../support/errors.js';
import { type EventSink, nullSink } from '../support/events.js';
import { flushToDisk } from '../transaction/durable.js';
import { errnoCode, exists, makeDirs } from '../support/fsutil.js';
import { hashFiles } from '../support/hash.js';
import { recoverStep } from './recover.js';
import { at, type Journal, type JournalOp, type JournalStep, journalPath } from '../transaction/journal.js';
import { type Level, levelName } from '../rules/level.js';
import type { FileMeta } from '../rules/plan.js';
import { checkedBuildInfo, checkedState } from '../installation/record-check.js';
import { checkNoLinkOnTheWay, readRecordFile } from '../installation/servicepack-dir.js';
import { BUILDINFO_FILE, SERVICEPACK_DIR } from '../installation/names.js';
import type { State } from '../installation/state.js';
import {
  acquireLock,
  checkTransactionId,
  BACKUP_DIR,
  BACKUP_RECORD,
  checkpoint,
  newTransactionId,
  releaseLock,
  runSteps,
  SAVED_DIR,
  STAGING_DIR,
  type StepDef,
  type TransactionHooks,
} from '../transaction/transaction.js';
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

/**
 * Uninstall (docs/transactions.md §8): the newest update comes off first, and its backup puts
 * the tree back exactly as it was before it (files and modes restored, added files removed,
 * deleted files re-created, .spnew removed, BUILDINFO.json restored), in a journaled transaction
 * with the same service handling as install. Removing an older update under a newer one would
 * bring back files the newer one replaced, so the order is refused and spelled out instead.
 */

export interface UninstallOptions {
  root: string;
  /** the update to remove; default: the newest */
  id?: string;
  /**
   * files changed since the pack installed them: 'stop' (default) refuses and lists them,
   * 'overwrite' restores the originals anyway and keeps the changed files in .servicepack/saved/<txid>/
   */
  modified?: 'stop' | 'overwrite';
  restart: 'auto' | 'never';
  sink?: EventSink;
  stopTimeoutMs?: number;
  hooks?: TransactionHooks;
  /** names the transaction (e.g. after the caller's log file); default: a new id */
  transactionId?: string;
}

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

interface UninstallContext extends JournaledContext {
  readonly opts: UninstallOptions;
  readonly time: string;
  installation?: Installation;
  state?: State;
  target?: { packId: string; backupRel: string; record: BackupRecord };
  /** the backup's files as hashed now (started in the plan step, alongside the current files) */
  backupDigests?: Promise<Awaited<ReturnType<typeof hashFiles>>>;
  changed: UninstallResult['changed'];
  after?: { level: Level; hotfixes: string[] };
}

function sameMeta(a: FileMeta | undefined, b: FileMeta | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.sha256 === b.sha256 && a.size === b.size && a.mode === b.mode;
}

const lockStep: StepDef<UninstallContext> = {
  name: 'lock',
  run: async (ctx) => {
    if (!(await exists(join(ctx.root, BUILDINFO_FILE))) && !(await exists(journalPath(ctx.root)))) {
      throw new ServicepackError(
        'E_NOT_INSTALLED',
        `no inetsrv installation found in ${ctx.root}: pass --root or set SERVICEPACK_ROOT`,
        { root: ctx.root },
      );
    }
    ctx.lock = await acquireLock(ctx.root);
  },
};

const detectStep: StepDef<UninstallContext> = {
  name: 'detect',
  run: async (ctx) => {
    // The files the uninstall moves are read exactly in the plan step (hashPaths); the others
    // it neither moves nor answers for, so the tree is not even listed (see DetectOptions).
    const inst = await detectInstallation(ctx.root, { trustRecord: true, recordOnly: true });
    ctx.installation = inst;
    const serious = inst.problems.filter((p) => p.kind === 'buildinfo' || p.kind === 'state');
    // a record that fails its own rules is invalid (exit 2), not merely out of step with the tree
    const invalid = serious.find((p) => p.kind === 'state');
    if (invalid)
      throw new ServicepackError('E_INVALID_STATE', invalid.message, { path: invalid.path, problems: inst.problems });
    if (serious.length > 0) {
      throw new ServicepackError(
        'E_INCONSISTENT',
        `the installation in ${ctx.root} is inconsistent (${serious[0]!.message}): its uninstall data may not fit it any more; run servicepack verify --root ${ctx.root} and repair it first`,
        { problems: inst.problems },
      );
    }
    if (!inst.state || inst.state.installed.length === 0) {
      throw new ServicepackError(
        'E_NOT_REMOVABLE',
        `nothing to uninstall: no update was installed in ${ctx.root} by servicepack (it is at ${inst.levelName} as released)`,
        { level: inst.level },
      );
    }
    ctx.state = inst.state;
    ctx.sink({
      type: 'info',
      message: `${inst.product} ${inst.version} ${inst.arch}, ${inst.levelName}, in ${inst.root}`,
    });
  },
};

async function readRecord(root: string, packId: string, backupRel: string): Promise<BackupRecord> {
  const file = join(root, SERVICEPACK_DIR, ...backupRel.split('/'), BACKUP_RECORD);
  let json: unknown;
  try {
    json = JSON.parse(await readRecordFile(file));
  } catch (e) {
    if (isServicepackError(e)) throw e;
    throw new ServicepackError(
      'E_NO_BACKUP',
      `${packId} cannot be uninstalled: its uninstall data ${file} ${errnoCode(e) === 'ENOENT' ? 'is missing' : `cannot be read (${(e as Error).message})`}; nothing was changed`,
      { packId, path: file },
      { cause: e },
    );
  }
  const checked = checkedBackupRecord(json);
  if (checked !== undefined && checked.packId === packId) return checked;
  // a record the quick check does not vouch for: the schema (and zod) decide and word the error
  const [{ BackupRecordSchema }, { z }] = await Promise.all([import('../transaction/backup-schema.js'), import('zod')]);
  const parsed = BackupRecordSchema.safeParse(json);
  if (!parsed.success || parsed.data.packId !== packId) {
    throw new ServicepackError(
      'E_NO_BACKUP',
      `${packId} cannot be uninstalled: its uninstall data ${file} is damaged (${parsed.success ? `it belongs to ${parsed.data.packId}` : z.prettifyError(parsed.error).replace(/\s*\n\s*/g, '; ')}); nothing was changed`,
      { packId, path: file },
    );
  }
  return parsed.data as BackupRecord;
}

const planStep: StepDef<UninstallContext> = {
  name: 'plan',
  run: async (ctx) => {
    const state = ctx.state!;
    const installed = state.installed;
    const newest = installed[installed.length - 1]!;
    const wanted = ctx.opts.id ?? newest.packId;
    const at_ = installed.map((i) => i.packId.toLowerCase()).lastIndexOf(wanted.toLowerCase());
    if (at_ < 0) {
      throw new ServicepackError(
        'E_NOT_REMOVABLE',
        `${wanted} is not installed in ${ctx.root} (installed, oldest first: ${installed.map((i) => i.packId).join(', ')}): nothing was changed`,
        { packId: wanted, installed: installed.map((i) => i.packId) },
      );
    }
    if (at_ !== installed.length - 1) {
      // newest first: an older update's backup holds the files as they were before it, and
      // restoring them under a newer update would undo part of the newer one.
      const first = installed
        .slice(at_ + 1)
        .reverse()
        .map((i) => i.packId);
      const order = [...first, installed[at_]!.packId];
      throw new ServicepackError(
        'E_NOT_REMOVABLE',
        `${installed[at_]!.packId} is not the newest update here: uninstall ${order[0]} first, then ${order.slice(1).join(', then ')}`,
        { packId: installed[at_]!.packId, order },
      );
    }
    if (newest.backup === undefined) {
      throw new ServicepackError(
        'E_NO_BACKUP',
        `${newest.packId} was installed with --no-backup (-n), so no uninstall data was kept and it cannot be removed; to go back, reinstall the earlier level from its release: nothing was changed`,
        { packId: newest.packId },
      );
    }
    // The backup folder and every folder in it on the way to a file it restores: the restore
    // moves those files, and through a link it would move them out of wherever the link points.
    const seen = new Set<string>();
    checkNoLinkOnTheWay(ctx.root, [`${SERVICEPACK_DIR}/${newest.backup}/${BACKUP_RECORD}`], seen);
    const record = await readRecord(ctx.root, newest.packId, newest.backup);
    ctx.target = { packId: newest.packId, backupRel: newest.backup, record };
    const sources = restorable(record).map((f) => `${SERVICEPACK_DIR}/${newest.backup}/${f.backup}`);
    checkNoLinkOnTheWay(ctx.root, sources, seen);
    // Both reads at once (the stage step checks the backup): each keeps a worker thread and this
    // one busy, and together they leave neither idle while the other finishes its share.
    const backupDigests = hashFiles(sources.map((p) => at(ctx.root, p)));
    // a refusal below must not leave this unobserved
    backupDigests.catch(() => {});
    ctx.backupDigests = backupDigests;
    await hashPaths(ctx.installation!, [BUILDINFO_FILE, ...record.files.map((f) => f.path)]);

    // Files changed since the pack installed them would be lost by the restore.
    const disk = ctx.installation!.files;
    const modified = record.files.filter((f) => !sameMeta(disk.get(f.path), f.after)).map((f) => f.path);
    if (modified.length > 0 && ctx.opts.modified !== 'overwrite') {
      const shown = modified.slice(0, 8);
      throw new ServicepackError(
        'E_LOCALLY_MODIFIED',
        `${modified.length === 1 ? '1 file was' : `${modified.length} files were`} changed since ${newest.packId} installed ${modified.length === 1 ? 'it' : 'them'}, and removing ${newest.packId} would replace ${modified.length === 1 ? 'it' : 'them'}: ${shown.join(', ')}${modified.length > shown.length ? ` and ${modified.length - shown.length} more` : ''}. Nothing was changed. Pass --overwrite-modified (-o) to uninstall anyway (the changed files are kept in .servicepack/${SAVED_DIR}/)`,
        { packId: newest.packId, files: modified },
      );
    }
    for (const p of modified)
      ctx.sink({
        type: 'warning',
        code: 'W_MODIFIED_OVERWRITTEN',
        message: `${p} was changed since ${newest.packId} was installed; the changed file is kept in .servicepack/${SAVED_DIR}/${ctx.txid}/`,
        path: p,
      });
  },
};

/** The files the backup holds originals of, in the record's order. */
function restorable(record: BackupRecord): BackupRecord['files'] {
  return record.files.filter((f) => f.before !== undefined && f.backup !== undefined);
}

/**
 * The uninstall journal: current files into trash (or saved/), backed-up originals into place; the
 * backup folder goes once the change is in. The folders it makes for trash and saved/ are noted in
 * `made` (to be flushed before the journal is written).
 */
async function buildUninstallJournal(
  ctx: UninstallContext,
  made: Set<string>,
): Promise<{ journal: Journal; buildInfo: BuildInfo }> {
  const root = ctx.root;
  const state = ctx.state!;
  const { packId, backupRel, record } = ctx.target!;
  const backupDirRel = `${SERVICEPACK_DIR}/${backupRel}`;
  const stagingRel = relTo(root, ctx.stagingRoot);
  const disk = ctx.installation!.files;
  const ops: JournalOp[] = [];
  const steps: JournalStep[] = [];
  const dirs = new Map<string, boolean>();
  const files: Record<string, FileMeta> = { ...state.files };
  const removed: string[] = [];
  let buildInfo: BuildInfo | undefined;
  let saved = false;
  const madeDirs = new Set<string>();
  // Re-hash what will be restored, a few files at once: a damaged backup must be found before
  // anything moves, and one file at a time leaves the disk and the thread pool mostly idle.
  const intact = new Map<string, boolean>();
  const restore = restorable(record);
  const digests = await (ctx.backupDigests ?? hashFiles(restore.map((f) => at(root, `${backupDirRel}/${f.backup}`))));
  for (const [i, f] of restore.entries()) {
    const d = digests[i];
    // a link or special file in the backup is damage like any other: refused below, never followed
    if (d instanceof Error && errnoCode(d) !== undefined && errnoCode(d) !== 'ELOOP') throw d;
    intact.set(
      f.path,
      d !== undefined &&
        !(d instanceof Error) &&
        d.sha256 === f.before!.sha256 &&
        d.size === f.before!.size &&
        d.mode === f.before!.mode,
    );
  }
  for (const f of [...record.files].reverse()) {
    const cur = disk.get(f.path);
    if (!cur && !f.before) continue;
    const k = ops.length;
    const isModified = !sameMeta(cur, f.after);
    const away = cur ? `${stagingRel}/${isModified ? SAVED_DIR : 'trash'}/${f.path}` : undefined;
    saved ||= isModified && cur !== undefined;
    let source: string | undefined;
    if (f.before) {
      if (f.backup === undefined)
        throw new ServicepackError(
          'E_NO_BACKUP',
          `${packId} cannot be uninstalled: its uninstall data has no copy of ${f.path}; nothing was changed`,
          { packId, path: f.path },
        );
      source = `${backupDirRel}/${f.backup}`;
      const abs = at(root, source);
      if (intact.get(f.path) !== true) {
        throw new ServicepackError(
          'E_HASH_MISMATCH',
          `${packId} cannot be uninstalled: its backup of ${f.path} (${source}) is missing or differs from what was backed up: the uninstall data is damaged; nothing was changed`,
          { packId, path: f.path },
        );
      }
      if (f.path === BUILDINFO_FILE) {
        const json: unknown = JSON.parse(await readFile(abs, 'utf8'));
        buildInfo =
          checkedBuildInfo(json) ?? (await import('../installation/buildinfo.js')).BuildInfoSchema.parse(json);
      }
    }
    ops.push({
      pack: packId,
      path: f.path,
      op: f.before ? (cur ? 'replace' : 'add') : 'delete',
      reason: isModified ? 'overwrite-modified' : 'uninstall',
      ...(cur ? { before: { sha256: cur.sha256, size: cur.size, mode: cur.mode } } : {}),
      ...(f.before ? { after: f.before } : {}),
      ...(away ? { backup: away } : {}),
      ...(source ? { source } : {}),
    });
    if (away) {
      const parent = dirname(at(root, away));
      if (!madeDirs.has(parent)) {
        await makeDirs(parent, made);
        madeDirs.add(parent);
      }
      steps.push({ kind: 'rename', from: f.path, to: away, op: k });
    }
    if (f.before && source) {
      for (const d of await missingParents(root, f.path, dirs)) steps.push({ kind: 'mkdir', dir: d, op: k });
      steps.push({ kind: 'rename', from: source, to: f.path, op: k });
      files[f.path] = f.before;
      ctx.changed.restored.push(f.path);
    } else {
      delete files[f.path];
      removed.push(f.path);
      ctx.changed.removed.push(f.path);
    }
    if (isModified && cur) ctx.changed.saved.push(f.path);
  }
  const prev =
    checkedState(record.previousState) ??
    (record.previousState === null
      ? undefined
      : (await import('../installation/state.js')).StateSchema.safeParse(record.previousState).data);
  const kept =
    prev !== undefined ? (prev.keptModified ?? []) : (state.keptModified ?? []).filter((p) => !record.kept.includes(p));
  const bi = buildInfo ?? { ...ctx.installation!.buildInfo, level: record.fromLevel, hotfixes: record.fromHotfixes };
  const after: State = {
    ...state,
    level: record.fromLevel,
    hotfixes: [...record.fromHotfixes],
    installed: state.installed.slice(0, -1),
    files: Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    history: [
      ...state.history,
      {
        id: ctx.txid,
        packId,
        action: 'uninstall',
        time: ctx.time,
        result: 'done',
        fromLevel: state.level,
        toLevel: record.fromLevel,
        backup: backupRel,
      },
    ],
  };
  if (kept.length > 0) after.keptModified = [...kept].sort();
  else delete after.keptModified;
  ctx.after = { level: record.fromLevel, hotfixes: [...record.fromHotfixes] };
  const prune = new Set([
    ...(await predictEmptied(root, removed, Object.keys(files))),
    ...record.createdDirs.filter((d) => !Object.keys(files).some((p) => p.startsWith(`${d}/`))),
  ]);
  const journal: Journal = {
    format: 1,
    id: ctx.txid,
    action: 'uninstall',
    phase: 'committing',
    pid: process.pid,
    time: ctx.time,
    staging: stagingRel,
    packs: [
      {
        id: packId,
        kind: record.kind,
        fromLevel: state.level,
        toLevel: record.fromLevel,
        fromHotfixes: [...state.hotfixes],
        toHotfixes: [...record.fromHotfixes],
        backup: backupRel,
      },
    ],
    ops,
    steps,
    finish: {
      // the backup root goes too once it is empty, so removing every update leaves .servicepack/ as a fresh one
      pruneDirs: [
        ...[...prune].sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? -1 : 1)),
        `${SERVICEPACK_DIR}/${BACKUP_DIR}`,
      ],
      removeTrees: [backupDirRel],
      moves: saved ? [{ from: `${stagingRel}/${SAVED_DIR}`, to: `${SERVICEPACK_DIR}/${SAVED_DIR}/${ctx.txid}` }] : [],
    },
    state: { existed: true, after },
    service: {
      wasRunning: false,
      stop: record.restart ?? true,
      restart: ctx.opts.restart,
      before: ctx.installation!.buildInfo,
      after: bi,
    },
    prepared: preparedPaths(ctx.txid),
  };
  return { journal, buildInfo: bi };
}

const stageStep: StepDef<UninstallContext> = {
  name: 'stage',
  run: async (ctx) => {
    // the folders made here must be on disk before the journal names anything in them
    const made = new Set<string>([ctx.root, ctx.spDir]);
    await createStaging(ctx, made);
    ctx.draft = (await buildUninstallJournal(ctx, made)).journal;
    await flushToDisk(ctx.root, [], made);
  },
};

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
