import type { Stats } from 'node:fs';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { ServicepackError } from '../support/errors.js';
import { errnoCode } from '../support/fsutil.js';
import {
  BACKUP_DIR,
  GARBAGE_DIR,
  JOURNAL_FILE,
  LOCK_FILE,
  LOG_DIR,
  SAVED_DIR,
  SERVICEPACK_DIR,
  STAGING_DIR,
  STATE_FILE,
  TRUST_DIR,
} from './names.js';
import { syncFs } from '../support/sync-fs.js';

const { closeSync, constants, lstatSync, openSync, readFileSync, statSync } = syncFs;

/**
 * `<root>/.servicepack/` is where a root-run installer deletes (`rm -rf` of staging and garbage),
 * moves (backups into the tree) and rewrites (state, journal, logs). A link anywhere there would
 * turn those into deletions and writes wherever it points, so no link there is ever followed, even
 * though the folder is the administrator's: the folder and its well-known entries are lstat'ed
 * (never stat'ed) before a command uses them, records are opened O_NOFOLLOW, and anything but a
 * real folder or a regular file where one belongs stops the command, with nothing changed.
 * A handful of lstats per command, none per file.
 *
 * The installer's records are private: state, journal, logs and backups say what is installed and
 * where, and a feed URL may carry credentials. Its folders are created 0700, its files 0600, and
 * a folder found looser is tightened by the next command that changes the installation. The trust
 * folder and `.servicepack/` itself stay as the release tree ships them (public keys only).
 */

/** Folders of `.servicepack/` only the installer reads. */
export const PRIVATE_DIRS: readonly string[] = [STAGING_DIR, BACKUP_DIR, LOG_DIR, SAVED_DIR, GARBAGE_DIR];
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

const FOLDERS: readonly string[] = [...PRIVATE_DIRS, TRUST_DIR];
const FILES: readonly string[] = [LOCK_FILE, JOURNAL_FILE, STATE_FILE];

/** The mode of a folder the installer creates at root-relative `rel`: private inside `.servicepack/`, the product's usual elsewhere. */
export function folderModeFor(rel: string): number {
  return rel === SERVICEPACK_DIR || rel.startsWith(`${SERVICEPACK_DIR}/`) ? PRIVATE_DIR_MODE : 0o755;
}

/** The refusal for a link (or something else) where `.servicepack/` needs a real folder or file. */
export function notFollowed(path: string, st?: Stats, want: 'folder' | 'file' = 'folder'): ServicepackError {
  if (st === undefined || st.isSymbolicLink()) {
    return new ServicepackError(
      'E_INVALID_STATE',
      `${path} is a symbolic link: servicepack runs as root and never follows a link in its own data or on the way to a file it moves, so nothing was changed; remove the link (if what it points to is this installation's data, move that into its place) and run again`,
      { path, link: true },
    );
  }
  return new ServicepackError(
    'E_INVALID_STATE',
    `${path} is not a ${want === 'folder' ? 'folder' : 'regular file'}: nothing was changed; remove it and run again`,
    { path },
  );
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return undefined;
    throw e;
  }
}

/**
 * `.servicepack/` and its well-known entries are what they must be, when present: real folders
 * and regular files, never links. Synchronous (query calls it on its fast path). Returns the
 * folders found, for prepareServicepackDir.
 */
export function checkServicepackDir(root: string): Map<string, Stats> {
  const found = new Map<string, Stats>();
  const sp = join(root, SERVICEPACK_DIR);
  const top = lstatOrUndefined(sp);
  if (top === undefined) return found;
  if (!top.isDirectory()) throw notFollowed(sp, top);
  found.set(SERVICEPACK_DIR, top);
  for (const name of FOLDERS) {
    const st = lstatOrUndefined(join(sp, name));
    if (st === undefined) continue;
    if (!st.isDirectory()) throw notFollowed(join(sp, name), st);
    found.set(name, st);
  }
  for (const name of FILES) {
    const st = lstatOrUndefined(join(sp, name));
    if (st !== undefined && !st.isFile()) throw notFollowed(join(sp, name), st, 'file');
  }
  return found;
}

