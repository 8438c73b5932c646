import { pathFoldKey } from '../pack/archive-path.js';
import { BUILDINFO_FILE } from '../installation/buildinfo.js';
import { ServicepackError } from '../support/errors.js';
import { isOwnedPath } from '../support/fsutil.js';
import type { Manifest, ManifestFile } from '../pack/manifest.js';

export interface FileMeta {
  sha256: string;
  size: number;
  mode: number;
}

/** What to do with files changed locally since the last install: one list for every front end. */
export const MODIFIED_POLICIES = ['stop', 'overwrite', 'keep'] as const;
export type ModifiedPolicy = (typeof MODIFIED_POLICIES)[number];

/**
 * -o keeps a changed file in the backup; with no backup (-n) the edit would be replaced with no
 * copy anywhere. One rule for every front end: the install refuses it, the wizard never offers it.
 */
export function overwriteWithoutBackup(c: { readonly backup: boolean; readonly modified: ModifiedPolicy }): boolean {
  return !c.backup && c.modified === 'overwrite';
}

/** The refusal of that combination: E_USAGE (exit 2), before anything is looked at. */
export function checkOverwriteHasBackup(c: { readonly backup: boolean; readonly modified: ModifiedPolicy }): void {
  if (!overwriteWithoutBackup(c)) return;
  throw new ServicepackError(
    'E_USAGE',
    '--no-backup (-n) and --overwrite-modified (-o) cannot be used together: a file changed here would be replaced with no copy kept anywhere. Nothing was changed. Drop -n (the changed files are then kept in the backup), or use --keep-modified to leave them as they are (in an answer file: backup: false with modified: overwrite)',
    { options: ['--no-backup', '--overwrite-modified'] },
  );
}

export interface PlannedOp {
  /** root-relative path the operation lands on (for a config default: `<path>.spnew`) */
  path: string;
  op: 'add' | 'replace' | 'delete';
  /** manifest path whose payload supplies the content; absent for delete */
  source?: string;
  /** what is on disk now; absent when nothing is */
  before?: FileMeta;
  /** what will be there; absent for delete */
  after?: FileMeta;
  config: boolean;
  reason: 'pack' | 'overwrite-modified' | 'spnew';
}

export interface KeptFile {
  path: string;
  action: ManifestFile['action'];
  config: boolean;
  /** absent when the admin removed the file */
  current?: FileMeta;
  reason: 'keep-modified' | 'config-modified';
}

export interface InstallPlan {
  packId: string;
  ops: PlannedOp[];
  /** already as the pack wants them */
  unchanged: string[];
  /** locally modified and left as they are */
  kept: KeptFile[];
  /** landing paths of the new config defaults written beside modified config files */
  spnew: string[];
  /** locally modified files replaced anyway (--overwrite-modified); the originals go to the backup */
  overwritten: string[];
  totalBytes: number;
}

export interface PlanTarget {
  files: ReadonlyMap<string, FileMeta>;
}

export interface PlanOptions {
  modified: ModifiedPolicy;
}

const SPNEW = '.spnew';

function targetMeta(f: ManifestFile): FileMeta {
  // The schema guarantees sha256 and size for add/replace; mode defaults to a plain readable file.
  // Clamped exactly like staging does (never group/world writable), so plan, disk and state agree.
  return { sha256: f.sha256 ?? '', size: f.size ?? 0, mode: (f.mode ?? 0o644) & 0o755 };
}

function same(a: FileMeta | undefined, b: FileMeta): boolean {
  return a !== undefined && a.sha256 === b.sha256 && a.size === b.size && a.mode === b.mode;
}

/**
 * Per-file decisions (docs/transactions.md §2 "Plan"). A file is "locally modified" when its current hash is in
 * none of the versions the vendor ever shipped (`from`) and is not already the new one: an admin's
 * edit, an OEM or a hotfix file this pack does not know. Overwriting such a file silently is what
 * made NT 3.51 SP4 downgrade Oleaut32.dll, so the default is to stop and say which files.
 */
