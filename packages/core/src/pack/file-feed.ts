/**
 * The pack's compressed bytes, read into two buffers that are used again and again. A read stream
 * allocates a fresh buffer per read (1 MiB each, 120 for a 200 MiB pack), and each lives until
 * the decompressor is done with it, long enough to be promoted out of the young generation: spent
 * buffers then piled up outside the heap until the next full collection (10–30 MiB at the peak of
 * an install). Here a buffer is read into again only once the decompressor has taken all of it (a
 * Writable calls a write's callback after its transform consumed the chunk), so two reads are
 * in flight at most and nothing is allocated per read.
 */
import { open } from 'node:fs/promises';
import type { Writable } from 'node:stream';

const READ_BYTES = 1024 * 1024;

export interface FileFeed {
  /** compressed bytes read so far (for the decompression-ratio guard) */
  readonly bytesRead: number;
  /** stops reading; the file is closed once the read under way has ended */
  stop(): void;
}

/**
 * Writes bytes `start` to `start + size` of `path` (to its end when `size` is infinite) into `into`,
 * then ends it; a read error destroys `into` with that error, so whoever reads from it sees it.
 */
export function feedFile(path: string, start: number, size: number, into: Writable): FileFeed {
  let stopped = false;
  let wake: (() => void) | undefined;
  const stoppedSignal = new Promise<void>((resolve) => (wake = resolve));
  const feed = { bytesRead: 0, stop };
  function stop(): void {
    stopped = true;
    wake?.();
  }
  const run = async (): Promise<void> => {
    const fh = await open(path, 'r');
    try {
      const bufs = [Buffer.allocUnsafeSlow(READ_BYTES), Buffer.allocUnsafeSlow(READ_BYTES)];
      const taken: Array<Promise<void> | undefined> = [undefined, undefined];
      let pos = start;
      let left = size;
      for (let k = 0; left > 0 && !stopped; k ^= 1) {
        // the decompressor may still be reading this buffer: wait until it has taken all of it
        if (taken[k] !== undefined) await Promise.race([taken[k], stoppedSignal]);
        if (stopped) return;
        const buf = bufs[k]!;
        const { bytesRead } = await fh.read(buf, 0, Math.min(READ_BYTES, left), pos);
        if (bytesRead === 0 || stopped) break;
        pos += bytesRead;
        left -= bytesRead;
        feed.bytesRead += bytesRead;
        taken[k] = new Promise<void>((resolve, reject) =>
          into.write(buf.subarray(0, bytesRead), (e) => (e ? reject(e) : resolve())),
        );
        // a failed write is the decompressor's own error, which its reader reports
        taken[k]!.catch(() => {});
      }
      if (!stopped) into.end();
    } finally {
      await fh.close();
    }
  };
  run().catch((e: unknown) => {
    if (!stopped) into.destroy(e instanceof Error ? e : new Error(String(e)));
  });
  return feed;
}
