import { InvalidArgumentError } from '@commander-js/extra-typings';
import { MAX_LOCK_WAIT_SECONDS } from '@servicepack/core/names';
import type { ModifiedPolicy } from '@servicepack/core/plan';

/**
 * The one mapping from command-line switches to what a transaction is asked to do, for every
 * path that reads them (install, uninstall, unattended runs, the wizard's starting choices).
 * A command that does not offer a switch leaves it out, and gets its default.
 */
export interface OptionFlags {
  trust?: string[];
  allowUnsigned?: true;
  /** `-n, --no-backup` */
  backup?: boolean;
  /** `-z, --no-restart` */
  restart?: boolean;
  overwriteModified?: true;
  keepModified?: true;
  dryRun?: true;
  force?: true;
  /** `--accept-eula` */
  acceptEula?: true;
  /** `--wait SECONDS` (parseWaitSeconds) */
  wait?: number;
  /** `--no-health-check` */
  healthCheck?: boolean;
  /** `--health-timeout SECONDS` (parseHealthTimeout) */
  healthTimeout?: number;
}

export interface FlagOptions<M extends ModifiedPolicy = ModifiedPolicy> {
  trustFiles: string[];
  allowUnsigned: boolean;
  backup: boolean;
  /** stop and restart the service around the commit (the engine's form: restartPolicy) */
  restart: boolean;
  modified: M;
  dryRun: boolean;
  force: boolean;
  /** the pack's license was accepted on the command line */
  acceptEula: boolean;
  /** seconds to wait for a busy lock (0: exit 5 at once) */
  lockWait: number;
  /** put the new level on trial when the service ran (docs/transactions.md §7 "Health check") */
  healthCheck: boolean;
  /** the health probe's deadline, instead of the release's */
  healthTimeoutSeconds?: number;
}

/** A command without `--keep-modified` (uninstall) can only be asked to stop or overwrite. */
type ModifiedOf<F> = 'keepModified' extends keyof F ? ModifiedPolicy : Exclude<ModifiedPolicy, 'keep'>;

export function optionsFromFlags<F extends OptionFlags>(f: F): FlagOptions<ModifiedOf<F>> {
  const modified: ModifiedPolicy = f.overwriteModified ? 'overwrite' : f.keepModified ? 'keep' : 'stop';
  return {
    trustFiles: f.trust ?? [],
    allowUnsigned: f.allowUnsigned === true,
    backup: f.backup !== false,
    restart: f.restart !== false,
    modified: modified as ModifiedOf<F>,
    dryRun: f.dryRun === true,
    force: f.force === true,
    acceptEula: f.acceptEula === true,
    lockWait: f.wait ?? 0,
    healthCheck: f.healthCheck !== false,
    ...(f.healthTimeout !== undefined ? { healthTimeoutSeconds: f.healthTimeout } : {}),
  };
}

/** `--health-timeout SECONDS`: whole seconds from 1 to the contract's own bound; anything else is a usage error. */
export function parseHealthTimeout(value: string): number {
  const n = /^\d{1,4}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 1 && n <= HEALTH_TIMEOUT_MAX_SECONDS))
    throw new InvalidArgumentError(
      `expected whole seconds from 1 to ${HEALTH_TIMEOUT_MAX_SECONDS}, e.g. --health-timeout 30`,
    );
  return n;
}

/** The bound of BUILDINFO.json's health.timeoutSeconds (core health/contract-rules.ts HEALTH_LIMITS). */
export const HEALTH_TIMEOUT_MAX_SECONDS = 300;

/** The help of `--wait`, the same on every command that takes the lock. */
export const WAIT_HELP = `wait up to SECONDS (at most ${MAX_LOCK_WAIT_SECONDS}) for another servicepack to release the lock, then exit 5 (default 0: at once)`;

/** `--wait SECONDS`: whole seconds, bounded (apt's DPkg::Lock::Timeout); anything else is a usage error. */
export function parseWaitSeconds(value: string): number {
  const n = /^\d{1,6}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n <= MAX_LOCK_WAIT_SECONDS))
    throw new InvalidArgumentError(`expected whole seconds from 0 to ${MAX_LOCK_WAIT_SECONDS}, e.g. --wait 300`);
  return n;
}

/** Without a restart the service is still stopped for the commit; it is just not started again. */
export function restartPolicy(restart: boolean): 'auto' | 'never' {
  return restart ? 'auto' : 'never';
}
