import { lstatSync } from 'node:fs';
import { readdir, rename } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { errnoCode, fsyncDir, isDirectory, makeDirs } from '../support/fsutil.js';
import { disposeGarbage, moveToGarbage } from './garbage.js';
import {
  at,
  checkBuiltJournal,
  closeJournal,
  type Journal,
  removeStaging,
  setPhase,
  writeJournal,
  journalCopies,
  writePrepared,
} from './journal.js';
import type { Phase } from './journal-rules.js';
import { applySteps, finishForward, flushPhasesToDisk } from './journal-apply.js';
import { type HealthCheckResult, healthContract } from '../health/trial.js';
import { probeTarget } from '../health/conf.js';
import { ServicepackError } from '../support/errors.js';
import { trialStep, withHealth } from '../health/trial-step.js';
import { restartDone, serviceStatus, startService, stopService } from '../installation/service.js';
import { BACKUP_DIR, SAVED_DIR, SERVICEPACK_DIR, STAGING_DIR } from '../installation/names.js';
import type { State } from '../installation/state.js';
import { checkOneFileSystem, isRealFolder, notFollowed, PRIVATE_DIR_MODE } from '../installation/servicepack-dir.js';
import { statePath, writeState } from '../installation/state-store.js';
import { checkpoint, type LockHandle, runStep, type StepContext, type StepDef } from './transaction.js';

/**
 * The journaled half of every change, shared by install and uninstall (docs/transactions.md §2):
 * journal, stop the service, commit by rename, record, restart, clean up, with the helpers their
 * plan and stage steps use to build the journal. One sequence, so that install and uninstall
 * cannot differ in the order that makes a crash recoverable.
 */

export interface JournaledContext extends StepContext {
  readonly root: string;
  readonly spDir: string;
  readonly txid: string;
  /** this transaction's staging folder (absolute) */
  readonly stagingRoot: string;
  /** written by the journal step (from the draft the command's stage step built), moved on by each phase change */
  journal?: Journal;
  lock?: LockHandle;
  stopTimeoutMs?: number;
  service: { wasRunning: boolean; stopped: boolean; restarted: boolean; pid?: number };
  restartRequired: boolean;
  restartMessage?: string;
  /**
   * where the transaction is in the phase table (journal-rules.ts), as the journal on disk says:
   * settleFailure decides from it (from committed on, the change is only ever finished, never undone)
   */
  phase: Phase;
  recorded: boolean;
  /**
   * Put the new level on trial when the service ran (docs/transactions.md §7 "Health check"):
   * absent, no trial (uninstall, `--no-health-check`); `timeoutSeconds` overrides the contract's.
   */
  healthCheck?: { timeoutSeconds?: number };
  /** the trial's verdict and evidence, once it ran */
  trial?: HealthCheckResult;
}

export const STAGING_REL = `${SERVICEPACK_DIR}/${STAGING_DIR}`;

/** Root-relative POSIX form of an absolute path inside the root. */
export function relTo(root: string, abs: string): string {
  return posix.join(...abs.slice(root.length + 1).split(/[\\/]/));
}

export function preparedPaths(txid: string): Journal['prepared'] {
  const s = `${STAGING_REL}/${txid}`;
  return {
    committed: `${s}/journal.committed.json`,
    rolledBack: `${s}/journal.rolled-back.json`,
    state: `${s}/state.json`,
  };
}

/** The prepared copy for the trial phase: only a transaction that will put its level on trial has one. */
const trialPath = (txid: string): string => `${STAGING_REL}/${txid}/journal.trial.json`;

/**
 * The folders above a relative path, innermost first. Records are checked before they get here;
 * still, this ends on any input: `posix.dirname` never reaches `.` from an absolute path (it stays
 * at `/`), and a forged record once made that an endless loop holding the lock.
 */
function* parentFolders(rel: string): Generator<string> {
  for (let d = posix.dirname(rel), prev = rel; d !== '.' && d !== '/' && d !== prev; prev = d, d = posix.dirname(d))
    yield d;
}

