import { createRequire } from 'node:module';
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';

// node:crypto is loaded on first use: it takes longer to load than a whole `query` of an
// unchanged installation, which never hashes anything.
const require = createRequire(import.meta.url);
function createHash(algorithm: string): import('node:crypto').Hash {
  return (require('node:crypto') as typeof import('node:crypto')).createHash(algorithm);
}

export interface FileDigest {
  sha256: string;
  size: number;
}

export function sha256Bytes(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Read buffers are reused: a fresh buffer per file (what a read stream allocates) turns hashing a
 * tree of 10,000 files into gigabytes of garbage, and the collector then costs more than the hashing.
 * 128 KiB fits a core's L2 cache (512 KiB here) with room to spare: the kernel's copy out of the page
 * cache then lands in cache where sha256 reads it back. With 512 KiB buffers the copy missed it and
 * hashing 500 MiB cost a third more CPU (docs/performance.md).
 */
const READ_CHUNK = 128 * 1024;
const spare: Buffer[] = [];

async function digestHandle(fh: FileHandle): Promise<FileDigest> {
  const buf = spare.pop() ?? Buffer.allocUnsafeSlow(READ_CHUNK);
  try {
    const hash = createHash('sha256');
    let size = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, READ_CHUNK, null);
      if (bytesRead > 0) hash.update(bytesRead === READ_CHUNK ? buf : buf.subarray(0, bytesRead));
      size += bytesRead;
      // a short read of a regular file is its end: small files cost one read, not two
      if (bytesRead < READ_CHUNK) break;
    }
    return { sha256: hash.digest('hex'), size };
  } finally {
    spare.push(buf);
  }
}

/** Streams the file through a reused buffer: memory stays flat whatever its size. */
export async function sha256File(path: string): Promise<FileDigest> {
  const fh = await open(path, 'r');
  try {
    return await digestHandle(fh);
  } finally {
    await fh.close();
  }
}

export interface TreeEntry extends FileDigest {
  mode: number;
}

/** How long hashTree works before it lets the event loop run (a wizard's spinner, signals). */
const SLICE_MS = 15;

/** One file, read with synchronous calls into a reused buffer (see hashTree for why). */
function digestFileSync(abs: string): TreeEntry {
  let fd: number;
  try {
    // A file swapped after the listing is refused: O_NOFOLLOW for a link (never followed out of
    // the tree), O_NONBLOCK so that a FIFO cannot hang the open; fstat then checks the type.
    fd = openSync(abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw notRegular(abs);
    throw e;
  }
  const buf = spare.pop() ?? Buffer.allocUnsafeSlow(READ_CHUNK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw notRegular(abs);
    const hash = createHash('sha256');
    let size = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, READ_CHUNK, null);
      if (n > 0) hash.update(n === READ_CHUNK ? buf : buf.subarray(0, n));
      size += n;
      if (n < READ_CHUNK) break;
    }
    return { sha256: hash.digest('hex'), size, mode: st.mode & 0o777 };
  } finally {
    spare.push(buf);
    closeSync(fd);
  }
}

/**
 * sha256, size and mode of each of `paths` (absolute), read like hashTree reads (synchronously,
 * yielding to the event loop every few milliseconds); an entry is undefined where `paths` names
 * nothing, an Error where it names something other than a regular file or cannot be read.
 *
 * Many files are shared between this thread and a worker thread: hashing is bound by one core
 * (sha256 and the copies out of the page cache), and install and uninstall hash the 200 MiB a
 * service pack replaces before they change anything, verify the whole tree, while the second core
 * sits idle. Both threads take the next file from one shared counter, so neither waits for the
 * other at the end whatever the sizes (a fixed split leaves one thread with the big files), and
 * this thread starts at once instead of after the worker's start-up. Answers come back in order.
 * An aborted `signal` stops both threads at their next file and rejects with its reason.
 */
export async function hashFiles(
  paths: readonly string[],
  signal?: AbortSignal,
): Promise<(TreeEntry | undefined | Error)[]> {
  if (paths.length < PARALLEL_MIN_FILES) return hashFilesHere(paths, signal);
  const next = new Int32Array(new SharedArrayBuffer(4));
  const out: (TreeEntry | undefined | Error)[] = new Array(paths.length);
  const done = new Uint8Array(paths.length);
  const other = runWorker(paths, next);
  let slice = performance.now();
  for (let i = Atomics.add(next, 0, 1); i < paths.length; i = Atomics.add(next, 0, 1)) {
    if (signal?.aborted) {
      Atomics.store(next, 0, paths.length);
      throw signal.reason;
    }
    out[i] = digestOrError(paths[i]!);
    done[i] = 1;
    if (performance.now() - slice > SLICE_MS) {
      await new Promise<void>((r) => setImmediate(r));
      slice = performance.now();
    }
  }
  const theirs = await other;
  for (const [i, r] of theirs ?? []) {
    if (i >= 0 && i < paths.length && done[i] === 0) {
      out[i] = fromWire(r);
      done[i] = 1;
    }
  }
  // files the worker took but never answered (it failed to start or died): hashed here
  for (let i = 0; i < paths.length; i++) if (done[i] === 0) out[i] = digestOrError(paths[i]!);
  return out;
}