/**
 * For the commands that change the installation, before they take the lock: the check above,
 * `.servicepack/` created when missing, and private folders found looser than 0700 tightened
 * (folders only: a file could be a hard link to something outside the installation).
 */
export async function prepareServicepackDir(root: string): Promise<void> {
  const found = checkServicepackDir(root);
  if (!found.has(SERVICEPACK_DIR)) await mkdir(join(root, SERVICEPACK_DIR), { recursive: true });
  for (const name of PRIVATE_DIRS) {
    const st = found.get(name);
    if (st !== undefined && (st.mode & 0o077) !== 0) await chmod(join(root, SERVICEPACK_DIR, name), PRIVATE_DIR_MODE);
  }
}

/** Whether every segment of root-relative `rel` exists and is a real folder (no link on the way or at the end). */
export function isRealFolder(root: string, rel: string): boolean {
  let abs = root;
  for (const seg of rel.split('/')) {
    abs = join(abs, seg);
    const st = lstatOrUndefined(abs);
    if (st === undefined || !st.isDirectory()) return false;
  }
  return true;
}

/**
 * Refuses when a folder on the way to any of `paths` (root-relative, POSIX; the paths themselves
 * are not looked at) is a symbolic link: a rename or rm through it would act outside the
 * installation. One lstat per distinct folder, shared through `seen` across calls.
 */
export function checkNoLinkOnTheWay(root: string, paths: Iterable<string>, seen: Set<string> = new Set()): void {
  for (const p of paths) {
    const segs = p.split('/');
    for (let i = 1; i < segs.length; i++) {
      const dir = segs.slice(0, i).join('/');
      if (seen.has(dir)) continue;
      seen.add(dir);
      const abs = join(root, ...segs.slice(0, i));
      const st = lstatOrUndefined(abs);
      if (st === undefined) break;
      if (st.isSymbolicLink()) throw notFollowed(abs, st);
    }
  }
}

/**
 * Refuses when any of `dirs` (root-relative folders, or the nearest existing folder above one
 * that does not exist yet) is on another file system than the root. Every change servicepack
 * makes is a rename(2), which cannot cross file systems (EXDEV): found halfway through a commit,
 * that would leave a change that can be neither finished nor undone. One lstat per folder.
 */
export function checkOneFileSystem(root: string, dirs: Iterable<string>): void {
  const dev = statSync(root).dev;
  const seen = new Set<string>();
  for (const start of dirs) {
    // the root itself is the measure (and may be a link to where the installation lives)
    for (let d = start; d !== '.' && !seen.has(d); d = posix.dirname(d)) {
      seen.add(d);
      const abs = join(root, ...d.split('/'));
      const st = lstatOrUndefined(abs);
      if (st !== undefined) {
        if (st.dev !== dev) {
          throw new ServicepackError(
            'E_INVALID_STATE',
            `${abs} is on another file system than ${root} (a separate mount): servicepack puts every file in place with rename(2), which cannot cross file systems, so the change could be neither made nor undone; nothing was changed. Unmount it (or move it onto the installation's file system) and run again`,
            { path: abs, root },
          );
        }
        break;
      }
    }
  }
}

// O_NONBLOCK: a FIFO put where a record belongs reads as empty (and is refused) instead of blocking forever
const READ_RECORD = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** One of the installer's records (state, journal, lock, backup record): never read through a link. */
export async function readRecordFile(path: string): Promise<string> {
  try {
    return await readFile(path, { encoding: 'utf8', flag: READ_RECORD });
  } catch (e) {
    if (errnoCode(e) === 'ELOOP') throw notFollowed(path, undefined, 'file');
    throw e;
  }
}

/**
 * A record that may be absent (state, journal): its text, or undefined when there is none. Any
 * other failure is E_IO naming the file, and a refusal (a link) passes through as it is.
 */
export async function readRecordIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readRecordFile(path);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    if (e instanceof ServicepackError) throw e;
    throw new ServicepackError('E_IO', `cannot read ${path}: ${(e as Error).message}`, { path }, { cause: e });
  }
}

export function readRecordFileSync(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, READ_RECORD);
  } catch (e) {
    if (errnoCode(e) === 'ELOOP') throw notFollowed(path, undefined, 'file');
    throw e;
  }
  try {
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}
