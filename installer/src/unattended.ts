import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { AnswerFile } from '@servicepack/core/answer-file';
import type { JsonLinesFile } from '@servicepack/core/log';
import type { ModifiedPolicy } from '@servicepack/core/plan';
import type { RootOrigin } from '@servicepack/core/root';
import type { TransactionHooks } from '@servicepack/core/transaction';
import { EXIT, errorDocument, UsageError } from './exit.js';
import { faultHooks } from './fault.js';
import type { FrontEnd, RunOutcome, TargetOutcome, UiEvent } from './front-end.js';
import { mayAskOperator } from './interactive.js';
import { chooseFrontEnd, type Io } from './io.js';
import { optionsFromFlags, restartPolicy } from './options.js';
import { type LoggedTransaction, withTransactionLog } from './txlog.js';

/**
 * Unattended and fleet installs: one request (from an answer file, or from `install --feed` /
 * `install -u PACK` on a terminal) applied to each target in turn, each in its own transaction
 * with its own log and result, and one exit code for the whole run.
 *
 * The engine does the work and reports events; this module only orders the targets, bridges the
 * events to the chosen front end and to the logs, and decides the exit code.
 */

export type PackSource =
  | { kind: 'packs'; packs: string[] }
  | { kind: 'feed'; feed: string; select: 'latest' | string[] };

export interface UnattendedRequest {
  targets: string[];
  /** where each target's root was written (same order as targets), for errors that say what to correct */
  rootOrigins?: RootOrigin[];
  source: PackSource;
  trustFiles: string[];
  /** set when the request comes from an answer file: its acceptEula is enforced against the packs' EULA */
  answerFile?: AnswerFile;
  acceptEula: boolean;
  backup: boolean;
  modified: ModifiedPolicy;
  restart: 'auto' | 'always' | 'never';
  dryRun: boolean;
  force: boolean;
  allowUnsigned: boolean;
  /** seconds to wait for a busy lock on each target (`--wait`, the answer file's `wait`) */
  lockWait: number;
  /** put the new level on trial (`--no-health-check`, the answer file's `healthCheck`) */
  healthCheck: boolean;
  /** `--health-timeout`, the answer file's `healthTimeout` */
  healthTimeoutSeconds?: number;
  /** a JSON-lines file every target's lines are appended to (the answer file's `log`) */
  logFile?: string;
  /** what a relative feed folder resolves against */
  cwd: string;
  hooks?: TransactionHooks;
}

/**
 * The exit code of a run over several targets (docs/fleet.md):
 * any failure (1, 2, 4, 5, 6, 7) wins, the highest of them; else 10 when a target still needs a
 * restart; else 0 when a target was installed; else 3 (nothing applied anywhere). Not-applicable
 * ranks below success because a fleet run where some machines were already up to date did its job;
 * a target with no installation at all (7) is a failure: a mistyped root must not pass as done.
 */
export function aggregateExitCode(codes: readonly number[]): number {
  const failures = codes.filter((c) => c !== EXIT.ok && c !== EXIT.notApplicable && c !== EXIT.restartRequired);
  if (failures.length > 0) return Math.max(...failures);
  if (codes.includes(EXIT.restartRequired)) return EXIT.restartRequired;
  if (codes.includes(EXIT.ok)) return EXIT.ok;
  return codes.length > 0 ? EXIT.notApplicable : EXIT.ok;
}

export { isCI } from './interactive.js';

/** The one interactivity gate (interactive.ts), for the unattended front ends: listr2 only where it may draw. */
export function interactiveGate(io: Io): boolean {
  return mayAskOperator(io);
}

function outcomeOf(root: string, txid: string, logs: string[], packs: string[], e: unknown): TargetOutcome {
  const error = errorDocument(e);
  return { root, ok: false, exitCode: error.exitCode, transactionId: txid, logs, packs, error };
}

/**
 * Runs the request against every target in order. Failures of one target never stop the next:
 * each gets its own transaction and result, as a fleet run needs. Problems with the request
 * itself (a EULA not accepted for path packs, an unusable log file) stop the run before any
 * target is touched.
 */
