import { constants, lstat, mkdir, open, rename, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { SERVICEPACK_DIR } from '../installation/names.js';

/**
 * Top-level folders of an installation the product does not "own": the installer's own data,
 * the admin's content, and what the running server creates. Packs never touch them, detection
 * never hashes them, and a manifest path inside them is refused.
 */
export const NOT_OWNED = [SERVICEPACK_DIR, 'wwwroot', 'logs', 'run'] as const;

/** Case-folded so a pack cannot reach `.ServicePack/` on a case-insensitive file system. */
export function isOwnedPath(rel: string): boolean {
  const first = (rel.split('/')[0] ?? '').normalize('NFC').toLowerCase();
  return !NOT_OWNED.some((n) => n.toLowerCase() === first);
}

export function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return false;
    throw e;
  }
}

/**
 * A file is there as a plain file (never through a link): the test a message passes before it
 * tells the operator that a copy of their file was kept at `path`.
 */
export async function isPlainFile(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isFile();
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return false;
    throw e;
  }
}

export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return false;
    throw e;
  }
}

/**
 * A rename is only durable once the directory holding the entry is flushed; without this a power
 * loss after "commit" can bring back the old name. Some file systems refuse fsync on a directory
 * (EINVAL/EISDIR on a few network mounts): there is nothing more we can do there, so it is tolerated.
 * A folder that is not there (ENOENT) is not: its entries were to be made durable, so either the
 * caller named the wrong folder or the folder was lost.
 */
export async function fsyncDir(dir: string): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(dir, constants.O_RDONLY);
    await fh.sync();
  } catch (e) {
    const code = errnoCode(e);
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw e;
  } finally {
    await fh?.close();
  }
}

/**
 * Runs `fn` over `items` with at most `limit` calls in flight; the first failure is thrown once
 * the calls already started have settled (none is left running behind the caller's back).
 */
export async function forEachConcurrently<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  let error: unknown;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        if (!failed) error = e;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed) throw error;
}

export async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

// node:crypto is loaded on first use, so that the read-only commands never pay for it; through
// getBuiltinModule, since createRequire would load node:module's ESM facade and its source-map
// module into every query (docs/performance.md, item 20).
function randomHex(bytes: number): string {
  return process.getBuiltinModule('node:crypto').randomBytes(bytes).toString('hex');
}

/**
 * Write-then-rename: readers see the old bytes or the new bytes, never a torn file, even after a
 * crash (temp file fsynced before the rename, directory fsynced after it). The rename replaces
 * whatever entry is at `path` (a link is replaced, never written through). Private (0600) unless
 * told otherwise: what is written this way is the installer's own records (state, journal, backup
 * records). Pieces (`data` as a list) are written one after the other, never joined in memory.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array | readonly Uint8Array[],
  mode = 0o600,
): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${randomHex(6)}.tmp`);
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    try {
      // each from where the last one ended (FileHandle.writeFile writes from the current position)
      for (const piece of typeof data === 'string' || data instanceof Uint8Array ? [data] : data)
        await fh.writeFile(piece);
      await fh.chmod(mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(dir);
}

/**
 * `mkdir -p dir`, noting in `changed` each folder whose entries it changed: the parent of the
 * outermost folder it created, and every folder it created. Flushing `changed` makes the new
 * folders survive a power cut (a new folder's entry is in its parent, which nothing else flushes).
 */
export async function makeDirs(dir: string, changed: Set<string>, mode = 0o755): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode });
  if (first !== undefined) noteCreated(first, dir, changed);
}

/** The folders `mkdir -p last` changed when `first` was the outermost one it created (see makeDirs). */
export function noteCreated(first: string, last: string, changed: Set<string>): void {
  changed.add(dirname(first));
  for (let d = last; d.length >= first.length; d = dirname(d)) {
    changed.add(d);
    if (d === first || d === dirname(d)) break;
  }
}

/**
 * Creates the missing parents of `path` up to (not including) `stopAt` and returns the folders it
 * created, outermost first, so a rollback or an uninstall can remove exactly those.
 */