/**
 * Folders that the change leaves empty: the parents of removed files that hold nothing the tree
 * keeps afterwards (`finalFiles`), deepest first. Predicted before the commit so that the backup
 * record can say which folders to recreate, and pruned only after the commit point, so that a
 * rollback never needs to create a folder (which could fail on a full disk).
 */
export async function predictEmptied(
  root: string,
  removed: readonly string[],
  finalFiles: Iterable<string>,
): Promise<string[]> {
  const keep = new Set<string>();
  for (const p of finalFiles) for (const d of parentFolders(p)) keep.add(d);
  const memo = new Map<string, boolean>();
  const empties = async (d: string): Promise<boolean> => {
    const known = memo.get(d);
    if (known !== undefined) return known;
    let result = !keep.has(d);
    if (result) {
      const entries = await readdir(at(root, d), { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        if (e.isDirectory() && !(await empties(`${d}/${e.name}`))) {
          result = false;
          break;
        }
      }
    }
    memo.set(d, result);
    return result;
  };
  const out = new Set<string>();
  for (const p of removed) {
    for (const d of parentFolders(p)) {
      if (!(await empties(d))) break;
      out.add(d);
    }
  }
  return [...out].sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? -1 : 1));
}

/**
 * Missing parent folders of `rel`, outermost first, that no earlier step creates; `known` caches
 * what exists (or will, once earlier steps ran) across the whole plan.
 */
export async function missingParents(root: string, rel: string, known: Map<string, boolean>): Promise<string[]> {
  const out: string[] = [];
  const segs = rel.split('/').slice(0, -1);
  let d = '';
  for (const s of segs) {
    d = d ? `${d}/${s}` : s;
    let there = known.get(d);
    if (there === undefined) {
      there = await isDirectory(at(root, d));
      known.set(d, there);
    }
    if (!there) {
      out.push(d);
      known.set(d, true);
    }
  }
  return out;
}

/**
 * Creates this transaction's staging folder (private, and a real folder all the way down from the
 * root: nothing staged may land elsewhere), after checking that it and the folders of
 * `.servicepack/` the commit moves into are on the installation's file system; the journal step
 * checks the product's folders once the plan names them. Before anything is extracted.
 */
export async function createStaging(
  ctx: Pick<JournaledContext, 'root' | 'stagingRoot'>,
  made: Set<string>,
): Promise<void> {
  await makeDirs(ctx.stagingRoot, made, PRIVATE_DIR_MODE);
  const rel = relTo(ctx.root, ctx.stagingRoot);
  if (!isRealFolder(ctx.root, rel))
    throw notFollowed(ctx.stagingRoot, lstatSync(ctx.stagingRoot, { throwIfNoEntry: false }));
  checkOneFileSystem(ctx.root, [rel, `${SERVICEPACK_DIR}/${BACKUP_DIR}`, `${SERVICEPACK_DIR}/${SAVED_DIR}`]);
}

/**
 * The folders a journal's renames (and the phase and record renames) move entries in or out of,
 * but those inside this transaction's staging folder: createStaging checked it, and nothing
 * mounts on a folder made a moment ago under a fresh name.
 */
function renameFolders(j: Journal): string[] {
  const dirs = new Set<string>([SERVICEPACK_DIR, j.staging]);
  const add = (d: string): void => {
    if (!d.startsWith(`${j.staging}/`)) dirs.add(d);
  };
  for (const s of j.steps) {
    if (s.kind === 'mkdir') add(s.dir);
    else {
      add(posix.dirname(s.from));
      add(posix.dirname(s.to));
    }
  }
  for (const m of j.finish.moves) {
    add(posix.dirname(m.from));
    add(posix.dirname(m.to));
  }
  return [...dirs];
}

/** The context once the journal is written: what the steps after the journal step read. */
type Open = JournaledContext & { journal: Journal };

