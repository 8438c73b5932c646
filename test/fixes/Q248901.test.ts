/**
 * Q248901 "Requests with an invalid Host header are answered", run against SP6a and every tree of
 * the post-SP6a hotfix chain (chainTrees): below the fix a Host of `a b`, `a/b` or `exa<TAB>mple`
 * is answered 200 (the bug); from the fix on, 400 (RFC 9112 §3.2). Valid hosts (a name with a port,
 * an IPv6 literal, an empty value) are answered 200 everywhere. Checked through raw sockets and
 * through Python's http.client. A missing build (the tree with the fix, or the one just before it)
 * fails the test (run `pnpm build`), it is never skipped.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chainTrees, exchange, startTree } from '../support/inetsrv.js';
import { pyRequests, python3 } from '../support/python-http.js';

const ID = 'Q248901';
const INVALID = ['a b', 'a/b', 'exa\tmple', 'a@b', 'a:b:c'];
const VALID = ['localhost', 'localhost:8080', '[::1]:80', 'www.example.com', ''];

const get = (host: string) => `GET /index.html HTTP/1.1\r\nHost: ${host}\r\n\r\n`;

describe(`${ID}: requests with an invalid Host header are answered`, { concurrency: 4 }, () => {
  for (const tree of chainTrees(ID)) {
    test(`${tree.name} (${tree.fixed ? 'fixed' : 'has the bug'})`, { timeout: 20_000 }, async () => {
      const server = await startTree(tree.dir);
      try {
        for (const host of INVALID) {
          const r = await exchange(server.port, get(host), ['GET'], { waitForClose: tree.fixed });
          const status = r.responses[0]?.status;
          if (tree.fixed) {
            assert.equal(status, 400, `Host: ${JSON.stringify(host)}`);
            assert.ok(r.closedByServer, `the connection is closed after the 400 for Host: ${JSON.stringify(host)}`);
          } else if (host === 'a b' || host === 'a/b' || host === 'exa\tmple') {
            assert.equal(status, 200, `Host: ${JSON.stringify(host)} is answered (the bug)`);
          }
        }
        for (const host of VALID) {
          const [res] = (await exchange(server.port, get(host), ['GET'])).responses;
          assert.equal(res?.status, 200, `Host: ${JSON.stringify(host)}`);
        }
        if (python3) {
          const py = await pyRequests(
            server.port,
            [...INVALID.slice(0, 3), 'localhost'].map((host) => ({
              method: 'GET',
              path: '/index.html',
              headers: [['Host', host]],
            })),
          );
          assert.deepEqual(
            py.map((r) => r.status),
            tree.fixed ? [400, 400, 400, 200] : [200, 200, 200, 200],
          );
        }
      } finally {
        await server.dispose();
      }
    });
  }
});
