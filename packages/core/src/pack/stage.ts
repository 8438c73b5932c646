/**
 * Staging a verified pack's payload into a private folder beside the target, so that committing it is
 * a rename and a half-staged payload is never mistaken for a whole one. The payload must reach the
 * disk before a journal points at it; the fsync queue and the files created ahead on the thread pool keep
 * that from costing seconds on packs of thousands of files.
 */
import { closeSync, fchmodSync, open, writeSync } from 'node:fs';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isServicepackError, ServicepackError } from '../support/errors.js';
import { type EventSink, nullSink } from '../support/events.js';
import { forEachConcurrently, fsyncFile, noteCreated } from '../support/fsutil.js';
import { flushMethodAt, flushToDisk } from '../transaction/durable.js';
import type { VerifiedPack } from './open.js';
import { checkPayloadNames, payloadFiles, walkPack } from './walk.js';

export interface StagedPayload {
  dir: string;
  files: Map<string, { sha256: string; size: number; mode: number }>;
  /**
   * With `deferFlush`: settles once every staged file and folder is on disk (durable.ts). Nothing may
   * point at the staged files (a journal) before it has resolved.
   */
  flushed?: Promise<void>;
}

/** The manifest's mode for a staged file: permission bits only, never group/world writable. */
export function clampMode(mode: number | undefined): number {
  return (mode ?? 0o644) & 0o755;
}

function writeAll(fd: number, data: Uint8Array): void {
  for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
}

/**
 * fsyncs of staged files, run in the background while extraction goes on. One fsync after each file
 * waits for the disk 2,000 times in a row for a 2,000-file pack (seconds); a few at once overlap
 * with decompression and let the file system commit them together. Few during extraction, since
 * they hold thread-pool threads that gunzip and the writes need; more once extraction is done.
 */
class SyncQueue {
  #waiting: string[] = [];
  #running = 0;
  #limit = 2;
  #error: unknown;
  #idle: (() => void) | undefined;

  add(path: string): void {
    this.#waiting.push(path);
    this.#pump();
  }

  #pump(): void {
    while (this.#running < this.#limit && this.#waiting.length > 0 && this.#error === undefined) {
      const path = this.#waiting.shift()!;
      this.#running++;
      fsyncFile(path)
        .catch((e: unknown) => {
          this.#error ??= e;
        })
        .finally(() => {
          this.#running--;
          this.#pump();
          if (this.#running === 0 && (this.#waiting.length === 0 || this.#error !== undefined)) this.#idle?.();
        });
    }
  }