export async function runUnattended(req: UnattendedRequest, fe: FrontEnd): Promise<RunOutcome> {
  const [{ JsonLinesFile }, { ServicepackError }] = await Promise.all([
    import('@servicepack/core/log'),
    import('@servicepack/core/errors'),
  ]);
  let shared: JsonLinesFile | undefined;
  if (req.logFile !== undefined) {
    try {
      shared = new JsonLinesFile(req.logFile);
    } catch (e) {
      const message = `cannot write the log file ${req.logFile}: ${(e as Error).message}`;
      if (req.answerFile) {
        const { answerFileKeyError } = await import('@servicepack/core/answer-file');
        throw answerFileKeyError(req.answerFile, 'log', message);
      }
      throw new ServicepackError('E_USAGE', message, { log: req.logFile });
    }
  }
  let downloads: string | undefined;
  try {
    if (req.answerFile && req.source.kind === 'packs' && !req.acceptEula)
      await checkEulaOfFiles(req.answerFile, req.source.packs);
    if (req.source.kind === 'feed') downloads = await mkdtemp(join(tmpdir(), 'servicepack-feed-'));
    const cache = new Map<string, string>();
    const targets: TargetOutcome[] = [];
    for (const [index, root] of req.targets.entries()) {
      targets.push(await runTarget(req, fe, { root, index, shared, downloads, cache }));
    }
    const exitCode = aggregateExitCode(targets.map((t) => t.exitCode));
    return {
      ok: exitCode === EXIT.ok || exitCode === EXIT.restartRequired,
      exitCode,
      ...(req.answerFile ? { answerFile: req.answerFile.file } : {}),
      dryRun: req.dryRun,
      targets,
    };
  } finally {
    shared?.close();
    if (downloads !== undefined) await rm(downloads, { recursive: true, force: true }).catch(() => {});
  }
}

/** An answer file installs a pack with a EULA only when it says acceptEula: true (docs/formats.md "Answer file"). */
async function checkEulaOfFiles(af: AnswerFile, packs: readonly string[]): Promise<void> {
  const [{ inspectPack }, { answerFileKeyError, eulaDocument }] = await Promise.all([
    import('@servicepack/core/pack-read'),
    import('@servicepack/core/answer-file'),
  ]);
  for (const path of packs) {
    let eula: string | undefined;
    try {
      // Only the manifest's document list is read here; the install verifies the signature.
      eula = eulaDocument((await inspectPack(path, { trustedKeys: [] })).manifest);
    } catch {
      continue; // a damaged pack is refused by the install itself, with its own exit code
    }
    if (eula !== undefined) {
      throw answerFileKeyError(
        af,
        'acceptEula',
        `${basename(path)} carries a license agreement (${eula}); read it (tar -xzOf ${path} ${eula}) and set acceptEula: true to install it unattended`,
      );
    }
  }
}

async function interrupted(root: string): Promise<boolean> {
  const { journalPath } = await import('@servicepack/core/journal');
  return existsSync(journalPath(root));
}

interface TargetContext {
  root: string;
  index: number;
  shared: JsonLinesFile | undefined;
  downloads: string | undefined;
  cache: Map<string, string>;
}

async function runTarget(req: UnattendedRequest, fe: FrontEnd, t: TargetContext): Promise<TargetOutcome> {
  const { withoutUserinfo } = await import('@servicepack/core/redact');
  const root = resolve(t.root);
  const view = fe.target({ root, index: t.index, count: req.targets.length, fromFeed: req.source.kind === 'feed' });
  const request = {
    ...(req.answerFile ? { answerFile: req.answerFile.file } : {}),
    // the feed URL as typed may carry a password: the log keeps it without (the request is made with it)
    source: req.source.kind === 'feed' ? { ...req.source, feed: withoutUserinfo(req.source.feed) } : req.source,
    options: {
      backup: req.backup,
      modified: req.modified,
      restart: req.restart,
      dryRun: req.dryRun,
      force: req.force,
      allowUnsigned: req.allowUnsigned,
      acceptEula: req.acceptEula,
    },
  };
  const outcome = await withTransactionLog<UiEvent, TargetOutcome>(
    { root, request, next: (ev) => view.sink(ev), ...(t.shared ? { shared: [t.shared] } : {}) },
    async (log) => {
      const outcome = await installTarget(req, t, root, log);
      return {
        value: outcome,
        result: {
          exitCode: outcome.exitCode,
          ok: outcome.ok,
          packs: outcome.packs,
          ...(outcome.error ? { code: outcome.error.code, message: outcome.error.message } : {}),
          ...(outcome.result
            ? {
                before: outcome.result.before,
                after: outcome.result.after,
                changed: outcome.result.changed,
                restartRequired: outcome.result.restartRequired,
              }
            : {}),
          ...(outcome.feed ? { feed: outcome.feed } : {}),
        },
      };
    },
  );
  await view.finish(outcome);
  return outcome;
}