const journalStep: StepDef<JournaledContext & { readonly draft: Journal }, { journal: Journal }> = {
  name: 'journal',
  run: async (ctx) => {
    const draft = ctx.draft;
    // What recovery must restore includes the service: its state is read right before the
    // journal is written, and the journal says whether this transaction stops it.
    const status = await serviceStatus(ctx.root, draft.service.before);
    if (status.distrust)
      ctx.sink({
        type: 'warning',
        code: status.distrust.code,
        message: status.distrust.message,
        path: draft.service.before.service.pidFile,
      });
    ctx.service.wasRunning = status.running;
    if (status.pid !== undefined) ctx.service.pid = status.pid;
    // A restart an earlier change left pending is done once the server runs again (restartDone).
    const { restartPending, ...cleared } = draft.state.after;
    // On trial: a server that ran, is stopped for the change and started again, with a contract to check it by.
    const contract = healthContract(draft.service.after, draft.service.before);
    const trial =
      ctx.healthCheck !== undefined &&
      status.running &&
      draft.service.stop &&
      draft.service.restart === 'auto' &&
      contract !== undefined;
    if (trial) {
      // A check that cannot tell where the server listens would roll back a good update: refused
      // here, before anything changes, so the operator decides (a plain file, or no check).
      const where = await probeTarget(ctx.root, contract.http);
      if ('problem' in where)
        throw new ServicepackError(
          'E_HEALTH_CHECK_UNAVAILABLE',
          `the health check cannot tell where the server listens: ${where.problem}; nothing was changed: make it a plain file the server reads, or install with --no-health-check`,
          { problem: where.problem },
        );
    }
    const journal: Journal = {
      ...draft,
      ...(trial ? { prepared: { ...draft.prepared, trial: trialPath(draft.id) } } : {}),
      ...(restartPending !== undefined && restartDone(status) ? { state: { ...draft.state, after: cleared } } : {}),
      service: {
        ...draft.service,
        wasRunning: status.running,
        ...(status.pid !== undefined ? { pid: status.pid } : {}),
        stop: status.running && draft.service.stop,
      },
    };
    await checkBuiltJournal(journal);
    checkOneFileSystem(ctx.root, renameFolders(journal));
    const copies = journalCopies(journal);
    await writePrepared(ctx.root, journal, copies);
    await checkpoint(ctx, 'journal:prepared', { step: 'journal' });
    await writeJournal(ctx.root, journal, ctx.hooks.phase, copies);
    ctx.journal = journal;
    ctx.phase = journal.phase;
    return { journal };
  },
};

const stopServiceStep: StepDef<Open> = {
  name: 'stop-service',
  run: async (ctx) => {
    const j = ctx.journal;
    if (!j.service.stop) return 'skipped';
    // Also with --no-restart: files are never replaced under a running server (it could load a
    // mix of old and new modules); -z only means it is not started again afterwards.
    ctx.sink({ type: 'info', message: `stopping ${j.service.before.product} (pid ${j.service.pid})` });
    await stopService(
      ctx.root,
      j.service.before,
      ctx.stopTimeoutMs !== undefined ? { timeoutMs: ctx.stopTimeoutMs } : {},
    );
    ctx.service.stopped = true;
  },
};

const commitStep: StepDef<Open> = {
  name: 'commit',
  run: async (ctx) => {
    const j = ctx.journal;
    const totalFiles = j.ops.length;
    const totalBytes = j.ops.reduce((n, o) => n + (o.after?.size ?? 0), 0);
    let files = 0;
    let bytes = 0;
    const started = new Set<number>();
    const phases = await applySteps(ctx.root, j.steps, async (s, i) => {
      if (s.op === undefined) return checkpoint(ctx, 'commit:prepare', { step: 'commit', index: i });
      const op = j.ops[s.op];
      if (op === undefined) throw new Error(`internal: the journal step ${i} names no file operation`);
      const info = { step: 'commit' as const, packId: op.pack, path: op.path, index: s.op };
      if (!started.has(s.op)) {
        started.add(s.op);
        await checkpoint(ctx, 'commit:file', info);
        ctx.sink({ type: 'progress', step: 'commit', files: files++, totalFiles, bytes, totalBytes, path: op.path });
        bytes += op.after?.size ?? 0;
        return;
      }
      await checkpoint(ctx, s.kind === 'rename' ? 'commit:backed-up' : 'commit:mkdir', info);
    });
    await flushPhasesToDisk(ctx.root, phases);
    ctx.sink({ type: 'progress', step: 'commit', files, totalFiles, bytes, totalBytes });
  },
};

