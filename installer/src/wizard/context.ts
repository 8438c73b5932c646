import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Installation } from '@servicepack/core/detect';
import type { EventSink, ServicepackEvent } from '@servicepack/core/events';
import type { InstallResult } from '@servicepack/core/install';
import type { InstallOptions } from '@servicepack/core/install/context';
import type { UninstallResult } from '@servicepack/core/uninstall';
import type { UninstallOptions } from '@servicepack/core/uninstall/context';
import type { PackInspection, VerifiedPack } from '@servicepack/core/pack-read';
import type { TrustStore } from '@servicepack/core/trust';
import { withTransactionLog } from '../txlog.js';
import type { Outcome, PackCandidate, ViewInputs } from './model.js';
import type { WizardRequest } from './route.js';
import type { Stage, WizardUi } from './ui.js';

export type { InstallChoices, Outcome, PackCandidate, Refusal } from './model.js';

/**
 * The one context every wizard step reads and extends (create-astro's pattern): what the command
 * line asked for, what has been found and chosen so far, and the two seams tests replace — the
 * engine (`services`) and the screen (`ui`).
 */

/** The engine calls the wizard makes, injectable so steps can be tested without disks or timing. */
export interface WizardServices {
  detect(root: string): Promise<Installation>;
  /** throws E_NEEDS_RECOVER when an interrupted transaction left its journal */
  checkJournal(root: string): Promise<void>;
  loadTrust(root: string, trustFiles: readonly string[]): Promise<TrustStore>;
  /** reads and schema-checks the manifest, reporting signatures without enforcing them */
  inspect(path: string, trust: TrustStore): Promise<PackInspection>;
  /** the enforcing read: throws unless signed by a trusted key (or allowUnsigned) */
  open(path: string, trust: TrustStore, allowUnsigned: boolean): Promise<VerifiedPack>;
  readDocument(pack: VerifiedPack, name: string): Promise<string>;
  /** every *.tgz in dir, sorted */
  findPacks(dir: string): Promise<string[]>;
  /** one transaction, logged like every other front end's (`.servicepack/log/<txid>.jsonl`) */
  install(opts: InstallOptions): Promise<{ result: InstallResult; logFile?: string }>;
  /** removes the newest update (or the one named, when that is the newest) */
  uninstall(opts: UninstallOptions): Promise<{ result: UninstallResult; logFile?: string }>;
  /** settles an interrupted transaction (`servicepack recover`); resolves to one line saying what it did */
  recover(root: string, sink: EventSink): Promise<string>;
}

export interface WizardContext extends ViewInputs {
  readonly services: WizardServices;
  readonly ui: WizardUi;
  /** which way the runner is moving, so a step with nothing to show can step aside in that direction */
  direction: 'forward' | 'back';
  root?: string;
  /** the prompt asked for a root (so Installation offers to change it) */
  rootPrompted: boolean;
  installation?: Installation;
  trust?: TrustStore;
  candidates?: PackCandidate[];
  /** the root the candidates were judged against */
  candidatesFor?: string;
  /** the packs' folder typed on the Update step, when the current folder held none */
  packsDir?: string;
  chosen?: PackCandidate;
  accepted: boolean;
  result?: InstallResult;
  /** uninstall: the update chosen for removal, and what removing it did */
  removal?: string;
  removed?: UninstallResult;
  logFile?: string;
}

export function createContext(
  request: WizardRequest,
  services: WizardServices,
  ui: WizardUi,
  cwd = process.cwd(),
): WizardContext {
  return {
    request,
    services,
    ui,
    cwd,
    direction: 'forward',
    ...(request.root !== undefined ? { root: resolve(cwd, request.root) } : {}),
    rootPrompted: false,
    accepted: false,
    choices: { backup: request.backup, restart: request.restart, modified: request.modified },
  };
}

