/**
 * Staging a verified pack's payload into a private folder beside the target, so that committing it is
 * a rename and a half-staged payload is never mistaken for a whole one. The payload must reach the
 * disk before a journal points at it; the fsync queue and the worker that creates files ahead keep
 * that from costing seconds on packs of thousands of files.
 */
import { closeSync, constants, fchmodSync, mkdirSync, openSync, writeSync } from 'node:fs';
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
 * The payload's empty files, created ahead of the extraction by a worker thread. Creating a file
 * costs this kind of machine about 0.3 ms of kernel CPU (an inode and a directory entry, in the
 * file system's journal): 2,000 of them on the thread that also parses, hashes and writes the
 * payload held the extraction back by half a second. An async open does not help: libuv may run it
 * through io_uring, which completes it on the calling thread. The worker creates the files in
 * manifest order (the order packs are written in) and reports each; every writer waits for its
 * own. Each create keeps O_EXCL, so a name that exists already fails as it did when the writer
 * created it. Plain JavaScript on node's own modules, for the reason given at hash.ts's worker.
 */
const PRECREATE_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const made = new Set(workerData.made);
for (let i = 0; i < workerData.paths.length; i++) {
  const p = workerData.paths[i];
  try {
    const parent = path.dirname(p);
    if (!made.has(parent)) {
      const first = fs.mkdirSync(parent, { recursive: true, mode: 0o755 });
      made.add(parent);
      parentPort.postMessage({ dir: parent });
      // the entries of the folders it created too (noteCreated in fsutil.ts)
      if (first !== undefined) {
        parentPort.postMessage({ dir: path.dirname(first) });
        for (let d = path.dirname(parent); d.length >= first.length && d !== path.dirname(d); d = path.dirname(d)) parentPort.postMessage({ dir: d });
      }
    }
    fs.closeSync(fs.openSync(p, 'wx', 0o600));
    parentPort.postMessage({ done: i });
  } catch (e) {
    parentPort.postMessage({ failed: i, message: e.message, code: e.code });
    break;
  }
}
`;

/** Payloads of fewer files are created by the writer itself. */
const PRECREATE_MIN_FILES = 64;

class Precreator {
  readonly #index = new Map<string, number>();
  readonly #settle: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  readonly #ready: Promise<void>[] = [];
  readonly #worker: Promise<import('node:worker_threads').Worker>;

  constructor(paths: readonly string[], dirs: Set<string>) {
    for (const [i, path] of paths.entries()) {
      this.#index.set(path, i);
      const ready = new Promise<void>((resolve, reject) => this.#settle.push({ resolve, reject }));
      // a writer that never comes (the extraction failed first) must not leave it unhandled
      ready.catch(() => {});
      this.#ready.push(ready);
    }
    this.#worker = import('node:worker_threads').then(({ Worker }) => {
      const w = new Worker(PRECREATE_SOURCE, { eval: true, workerData: { paths, made: [...dirs] } });
      let done = -1;
      w.on('message', (m: { done?: number; dir?: string; failed?: number; message?: string; code?: string }) => {
        if (m.dir !== undefined) dirs.add(m.dir);
        else if (m.done !== undefined) {
          done = m.done;
          this.#settle[m.done]!.resolve();
        } else if (m.failed !== undefined) {
          const e = Object.assign(
            new Error(m.message ?? 'cannot create the file'),
            m.code !== undefined ? { code: m.code } : {},
          );
          for (let i = m.failed; i < this.#settle.length; i++) this.#settle[i]!.reject(e);
        }
      });
      const gone = (why: string) => {
        for (let i = done + 1; i < this.#settle.length; i++) this.#settle[i]!.reject(new Error(why));
      };
      w.once('error', (e) => gone(`creating the staged files failed: ${e.message}`));
      w.once('exit', () => gone('creating the staged files stopped'));
      return w;
    });
  }

  /** Settles once `path` exists, empty; rejects with the reason it could not be created. */
  ready(path: string): Promise<void> {
    const i = this.#index.get(path);
    return i === undefined ? Promise.reject(new Error(`internal: ${path} is not in the payload`)) : this.#ready[i]!;
  }

  /** Creates no more; settles once the worker is gone. */
  async stop(): Promise<void> {
    await (await this.#worker).terminate();
  }
}

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
    // a worker costs tens of milliseconds to start: worth it only for many files
    if (payload.length >= PRECREATE_MIN_FILES)
      precreated = new Precreator(
        payload.map((f) => target(f.path)),
        dirs,
      );
    const ahead = precreated;
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
        // Synchronous calls on purpose: on the page cache each takes microseconds, while as async
        // calls each is a round trip through the thread pool, and 2,000 files × 4 calls in a row
        // cost seconds on a busy machine. Decompression goes on in the thread pool meanwhile.
        let fd: number;
        if (ahead) {
          await ahead.ready(path);
          // the empty file the Precreator made (O_EXCL); NOFOLLOW, though nothing else writes in staging
          fd = openSync(path, constants.O_WRONLY | constants.O_NOFOLLOW);
        } else {
          const parent = dirname(path);
          if (!dirs.has(parent)) {
            const first = mkdirSync(parent, { recursive: true, mode: 0o755 });
            dirs.add(parent);
            if (first !== undefined) noteCreated(first, parent, dirs);
          }
          // 'wx': O_CREAT|O_EXCL, so an existing name (a twin that slipped through) fails instead of being reused
          fd = openSync(path, 'wx', 0o600);
        }
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