export function planInstall(target: PlanTarget, manifest: Manifest, opts: PlanOptions): InstallPlan {
  const plan: InstallPlan = {
    packId: manifest.id,
    ops: [],
    unchanged: [],
    kept: [],
    spnew: [],
    overwritten: [],
    totalBytes: 0,
  };
  const blocked: { path: string; action: ManifestFile['action']; sha256: string | null; known: string[] }[] = [];
  const landing = new Set<string>();

  const push = (op: PlannedOp) => {
    const key = pathFoldKey(op.path);
    if (landing.has(key)) {
      throw new ServicepackError(
        'E_INVALID_MANIFEST',
        `${manifest.id}: two entries would write ${op.path}: the pack is defective; get a corrected one from the vendor`,
        { path: op.path },
      );
    }
    landing.add(key);
    plan.ops.push(op);
    if (op.after) plan.totalBytes += op.after.size;
  };

  for (const f of manifest.files) {
    if (!isOwnedPath(f.path)) {
      // The payload may only touch the product's own files: never the installer's records and
      // trust store, the admin's content, or runtime folders, however well signed the pack is.
      throw new ServicepackError(
        'E_UNSAFE_ARCHIVE',
        `${manifest.id} wants to ${f.action} ${f.path}, outside the files a pack may touch: refused; report the pack to its vendor`,
        { path: f.path },
      );
    }
    if (f.path.toLowerCase().endsWith(SPNEW)) {
      throw new ServicepackError(
        'E_INVALID_MANIFEST',
        `${manifest.id} ships ${f.path}: the ${SPNEW} suffix is reserved for config defaults: the pack is defective`,
        { path: f.path },
      );
    }
    if (f.action === 'delete' && f.path === BUILDINFO_FILE) {
      throw new ServicepackError(
        'E_INVALID_MANIFEST',
        `${manifest.id} deletes ${BUILDINFO_FILE}, which would leave an installation nothing can identify: the pack is defective`,
        { path: f.path },
      );
    }
    const current = target.files.get(f.path);
    const config = f.config === true;

    if (f.action === 'delete') {
      if (!current) {
        plan.unchanged.push(f.path);
        continue;
      }
      if (f.from.includes(current.sha256)) {
        push({ path: f.path, op: 'delete', before: current, config, reason: 'pack' });
        continue;
      }
      if (config) {
        plan.kept.push({ path: f.path, action: f.action, config, current, reason: 'config-modified' });
        continue;
      }
      if (opts.modified === 'overwrite') {
        push({ path: f.path, op: 'delete', before: current, config, reason: 'overwrite-modified' });
        plan.overwritten.push(f.path);
      } else if (opts.modified === 'keep')
        plan.kept.push({ path: f.path, action: f.action, config, current, reason: 'keep-modified' });
      else blocked.push({ path: f.path, action: f.action, sha256: current.sha256, known: f.from });
      continue;
    }

    const after = targetMeta(f);
    if (same(current, after)) {
      plan.unchanged.push(f.path);
      continue;
    }
    const known =
      current === undefined ? f.action === 'add' : current.sha256 === after.sha256 || f.from.includes(current.sha256);
    if (known) {
      push({
        path: f.path,
        op: current ? 'replace' : 'add',
        source: f.path,
        ...(current ? { before: current } : {}),
        after,
        config,
        reason: 'pack',
      });
      continue;
    }
    // Locally modified: changed content, an unexpected file where an add lands, or a removed file.
    if (config) {
      if (!current) {
        // Nothing of the admin's to overwrite: the file was removed, so the default goes in place.
        push({ path: f.path, op: 'add', source: f.path, after, config, reason: 'pack' });
        continue;
      }
      const spPath = f.path + SPNEW;
      const existing = target.files.get(spPath);
      plan.kept.push({ path: f.path, action: f.action, config, current, reason: 'config-modified' });
      plan.spnew.push(spPath);
      if (same(existing, after)) continue;
      push({
        path: spPath,
        op: existing ? 'replace' : 'add',
        source: f.path,
        ...(existing ? { before: existing } : {}),
        after,
        config,
        reason: 'spnew',
      });
      continue;
    }
    if (opts.modified === 'overwrite') {
      push({
        path: f.path,
        op: current ? 'replace' : 'add',
        source: f.path,
        ...(current ? { before: current } : {}),
        after,
        config,
        reason: 'overwrite-modified',
      });
      plan.overwritten.push(f.path);
    } else if (opts.modified === 'keep' && f.path !== BUILDINFO_FILE) {
      // BUILDINFO.json records the level: keeping an old one would make the product lie about it.
      plan.kept.push({
        path: f.path,
        action: f.action,
        config,
        ...(current ? { current } : {}),
        reason: 'keep-modified',
      });
    } else blocked.push({ path: f.path, action: f.action, sha256: current?.sha256 ?? null, known: f.from });
  }

  if (blocked.length > 0) {
    const shown = blocked.slice(0, 8).map((b) => (b.sha256 === null ? `${b.path} (missing)` : b.path));
    const more = blocked.length > shown.length ? ` and ${blocked.length - shown.length} more` : '';
    throw new ServicepackError(
      'E_LOCALLY_MODIFIED',
      `${blocked.length === 1 ? '1 file was' : `${blocked.length} files were`} changed here since ${blocked.length === 1 ? 'it was' : 'they were'} installed, and ${manifest.id} would replace ${blocked.length === 1 ? 'it' : 'them'}: ${shown.join(', ')}${more}. Nothing was changed. Pass --overwrite-modified (-o) to replace them (the changed files go to the backup) or --keep-modified to leave them as they are`,
      { packId: manifest.id, files: blocked },
    );
  }
  return plan;
}

/** The owned files as they will be once `plan` is committed: the next pack in the same run plans against this. */
export function filesAfter(files: ReadonlyMap<string, FileMeta>, plan: InstallPlan): Map<string, FileMeta> {
  const out = new Map(files);
  for (const op of plan.ops) {
    if (op.after) out.set(op.path, op.after);
    else out.delete(op.path);
  }
  return new Map([...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
