import { type ApplicabilityTarget, levelAfter } from '../../rules/applicability.js';
import type { BuildInfo } from '../../installation/buildinfo.js';
import type { Installation } from '../../installation/detect.js';
import type { EventSink } from '../../support/events.js';
import type { Level } from '../../rules/level.js';
import type { Manifest } from '../../pack/manifest.js';
import type { VerifiedPack } from '../../pack/open.js';
import type { StagedPayload } from '../../pack/stage.js';
import type { InstallPlan, ModifiedPolicy } from '../../rules/plan.js';
import type { Journal } from '../../transaction/journal.js';
import type { ChangeContext } from '../change.js';
import type { TransactionHooks } from '../../transaction/transaction.js';

/**
 * What the install steps share: the options the caller gave, and the context every step reads a
 * part of and extends (the packs as units, verified, then planned, then staged).
 */

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
  /** seconds to wait for a busy lock before refusing with E_BUSY (acquireLock); default 0 */
  lockWait?: number;
  /** bounded wait for the service to stop */
  stopTimeoutMs?: number;
  /**
   * Put the new level on trial when the service ran (docs/transactions.md §7 "Health check"); false:
   * `--no-health-check`. Default true.
   */
  healthCheck?: boolean;
  /** the health probe's deadline in seconds instead of the release's (`--health-timeout`) */
  healthTimeoutSeconds?: number;
  /** SEAM: fault injection / journal hooks, see transaction.ts */
  hooks?: TransactionHooks;
  /** chosen by the caller when it logs under this id before the transaction starts (answer files, feeds) */
  transactionId?: string;
}

/** A pack of the run once verified (the verify step): what it is, and the level it leaves. */
export interface Unit {
  index: number;
  path: string;
  pack: VerifiedPack;
  manifest: Manifest;
  from: ApplicabilityTarget;
  to: { level: Level; hotfixes: string[] };
  stagingDir: string;
  /** where the originals collect during the commit (inside staging; moved to backup/<id>/ with the backup) */
  stagedBackupDir: string;
  /** relative to .servicepack/, recorded in the state when the backup is kept */
  backupRel?: string;
}

/** A pack once planned (the plan step). */
export interface PlannedUnit extends Unit {
  plan: InstallPlan;
  /** the BUILDINFO.json the installer writes for a pack that ships none */
  buildInfo?: BuildInfo;
}

/** A pack once staged (the stage step): its payload verified in staging, the BUILDINFO.json it leaves known. */
export interface StagedUnit extends PlannedUnit {
  staged: StagedPayload;
  buildInfo: BuildInfo;
  /** where the installer's BUILDINFO.json is staged, when it writes one */
  generatedBuildInfo?: string;
}

/**
 * The install context as it starts, and as each step leaves it: a step's type reads a `Pick` of
 * the one before it and says what it adds (transaction.ts, StepDef).
 */
export type InstallContext = ChangeContext<InstallOptions>;
export type Detected = InstallContext & { installation: Installation };
export type Verified = Detected & { units: readonly Unit[] };
export type Planned = Detected & { units: readonly PlannedUnit[] };
export type Staged = Detected & { units: readonly StagedUnit[]; draft: Journal };

/** The level and hotfix ids an installation has after `m` (rules/applicability.ts's levelAfter). */
export function nextLevel(from: ApplicabilityTarget, m: Manifest): { level: Level; hotfixes: string[] } {
  return levelAfter(from, m);
}
