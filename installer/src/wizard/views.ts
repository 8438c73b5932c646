import { basename, isAbsolute, relative } from 'node:path';
import type { Installation } from '@servicepack/core/detect';
import type { InstallResult } from '@servicepack/core/install';
import type { Manifest } from '@servicepack/core/manifest';
import { type ModifiedPolicy, overwriteWithoutBackup } from '@servicepack/core/plan';
import { EXIT, errorDocument } from '../exit.js';
import type { UninstallResult } from '@servicepack/core/uninstall';
import { levelName, type PackKind, rollupName } from '@servicepack/core/level';
import { HEALTH_FAILED_TITLE, healthFailedView, healthPassedRow } from './health.js';
import type { InstallChoices, Outcome, PackCandidate, ViewInputs } from './model.js';

/**
 * What each screen shows, computed from the engine's answers. The components only lay these out,
 * so every wording and every decision about what to show is tested here without a terminal.
 */

export interface WorkingView {
  message: string;
}

export interface WelcomeView {
  heading: string;
  intro: string;
  steps: string[];
  /** where the updates on offer come from, or which one is to be removed */
  source?: string;
  note: string;
}

export interface RootView {
  defaultRoot: string;
  /** why the folder is asked for again */
  message?: string;
  /** the question, when it is not the installation's folder (the packs' folder) */
  heading?: string;
  /** the line under the field, with it */
  help?: string;
  /** the example an empty field shows */
  example?: string;
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
  /** what it replaces: "Security Rollup 1: replaces hotfixes …"; absent when it replaces nothing */
  replaces?: string;
  size: string;
  payload: string;
  signers: { keyid: string; status: string }[];
  restart: string;
}

export interface RefusedView {
  file: string;
  title?: string;
  reason: string;
  /** the line shown: the reason, led by the file name unless it already names it */
  line: string;
}