/** One target's transaction (and its download from a feed); a failure is its outcome, never thrown. */
async function installTarget(
  req: UnattendedRequest,
  t: TargetContext,
  root: string,
  log: LoggedTransaction<UiEvent>,
): Promise<TargetOutcome> {
  const [{ installPacks }, updates, { downloadUpdates, restartRunningService }, { withoutUserinfo }] =
    await Promise.all([
      import('@servicepack/core/install'),
      import('@servicepack/core/updates'),
      import('@servicepack/core/updates-install'),
      import('@servicepack/core/redact'),
    ]);
  const { sink, transactionId: txid } = log;
  let packIds: string[] = [];
  let feedInfo: TargetOutcome['feed'];
  let outcome: TargetOutcome;
  let phase: 'download' | undefined;
  try {
    // No installation at the target is this target's failure (exit 7), found before anything is read.
    const { checkInstallationRoot } = await import('@servicepack/core/root');
    checkInstallationRoot(root, req.rootOrigins?.[t.index]);
    let packs: string[];
    if (req.source.kind === 'feed') {
      phase = 'download';
      sink({ type: 'phase', phase: 'download', state: 'started' });
      const src = req.source;
      const shown = withoutUserinfo(src.feed);
      // Recovery (docs/transactions.md §2) comes first here too: the packs are chosen from what is really installed.
      if (await interrupted(root)) {
        const { recoverInstallation } = await import('@servicepack/core/recover');
        await recoverInstallation({ root, sink, lockWait: req.lockWait, ...(req.hooks ? { hooks: req.hooks } : {}) });
      }
      const opened = await updates.openFeedForTarget(root, src.feed, {
        trustFiles: req.trustFiles,
        cwd: req.cwd,
        sink,
      });
      const inst = opened.installation;
      feedInfo = {
        url: opened.feed.url,
        version: opened.feed.index.version,
        lastSeenVersion: opened.lastSeenVersion ?? null,
      };
      const chosen =
        src.select === 'latest'
          ? updates.selectUpdates(inst, opened.feed.index).latest
          : updates.selectByIds(inst, opened.feed.index, src.select, shown);
      if (chosen.length === 0) {
        const { ServicepackError } = await import('@servicepack/core/errors');
        throw new ServicepackError(
          'E_ALREADY_INSTALLED',
          `${root} is at ${inst.levelName} (${inst.arch}): ${shown} has nothing newer that applies to it; nothing to do`,
          {
            level: inst.level,
            hotfixes: inst.hotfixes,
          },
        );
      }
      packIds = chosen.map((p) => p.id);
      sink({
        type: 'info',
        message: `chosen from the feed: ${chosen.map((p) => updates.feedPackTitle(p)).join(', ')}`,
      });
      const verified = await downloadUpdates(opened.feed, chosen, t.downloads!, {
        trust: opened.trust,
        sink,
        cache: t.cache,
      });
      if (req.answerFile && !req.acceptEula) {
        const { answerFileKeyError, eulaDocument } = await import('@servicepack/core/answer-file');
        const withEula = verified.find((p) => eulaDocument(p.manifest) !== undefined);
        if (withEula) {
          throw answerFileKeyError(
            req.answerFile,
            'acceptEula',
            `${withEula.manifest.id} from ${shown} carries a license agreement (${eulaDocument(withEula.manifest)}); read it and set acceptEula: true to install it unattended`,
          );
        }
      }
      sink({ type: 'phase', phase: 'download', state: 'done' });
      phase = undefined;
      packs = verified.map((p) => p.path);
    } else {
      packs = req.source.packs;
    }
    // A tree fresh from the vendor had no state record to keep the feed version in until this install
    // wrote one, and it writes one even when it fails or its health check rolls it back: the version
    // was accepted when the index was verified, so the rollback floor is kept either way.
    const recordFeed = async (): Promise<void> => {
      if (feedInfo && !req.dryRun) await updates.recordFeedVersion(root, feedInfo.url, feedInfo.version, { sink });
    };
    const result = await installPacks({
      root,
      packs,
      ...(req.trustFiles.length > 0 ? { trustFiles: req.trustFiles } : {}),
      allowUnsigned: req.allowUnsigned,
      backup: req.backup,
      modified: req.modified,
      restart: req.restart === 'never' ? 'never' : 'auto',
      dryRun: req.dryRun,
      force: req.force,
      acceptEula: req.acceptEula,
      lockWait: req.lockWait,
      healthCheck: req.healthCheck,
      ...(req.healthTimeoutSeconds !== undefined ? { healthTimeoutSeconds: req.healthTimeoutSeconds } : {}),
      sink,
      transactionId: txid,
      ...(req.hooks ? { hooks: req.hooks } : {}),
    }).finally(recordFeed);
    packIds = result.packs.map((p) => p.id);
    let restartRequired = result.restartRequired;
    let restarted: boolean | undefined;
    if (req.restart === 'always' && !req.dryRun && !result.service.restarted && !restartRequired) {
      const r = await restartRunningService(root, { sink });
      restarted = r.restarted;
      if (r.message !== undefined) {
        restartRequired = true;
        sink({ type: 'warning', code: 'W_RESTART_FAILED', message: r.message });
      }
    }
    const exitCode = restartRequired ? EXIT.restartRequired : EXIT.ok;
    outcome = {
      root,
      ok: true,
      exitCode,
      transactionId: txid,
      logs: log.files,
      packs: packIds,
      ...(feedInfo ? { feed: feedInfo } : {}),
      result: restartRequired && !result.restartRequired ? { ...result, restartRequired } : result,
      ...(restarted !== undefined ? { restarted } : {}),
    };
  } catch (e) {
    if (phase) sink({ type: 'phase', phase, state: 'failed', message: e instanceof Error ? e.message : String(e) });
    outcome = { ...outcomeOf(root, txid, log.files, packIds, e), ...(feedInfo ? { feed: feedInfo } : {}) };
  }
  return outcome;
}