/** Puts the new state record in place: the prepared copy by rename, or written from the journal. */
export async function installState(root: string, j: Journal, extra: State['history'] = []): Promise<void> {
  if (extra.length === 0) {
    try {
      await rename(at(root, j.prepared.state), statePath(root));
      await fsyncDir(dirname(statePath(root)));
      return;
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
    }
  }
  await writeState(root, { ...j.state.after, history: [...j.state.after.history, ...extra] });
}

const recordStep: StepDef<Open> = {
  name: 'record',
  run: async (ctx) => {
    ctx.journal = await setPhase(ctx.root, ctx.journal, 'committed', ctx.hooks.phase);
    ctx.phase = ctx.journal.phase;
    await checkpoint(ctx, 'record:committed', { step: 'record' });
    if (ctx.trial?.passed) await writeState(ctx.root, withHealth(ctx.journal.state.after, ctx.journal.id, ctx.trial));
    else await installState(ctx.root, ctx.journal);
    ctx.recorded = true;
  },
};

const restartStep: StepDef<Open> = {
  name: 'restart',
  run: async (ctx) => {
    // the trial started it already
    if (!ctx.service.stopped || ctx.service.restarted) return 'skipped';
    const j = ctx.journal;
    const bi = j.service.after;
    if (j.service.restart === 'never') {
      ctx.restartRequired = true;
      ctx.restartMessage = `${bi.product} was stopped for the change and not started again (--no-restart): start it with bin/inetsrv start`;
      return 'skipped';
    }
    const started = await startService(ctx.root, bi);
    if (started.started) {
      ctx.service.restarted = true;
      ctx.sink({ type: 'info', message: `${bi.product} started again (pid ${started.pid})` });
      return;
    }
    ctx.restartRequired = true;
    ctx.restartMessage = `the change is made but ${bi.product} could not be started again (${started.message}): start it with bin/inetsrv start`;
    ctx.sink({ type: 'warning', code: 'W_RESTART_FAILED', message: ctx.restartMessage });
  },
};

const cleanupStep: StepDef<Open> = {
  name: 'cleanup',
  run: async (ctx) => {
    const j = ctx.journal;
    await finishForward(ctx.root, j);
    // Staging holds what the change threw away after an uninstall (the update's files) or an
    // install without backup (the replaced originals): that can be hundreds of MiB, deleted in the
    // background (garbage.ts). After an install with backup, whose originals moved on to backup/,
    // it is nearly empty, and deleting it here costs less than starting a process.
    const discards = j.action === 'uninstall' || j.packs.some((p) => p.backup === undefined);
    if (!discards || !moveToGarbage(ctx.root, j.staging)) await removeStaging(ctx.root, j);
    await checkpoint(ctx, 'cleanup:staging', { step: 'cleanup' });
    await closeJournal(ctx.root, j, ctx.hooks.phase);
    ctx.phase = 'closed';
    await disposeGarbage(ctx.root);
  },
};

/** journal → stop-service → commit → trial → record → restart → cleanup: the same for every change to an installation. */
export async function runJournaledSteps(ctx: JournaledContext & { readonly draft: Journal }): Promise<void> {
  const open = await runStep(ctx, journalStep);
  // the trial is a step only of a change the journal puts on trial: the others report what they always did
  const trial = open.journal.prepared.trial !== undefined ? [trialStep] : [];
  for (const step of [stopServiceStep, commitStep, ...trial, recordStep, restartStep, cleanupStep])
    await runStep(open, step);
}

export async function stagingLeftovers(root: string): Promise<string[]> {
  const dir = join(root, SERVICEPACK_DIR, STAGING_DIR);
  try {
    return (await readdir(dir)).map((n) => `${STAGING_REL}/${n}`);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return [];
    throw e;
  }
}
