import { basename, isAbsolute, relative } from 'node:path';
import type { Installation } from '@servicepack/core/detect';
import type { InstallResult } from '@servicepack/core/install';
import type { Manifest } from '@servicepack/core/manifest';
import { EXIT, errorDocument } from '../exit.js';
import type { InstallChoices, Outcome, PackCandidate, WizardContext } from './context.js';

/**
 * What each screen shows, computed from the engine's answers. The components only lay these out,
 * so every wording and every decision about what to show is tested here without a terminal.
 */

export interface WorkingView {
  message: string;
}

export interface WelcomeView {
  /** where the updates on offer come from */
  source: string;
}

export interface RootView {
  defaultRoot: string;
  /** why the folder is asked for again */
  message?: string;
}

export interface InstallationView {
  root: string;
  displayName: string;
  product: string;
  arch: string;
  level: string;
  hotfixes: string;
  consistent: boolean;
  /** a state record exists (something was installed by servicepack) */
  recorded: boolean;
  problems: string[];
  moreProblems: number;
  /** set when the install would be refused for an inconsistency (no --force) */
  blocking?: string;
  history: string;
  canChangeRoot: boolean;
  /** what just happened to it (a recovery), shown above the details */
  note?: string;
}

export interface PackView {
  path: string;
  file: string;
  id: string;
  title: string;
  kind: string;
  level: string;
  arch: string;
  fixes: { id: string; title: string }[];
  size: string;
  payload: string;
  signers: { keyid: string; status: string }[];
  restart: string;
}

export interface RefusedView {
  file: string;
  title?: string;
  reason: string;
}

export interface UpdateView {
  installation: string;
  offered: PackView[];
  refused: RefusedView[];
  selected: string;
}

export interface LicenseView {
  title: string;
  document: string;
  text: string;
  accepted: boolean;
}

export interface OptionsView {
  packTitle: string;
  /** the unattended command line for the same install, before the option switches */
  baseCommand: string;
  choices: InstallChoices;
}

export interface FinishView {
  headline: string;
  rows: [string, string][];
  restartRequired: boolean;
  exitCode: number;
}