// ---------------------------------------------------------------------------------------------------
// From the command line

export interface UnattendedFlags {
  root?: string;
  unattended?: true;
  backup: boolean;
  overwriteModified?: true;
  keepModified?: true;
  restart: boolean;
  force?: true;
  dryRun?: true;
  json?: true;
  trust?: string[];
  allowUnsigned?: true;
  acceptEula?: true;
  quiet?: true;
  wait?: number;
  answerFile?: string;
  feed?: string;
  healthCheck: boolean;
  healthTimeout?: number;
}

/** Options that an answer file decides; giving them on the command line as well would be ambiguous. */
const DECIDED_BY_ANSWER_FILE: [keyof UnattendedFlags, string][] = [
  ['root', '--root'],
  ['acceptEula', '--accept-eula'],
  ['feed', '--feed'],
  ['backup', '--no-backup'],
  ['overwriteModified', '--overwrite-modified'],
  ['keepModified', '--keep-modified'],
  ['restart', '--no-restart'],
  ['wait', '--wait'],
  ['healthCheck', '--no-health-check'],
  ['healthTimeout', '--health-timeout'],
];

/**
 * `install --answer-file FILE`, `install --feed URL [latest|ID...]`, and `install -u PACK...` on a
 * terminal. `given(name)` says whether an option was typed on the command line (as opposed to
 * its default), so the answer file and the command line never silently disagree.
 */