  /** Waits for every queued fsync; the first failure is thrown. */
  async drain(): Promise<void> {
    this.#limit = 8;
    this.#pump();
    if (this.#running > 0) await new Promise<void>((r) => (this.#idle = r));
    if (this.#error !== undefined) throw this.#error;
  }

  /** After a failure elsewhere: lets the running fsyncs finish, starts no more, reports nothing. */
  async settle(): Promise<void> {
    this.#waiting = [];
    if (this.#running > 0) await new Promise<void>((r) => (this.#idle = r));
  }
}

/**
 * The payload's empty files, created ahead of the extraction on libuv's thread pool. Creating a
 * file costs this kind of machine about 0.3 ms of kernel CPU (an inode and a directory entry, in
 * the file system's journal): 2,000 of them on the thread that also parses, hashes and writes the
 * payload held the extraction back by half a second. A worker thread did this before, at the price
 * of a second isolate (about 10 MiB resident while it ran); node 20.20 runs an async `open` on a
 * thread-pool thread (seen with strace: libuv does not use io_uring for it), so no isolate is needed.
 *
 * Files are created in manifest order (the order packs are written in), a few at once so that
 * decompression and the pack's reads keep threads of the pool, and at most AHEAD beyond the
 * writer, whose descriptor each create hands over (the writer does not open the file again). A
 * file the pack brings out of that order is created when the writer asks for it. Each create keeps
 * O_EXCL, so a name that exists already fails as it did when the writer created it.
 */
class Precreator {
  readonly #paths: readonly string[];
  readonly #index = new Map<string, number>();
  /** per path: the create under way or done, TAKEN once the writer has the descriptor */
  readonly #fds: (Promise<number> | typeof TAKEN | undefined)[];
  readonly #dirs: Set<string>;
  /** folders are made one after the other: mkdir -p of two siblings would race for their parents */
  #mkdirs: Promise<void> = Promise.resolve();
  readonly #parents = new Map<string, Promise<void>>();
  #next = 0;
  #running = 0;
  /** created (or being created) and not yet taken by the writer */
  #ahead = 0;
  #stopped = false;

  constructor(paths: readonly string[], dirs: Set<string>) {
    this.#paths = paths;
    this.#dirs = dirs;
    this.#fds = new Array(paths.length);
    for (const [i, path] of paths.entries()) this.#index.set(path, i);
    this.#pump();
  }

  #parent(dir: string): Promise<void> {
    if (this.#dirs.has(dir)) return Promise.resolve();
    let made = this.#parents.get(dir);
    if (made === undefined) {
      made = this.#mkdirs = this.#mkdirs.then(async () => {
        const first = await mkdir(dir, { recursive: true, mode: 0o755 });
        // the new file's entry is in `dir`: flushed whether or not mkdir made it
        this.#dirs.add(dir);
        if (first !== undefined) noteCreated(first, dir, this.#dirs);
      });
      this.#parents.set(dir, made);
    }
    return made;
  }

  #start(i: number): Promise<number> {
    const path = this.#paths[i]!;
    this.#running++;
    this.#ahead++;
    const fd = this.#parent(dirname(path)).then(
      () =>
        new Promise<number>((resolve, reject) =>
          // 'wx': O_CREAT|O_EXCL, so an existing name (a twin that slipped through) fails instead of being reused
          open(path, 'wx', 0o600, (e, fd) => (e ? reject(e) : resolve(fd))),
        ),
    );
    this.#fds[i] = fd;
    fd.then(
      () => {
        this.#running--;
        this.#pump();
      },
      () => {
        // the writer that takes it reports the failure; nothing more is started after one
        this.#running--;
        this.#stopped = true;
      },
    );
    return fd;
  }

  #pump(): void {
    while (!this.#stopped && this.#running < AT_ONCE && this.#ahead < AHEAD && this.#next < this.#paths.length) {
      if (this.#fds[this.#next] === undefined) this.#start(this.#next);
      this.#next++;
    }
  }

  /** The descriptor of `path`, created empty (O_EXCL, mode 0600) and open for writing; the caller closes it. */
  take(path: string): Promise<number> {
    const i = this.#index.get(path);
    const made = i === undefined ? undefined : this.#fds[i];
    if (i === undefined || made === TAKEN)
      return Promise.reject(new Error(`internal: ${path} is not in the payload or was taken already`));
    const fd = made ?? this.#start(i);
    this.#fds[i] = TAKEN;
    this.#ahead--;
    this.#pump();
    return fd;
  }