/** Below this many files a worker costs more than it saves (its start is tens of milliseconds). */
export const PARALLEL_MIN_FILES = 64;

function digestOrError(abs: string): TreeEntry | undefined | Error {
  try {
    return digestFileSync(abs);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : (e as Error);
  }
}

async function hashFilesHere(
  paths: readonly string[],
  signal?: AbortSignal,
): Promise<(TreeEntry | undefined | Error)[]> {
  const out: (TreeEntry | undefined | Error)[] = [];
  let slice = performance.now();
  for (const abs of paths) {
    signal?.throwIfAborted();
    out.push(digestOrError(abs));
    if (performance.now() - slice > SLICE_MS) {
      await new Promise<void>((r) => setImmediate(r));
      slice = performance.now();
    }
  }
  return out;
}

/** What crosses from the worker: errors as message and errno code (structured clone drops `code`). */
type WireResult = TreeEntry | null | { error: string; code?: string };

/**
 * digestFileSync for the worker, in plain JavaScript on node's own modules only: a worker cannot
 * load this module where it runs as TypeScript (tests, under tsx), since module hooks are not
 * shared with worker threads on Node 20. Kept in step with digestFileSync; the tests compare the
 * two threads' answers on every kind of entry (files of several reads, modes, missing, links, folders).
 * It loads what it needs at once and then waits for its one job, so that a worker started ahead
 * (startHashWorker) has its start-up behind it when the paths arrive. With a shared counter it
 * takes files until none is left; without one it does them all.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const CHUNK = ${READ_CHUNK};
const FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;
const buf = Buffer.allocUnsafeSlow(CHUNK);
function digest(abs) {
  let fd;
  try {
    fd = fs.openSync(abs, FLAGS);
  } catch (e) {
    if (e.code === 'ENOENT') return null;
    if (e.code === 'ELOOP') return { error: abs + ': not a regular file or folder' };
    return { error: e.message, code: e.code };
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return { error: abs + ': not a regular file or folder' };
    const hash = createHash('sha256');
    let size = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, 0, CHUNK, null);
      if (n > 0) hash.update(n === CHUNK ? buf : buf.subarray(0, n));
      size += n;
      if (n < CHUNK) break;
    }
    return { sha256: hash.digest('hex'), size, mode: st.mode & 0o777 };
  } catch (e) {
    return { error: e.message, code: e.code };
  } finally {
    fs.closeSync(fd);
  }
}
parentPort.once('message', ({ paths, next }) => {
  const out = [];
  if (next) for (let i = Atomics.add(next, 0, 1); i < paths.length; i = Atomics.add(next, 0, 1)) out.push([i, digest(paths[i])]);
  else for (let i = 0; i < paths.length; i++) out.push([i, digest(paths[i])]);
  parentPort.postMessage(out);
});
`;

/** A started worker thread, given one job: its answers as [index into paths, result], undefined when it could not run. */
type HashWorker = (paths: readonly string[], next?: Int32Array) => Promise<[number, WireResult][] | undefined>;

/** The worker startHashWorker started, until a hashFiles call takes it. */
let warm: HashWorker | undefined;

/**
 * Starts the worker thread the next hashFiles call will use, now. A thread's start-up costs tens
 * of milliseconds (node bootstraps it, then it loads node:crypto) while the other core waits; a
 * command that hashes a whole tree (verify) calls this first, so that the start-up runs beside its
 * own module loading and record reading instead of after them. An idle worker does not keep the
 * process alive, and one that is never used (the command failed first) ends with it.
 */
export function startHashWorker(): void {
  warm ??= spawnWorker();
}

/** Whether a worker startHashWorker started is waiting for a hashFiles call. */
export function hashWorkerWaiting(): boolean {
  return warm !== undefined;
}

function spawnWorker(): HashWorker {
  try {
    const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
    const w = new Worker(WORKER_SOURCE, { eval: true });
    const answer = new Promise<[number, WireResult][] | undefined>((resolve) => {
      w.once('message', (m: unknown) => resolve(Array.isArray(m) ? (m as [number, WireResult][]) : undefined));
      w.once('error', () => resolve(undefined));
      w.once('exit', () => resolve(undefined));
    });
    // after the listeners: adding a 'message' listener refs the worker's port again
    w.unref();
    return (paths, next) => {
      w.ref();
      w.postMessage({ paths, next });
      return answer;
    };
  } catch {
    return async () => undefined;
  }
}