/** The real engine. Loaded lazily: the wizard's first frame does not wait for the pack reader. */
export function coreServices(): WizardServices {
  return {
    detect: async (root) => (await import('@servicepack/core/detect')).detectInstallation(root),
    checkJournal: async (root) => (await import('@servicepack/core/transaction')).assertNoOpenJournal(root),
    loadTrust: async (root, trustFiles) =>
      (await import('@servicepack/core/trust')).loadTrustStore({ root, trustFiles: [...trustFiles] }),
    inspect: async (path, trust) =>
      (await import('@servicepack/core/pack-read')).inspectPack(path, {
        trustedKeys: trust.keys,
        revokedKeyIds: trust.revoked,
      }),
    open: async (path, trust, allowUnsigned) =>
      (await import('@servicepack/core/pack-read')).openPack(path, {
        trustedKeys: trust.keys,
        revokedKeyIds: trust.revoked,
        ...(allowUnsigned ? { allowUnsigned: true } : {}),
      }),
    readDocument: async (pack, name) => (await import('@servicepack/core/pack-walk')).readPackDocument(pack, name),
    findPacks: async (dir) => {
      const names = await readdir(dir);
      return names
        .filter((n) => n.endsWith('.tgz'))
        .sort()
        .map((n) => join(dir, n));
    },
    install: async (opts) => {
      const { installPacks } = await import('@servicepack/core/install');
      return logged(
        opts.root,
        opts.sink,
        {
          source: { kind: 'packs', packs: opts.packs },
          options: {
            backup: opts.backup,
            modified: opts.modified,
            restart: opts.restart,
            force: opts.force === true,
            allowUnsigned: opts.allowUnsigned === true,
            acceptEula: opts.acceptEula === true,
            healthCheck: opts.healthCheck !== false,
            ...(opts.healthTimeoutSeconds !== undefined ? { healthTimeout: opts.healthTimeoutSeconds } : {}),
          },
        },
        async (transactionId, sink) => {
          const result = await installPacks({ ...opts, transactionId, sink });
          return { result, exitCode: result.restartRequired ? 10 : 0, packs: result.packs.map((p) => p.id) };
        },
      );
    },
    // No transaction log here: uninstallUpdate takes no transaction id to name it after (the
    // uninstall command writes none either).
    uninstall: async (opts) => ({ result: await (await import('@servicepack/core/uninstall')).uninstallUpdate(opts) }),
    recover: async (root, sink) => {
      const r = await (await import('@servicepack/core/recover')).recoverInstallation({ root, sink });
      const o = r.outcome;
      if (!o)
        return `Nothing was left to recover${r.cleaned.length > 0 ? ` (removed leftovers: ${r.cleaned.join(', ')})` : ''}.`;
      return `The interrupted ${o.action} of ${o.packs.join(', ')} was ${o.direction === 'rolled-back' ? 'rolled back' : 'completed'}: the installation is at ${o.levelName}.`;
    },
  };
}

/**
 * Runs one transaction with its log (`.servicepack/log/<txid>.jsonl`, the same lines every front end
 * writes): the request first, every engine event, then the result or the error.
 */
async function logged<R>(
  root: string,
  outer: EventSink | undefined,
  request: Record<string, unknown>,
  run: (transactionId: string, sink: EventSink) => Promise<{ result: R; exitCode: number; packs: string[] }>,
): Promise<{ result: R; logFile?: string }> {
  return withTransactionLog(
    { root, request: { frontEnd: 'wizard', ...request }, next: (ev: ServicepackEvent) => outer?.(ev) },
    async (log) => {
      const done = await run(log.transactionId, log.sink);
      return {
        value: { result: done.result, ...(log.files[0] !== undefined ? { logFile: log.files[0] } : {}) },
        result: { exitCode: done.exitCode, ok: true, packs: done.packs },
      };
    },
  );
}

/** What a step tells the runner: move on, go back, step aside (nothing to show), or end the wizard. */
export type StepResult = 'next' | 'back' | 'skip' | Outcome;

export interface WizardStep {
  name: 'welcome' | 'installation' | 'update' | 'license' | 'options' | 'install' | 'finish';
  /** where the bar across the top shows the wizard while this step runs */
  stage: Stage;
  run: (ctx: WizardContext) => Promise<StepResult>;
}
