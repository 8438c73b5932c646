import { existsSync } from 'node:fs';
import { stat, statfs } from 'node:fs/promises';
import { release } from 'node:os';
import { fsyncDir, fsyncFile, forEachConcurrently } from '../support/fsutil.js';

/**
 * Getting written files and renamed entries onto the disk before anything relies on them
 * (docs/transactions.md §2 "Flushing": staged files before the journal points at them, the commit's
 * renames before the journal says "committed").
 *
 * Two ways, same guarantee for one file system:
 * - syncfs(2) of the file system holding the installation: one call writes every dirty file and
 *   folder of it and commits the file system's journal once. Node has no binding; coreutils'
 *   `sync -f PATH` is exactly that call. A 2,000-file pack otherwise needs 2,000 file fsyncs plus
 *   one per folder, each a re-open and a journal commit of its own, and on a busy disk each of those
 *   also stalls the file creations going on beside it.
 * - fsync(2) of each file and folder: everywhere else, and whenever `sync -f` is missing or fails.
 *
 * The trade-off of syncfs: it also flushes other programs' dirty data on that file system, so on a
 * disk shared with a heavy writer it can take longer than our own files would. SERVICEPACK_FLUSH=fsync
 * chooses per-file fsyncs for such machines. Errors: syncfs reports write-back errors only from
 * Linux 5.8 on (before, it returned 0 after a failed write-back), so older kernels use fsync.
 *
 * syncfs is only as good as the file system's own sync_fs: on FUSE (sshfs, glusterfs, s3fs…) it
 * returns 0 and flushes nothing, so it is used only on the file systems of SYNCFS_FILE_SYSTEMS
 * (statfs(2) f_type), and everywhere else each file and folder is fsynced.
 */
export type FlushMethod = 'syncfs' | 'fsync';

/** Absolute paths only: a `sync` found through PATH could be anything the caller's PATH points at. */
const SYNC_BINARIES = ['/usr/bin/sync', '/bin/sync'];

let syncfsBroken = false;

/**
 * statfs(2) f_type of the file systems whose syncfs(2) writes back every dirty file and folder and
 * commits them (linux/magic.h and the file systems' own headers). Only these: an unknown type is
 * flushed file by file. Left out on purpose: FUSE 0x65735546 (sshfs, glusterfs, ceph-fuse, s3fs,
 * virtiofs: the daemon is never asked to sync), NFS 0x6969, SMB 0xfe534d42/0xff534d42, ceph
 * 0x00c36400, 9p 0x01021997 (no sync_fs of their own), and overlayfs 0x794c7630: its syncfs reaches
 * the upper file system only on newer kernels, not with the "volatile" option, and statfs does not
 * say what the upper file system is; fsync goes through to the upper file on every version.
 */
export const SYNCFS_FILE_SYSTEMS: ReadonlyMap<number, string> = new Map([
  [0xef53, 'ext2/ext3/ext4'],
  [0x58465342, 'xfs'],
  [0x9123683e, 'btrfs'],
  [0xf2f52010, 'f2fs'],
  [0xca451a4e, 'bcachefs'],
  [0x3153464a, 'jfs'],
  [0x52654973, 'reiserfs'],
  [0x2fc12fc1, 'zfs'],
  // memory only: nothing to write back, so syncfs is as good as any fsync there
  [0x01021994, 'tmpfs'],
  [0x858458f6, 'ramfs'],
]);

/** Whether syncfs(2) makes a file system of statfs type `fsType` durable (see SYNCFS_FILE_SYSTEMS). */
export function syncfsFlushes(fsType: number): boolean {
  // f_type is a signed long: a type above 0x7fffffff reads negative on 32-bit systems
  return SYNCFS_FILE_SYSTEMS.has(fsType >>> 0);
}

/**
 * SEAM for tests: how the statfs type of a path is read. The crash-consistency test sets it to
 * model a file system (FUSE) that this machine does not have.
 */
export const fileSystemProbe = { type: async (path: string): Promise<number> => (await statfs(path)).type };

/** syncfs verdicts per device (st_dev): statfs once per file system and process, not per flush. */
const syncfsByDevice = new Map<number, boolean>();

