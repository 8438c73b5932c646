import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { BuildInfo } from '../../installation/buildinfo.js';
import { ServicepackError } from '../../support/errors.js';
import { errnoCode, makeDirs } from '../../support/fsutil.js';
import { at, type Journal, type JournalOp, type JournalStep } from '../../transaction/journal.js';
import type { FileMeta } from '../../rules/plan.js';
import { checkedBuildInfo, checkedState } from '../../installation/record-check.js';
import { BUILDINFO_FILE, SERVICEPACK_DIR } from '../../installation/names.js';
import type { State } from '../../installation/state.js';
import { BACKUP_DIR, SAVED_DIR } from '../../transaction/transaction.js';
import { missingParents, predictEmptied, preparedPaths, relTo } from '../../transaction/journaled-steps.js';
import { type Changed, type LevelAfter, type Planned, restorable, sameMeta } from './context.js';

/**
 * The journal of an uninstall and the state record it leaves: the backup checked against its
 * record before anything moves, then renames only.
 */

/**
 * The uninstall journal: current files into trash (or saved/), backed-up originals into place; the
 * backup folder goes once the change is in. The folders it makes for trash and saved/ are noted in
 * `made` (to be flushed before the journal is written).
 */
export async function buildUninstallJournal(
  ctx: Pick<
    Planned,
    'root' | 'stagingRoot' | 'txid' | 'time' | 'opts' | 'installation' | 'state' | 'target' | 'backupDigests'
  >,
  made: Set<string>,
): Promise<{ journal: Journal; buildInfo: BuildInfo; levelAfter: LevelAfter; changed: Changed }> {
  const root = ctx.root;
  const state = ctx.state;
  const { packId, backupRel, record } = ctx.target;
  const changed: Changed = { restored: [], removed: [], saved: [] };
  const backupDirRel = `${SERVICEPACK_DIR}/${backupRel}`;
  const stagingRel = relTo(root, ctx.stagingRoot);
  const disk = ctx.installation.files;
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
  const digests = await ctx.backupDigests;
  for (const [i, f] of restore.entries()) {
    const d = digests[i];
    // a link or special file in the backup is damage like any other: refused below, never followed
    if (d instanceof Error && errnoCode(d) !== undefined && errnoCode(d) !== 'ELOOP') throw d;
    intact.set(
      f.path,
      d !== undefined &&
        !(d instanceof Error) &&
        d.sha256 === f.before.sha256 &&
        d.size === f.before.size &&
        d.mode === f.before.mode,
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
          checkedBuildInfo(json) ?? (await import('../../installation/buildinfo.js')).BuildInfoSchema.parse(json);
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
      changed.restored.push(f.path);
    } else {
      delete files[f.path];
      removed.push(f.path);
      changed.removed.push(f.path);
    }
    if (isModified && cur) changed.saved.push(f.path);
  }
  const prev =
    checkedState(record.previousState) ??
    (record.previousState === null
      ? undefined
      : (await import('../../installation/state.js')).StateSchema.safeParse(record.previousState).data);
  const kept =
    prev !== undefined ? (prev.keptModified ?? []) : (state.keptModified ?? []).filter((p) => !record.kept.includes(p));
  const bi = buildInfo ?? { ...ctx.installation.buildInfo, level: record.fromLevel, hotfixes: record.fromHotfixes };
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
  const levelAfter: LevelAfter = { level: record.fromLevel, hotfixes: [...record.fromHotfixes] };
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
      before: ctx.installation.buildInfo,
      after: bi,
    },
    prepared: preparedPaths(ctx.txid),
  };
  return { journal, buildInfo: bi, levelAfter, changed };
}