export interface ErrorView {
  code: string;
  title: string;
  message: string;
  details: string[];
  exitCode: number;
  exitMeaning: string;
  nothingChanged: boolean;
  canGoBack: boolean;
  /** an offer made on the screen with R, e.g. "Recover now" */
  action?: string;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** A path as the administrator typed it would read: relative to the current folder when inside it. */
export function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

function underRoot(path: string, root: string): string {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

export function welcomeView(ctx: Pick<WizardContext, 'request' | 'cwd'>): WelcomeView {
  const { packs, packsDir } = ctx.request;
  if (packs.length === 1) return { source: `the pack you named, ${basename(packs[0]!)}` };
  if (packs.length > 1) return { source: `the ${packs.length} packs you named` };
  if (packsDir !== undefined) return { source: `the packs (*.tgz) in ${packsDir}` };
  return { source: `the packs (*.tgz) in the current folder, ${ctx.cwd}` };
}

export function installationView(inst: Installation, opts: { canChangeRoot: boolean; force: boolean; note?: string }): InstallationView {
  const serious = inst.problems.filter((p) => p.kind === 'buildinfo' || p.kind === 'state');
  const shown = inst.problems.slice(0, 3).map((p) => p.message);
  const history = inst.state?.history ?? [];
  const last = history[history.length - 1];
  return {
    root: inst.root,
    displayName: inst.buildInfo.displayName,
    product: `${inst.product} ${inst.version}`,
    arch: inst.arch,
    level: `${inst.levelName} (build ${inst.buildInfo.build})`,
    hotfixes: inst.hotfixes.length > 0 ? inst.hotfixes.join(', ') : 'none',
    consistent: inst.consistent,
    recorded: inst.state !== undefined,
    problems: shown,
    moreProblems: inst.problems.length - shown.length,
    ...(serious.length > 0 && !opts.force
      ? { blocking: 'The state record and BUILDINFO.json disagree: repair the installation (servicepack query shows what differs) or start again with --force.' }
      : {}),
    history: last ? `${history.length} ${history.length === 1 ? 'change' : 'changes'}, last: ${last.action} ${last.packId} (${last.time.slice(0, 10)})` : 'none (as released by the vendor)',
    canChangeRoot: opts.canChangeRoot,
    ...(opts.note !== undefined ? { note: opts.note } : {}),
  };
}

function signerStatus(status: string, source: string | undefined): string {
  switch (status) {
    case 'valid':
      return source ? `trusted (${basename(source)})` : 'trusted';
    case 'revoked':
      return 'revoked key: refused';
    case 'bad':
      return 'signature does not verify';
    default:
      return 'not trusted';
  }
}

function levelText(m: Manifest): string {
  if (m.kind === 'hotfix') return `hotfix for ${m.baseLevel === 0 ? 'RTM' : `Service Pack ${m.baseLevel ?? m.level}`}`;
  return m.level === 0 ? 'RTM' : `Service Pack ${m.level}`;
}

export function packView(c: PackCandidate): PackView | undefined {
  const ins = c.inspection;
  if (!ins) return undefined;
  const m = ins.manifest;
  const written = m.files.filter((f) => f.action !== 'delete');
  const payloadBytes = written.reduce((n, f) => n + (f.size ?? 0), 0);
  const deletes = m.files.length - written.length;
  return {
    path: c.path,
    file: basename(c.path),
    id: m.id,
    title: m.title,
    kind: m.kind === 'hotfix' ? 'Hotfix' : 'Service pack',
    level: levelText(m),
    arch: m.arch,
    // Newest level first: what this pack brings is read before what it merely carries forward.
    fixes: [...m.fixes].sort((a, b) => (b.level ?? -1) - (a.level ?? -1)).map((f) => ({ id: f.id, title: f.title })),
    size: formatBytes(ins.size),
    payload: `${written.length} ${written.length === 1 ? 'file' : 'files'}, ${formatBytes(payloadBytes)}${deletes > 0 ? `; ${deletes} removed` : ''}`,
    signers: ins.signatures.map((s) => ({ keyid: `${s.keyid.slice(0, 16)}…`, status: signerStatus(s.status, s.source) })),
    restart: m.restart ? 'the server is stopped and started again' : 'not needed',
  };
}

export function refusedView(c: PackCandidate): RefusedView {
  const title = c.inspection?.manifest.title;
  return { file: basename(c.path), ...(title !== undefined ? { title } : {}), reason: c.refusal?.message ?? 'not applicable' };
}

export function updateView(inst: Installation, candidates: readonly PackCandidate[], selected: string | undefined): UpdateView {
  const offered = candidates.filter((c) => !c.refusal).flatMap((c) => packView(c) ?? []);
  return {
    installation: `${inst.product} ${inst.version} ${inst.arch}, ${inst.levelName}`,
    offered,
    refused: candidates.filter((c) => c.refusal).map(refusedView),
    selected: offered.some((p) => p.path === selected) ? selected! : (offered[0]?.path ?? ''),
  };
}

/** Which document of a pack is its license: EULA.txt, or the one document named like a license. */
export function eulaDocument(m: Manifest): string | undefined {
  const docs = m.documents ?? [];
  return docs.find((d) => d.name === 'EULA.txt')?.name ?? docs.find((d) => /eula|licen[cs]e/i.test(d.name))?.name;
}

/** The command-line switch of every choice that differs from the default. */
export function flagsFor(c: InstallChoices): string[] {
  return [...(c.backup ? [] : ['-n']), ...(c.restart ? [] : ['-z']), ...(c.modified === 'overwrite' ? ['-o'] : c.modified === 'keep' ? ['--keep-modified'] : [])];
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

export function optionsView(ctx: Pick<WizardContext, 'request' | 'cwd' | 'choices'>, pack: PackView | undefined, root: string, packPath: string): OptionsView {
  const extra = [...ctx.request.trustFiles.flatMap((t) => ['--trust', t]), ...(ctx.request.allowUnsigned ? ['--allow-unsigned'] : []), ...(ctx.request.force ? ['-f'] : [])];
  const args = ['servicepack', 'install', displayPath(packPath, ctx.cwd), '--root', root, '-u', ...extra];
  return { packTitle: pack?.title ?? basename(packPath), baseCommand: args.map(quote).join(' '), choices: { ...ctx.choices } };
}

export function finishView(res: InstallResult, logFile: string | undefined): FinishView {
  const c = res.changed;
  const pack = res.packs.map((p) => p.title).join(', ');
  const rows: [string, string][] = [
    ['Level', `${res.before.levelName} -> ${res.after.levelName}`],
    ['Files', `${c.replaced.length} replaced, ${c.added.length} added, ${c.deleted.length} deleted`],
  ];
  if (c.spnew.length > 0) rows.push(['New defaults', `${c.spnew.map((p) => `${p}.spnew`).join(', ')} (merge them by hand)`]);
  if (c.kept.length > 0) rows.push(['Kept as changed', c.kept.join(', ')]);
  const s = res.service;
  rows.push([
    'Server',
    s.restarted ? 'stopped and started again' : s.wasRunning ? (res.restartRequired ? 'still running the old code' : 'kept running') : 'was not running (start it with bin/inetsrv start)',
  ]);
  rows.push(['Restart', res.restartRequired ? `required: ${res.restartMessage ?? 'restart the server to finish'}` : 'not needed']);
  const backups = res.packs.flatMap((p) => (p.backup ? [p.backup] : []));
  rows.push(['Uninstall', backups.length > 0 ? `${backups.join(', ')} (servicepack uninstall)` : 'no backup kept (-n): cannot be uninstalled']);
  if (logFile) rows.push(['Log', underRoot(logFile, res.root)]);
  return { headline: `${pack} was installed in ${res.root}.`, rows, restartRequired: res.restartRequired, exitCode: res.restartRequired ? EXIT.restartRequired : EXIT.ok };
}

const EXIT_MEANING: Record<number, string> = {
  [EXIT.ok]: 'done',
  [EXIT.failed]: 'failed, nothing changed',
  [EXIT.usage]: 'usage error or invalid file',
  [EXIT.notApplicable]: 'not applicable',
  [EXIT.integrity]: 'integrity or trust failure',
  [EXIT.busy]: 'busy',
  [EXIT.needsRecover]: 'needs recover',
  [EXIT.restartRequired]: 'restart required',
};

const TITLES: Record<string, string> = {
  E_WRONG_ARCH: 'This update is for another processor architecture',
  E_WRONG_PRODUCT: 'This update is for another product',
  E_WRONG_VERSION: 'This update is for another version',
  E_WRONG_LEVEL: 'This update does not apply at this level',
  E_DOWNGRADE: 'A newer service pack is already installed',
  E_SUPERSEDED: 'This hotfix is already included',
  E_ALREADY_INSTALLED: 'This update is already installed',
  E_UNSIGNED: 'This update is not signed',
  E_UNTRUSTED_KEY: 'This update is not signed by a trusted publisher',
  E_BAD_SIGNATURE: 'This update has been tampered with',
  E_HASH_MISMATCH: 'This update is damaged',
  E_CORRUPT_ARCHIVE: 'This update is damaged',
  E_UNSAFE_ARCHIVE: 'This update contains unsafe entries',
  E_BUSY: 'Another installation is running',
  E_NEEDS_RECOVER: 'An interrupted installation was found',
  E_INCONSISTENT: 'The installation is inconsistent',
  E_LOCALLY_MODIFIED: 'Files were changed on this server',
  E_NOT_INSTALLED: 'No installation found',
  E_INVALID_MANIFEST: 'The update pack is not valid',
  E_INVALID_BUILDINFO: 'The installation record is not valid',
  E_INVALID_STATE: 'The installation record is not valid',
  E_NOTHING_APPLICABLE: 'No update applies to this installation',
  E_NO_PACKS: 'No update packs found',
  E_USAGE: 'Setup cannot continue',
};

/** A refusal the wizard itself reaches (nothing to offer), shaped like the engine's errors. */
export class WizardError extends Error {
  override name = 'WizardError';
  constructor(
    readonly code: string,
    readonly exitCode: number,
    message: string,
    readonly details: string[] = [],
  ) {
    super(message);
  }
}

export function errorView(e: unknown, opts: { canGoBack?: boolean } = {}): ErrorView {
  const doc =
    e instanceof WizardError ? { code: e.code, exitCode: e.exitCode, message: e.message, details: {} as Record<string, unknown> } : errorDocument(e);
  const rollbackFailed = Array.isArray(doc.details['rollbackFailures']) && doc.details['rollbackFailures'].length > 0;
  return {
    code: doc.code,
    title: TITLES[doc.code] ?? (doc.code === 'E_UNEXPECTED' ? 'Something unexpected went wrong' : 'The installation failed'),
    message: doc.message,
    details: e instanceof WizardError ? e.details : [],
    exitCode: doc.exitCode,
    exitMeaning: EXIT_MEANING[doc.exitCode] ?? '',
    nothingChanged: !rollbackFailed,
    canGoBack: opts.canGoBack === true,
  };
}

/** The exit code when no pack can be offered: trust failures only → 4, anything else → 3 (DESIGN §4). */
export function nothingApplicable(candidates: readonly PackCandidate[]): WizardError {
  const only = candidates.length === 1 ? candidates[0]!.refusal : undefined;
  if (only) return new WizardError(only.code, only.exitCode, only.message);
  const codes = candidates.map((c) => c.refusal?.exitCode ?? EXIT.notApplicable);
  const exitCode = codes.every((x) => x === EXIT.integrity) ? EXIT.integrity : EXIT.notApplicable;
  return new WizardError(
    'E_NOTHING_APPLICABLE',
    exitCode,
    `None of the ${candidates.length} packs can be installed here:`,
    candidates.map((c) => `${basename(c.path)}: ${c.refusal?.message ?? 'not applicable'}`),
  );
}

export function finishedOutcome(res: InstallResult, logFile: string | undefined): Outcome {
  const lines = [`Installed ${res.packs.map((p) => `${p.title} (${p.id})`).join(', ')} in ${res.root}: ${res.before.levelName} -> ${res.after.levelName}`];
  if (res.restartRequired) lines.push(`Restart required: ${res.restartMessage ?? 'restart the server to finish'}`);
  for (const p of res.packs) if (p.backup) lines.push(`  uninstall data for ${p.id}: ${p.backup}`);
  if (logFile) lines.push(`  log: ${logFile}`);
  return { code: res.restartRequired ? EXIT.restartRequired : EXIT.ok, lines };
}

/** Cancelling before the commit leaves everything as it was: exit 1, "nothing changed" (DESIGN §4). */
export function cancelledOutcome(): Outcome {
  return { code: EXIT.failed, lines: ['Setup was cancelled: nothing was changed.'] };
}

export function errorOutcome(v: ErrorView): Outcome {
  return { code: v.exitCode, lines: [`servicepack: error: ${v.message}`, ...v.details.map((d) => `  ${d}`)] };
}
