/**
 * Q249212 "A request head that is too large is answered 413 Payload Too Large", run against SP6a
 * and every tree of the post-SP6a hotfix chain (chainTrees): a request head of 20, 40 or 70 KB
 * (over MaxRequestBytes, 16 KB by default) is answered 413 below the fix (the bug) and 431 Request
 * Header Fields Too Large from it on (RFC 6585 §5). A body over MaxRequestEntityBytes stays 413
 * everywhere. Checked through raw sockets and through Python's http.client. A missing build (the
 * tree with the fix, or the one just before it) fails the test (run `pnpm build`), it is never
 * skipped.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chainTrees, exchange, startTree } from '../support/inetsrv.js';
import { pyRequests, python3 } from '../support/python-http.js';

const ID = 'Q249212';
const SIZES = [20, 40, 70].map((k) => k * 1024);

/** A head of about `size` bytes: many ordinary fields of 100 bytes, as long cookies make them. */
function bigHead(size: number): string {
  const fields: string[] = [];
  for (let i = 0; fields.length * 110 < size; i++) fields.push(`X-Pad-${i}: ${'v'.repeat(100)}`);
  return `GET /index.html HTTP/1.1\r\nHost: localhost\r\n${fields.join('\r\n')}\r\n\r\n`;
}

describe(`${ID}: a request head that is too large is answered 413`, { concurrency: 4 }, () => {
  for (const tree of chainTrees(ID)) {
    test(`${tree.name} (${tree.fixed ? 'fixed' : 'has the bug'})`, { timeout: 20_000 }, async () => {
      const server = await startTree(tree.dir);
      try {
        for (const size of SIZES) {
          const r = await exchange(server.port, bigHead(size), ['GET'], { waitForClose: true });
          const [res] = r.responses;
          assert.equal(res?.status, tree.fixed ? 431 : 413, `a ${size}-byte head`);
          if (tree.fixed) assert.match(res.body.toString(), /431 Request Header Fields Too Large/);
          assert.ok(r.closedByServer, `the connection is closed after a ${size}-byte head`);
        }
        // A body too large is still 413, and an ordinary head still 200.
        const body = await exchange(
          server.port,
          'POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 999999999\r\n\r\n',
          ['POST'],
          { waitForClose: true },
        );
        assert.equal(body.responses[0]?.status, 413);
        if (python3) {
          const py = await pyRequests(server.port, [
            { method: 'GET', path: '/index.html', headers: [['X-Pad', 'v'.repeat(20 * 1024)]] },
            { method: 'GET', path: '/index.html' },
          ]);
          assert.deepEqual(
            py.map((r) => r.status),
            [tree.fixed ? 431 : 413, 200],
          );
        }
      } finally {
        await server.dispose();
      }
    });
  }
});
