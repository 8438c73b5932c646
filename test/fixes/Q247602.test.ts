/**
 * Q247602 "Request heads sent in many small pieces use all of the server's processor time"
 * (security), run against SP6a and every tree of the post-SP6a hotfix chain (chainTrees). Before
 * the fix every TCP segment of a request head was parsed from the head's first byte again, so a
 * client dripping bytes after a large head cost work proportional to the head for every byte. The
 * test drips the same bytes, one segment each, once after a small head and once after a large one,
 * and compares the server's CPU time (from /proc, independent of what else the machine does):
 * before the fix the large head costs far more per dripped byte, from the fix on the same.
 * MaxRequestBytes is raised on every tree so the difference is large against the noise of a 10 ms
 * clock tick. A missing build (the tree with the fix, or the one just before it) fails the test
 * (run `pnpm build`), it is never skipped.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { chainTrees, delay, parseResponses, startTree } from '../support/inetsrv.js';

const ID = 'Q247602';
/** Segments dripped after each head. */
const DRIPS = 200;
/**
 * Far above what one parse of the large head takes (1-2 ms before the fix): bytes that reach a busy
 * server together are read, and parsed, once, so drips closer together let a loaded machine hide
 * the bug (seen at 2 ms: 0.27 ms per byte where it usually costs 1 ms or more).
 */
const DRIP_EVERY_MS = 5;
/** Header lines of the large head: about 256 KB, below the raised MaxRequestBytes. */
const LINES = 4000;
/** Extra CPU per dripped byte after the large head: what the bug costs at least, what the fix may cost at most. */
const BUG_MS_PER_BYTE = 0.5;

/** CPU milliseconds the process has used (user + system), from /proc (10 ms ticks). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function open(port: number): Promise<Socket> {
  return new Promise((res, rej) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.setNoDelay(true);
    s.once('connect', () => res(s));
    s.once('error', rej);
  });
}

/** Sends `head`, drips DRIPS bytes of one more header, ends the head; returns the server's CPU ms for the drip. */
async function dripCost(port: number, pid: number, head: string): Promise<number> {
  const socket = await open(port);
  let data = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => {
    data = Buffer.concat([data, d]);
  });
  try {
    socket.write(`${head}X-Drip: `);
    await delay(200); // the head is received and (before the fix) parsed once before measuring
    const cpu0 = cpuMs(pid);
    for (let i = 0; i < DRIPS; i++) {
      socket.write('a');
      await delay(DRIP_EVERY_MS);
    }
    socket.write('\r\n\r\n');
    for (let i = 0; i < 100 && parseResponses(data, ['GET']).responses.length === 0; i++) await delay(50);
    const cpu1 = cpuMs(pid);
    // The dripped request is a valid one and must be answered, whatever it costs.
    assert.equal(parseResponses(data, ['GET']).responses[0]?.status, 200);
    return cpu1 - cpu0;
  } finally {
    socket.destroy();
  }
}

describe(`${ID}: a request head is parsed again from its start for every segment`, { concurrency: 2 }, () => {
  for (const tree of chainTrees(ID)) {
    test(`${tree.name} (${tree.fixed ? 'fixed' : 'has the bug'})`, { timeout: 60_000 }, async (t) => {
      const server = await startTree(tree.dir, { set: { MaxRequestBytes: 1_048_576 } });
      try {
        const start = 'GET /index.html HTTP/1.1\r\nHost: localhost\r\n';
        let large = start;
        for (let i = 0; i < LINES; i++) large += `X-Pad-${i}: ${'p'.repeat(48)}\r\n`;
        await dripCost(server.port, server.pid, start); // warm-up: code paths compiled before measuring
        const small = await dripCost(server.port, server.pid, start);
        const big = await dripCost(server.port, server.pid, large);
        const extra = (big - small) / DRIPS;
        t.diagnostic(
          `${DRIPS} bytes dripped: ${small} ms CPU after a small head, ${big} ms after ${large.length} bytes`,
        );
        if (tree.fixed) assert.ok(extra < BUG_MS_PER_BYTE, `${extra.toFixed(2)} ms more per byte after a large head`);
        else assert.ok(extra >= BUG_MS_PER_BYTE, `the bug: ${extra.toFixed(2)} ms more per byte after a large head`);
      } finally {
        await server.dispose();
      }
    });
  }
});