export async function runUnattendedCommand(
  args: string[],
  flags: UnattendedFlags,
  io: Io,
  given: (flag: keyof UnattendedFlags) => boolean,
): Promise<number> {
  const fe = await chooseFrontEnd(io, { json: flags.json === true, quiet: flags.quiet === true, taskList: true });
  let answerFile: string | undefined;
  try {
    const hooks = faultHooks(io.env, io.err);
    const o = optionsFromFlags(flags);
    let req: UnattendedRequest;
    if (flags.answerFile !== undefined) {
      const clash = DECIDED_BY_ANSWER_FILE.filter(([k]) => given(k)).map(([, f]) => f);
      if (args.length > 0) clash.unshift('PACK arguments');
      if (clash.length > 0)
        throw new UsageError(
          `${clash.join(', ')} cannot be combined with --answer-file: the answer file decides them (see docs/fleet.md)`,
        );
      const { loadAnswerFile } = await import('@servicepack/core/answer-file');
      const af = await loadAnswerFile(flags.answerFile);
      answerFile = af.file;
      req = {
        targets: af.targets.map((t) => t.root),
        rootOrigins: af.targets.map((t, i) => ({
          source: `${af.file}:${t.line}: targets[${i}].root`,
          fix: 'correct the root in the answer file, or remove the target',
        })),
        source:
          af.source.kind === 'packs'
            ? { kind: 'packs', packs: af.source.packs.map((p) => p.path) }
            : { kind: 'feed', feed: af.source.feed, select: 'latest' },
        trustFiles: [...af.trust, ...o.trustFiles],
        answerFile: af,
        acceptEula: af.acceptEula,
        backup: af.backup,
        modified: af.modified,
        restart: af.restart,
        lockWait: af.wait,
        healthCheck: af.healthCheck,
        ...(af.healthTimeout !== undefined ? { healthTimeoutSeconds: af.healthTimeout } : {}),
        dryRun: o.dryRun,
        force: o.force,
        allowUnsigned: o.allowUnsigned,
        ...(af.log !== undefined ? { logFile: af.log } : {}),
        cwd: af.dir,
        ...(hooks ? { hooks } : {}),
      };
    } else {
      const { resolveRoot, rootOrigin } = await import('./io.js');
      const root = resolveRoot(flags.root, io.env);
      let source: PackSource;
      if (flags.feed !== undefined) {
        const select =
          args.length === 0 || (args.length === 1 && args[0]!.toLowerCase() === 'latest') ? 'latest' : args;
        if (Array.isArray(select) && select.some((a) => a.toLowerCase() === 'latest'))
          throw new UsageError('latest stands alone: give either latest or pack ids after --feed URL');
        source = { kind: 'feed', feed: flags.feed, select };
      } else {
        if (args.length === 0)
          throw new UsageError('no pack given: name pack files, or use --feed URL latest, or --answer-file FILE');
        source = { kind: 'packs', packs: args };
      }
      req = {
        targets: [root],
        rootOrigins: [rootOrigin(flags.root)],
        source,
        trustFiles: o.trustFiles,
        acceptEula: o.acceptEula,
        backup: o.backup,
        modified: o.modified,
        restart: restartPolicy(o.restart),
        lockWait: o.lockWait,
        healthCheck: o.healthCheck,
        ...(o.healthTimeoutSeconds !== undefined ? { healthTimeoutSeconds: o.healthTimeoutSeconds } : {}),
        dryRun: o.dryRun,
        force: o.force,
        allowUnsigned: o.allowUnsigned,
        cwd: process.cwd(),
        ...(hooks ? { hooks } : {}),
      };
    }
    const run = await runUnattended(req, fe);
    fe.summary(run);
    return run.exitCode;
  } catch (e) {
    const doc = errorDocument(e);
    const file = answerFile ?? (flags.answerFile !== undefined ? resolve(flags.answerFile) : undefined);
    // a run's document, though no target ran
    fe.failure({ ...doc, ...(file !== undefined ? { answerFile: file } : {}), targets: [] });
    return doc.exitCode;
  }
}
