import type { Installation } from '../../installation/detect.js';
import type { EventSink } from '../../support/events.js';
import type { hashFiles } from '../../support/hash.js';
import type { Level } from '../../rules/level.js';
import type { FileMeta } from '../../rules/plan.js';
import type { State } from '../../installation/state.js';
import type { BackupRecord } from '../../transaction/backup-record.js';
import type { Journal } from '../../transaction/journal.js';
import type { ChangeContext } from '../change.js';
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
  /** check and plan only, and say what the restore would change; nothing is staged or changed */
  dryRun?: boolean;
}

/** The level and hotfixes the installation is at once the update is off. */
export interface LevelAfter {
  level: Level;
  hotfixes: string[];
}
export interface Changed {
  restored: string[];
  removed: string[];
  saved: string[];
}

/**
 * The uninstall context as it starts, and as each step leaves it: a step's type reads a `Pick` of
 * the one before it and says what it adds (transaction.ts, StepDef).
 */
export type UninstallContext = ChangeContext<UninstallOptions>;
/** found: the installation, its state record and the newest update in it (the one that can come off) */
export type Detected = UninstallContext & {
  installation: Installation;
  state: State;
  newest: State['installed'][number];
};
export type Planned = Detected & {
  target: { packId: string; backupRel: string; record: BackupRecord };
  /** the backup's files as hashed now (started in the plan step, alongside the current files) */
  backupDigests: Promise<Awaited<ReturnType<typeof hashFiles>>>;
};
export type Staged = Planned & { draft: Journal; after: LevelAfter; changed: Changed };

export function sameMeta(a: FileMeta | undefined, b: FileMeta | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.sha256 === b.sha256 && a.size === b.size && a.mode === b.mode;
}

type BackupFile = BackupRecord['files'][number];
/** A file the backup holds the original of. */
export type RestorableFile = BackupFile & { before: NonNullable<BackupFile['before']>; backup: string };

/** The files the backup holds originals of, in the record's order. */
export function restorable(record: BackupRecord): RestorableFile[] {
  return record.files.filter((f): f is RestorableFile => f.before !== undefined && f.backup !== undefined);
}
