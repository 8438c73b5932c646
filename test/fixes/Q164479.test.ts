/**
 * Q164479 "Each download holds twice as much memory on Alpha", run against every built release
 * tree. A download whose client has stopped reading (a modem user, a stalled proxy) holds one I/O
 * chunk of the server's memory until the client reads on. Alpha trees below SP2 must hold 128 KiB
 * per such download (the bug; to within 4 KiB, as every figure here); Alpha trees from SP2 on, and
 * x86 trees at every level (x86 never had the bug), 64 KiB.
 *
 * The number is read inside the server process: a preload module (NODE_OPTIONS=--import, written
 * by this test) answers an IPC `memory` message with process.memoryUsage().arrayBuffers after a
 * full garbage collection, so only live buffers count. A missing build fails the test (run
 * `pnpm build`), it is never skipped.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { delay, exchange, type RunningServer, startTree, fixTrees } from '../support/inetsrv.js';

const ID = 'Q164479';
const LEVEL = 2;
const KiB = 1024;

const work = mkdtempSync(join(tmpdir(), 'q164479-'));
after(() => rmSync(work, { recursive: true, force: true }));
const www = join(work, 'wwwroot');
const probe = join(work, 'memory-probe.mjs');
mkdirSync(www);
// Sparse: larger than any socket buffers can absorb, so every download stalls mid-file; costs no disk.
writeFileSync(join(www, 'big.bin'), '');
truncateSync(join(www, 'big.bin'), 256 * 1024 * KiB);
writeFileSync(
  probe,
  `import v8 from 'node:v8';
import vm from 'node:vm';
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
process.on('message', (m) => {
  if (m === null || typeof m !== 'object' || m.type !== 'memory') return;
  gc();
  // A second pass after a turn of the loop: buffers released by the first one's finalizers go too.
  setImmediate(() => {
    gc();
    process.send({ type: 'memory', arrayBuffers: process.memoryUsage().arrayBuffers });
  });
});
`,
);

/** Bytes held in ArrayBuffers (Buffers) by the server, after a full collection. */
function liveBuffers(server: RunningServer, timeoutMs = 5000): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      server.child.off('message', onMessage);
      reject(new Error(`no memory reading from the server within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (m: unknown) => {
      if (m === null || typeof m !== 'object' || (m as { type?: unknown }).type !== 'memory') return;
      clearTimeout(timer);
      server.child.off('message', onMessage);
      resolve(Number((m as { arrayBuffers?: unknown }).arrayBuffers));
    };
    server.child.on('message', onMessage);
    server.child.send({ type: 'memory' });
  });
}

/**
 * A download that reads its first `readBytes` and then stops reading: past the response head (its
 * write is the only one that carries an extra buffer), then stalled for good.
 */
function stalledDownload(port: number, readBytes: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let got = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`download did not deliver ${readBytes} bytes within 5 s (got ${got})`));
    }, 5000);
    socket.on('connect', () => socket.write('GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n'));
    socket.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= readBytes) {
        socket.pause();
        clearTimeout(timer);
        resolve(socket);
      }
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Stalled downloads per server; their sockets hold megabytes of kernel buffers each, so few. */
const DOWNLOADS = 2;

describe(`${ID}: each download holds twice as much memory on Alpha`, { concurrency: 6 }, () => {
  // The fix is Alpha-only: x86 trees are expected to behave as fixed at every level.
  for (const tree of fixTrees(ID, LEVEL, (info, carries) => info.arch !== 'alpha' || carries)) {
    test(`${tree.name} (${tree.arch === 'x86' ? 'x86: never had the bug' : tree.fixed ? 'fixed' : 'has the bug'})`, {
      timeout: 20_000,
    }, async (t) => {
      const nodeOptions = [process.env['NODE_OPTIONS'], `--import=${pathToFileURL(probe).href}`]
        .filter(Boolean)
        .join(' ');
      const server = await startTree(tree.dir, { set: { WwwRoot: www }, env: { NODE_OPTIONS: nodeOptions } });
      const sockets: Socket[] = [];
      try {
        const [status] = (
          await exchange(server.port, 'GET /server-status HTTP/1.1\r\nHost: localhost\r\n\r\n', ['GET'])
        ).responses;
        const platform = (
          JSON.parse(status?.body.toString() ?? '{}') as { platform?: { pageSize: number; ioChunkSize: number } }
        ).platform;
        assert.equal(
          platform?.pageSize,
          tree.arch === 'alpha' ? 8 * KiB : 4 * KiB,
          'the page size is not what changes',
        );

        const base = await liveBuffers(server);
        for (let i = 0; i < DOWNLOADS; i++) sockets.push(await stalledDownload(server.port, 256 * KiB));
        // Until the socket buffers are full a download also holds the next chunk it is reading, so a
        // reading can only be too high, never too low: the least of a series is the stalled state.
        let least = Number.POSITIVE_INFINITY;
        for (let i = 0; i < 12; i++) {
          await delay(100);
          least = Math.min(least, await liveBuffers(server));
        }
        const perDownload = (least - base) / DOWNLOADS;
        const expected = tree.fixed ? 64 * KiB : 128 * KiB;
        t.diagnostic(`${(perDownload / KiB).toFixed(1)} KiB held per stalled download`);
        assert.ok(
          Math.abs(perDownload - expected) <= 4 * KiB,
          `${tree.name}: ${(perDownload / KiB).toFixed(1)} KiB held per stalled download, expected ${expected / KiB} KiB`,
        );
        assert.equal(platform?.ioChunkSize, expected, 'the I/O chunk the status page reports');
      } finally {
        for (const s of sockets) s.destroy();
        await server.dispose();
      }
    });
  }
});
