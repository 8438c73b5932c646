import { existsSync, mkdirSync, renameSync, rmdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { errnoCode } from '../support/fsutil.js';
import { GARBAGE_DIR, SERVICEPACK_DIR } from '../installation/names.js';
import { isRealFolder, PRIVATE_DIR_MODE } from '../installation/servicepack-dir.js';

/**
 * What a finished transaction throws away: its staging folder, which after an uninstall holds every
 * file the update had put in place (for a service pack, hundreds of MiB). Deleting that is the
 * slowest part of an uninstall and nothing depends on it, so it is renamed into
 * `.servicepack/garbage/` (one rename, same file system) and deleted by a detached `rm` that
 * outlives the command. Whatever a reboot interrupts is deleted by the next transaction's cleanup.
 * Under the lock only the rename happens; the deletion needs no lock, since nothing else ever reads
 * `garbage/`.
 */
export { GARBAGE_DIR } from '../installation/names.js';

/** Absolute paths only: an `rm` found through PATH could be anything the caller's PATH points at. */
const RM_BINARIES = ['/usr/bin/rm', '/bin/rm'];

const GARBAGE_REL = `${SERVICEPACK_DIR}/${GARBAGE_DIR}`;

function garbageDir(root: string): string {
  return join(root, SERVICEPACK_DIR, GARBAGE_DIR);
}

/**
 * Moves `root/rel` (a transaction's staging folder) into the garbage folder. Returns false when it
 * could not be moved (the caller deletes it in place then); true when it was moved or is gone.
 */
export function moveToGarbage(root: string, rel: string): boolean {
  const from = join(root, ...rel.split('/'));
  if (!existsSync(from)) return true;
  try {
    mkdirSync(garbageDir(root), { recursive: true, mode: PRIVATE_DIR_MODE });
    // never into a link: what is moved there is deleted, wherever it is
    if (!isRealFolder(root, GARBAGE_REL)) return false;
    renameSync(from, join(garbageDir(root), `${basename(from)}-${process.pid}`));
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return !existsSync(from);
    return false;
  }
  try {
    // staging/ itself once empty, as removeStaging does
    rmdirSync(dirname(from));
  } catch {
    // other transactions' staging (interrupted ones, recovered later) is still in there
  }
  return true;
}

/**
 * Deletes the garbage folder: by a detached `rm -rf` where there is one (the command does not wait
 * for it), else in this process. Never fails the transaction: the change is complete and recorded
 * before this runs, and a leftover is only disk space that the next run reclaims. A transaction
 * that moves its staging in while an earlier run's `rm` is at work may see its rename fail; it
 * then deletes its staging in place (moveToGarbage returns false).
 */
export async function disposeGarbage(root: string): Promise<void> {
  const dir = garbageDir(root);
  // `rm -rf` is given a real folder, without a trailing slash: it deletes the tree, removes the
  // links inside it without following them, and would only ever unlink a link given as the argument.
  if (!isRealFolder(root, GARBAGE_REL)) return;
  const bin = process.platform === 'win32' ? undefined : RM_BINARIES.find((p) => existsSync(p));
  if (bin !== undefined) {
    const { spawn } = await import('node:child_process');
    const started = await new Promise<boolean>((resolve) => {
      const child = spawn(bin, ['-rf', '--', dir], { detached: true, stdio: 'ignore', env: {} });
      child.once('error', () => resolve(false));
      child.once('spawn', () => {
        child.unref();
        resolve(true);
      });
    });
    if (started) return;
  }
  await rm(dir, { recursive: true, force: true, maxRetries: 2 }).catch(() => {});
}