  /** Creates no more; settles once every create under way has ended, with what was never taken closed. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(
      this.#fds.map((fd) =>
        fd === undefined || fd === TAKEN ? undefined : fd.then((n) => closeSync(n)).catch(() => {}),
      ),
    );
  }
}

const TAKEN = Symbol('taken');
/**
 * Creates at once. The pool has four threads, and the pack's reads and gunzip need one each now
 * and then; a finished create is followed by the next only once the main thread has seen it, so
 * one or two at once left the writer waiting for its files (0.5–1 s per 2,000 files here; with
 * three at once and 256 ahead, 60–250 ms, against 0.2–0.9 s waiting for the worker thread).
 */
const AT_ONCE = 3;
/** Files created and open ahead of the writer at most (each holds a descriptor until it is written). */
const AHEAD = 256;

/**
 * Extracts the payload into a new folder `stagingDir` (its parent must exist; same filesystem as
 * the target so that commit is a rename). On any failure the folder is removed entirely, so a
 * half-staged payload can never be mistaken for a complete one. The flush covers every file, every
 * folder created (the entry of `stagingDir` in its parent too) and the folders `alsoFlush` names
 * (made by the caller before, in the same flush: one syncfs covers everything).
 */
export async function stagePayload(
  pack: VerifiedPack,
  stagingDir: string,
  sink: EventSink = nullSink,
  opts: { deferFlush?: boolean; alsoFlush?: Iterable<string> } = {},
): Promise<StagedPayload> {
  try {
    await mkdir(stagingDir, { mode: 0o700 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'EEXIST'
        ? 'it already exists'
        : code === 'ENOENT'
          ? 'its parent folder does not exist'
          : (e as Error).message;
    throw new ServicepackError(
      'E_IO',
      `cannot create staging folder ${stagingDir}: ${why}`,
      { path: stagingDir },
      { cause: e },
    );
  }
  const files = new Map<string, { sha256: string; size: number; mode: number }>();
  const payload = payloadFiles(pack.manifest);
  const totalFiles = payload.length;
  const totalBytes = payload.reduce((n, f) => n + (f.size ?? 0), 0);
  let bytes = 0;
  let lastReport = 0;
  const dirs = new Set<string>([dirname(stagingDir), stagingDir, ...(opts.alsoFlush ?? [])]);
  // With syncfs, one flush at the end does it all; per-file fsyncs start as files are written.
  const syncs = (await flushMethodAt(stagingDir)) === 'fsync' ? new SyncQueue() : undefined;
  let precreated: Precreator | undefined;
  try {
    await chmod(stagingDir, 0o700);
    // the names are vetted before anything is created from them
    checkPayloadNames(pack.manifest);
    const target = (path: string): string => join(stagingDir, ...path.split('/'));
    const ahead = new Precreator(
      payload.map((f) => target(f.path)),
      dirs,
    );
    precreated = ahead;
    await walkPack(pack, {
      progress(n) {
        bytes += n;
        // large files report while they stream; small ones once each, below
        if (bytes - lastReport >= 8 * 1024 * 1024) {
          lastReport = bytes;
          sink({ type: 'progress', step: 'stage', files: files.size, totalFiles, bytes, totalBytes });
        }
      },
      async payload(file, body) {
        const path = target(file.path);
        const fd = await ahead.take(path);
        // Synchronous calls on purpose: on the page cache each takes microseconds, while as async
        // calls each is a round trip through the thread pool, and 2,000 files × 3 calls in a row
        // cost seconds on a busy machine. Decompression goes on in the thread pool meanwhile.
        const mode = clampMode(file.mode);
        try {
          for await (const piece of body) writeAll(fd, piece);
          fchmodSync(fd, mode);
        } finally {
          closeSync(fd);
        }
        syncs?.add(path);
        files.set(file.path, { sha256: file.sha256!, size: file.size!, mode });
        lastReport = bytes;
        sink({ type: 'progress', step: 'stage', files: files.size, totalFiles, bytes, totalBytes, path: file.path });
      },
    });
    // the journal will point at these files: their content and directory entries must survive a crash
    const flush = async (): Promise<void> => {
      try {
        if (syncs) {
          await syncs.drain();
          await forEachConcurrently([...dirs], 8, fsyncFile);
        } else {
          await flushToDisk(
            stagingDir,
            [...files.keys()].map((p) => join(stagingDir, ...p.split('/'))),
            dirs,
          );
        }
      } catch (e) {
        throw new ServicepackError(
          'E_IO',
          `staging ${pack.path} failed: ${(e as Error).message}`,
          { path: pack.path },
          { cause: e },
        );
      }
    };
    if (opts.deferFlush) {
      // the caller awaits it; until then a failure must not count as unhandled
      const flushed = flush();
      flushed.catch(() => {});
      return { dir: stagingDir, files, flushed };
    }
    await flush();
    return { dir: stagingDir, files };
  } catch (e) {
    await syncs?.settle();
    await precreated?.stop();
    await rm(stagingDir, { recursive: true, force: true });
    if (isServicepackError(e)) throw e;
    throw new ServicepackError(
      'E_IO',
      `staging ${pack.path} failed: ${(e as Error).message}`,
      { path: pack.path },
      { cause: e },
    );
  }
}
