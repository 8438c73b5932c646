import type { Installation } from '../../installation/detect.js';
import type { EventSink } from '../../support/events.js';
import type { hashFiles } from '../../support/hash.js';
import type { Level } from '../../rules/level.js';
import type { FileMeta } from '../../rules/plan.js';
import type { State } from '../../installation/state.js';
import type { BackupRecord } from '../../transaction/backup-record.js';
import type { JournaledContext } from '../../transaction/journaled-steps.js';
import type { TransactionHooks } from '../../transaction/transaction.js';

/**
 * What the uninstall steps share: the options the caller gave, the one context every step reads and
 * extends, and the two rules about a backup record both the plan and the journal apply.
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

export interface UninstallContext extends JournaledContext {
  readonly opts: UninstallOptions;
  readonly time: string;
  installation?: Installation;
  state?: State;
  target?: { packId: string; backupRel: string; record: BackupRecord };
  /** the backup's files as hashed now (started in the plan step, alongside the current files) */
  backupDigests?: Promise<Awaited<ReturnType<typeof hashFiles>>>;
  changed: { restored: string[]; removed: string[]; saved: string[] };
  /** files -o found deleted here since the install: nothing of them to keep */
  deletedHere: string[];
  after?: { level: Level; hotfixes: string[] };
}

export function sameMeta(a: FileMeta | undefined, b: FileMeta | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.sha256 === b.sha256 && a.size === b.size && a.mode === b.mode;
}

/** The files the backup holds originals of, in the record's order. */
export function restorable(record: BackupRecord): BackupRecord['files'] {
  return record.files.filter((f) => f.before !== undefined && f.backup !== undefined);
}