export async function mkdirParents(stopAt: string, relDir: string): Promise<string[]> {
  const created: string[] = [];
  if (relDir === '' || relDir === '.') return created;
  let cur = stopAt;
  for (const seg of relDir.split('/')) {
    cur = join(cur, seg);
    try {
      await mkdir(cur, { mode: 0o755 });
      created.push(cur);
    } catch (e) {
      if (errnoCode(e) !== 'EEXIST') throw e;
      if (!(await isDirectory(cur))) throw new Error(`${cur} exists and is not a folder`);
    }
  }
  return created;
}

/** Removes `dir` and then each empty parent up to (not including) `stopAt`; returns what it removed. */
export async function removeEmptyDirs(stopAt: string, dir: string): Promise<string[]> {
  const removed: string[] = [];
  let cur = dir;
  while (cur.startsWith(stopAt + sep) && cur !== stopAt) {
    try {
      await rmdir(cur);
      removed.push(cur);
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOENT') break;
      throw e;
    }
    cur = dirname(cur);
  }
  return removed;
}

export function toPosix(rel: string): string {
  return sep === '/' ? rel : rel.split(sep).join('/');
}

/** Root-relative POSIX path to an absolute path, after the caller has validated `rel`. */
export function inRoot(root: string, rel: string): string {
  return join(root, ...rel.split('/'));
}

/** What a file that is not a regular one is, for messages. */
export function fileKind(st: {
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
}): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Why a small file was refused, for callers that answer each with its own error code. */
export type SmallFileRefusal = 'missing' | 'link' | 'not-file' | 'too-large' | 'replaced' | 'unreadable';

export type SmallFile =
  | { ok: true; bytes: Buffer }
  | { ok: false; missing: boolean; reason: SmallFileRefusal; why: string; cause?: unknown };

const unreadable = (e: unknown): SmallFile => ({
  ok: false,
  missing: false,
  reason: 'unreadable',
  why: `cannot be read (${(e as Error).message})`,
  cause: e,
});

/**
 * A small file that a decision rests on (a key, the revocation list), read without trusting what
 * is at the path: it must be a regular file (looked at before it is opened, so a FIFO or a device
 * is never opened; `/dev/zero` would never end, a FIFO would block), of at most `maxBytes` (checked
 * before reading and again while reading: a file may grow), the same file once opened (fstat).
 * `followLinks: false` refuses a link itself, at the last component as well (O_NOFOLLOW).
 */
export async function readSmallFile(
  path: string,
  maxBytes: number,
  opts: { followLinks: boolean },
): Promise<SmallFile> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = opts.followLinks ? await stat(path) : await lstat(path);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR')
      return { ok: false, missing: true, reason: 'missing', why: 'does not exist', cause: e };
    return unreadable(e);
  }
  if (!st.isFile())
    return {
      ok: false,
      missing: false,
      reason: st.isSymbolicLink() ? 'link' : 'not-file',
      why: `is ${fileKind(st)}, not a regular file`,
    };
  const tooLarge = (n: number): SmallFile => ({
    ok: false,
    missing: false,
    reason: 'too-large',
    why: `is larger than ${maxBytes} bytes (${n})`,
  });
  if (st.size > maxBytes) return tooLarge(st.size);
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(
      path,
      constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY | (opts.followLinks ? 0 : constants.O_NOFOLLOW),
    );
    const now = await fh.stat();
    if (!now.isFile() || now.dev !== st.dev || now.ino !== st.ino)
      return { ok: false, missing: false, reason: 'replaced', why: 'was replaced while it was read' };
    const buf = Buffer.alloc(maxBytes + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > maxBytes)
        return { ok: false, missing: false, reason: 'too-large', why: `grew past ${maxBytes} bytes while it was read` };
    }
    return { ok: true, bytes: buf.subarray(0, n) };
  } catch (e) {
    if (errnoCode(e) === 'ELOOP')
      return { ok: false, missing: false, reason: 'link', why: 'is a symbolic link, not a regular file', cause: e };
    return unreadable(e);
  } finally {
    await fh?.close();
  }
}
