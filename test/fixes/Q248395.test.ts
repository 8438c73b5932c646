/**
 * Q248395 "A client that does not read its response holds its connection for 15 minutes"
 * (security), run against SP6a and every tree of the post-SP6a hotfix chain (chainTrees). A client
 * asks for a file far larger than the kernel's socket buffers and never reads: the server's writes
 * stop completing. Before the fix only ConnectionTimeout (900 s) ended such a connection; from the
 * fix on, SendTimeout (60 s by default, 1 s here) does, and the server keeps serving others
 * meanwhile. The trees before the fix do not know SendTimeout and ignore it with a warning, so the
 * same setting is given to every tree. A missing build (the tree with the fix, or the one just
 * before it) fails the test (run `pnpm build`), it is never skipped.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { chainTrees, requestCycle, startTree, waitFor } from '../support/inetsrv.js';

const ID = 'Q248395';
/** Far above what loopback's send and receive buffers hold together (a few MB each). */
const BIG = 48 * 1024 * 1024;
/** The fixed server must have closed the connection by then (SendTimeout is 1 s). */
const CLOSED_WITHIN_MS = 8000;

const www = mkdtempSync(join(tmpdir(), `${ID}-`));
writeFileSync(join(www, 'big.bin'), Buffer.alloc(BIG, 0x61));
writeFileSync(join(www, 'index.html'), 'ok\n');
after(() => rmSync(www, { recursive: true, force: true }));

describe(`${ID}: a client that never reads a large response holds its connection`, { concurrency: 6 }, () => {
  for (const tree of chainTrees(ID)) {
    test(`${tree.name} (${tree.fixed ? 'fixed' : 'has the bug'})`, { timeout: 40_000 }, async () => {
      const server = await startTree(tree.dir, { set: { WwwRoot: www, SendTimeout: 1 } });
      const reader = connect({ port: server.port, host: '127.0.0.1' });
      reader.on('error', () => {});
      try {
        await new Promise<void>((res, rej) => {
          reader.once('connect', res);
          reader.once('error', rej);
        });
        // Never read: what arrives stays in the kernel until its buffers are full.
        reader.pause();
        reader.write('GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n');
        await waitFor('the server to take the connection', async () => (await server.stats()).connections === 1);
        let closed = true;
        try {
          await waitFor(
            'the server to close the unread connection',
            async () => (await server.stats()).connections === 0,
            {
              timeoutMs: CLOSED_WITHIN_MS,
              stepMs: 200,
            },
          );
        } catch {
          closed = false;
        }
        // Either way the server is not blocked by the stalled response.
        assert.equal(await requestCycle(server.port, { timeoutMs: 3000 }), 200);
        if (tree.fixed) assert.ok(closed, `still open after ${CLOSED_WITHIN_MS} ms with SendTimeout = 1`);
        else assert.ok(!closed, 'the bug: the connection is held for ConnectionTimeout');
      } finally {
        reader.destroy();
        await server.dispose();
      }
    });
  }
});
