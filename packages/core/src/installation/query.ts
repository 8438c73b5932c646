import { resolve } from 'node:path';
import type { Installation, Problem } from './detect.js';
import { ServicepackError } from '../support/errors.js';
import { type Level, levelName, rollupName, rollupsOf, rollupsPresent } from '../rules/level.js';
import { consistentInstallation, journalAbsent } from './query-scan.js';
import { checkRootFolder } from './root.js';
import { checkServicepackDir } from './servicepack-dir.js';
import type { HistoryEntry, RestartPending, State } from './state.js';

/** `servicepack query --json` (docs/cli.md §2): one object, the fields scripts rely on first. */
export interface QueryResult {
  product: string;
  displayName: string;
  version: string;
  arch: string;
  level: Level;
  levelName: string;
  hotfixes: string[];
  /** the rollups installed and still whole (levelName names them), e.g. SRP1 "Security Rollup 1" */
  rollups: { id: string; name: string; fixes: string[] }[];
  build: string;
  consistent: boolean;
  problems: Problem[];
  /** installed packs, oldest first */
  installed: State['installed'];
  history: HistoryEntry[];
  root: string;
  /** false for a vendor release tree nothing was ever installed on */
  stateRecord: boolean;
  /** a change exited 10 (the service it stopped was not started again) and the service has not run since */
  restartPending: boolean;
  /** present when the state record notes a pending restart: whether it has happened since, and when */
  restart?: RestartStatus;
  /** the last change put on trial (docs/transactions.md §7 "Health check"): whether it passed, or was rolled back and why */
  lastHealthCheck?: HealthCheckNote;
}

export interface HealthCheckNote {
  transactionId: string;
  time: string;
  packIds: string[];
  fromLevel: Level;
  toLevel: Level;
  passed: boolean;
  /** the change was rolled back: by its failed health check, or by recover after a run ended on trial */
  rolledBack: boolean;
  summary: string;
}

/** The newest history entries that carry a health check, as one note (a transaction's packs share one check). */
function lastHealthCheck(history: readonly HistoryEntry[]): HealthCheckNote | undefined {
  const last = history.findLast((h) => h.health !== undefined);
  if (last?.health === undefined) return undefined;
  const same = history.filter((h) => h.id === last.id && h.health !== undefined && h.action === last.action);
  return {
    transactionId: last.id,
    time: last.time,
    packIds: same.map((h) => h.packId),
    fromLevel: same[0]?.fromLevel ?? last.fromLevel,
    toLevel: last.toLevel,
    passed: last.health.passed,
    rolledBack: last.result === 'rolled-back',
    summary: last.health.summary,
  };
}

export interface RestartStatus {
  pending: boolean;
  /** when the change that left it pending ended, and which it was */
  since: string;
  transactionId: string;
  reason: RestartPending['reason'];
  /** the running server's start time, once it was started again */
  startedAt?: string;
}

export async function queryInstallation(root: string): Promise<QueryResult> {
  checkRootFolder(resolve(root));
  // records read through a link could be anyone's: refused, as by the commands that change things
  checkServicepackDir(root);
  // Half-moved files would give a wrong answer: an open transaction must be settled first (exit 6).
  // The check and its journal schema load only when there is a journal to look at.
  if (!journalAbsent(root)) await (await import('../transaction/open-transaction.js')).assertNoOpenTransaction(root);
  // Presence, size and mode of every file, but content only where those differ from the record:
  // a query answers in the time node takes to start, whatever the tree's size; `verify` reads
  // every byte (see DetectOptions). An installation that agrees with its record is answered
  // without the general detection; anything else gets detectInstallation's full account.
  const quick = consistentInstallation(root);
  if (quick) return withRestart(result({ ...quick, problems: [], consistent: true }, quick.state), quick);
  const { detectInstallation } = await import('./detect.js');
  const inst = await detectInstallation(root, { trustRecord: true });
  return withRestart(result(inst, inst.state), inst);
}

/**
 * A restart the record notes as pending is looked into (the pid file, /proc) only then: the
 * common query reads no more than before. Read-only: the next change drops the note once done.
 */
async function withRestart(
  q: QueryResult,
  inst: Pick<Installation, 'buildInfo'> & { state?: State | undefined },
): Promise<QueryResult> {
  const mark = inst.state?.restartPending;
  if (mark === undefined) return q;
  const { restartDone, serviceStatus } = await import('./service.js');
  // a pid file the rules refuse says nothing about a restart: still pending
  const status = await serviceStatus(q.root, inst.buildInfo).catch(() => undefined);
  const done = status !== undefined && restartDone(status);
  const restart: RestartStatus = {
    pending: !done,
    since: mark.since,
    transactionId: mark.transactionId,
    reason: mark.reason,
    ...(done && status.start !== undefined ? { startedAt: status.start } : {}),
  };
  return { ...q, restartPending: !done, restart };
}

function result(
  inst: Pick<Installation, 'root' | 'buildInfo' | 'consistent' | 'problems'>,
  state: State | undefined,
): QueryResult {
  // Product, version, arch, level and hotfixes come from the state record when there is one
  // (what this installer did), from BUILDINFO.json otherwise: as detectInstallation reports them.
  const src = state ?? inst.buildInfo;
  const rollups = rollupsPresent(src.hotfixes, rollupsOf(state));
  return {
    product: src.product,
    displayName: inst.buildInfo.displayName,
    version: src.version,
    arch: src.arch,
    level: src.level,
    levelName: levelName(src.level, src.hotfixes, rollups),
    hotfixes: [...src.hotfixes],
    rollups: rollups.map((r) => ({ id: r.id, name: rollupName(r.id), fixes: [...r.fixes] })),
    build: inst.buildInfo.build,
    consistent: inst.consistent,
    problems: inst.problems,
    installed: state?.installed ?? [],
    history: state?.history ?? [],
    root: inst.root,
    stateRecord: state !== undefined,
    restartPending: false,
    ...withHealthNote(state),
  };
}

function withHealthNote(state: State | undefined): { lastHealthCheck?: HealthCheckNote } {
  const note = state === undefined ? undefined : lastHealthCheck(state.history);
  return note === undefined ? {} : { lastHealthCheck: note };
}

/** `query --require LEVEL`: the installed level must be at least `level` (exit 3 otherwise). */
export function checkRequirement(q: QueryResult, level: Level): void {
  if (q.level < level) {
    throw new ServicepackError(
      'E_REQUIREMENT_NOT_MET',
      `${q.product} in ${q.root} is at ${q.levelName}; ${levelName(level)} or later is required: install ${levelName(level)}`,
      { level: q.level, required: level },
    );
  }
}
