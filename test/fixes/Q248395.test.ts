/**
 * Q248395 "A client that does not read its response holds its connection for 15 minutes"
 * (security), run against SP6a and every tree of the post-SP6a hotfix chain (chainTrees). A client
 * asks for a file far larger than the kernel's socket buffers and never reads: the server's writes
 * stop completing. Before the fix only ConnectionTimeout (900 s) ended such a connection; from the
 * fix on, SendTimeout (60 s by default, 2 s here) does, between 1 and 1.25 × SendTimeout after the
 * last byte left (as nginx's send_timeout: not the 2 × SendTimeout of a socket inactivity timer,
 * which Node lets run on once while the stalled write has shrunk since it started), and the server
 * keeps serving others meanwhile. The trees before the fix do not know SendTimeout and ignore it
 * with a warning, so the same setting is given to every tree. A missing build (the tree with the
 * fix, or the one just before it) fails the test (run `pnpm build`), it is never skipped.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { chainTrees, delay, requestCycle, startTree, waitFor } from '../support/inetsrv.js';

const ID = 'Q248395';
/** Far above what loopback's send and receive buffers hold together (a few MB each). */
const BIG = 48 * 1024 * 1024;
const SEND_TIMEOUT_MS = 2000;
/**
 * Counted from the request: the stall starts once loopback's buffers are full (tens of ms), the
 * close comes at most a quarter of SendTimeout after it has lasted SendTimeout, and is seen at the
 * next poll; the rest is room for a loaded machine.
 */
const CLOSED_WITHIN_MS = 1.25 * SEND_TIMEOUT_MS + 1000;
/** Watched that long: a tree still holding the connection then has no SendTimeout. */
const OBSERVE_MS = CLOSED_WITHIN_MS + 1500;
const POLL_MS = 50;

const www = mkdtempSync(join(tmpdir(), `${ID}-`));
writeFileSync(join(www, 'big.bin'), Buffer.alloc(BIG, 0x61));
writeFileSync(join(www, 'index.html'), 'ok\n');
after(() => rmSync(www, { recursive: true, force: true }));

describe(`${ID}: a client that never reads a large response holds its connection`, { concurrency: 6 }, () => {
  for (const tree of chainTrees(ID)) {
    test(`${tree.name} (${tree.fixed ? 'fixed' : 'has the bug'})`, { timeout: 40_000 }, async (t) => {
      const server = await startTree(tree.dir, { set: { WwwRoot: www, SendTimeout: `${SEND_TIMEOUT_MS}ms` } });
      const reader = connect({ port: server.port, host: '127.0.0.1' });
      reader.on('error', () => {});
      try {
        await new Promise<void>((res, rej) => {
          reader.once('connect', res);
          reader.once('error', rej);
        });
        // Never read: what arrives stays in the kernel until its buffers are full.
        reader.pause();
        const t0 = performance.now();
        reader.write('GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n');
        await waitFor('the server to take the connection', async () => (await server.stats()).connections === 1);
        let closedAfterMs: number | undefined;
        while (closedAfterMs === undefined && performance.now() - t0 < OBSERVE_MS) {
          if ((await server.stats()).connections === 0) closedAfterMs = performance.now() - t0;
          else await delay(POLL_MS);
        }
        t.diagnostic(`closed after ${closedAfterMs === undefined ? '-' : `${Math.round(closedAfterMs)} ms`}`);
        // Either way the server is not blocked by the stalled response.
        assert.equal(await requestCycle(server.port, { timeoutMs: 3000 }), 200);
        if (!tree.fixed) {
          assert.equal(closedAfterMs, undefined, 'closed: the bug (held for ConnectionTimeout) is not seen');
          return;
        }
        assert.ok(
          closedAfterMs !== undefined,
          `still open after ${OBSERVE_MS} ms with SendTimeout = ${SEND_TIMEOUT_MS} ms`,
        );
        assert.ok(
          closedAfterMs <= CLOSED_WITHIN_MS,
          `closed only after ${Math.round(closedAfterMs)} ms (allowed: ${CLOSED_WITHIN_MS} ms, SendTimeout ${SEND_TIMEOUT_MS} ms)`,
        );
        // Closed by SendTimeout, not for some other reason: the stall cannot have lasted it before.
        assert.ok(closedAfterMs >= SEND_TIMEOUT_MS, `closed after ${Math.round(closedAfterMs)} ms, before SendTimeout`);
      } finally {
        reader.destroy();
        await server.dispose();
      }
    });
  }
});
