import { existsSync } from 'node:fs';
import { release } from 'node:os';
import { fsyncDir, fsyncFile, forEachConcurrently } from './fsutil.js';

/**
 * Getting written files and renamed entries onto the disk before anything relies on them (DESIGN
 * §5: staged files before the journal points at them, the commit's renames before the journal says
 * "committed").
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
 */
export type FlushMethod = 'syncfs' | 'fsync';

/** Absolute paths only: a `sync` found through PATH could be anything the caller's PATH points at. */
const SYNC_BINARIES = ['/usr/bin/sync', '/bin/sync'];

let syncfsBroken = false;

/** Up to this many files and folders are flushed one by one even where syncfs is used. */
export const FEW = 16;

function kernelReportsSyncfsErrors(): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release());
  if (!m) return false;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  return major > 5 || (major === 5 && minor >= 8);
}

/** The method `flushToDisk` will try first in this process. */
export function flushMethod(env: NodeJS.ProcessEnv = process.env): FlushMethod {
  if (env['SERVICEPACK_FLUSH'] === 'fsync' || syncfsBroken) return 'fsync';
  if (process.platform !== 'linux' || !kernelReportsSyncfsErrors()) return 'fsync';
  return syncBinary() === undefined ? 'fsync' : 'syncfs';
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
 * process, so an error of the disk surfaces from fsync with its own code.
 */
export async function flushToDisk(anchor: string, files: Iterable<string>, dirs: Iterable<string>): Promise<FlushMethod> {
  const fileList = [...files];
  const dirList = [...dirs];
  // starting a process costs tens of milliseconds on a busy machine: a few fsyncs cost less
  if (fileList.length + dirList.length > FEW && flushMethod() === 'syncfs') {
    if (await syncfs(anchor)) return 'syncfs';
    syncfsBroken = true;
  }
  await forEachConcurrently(fileList, 8, fsyncFile);
  await forEachConcurrently(dirList, 8, fsyncDir);
  return 'fsync';
}