/** "file: reason", unless the engine's reason already starts with the file's name. */
function aboutFile(file: string, reason: string): string {
  return reason.startsWith(file) ? reason : `${file}: ${reason}`;
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

export type OptionKey = 'backup' | 'restart' | 'modified';

export interface OptionRow {
  key: OptionKey;
  label: string;
  /** the command-line switch, as shown in the right-hand column */
  flag: string;
  help: string;
}

export interface OptionsView {
  heading: string;
  rows: OptionRow[];
  /** the choices the modified-files row cycles through */
  policies: ModifiedPolicy[];
  /** the unattended command line for the same change, before the option switches */
  baseCommand: string;
  /** what follows the switches: `--`, so that a pack named like an option stays a pack (operands.ts) */
  operands: string;
  choices: InstallChoices;
  /** the last line: what Enter does now */
  confirm: string;
  /** Enter's name in the key bar */
  go: string;
}

export interface RemovalRow {
  packId: string;
  kind: string;
  change: string;
  backup: string;
}

export interface RemoveView {
  installation: string;
  offered: RemovalRow[];
  refused: { packId: string; reason: string }[];
  selected: string;
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
  /** what a rollback left, where "Nothing was changed." would not say enough (a failed health check) */
  outcome?: string;
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
function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

function underRoot(path: string, root: string): string {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

const NOTHING_YET =
  'Nothing is changed until you press Enter on the Options screen; until then you can go back (Esc) or cancel (q) at any time.';

export function welcomeView(ctx: Pick<ViewInputs, 'request' | 'cwd'>): WelcomeView {
  const { packs, packsDir, flow, id } = ctx.request;
  if (flow === 'uninstall') {
    return {
      heading: 'Welcome to Service Pack Setup: removing an update.',
      intro: 'This wizard removes the newest update from an inetsrv installation. It will:',
      steps: [
        'find the installation and show its level and history;',
        'show the updates installed here, newest first, and which can be removed;',
        'ask about restart and files changed since the update was installed;',
        'put back the files the update replaced, exactly, in one transaction.',
      ],
      ...(id !== undefined ? { source: `Update to remove: ${id}.` } : {}),
      note: NOTHING_YET,
    };
  }
  const source =
    packs.length === 1
      ? `the pack you named, ${basename(packs[0]!)}`
      : packs.length > 1
        ? `the ${packs.length} packs you named`
        : packsDir !== undefined
          ? `the packs (*.tgz) in ${packsDir}`
          : `the packs (*.tgz) in the current folder, ${ctx.cwd}`;
  return {
    heading: 'Welcome to Service Pack Setup.',
    intro: 'This wizard installs a service pack or hotfix on an inetsrv installation. It will:',
    steps: [
      'find the installation and show its level, hotfixes and consistency;',
      'show what each update fixes, its size and who signed it;',
      "show the update's license agreement, which you must accept;",
      'ask about backup, restart and files changed on this server;',
      'replace the files in one transaction: all of them, or none.',
    ],
    source: `Updates on offer: ${source}.`,
    note: NOTHING_YET,
  };
}

export function installationView(
  inst: Installation,
  opts: { canChangeRoot: boolean; force: boolean; note?: string },
): InstallationView {
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
      ? {
          blocking:
            'The state record and BUILDINFO.json disagree: repair the installation (servicepack query shows what differs) or start again with --force.',
        }
      : {}),
    history: last
      ? `${history.length} ${history.length === 1 ? 'change' : 'changes'}, last: ${last.action} ${last.packId} (${last.time.slice(0, 10)})`
      : 'none (as released by the vendor)',
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

/** What the wizard calls each kind of pack, in its lists. */
const KIND_LABEL: Record<PackKind, string> = { 'service-pack': 'Service pack', rollup: 'Rollup', hotfix: 'Hotfix' };

/** "Service Pack 6a"; "rollup for Service Pack 6a", "hotfix for Service Pack 6a": neither moves the level. */
function levelText(m: Manifest): string {
  if (m.kind === 'service-pack') return levelName(m.level);
  return `${m.kind} for ${levelName(m.baseLevel ?? m.level)}`;
}

function replacesText(m: Manifest): string | undefined {
  if (m.supersedes.length === 0) return undefined;
  const what = `${m.supersedes.length === 1 ? 'hotfix' : 'hotfixes'} ${m.supersedes.join(', ')}`;
  return m.kind === 'rollup' ? `${rollupName(m.id)}: carries and replaces ${what}` : `replaces ${what}`;
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
    kind: KIND_LABEL[m.kind],
    level: levelText(m),
    arch: m.arch,
    // Newest level first: what this pack brings is read before what it merely carries forward.
    fixes: [...m.fixes].sort((a, b) => (b.level ?? -1) - (a.level ?? -1)).map((f) => ({ id: f.id, title: f.title })),
    ...(replacesText(m) !== undefined ? { replaces: replacesText(m)! } : {}),
    size: formatBytes(ins.size),
    payload: `${written.length} ${written.length === 1 ? 'file' : 'files'}, ${formatBytes(payloadBytes)}${deletes > 0 ? `; ${deletes} removed` : ''}`,
    signers: ins.signatures.map((s) => ({
      keyid: `${s.keyid.slice(0, 16)}…`,
      status: signerStatus(s.status, s.source),
    })),
    restart: m.restart ? 'the server is stopped and started again' : 'not needed',
  };
}

function refusedView(c: PackCandidate): RefusedView {
  const title = c.inspection?.manifest.title;
  const file = basename(c.path);
  const reason = c.refusal?.message ?? 'not applicable';
  return { file, ...(title !== undefined ? { title } : {}), reason, line: aboutFile(file, reason) };
}

export function updateView(
  inst: Installation,
  candidates: readonly PackCandidate[],
  selected: string | undefined,
): UpdateView {
  const offered = candidates.filter((c) => !c.refusal).flatMap((c) => packView(c) ?? []);
  return {
    installation: `${inst.product} ${inst.version} ${inst.arch}, ${inst.levelName}`,
    offered,
    refused: candidates.filter((c) => c.refusal).map(refusedView),
    selected: offered.some((p) => p.path === selected) ? selected! : (offered[0]?.path ?? ''),
  };
}

/** Which document of a pack is its license: core's one rule, the one answer files and the install apply. */
export { licenseDocument as eulaDocument } from '@servicepack/core/license';

/** The command-line switch of every choice that differs from the default. */
export function flagsFor(c: InstallChoices): string[] {
  return [
    ...(c.backup ? [] : ['-n']),
    ...(c.restart ? [] : ['-z']),
    ...(c.modified === 'overwrite' ? ['-o'] : c.modified === 'keep' ? ['--keep-modified'] : []),
  ];
}

/**
 * A change on the Options screen, kept to choices the install accepts (core's overwriteWithoutBackup):
 * choosing overwrite turns the backup on, turning the backup off while overwrite is chosen sets
 * changed files back to stop. `note` says which, for the screen.
 */
export function changeChoices(
  c: InstallChoices,
  change: Partial<InstallChoices>,
): { choices: InstallChoices; note?: string } {
  const next = { ...c, ...change };
  if (!overwriteWithoutBackup(next)) return { choices: next };
  if (change.modified === 'overwrite')
    return {
      choices: { ...next, backup: true },
      note: 'Overwrite keeps each changed file in the backup, so the backup was turned on (-o cannot be used with -n).',
    };
  return {
    choices: { ...next, modified: 'stop' },
    note: 'Without a backup a changed file could not be kept, so changed files were set back to stop (-n cannot be used with -o).',
  };
}

/** Why Enter is refused with these choices (none the screen itself makes), or undefined. */
export function choicesRefusal(c: InstallChoices): string | undefined {
  return overwriteWithoutBackup(c)
    ? 'Overwrite needs the backup (-o cannot be used with -n): turn the backup on or choose stop or keep for changed files.'
    : undefined;
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

const MODIFIED_HELP =
  'A product file changed on this server: stop installs nothing (default); overwrite (-o) replaces it and keeps the changed file in the backup; keep (--keep-modified) leaves it. Changed config files are never overwritten: the new default is written beside them as .spnew.';

export function optionsView(
  ctx: Pick<ViewInputs, 'request' | 'cwd' | 'choices'> & Partial<Pick<ViewInputs, 'eula'>>,
  pack: PackView | undefined,
  root: string,
  packPath: string,
): OptionsView {
  // the command shown must do what the wizard does: a pack with a license needs its acceptance there too
  const extra = [
    ...ctx.request.trustFiles.flatMap((t) => ['--trust', t]),
    ...(ctx.request.allowUnsigned ? ['--allow-unsigned'] : []),
    ...(ctx.request.force ? ['-f'] : []),
    ...(ctx.eula ? ['--accept-eula'] : []),
  ];
  const args = ['servicepack', 'install', '--root', root, '-u', ...extra];
  return {
    heading: `Options for ${pack?.title ?? basename(packPath)}`,
    rows: [
      {
        key: 'backup',
        label: 'Back up the replaced files (for uninstall)',
        flag: 'off: -n',
        help: 'The files the update replaces are kept in .servicepack/backup/, so that servicepack uninstall can remove the update again. Off (-n): no way back.',
      },
      {
        key: 'restart',
        label: 'Stop and restart the server if it runs',
        flag: 'off: -z',
        help: 'inetsrv is stopped before its files are replaced and started again afterwards. Off (-z): the files are replaced under the running server, which keeps the old code until you restart it (exit code 10).',
      },
      { key: 'modified', label: 'Changed files:', flag: '-o · --keep-modified', help: MODIFIED_HELP },
    ],
    policies: ['stop', 'overwrite', 'keep'],
    baseCommand: args.map(quote).join(' '),
    // `--` ends a --trust list, and lets a pack file be named -x.tgz
    operands: ['--', displayPath(packPath, ctx.cwd)].map(quote).join(' '),
    choices: { ...ctx.choices },
    confirm: 'Nothing has been changed yet. Enter installs the update now.',
    go: 'Install',
  };
}

export function removalOptionsView(ctx: Pick<ViewInputs, 'choices'>, packId: string, root: string): OptionsView {
  return {
    heading: `Remove ${packId}`,
    rows: [
      {
        key: 'restart',
        label: 'Start the server again afterwards',
        flag: 'off: -z',
        help: 'inetsrv is stopped while its files are put back and started again afterwards. Off (-z): it is left stopped (exit code 10 until you start it).',
      },
      {
        key: 'modified',
        label: 'Changed files:',
        flag: '-o',
        help: 'A file changed since the update installed it: stop removes nothing (default); overwrite (-o) puts the original back and keeps the changed file in .servicepack/saved/.',
      },
    ],
    policies: ['stop', 'overwrite'],
    baseCommand: ['servicepack', 'uninstall', '--root', root, '-u'].map(quote).join(' '),
    operands: ['--', packId].map(quote).join(' '),
    choices: {
      ...ctx.choices,
      backup: true,
      modified: ctx.choices.modified === 'keep' ? 'stop' : ctx.choices.modified,
    },
    confirm: 'Nothing has been changed yet. Enter removes the update now.',
    go: 'Remove',
  };
}

/**
 * The updates installed here, newest first. Only the newest can come off (its backup holds the
 * tree as it was before it), and only if its uninstall data was kept; the others say why not.
 */
export function removeView(inst: Installation, wanted: string | undefined): RemoveView {
  const installed = [...(inst.state?.installed ?? [])].reverse();
  const offered: RemovalRow[] = [];
  const refused: RemoveView['refused'] = [];
  for (const [i, u] of installed.entries()) {
    const change =
      u.kind === 'service-pack'
        ? `${levelName(u.level)}, back to ${levelName(u.fromLevel)}`
        : `${u.kind === 'rollup' ? rollupName(u.packId) : 'hotfix'} on ${levelName(u.fromLevel)}`;
    if (i > 0)
      refused.push({
        packId: u.packId,
        reason: `${change}; remove ${installed
          .slice(0, i)
          .map((x) => x.packId)
          .join(', then ')} first`,
      });
    else if (u.backup === undefined)
      refused.push({ packId: u.packId, reason: `${change}; installed with --no-backup (-n): no uninstall data` });
    else
      offered.push({
        packId: u.packId,
        kind: KIND_LABEL[u.kind],
        change,
        backup: `.servicepack/${u.backup}`,
      });
  }
  return {
    installation: `${inst.product} ${inst.version} ${inst.arch}, ${inst.levelName}`,
    offered,
    refused,
    selected: offered.find((o) => o.packId.toLowerCase() === wanted?.toLowerCase())?.packId ?? offered[0]?.packId ?? '',
  };
}

/** Nothing can be removed: the reason the engine would give (exit 3). */
export function nothingRemovable(inst: Installation, view: RemoveView): WizardError {
  if (view.refused.length === 0) {
    return new WizardError(
      'E_NOT_REMOVABLE',
      EXIT.notApplicable,
      `Nothing to uninstall: no update was installed in ${inst.root} by servicepack (it is at ${inst.levelName} as released).`,
    );
  }
  return new WizardError(
    'E_NO_BACKUP',
    EXIT.notApplicable,
    `${view.refused[0]!.packId} cannot be removed: ${view.refused[0]!.reason}.`,
    view.refused.slice(1).map((r) => `${r.packId}: ${r.reason}`),
  );
}

export function finishView(res: InstallResult, logFile: string | undefined): FinishView {
  const c = res.changed;
  const pack = res.packs.map((p) => p.title).join(', ');
  const rows: [string, string][] = [
    ['Level', `${res.before.levelName} -> ${res.after.levelName}`],
    ['Files', `${c.replaced.length} replaced, ${c.added.length} added, ${c.deleted.length} deleted`],
  ];
  if (c.spnew.length > 0)
    rows.push(['New defaults', `${c.spnew.map((p) => `${p}.spnew`).join(', ')} (merge them by hand)`]);
  if (c.kept.length > 0) rows.push(['Kept as changed', c.kept.join(', ')]);
  const s = res.service;
  rows.push([
    'Server',
    s.restarted
      ? 'stopped and started again'
      : s.wasRunning
        ? res.restartRequired
          ? 'still running the old code'
          : 'kept running'
        : 'was not running (start it with bin/inetsrv start)',
  ]);
  rows.push([
    'Restart',
    res.restartRequired ? `required: ${res.restartMessage ?? 'restart the server to finish'}` : 'not needed',
  ]);
  const backups = res.packs.flatMap((p) => (p.backup ? [p.backup] : []));
  rows.push([
    'Uninstall',
    backups.length > 0 ? `${backups.join(', ')} (servicepack uninstall)` : 'no backup kept (-n): cannot be uninstalled',
  ]);
  if (res.health?.passed === true) rows.push(healthPassedRow(res.health));
  if (logFile) rows.push(['Log', underRoot(logFile, res.root)]);
  return {
    headline: `${pack} was installed in ${res.root}.`,
    rows,
    restartRequired: res.restartRequired,
    exitCode: res.restartRequired ? EXIT.restartRequired : EXIT.ok,
  };
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
  E_FEED_REDIRECT: 'The update server redirected to an unsafe place',
  E_HASH_MISMATCH: 'This update is damaged',
  E_CORRUPT_ARCHIVE: 'This update is damaged',
  E_UNSAFE_ARCHIVE: 'This update contains unsafe entries',
  E_BUSY: 'Another installation is running',
  E_NEEDS_RECOVER: 'An interrupted installation was found',
  E_INCONSISTENT: 'The installation is inconsistent',
  E_LOCALLY_MODIFIED: 'Files were changed on this server',
  E_NOT_INSTALLED: 'No installation found',
  E_ROOT_MISSING: 'No installation found',
  E_ROOT_NOT_FOLDER: 'No installation found',
  E_INVALID_MANIFEST: 'The update pack is not valid',
  E_INVALID_BUILDINFO: 'The installation record is not valid',
  E_INVALID_STATE: 'The installation record is not valid',
  E_NOTHING_APPLICABLE: 'No update applies to this installation',
  E_NOT_REMOVABLE: 'This update cannot be removed',
  E_NO_BACKUP: 'This update cannot be removed',
  E_NO_PACKS: 'No update packs found',
  E_USAGE: 'Setup cannot continue',
  E_HEALTH_CHECK_FAILED: HEALTH_FAILED_TITLE,
  E_HEALTH_CHECK_UNAVAILABLE: 'The server cannot be checked',
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
    e instanceof WizardError
      ? { code: e.code, exitCode: e.exitCode, message: e.message, details: {} as Record<string, unknown> }
      : errorDocument(e);
  const rollbackFailed = Array.isArray(doc.details['rollbackFailures']) && doc.details['rollbackFailures'].length > 0;
  const health = doc.code === 'E_HEALTH_CHECK_FAILED' ? healthFailedView(doc.details) : undefined;
  return {
    code: doc.code,
    title:
      TITLES[doc.code] ?? (doc.code === 'E_UNEXPECTED' ? 'Something unexpected went wrong' : 'The installation failed'),
    message: doc.message,
    details: e instanceof WizardError ? e.details : (health?.details ?? []),
    exitCode: doc.exitCode,
    exitMeaning: EXIT_MEANING[doc.exitCode] ?? '',
    nothingChanged: !rollbackFailed && health === undefined,
    ...(health !== undefined ? { outcome: health.outcome } : {}),
    canGoBack: opts.canGoBack === true,
  };
}

/** The exit code when no pack can be offered: trust failures only → 4, anything else → 3 (docs/cli.md §5). */
export function nothingApplicable(candidates: readonly PackCandidate[]): WizardError {
  const only = candidates.length === 1 ? candidates[0]!.refusal : undefined;
  if (only) return new WizardError(only.code, only.exitCode, only.message);
  const codes = candidates.map((c) => c.refusal?.exitCode ?? EXIT.notApplicable);
  const exitCode = codes.every((x) => x === EXIT.integrity) ? EXIT.integrity : EXIT.notApplicable;
  return new WizardError(
    'E_NOTHING_APPLICABLE',
    exitCode,
    `None of the ${candidates.length} packs can be installed here:`,
    candidates.map((c) => aboutFile(basename(c.path), c.refusal?.message ?? 'not applicable')),
  );
}

export function finishedOutcome(res: InstallResult, logFile: string | undefined): Outcome {
  const lines = [
    `Installed ${res.packs.map((p) => `${p.title} (${p.id})`).join(', ')} in ${res.root}: ${res.before.levelName} -> ${res.after.levelName}`,
  ];
  if (res.restartRequired) lines.push(`Restart required: ${res.restartMessage ?? 'restart the server to finish'}`);
  for (const p of res.packs) if (p.backup) lines.push(`  uninstall data for ${p.id}: ${p.backup}`);
  if (logFile) lines.push(`  log: ${logFile}`);
  return { code: res.restartRequired ? EXIT.restartRequired : EXIT.ok, lines };
}

export function uninstallFinishView(res: UninstallResult, logFile: string | undefined): FinishView {
  const c = res.changed;
  const rows: [string, string][] = [
    ['Level', `${res.before.levelName} -> ${res.after.levelName}`],
    ['Files', `${c.restored.length} restored, ${c.removed.length} removed`],
  ];
  if (res.savedDir)
    rows.push(['Saved', `${underRoot(res.savedDir, res.root)}: ${c.saved.join(', ')} (changed since the install)`]);
  const s = res.service;
  rows.push([
    'Server',
    s.restarted
      ? 'stopped and started again'
      : s.stopped
        ? 'stopped'
        : s.wasRunning
          ? 'kept running'
          : 'was not running',
  ]);
  rows.push([
    'Restart',
    res.restartRequired ? `required: ${res.restartMessage ?? 'start the server to finish'}` : 'not needed',
  ]);
  if (logFile) rows.push(['Log', underRoot(logFile, res.root)]);
  return {
    headline: `${res.packId} was removed from ${res.root}.`,
    rows,
    restartRequired: res.restartRequired,
    exitCode: res.restartRequired ? EXIT.restartRequired : EXIT.ok,
  };
}

export function uninstalledOutcome(res: UninstallResult, logFile: string | undefined): Outcome {
  const lines = [`Uninstalled ${res.packId} from ${res.root}: ${res.before.levelName} -> ${res.after.levelName}`];
  if (res.restartRequired) lines.push(`Restart required: ${res.restartMessage ?? 'start the server to finish'}`);
  if (logFile) lines.push(`  log: ${logFile}`);
  return { code: res.restartRequired ? EXIT.restartRequired : EXIT.ok, lines };
}

/** Cancelling before the commit leaves everything as it was: exit 1, "nothing changed" (docs/cli.md §5). */
export function cancelledOutcome(): Outcome {
  return { code: EXIT.failed, lines: ['Setup was cancelled: nothing was changed.'] };
}

export function errorOutcome(v: ErrorView): Outcome {
  return { code: v.exitCode, lines: [`servicepack: error: ${v.message}`, ...v.details.map((d) => `  ${d}`)] };
}
