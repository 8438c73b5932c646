import { type ApplicabilityTarget, hotfixIds } from '../../rules/applicability.js';
import type { BuildInfo } from '../../installation/buildinfo.js';
import type { Installation } from '../../installation/detect.js';
import type { EventSink } from '../../support/events.js';
import type { Level } from '../../rules/level.js';
import type { Manifest } from '../../pack/manifest.js';
import type { StagedPayload, VerifiedPack } from '../../pack/pack.js';
import type { InstallPlan, ModifiedPolicy } from '../../rules/plan.js';
import type { BackupRecord } from '../../transaction/backup-record.js';
import type { JournaledContext } from '../../transaction/journaled-steps.js';
import type { TransactionHooks } from '../../transaction/transaction.js';

/**
 * What the install steps share: the options the caller gave, and the one context every step reads
 * and extends (the packs as units, each with its plan, staged payload and backup record).
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
  /** bounded wait for the service to stop */
  stopTimeoutMs?: number;
  /** SEAM: fault injection / journal hooks, see transaction.ts */
  hooks?: TransactionHooks;
  /** chosen by the caller when it logs under this id before the transaction starts (answer files, feeds) */
  transactionId?: string;
}

export interface Unit {
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
  /** where the journal moves an older backup folder of the same name (root-relative) */
  movedAside?: string;
  record?: BackupRecord;
}

export interface InstallContext extends JournaledContext {
  readonly opts: InstallOptions;
  readonly time: string;
  installation?: Installation;
  units: Unit[];
}

/** The level and hotfix ids an installation has after `m`: a hotfix records the fixes it ships (usually just its own id). */
export function nextLevel(from: ApplicabilityTarget, m: Manifest): { level: Level; hotfixes: string[] } {
  const kept = from.hotfixes.filter((h) => !m.supersedes.includes(h));
  if (m.kind === 'service-pack') return { level: m.level, hotfixes: kept };
  return { level: from.level, hotfixes: [...new Set([...kept, ...hotfixIds(m)])] };
}