/** Forgets the verdicts: for tests that change fileSystemProbe. */
export function forgetFileSystems(): void {
  syncfsByDevice.clear();
}

/** Up to this many files and folders are flushed one by one even where syncfs is used. */
export const FEW = 16;

function kernelReportsSyncfsErrors(): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release());
  if (!m) return false;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  return major > 5 || (major === 5 && minor >= 8);
}

/** The method `flushToDisk` will try first in this process, before the file system is looked at. */
export function flushMethod(env: NodeJS.ProcessEnv = process.env): FlushMethod {
  if (env['SERVICEPACK_FLUSH'] === 'fsync' || syncfsBroken) return 'fsync';
  if (process.platform !== 'linux' || !kernelReportsSyncfsErrors()) return 'fsync';
  return syncBinary() === undefined ? 'fsync' : 'syncfs';
}

/** The method `flushToDisk` uses for files on the file system holding `path` (an existing path). */
export async function flushMethodAt(path: string, env: NodeJS.ProcessEnv = process.env): Promise<FlushMethod> {
  if (flushMethod(env) === 'fsync') return 'fsync';
  const dev = (await stat(path)).dev;
  let trusted = syncfsByDevice.get(dev);
  if (trusted === undefined) {
    // a file system that cannot even say what it is gets the method that works everywhere
    trusted = await fileSystemProbe.type(path).then(syncfsFlushes, () => false);
    syncfsByDevice.set(dev, trusted);
  }
  return trusted ? 'syncfs' : 'fsync';
}

let binary: string | null | undefined;
function syncBinary(): string | undefined {
  if (binary === undefined) binary = SYNC_BINARIES.find((p) => existsSync(p)) ?? null;
  return binary ?? undefined;
}

async function syncfs(anchor: string): Promise<boolean> {
  const bin = syncBinary();
  if (bin === undefined) return false;
  const { spawn } = await import('node:child_process');
  return new Promise<boolean>((resolve) => {
    // `--` so that an anchor beginning with "-" is a path, not an option
    const child = spawn(bin, ['-f', '--', anchor], { stdio: 'ignore', env: {} });
    child.once('error', () => resolve(false));
    child.once('close', (code) => resolve(code === 0));
  });
}

/**
 * Makes `files` (contents and entries) and `dirs` (their entries) durable. All of them must lie on
 * the file system that holds `anchor` (an existing path): the installation, its staging and backup
 * folders are one file system by design, which is what makes the commit a rename. Returns the
 * method that did it. A failed `sync -f` falls back to fsyncs for this and every later call of the
 * process, so an error of the disk surfaces from fsync with its own code. A folder that is not
 * there is an error (ENOENT): every caller names folders that must exist, and one that vanished
 * holds entries that were to be made durable.
 */
export async function flushToDisk(
  anchor: string,
  files: Iterable<string>,
  dirs: Iterable<string>,
): Promise<FlushMethod> {
  const fileList = [...files];
  return flushInOrder(anchor, fileList, [[...dirs]]);
}

/**
 * Like flushToDisk, with the folders in phases flushed one after the other: with fsync, a power
 * cut between two fsyncs keeps the entries of the folders flushed so far and loses the others, so a
 * rename that depends on an earlier one (the new file into the place the original left) must not
 * reach the disk before it (see `flushPhases` in journal-apply.ts). One syncfs makes all of it durable
 * at once, so the phases cost nothing there.
 */
export async function flushInOrder(
  anchor: string,
  files: readonly string[],
  phases: readonly (readonly string[])[],
): Promise<FlushMethod> {
  const count = phases.reduce((n, p) => n + p.length, files.length);
  if (count === 0) return 'fsync';
  // starting a process costs tens of milliseconds on a busy machine: a few fsyncs cost less
  if (count > FEW && (await flushMethodAt(anchor)) === 'syncfs') {
    if (await syncfs(anchor)) return 'syncfs';
    syncfsBroken = true;
  }
  await forEachConcurrently(files, 8, fsyncFile);
  for (const dirs of phases) await forEachConcurrently(dirs, 8, fsyncDir);
  return 'fsync';
}