/** The worker's answers as [index into paths, result]; undefined when no worker could run. */
function runWorker(paths: readonly string[], next?: Int32Array): Promise<[number, WireResult][] | undefined> {
  const worker = warm ?? spawnWorker();
  warm = undefined;
  return worker(paths, next);
}

function fromWire(r: WireResult): TreeEntry | undefined | Error {
  if (r === null) return undefined;
  if ('error' in r) return Object.assign(new Error(r.error), r.code !== undefined ? { code: r.code } : {});
  return r;
}

/**
 * The worker's share when it takes files from `next` (as hashFiles runs it): [index, result] for
 * each file it took, undefined when no worker could run.
 */
export async function hashSharedInWorker(
  paths: readonly string[],
  next: Int32Array,
): Promise<[number, TreeEntry | undefined | Error][] | undefined> {
  return (await runWorker(paths, next))?.map(([i, r]) => [i, fromWire(r)]);
}

/** The same hashing, all in a worker thread; undefined when no worker could run. */
export async function hashFilesInWorker(
  paths: readonly string[],
): Promise<(TreeEntry | undefined | Error)[] | undefined> {
  const wire = await runWorker(paths);
  if (wire === undefined || wire.length !== paths.length) return undefined;
  return wire.map(([, r]) => fromWire(r));
}

function notRegular(path: string): Error {
  return new Error(`${path}: not a regular file or folder`);
}

/**
 * Given a file's size and permission bits from lstat, an entry to use instead of hashing it, or
 * undefined to hash it. Lets a caller that holds a trusted record skip reading unchanged files.
 */
export type KnownEntry = (path: string, size: number, mode: number) => TreeEntry | undefined;

/**
 * Every regular file under `dir` (relative POSIX paths, sorted by code unit), skipping top-level
 * folders in `exclude`. Symlinks and other special files are reported as an error: a product tree
 * we service holds only regular files and folders. With `known`, files it vouches for are only
 * lstat'ed, not read. An aborted `signal` stops it (see hashFiles).
 */
export async function hashTree(
  dir: string,
  exclude: readonly string[] = [],
  known?: KnownEntry,
  signal?: AbortSignal,
): Promise<Map<string, TreeEntry>> {
  const files: string[] = [];
  // Synchronous: an async readdir per folder waits for the thread pool and then for whatever this
  // thread is doing (detection reads the state record beside the walk), and hashing, on both
  // threads, starts only once the listing is complete.
  function walk(rel: string): void {
    signal?.throwIfAborted();
    const entries = readdirSync(join(dir, rel), { withFileTypes: true });
    for (const e of entries) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (!rel && exclude.includes(e.name)) continue;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) files.push(p);
      else throw notRegular(join(dir, p));
    }
  }
  walk('');
  // by code unit, as sort() compares strings: without a comparator V8 calls no JavaScript per comparison
  files.sort();
  // Synchronous reads on purpose: the content is hashed on this thread anyway, and from the page
  // cache a read is a memory copy, while an async read is a thread-pool round trip per call (four
  // or more per file): on a busy machine those waits cost more than the hashing. The event loop
  // still gets a turn every few milliseconds.
  if (!known && files.length >= PARALLEL_MIN_FILES) {
    // verify and detection without a record read every byte: on both cores (see hashFiles)
    // join(dir, p) normalizes each of 10,000 paths (tens of milliseconds before either thread can
    // start); a listed path has no empty, `.` or `..` segment, so the folder's own prefix is enough
    const base = join(dir, '/');
    const digests = await hashFiles(
      files.map((p) => base + p),
      signal,
    );
    const tree = new Map<string, TreeEntry>();
    for (let i = 0; i < files.length; i++) {
      const d = digests[i];
      if (d instanceof Error) throw d;
      // gone since the listing: as digestFileSync would have thrown on this thread
      if (d === undefined)
        throw Object.assign(new Error(`ENOENT: no such file, open '${join(dir, files[i]!)}'`), { code: 'ENOENT' });
      tree.set(files[i]!, d);
    }
    return tree;
  }
  const results: TreeEntry[] = new Array(files.length);
  let slice = performance.now();
  for (let i = 0; i < files.length; i++) {
    signal?.throwIfAborted();
    const abs = join(dir, files[i]!);
    let entry: TreeEntry | undefined;
    if (known) {
      const st = lstatSync(abs);
      if (!st.isFile()) throw notRegular(abs);
      entry = known(files[i]!, st.size, st.mode & 0o777);
    }
    results[i] = entry ?? digestFileSync(abs);
    if (performance.now() - slice > SLICE_MS) {
      await new Promise<void>((r) => setImmediate(r));
      slice = performance.now();
    }
  }
  return new Map(files.map((p, i) => [p, results[i]!]));
}
