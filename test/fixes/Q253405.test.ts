/**
 * Q253405 "Request bodies sent with Transfer-Encoding: chunked are refused", run against every built
 * release tree: below the fix a chunked request body is answered 501 and the connection closed (the
 * bug); from the fix on the body is decoded (RFC 9112 §7.1) and skipped, the request answered like
 * one with a Content-Length (405) and the next request on the connection answered too, whatever the
 * segments the body arrives in. The limits hold: a body over MaxRequestEntityBytes is 413, a
 * malformed chunk 400, any other coding 501, chunked with Content-Length or in HTTP/1.0 400.
 * Checked through Python's http.client (encode_chunked) and raw sockets. A missing build fails the
 * test (run `pnpm build`), it is never skipped.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { delay, exchange, fixTrees, parseResponses, startTree } from '../support/inetsrv.js';
import { pyRequests, python3 } from '../support/python-http.js';

const ID = 'Q253405';
const LEVEL = 7;
const LIMIT = 4096;

const post = (extra = '') => `POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n${extra}\r\n`;
const next = 'GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n';
/** Chunks with an extension, a trailer field, upper-case hex and a size with leading zeros. */
const BODY = '5;name=value\r\nhello\r\n00A\r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\n';

/** Sends `parts` one by one with a pause between them, so the server sees them as separate segments. */
async function dribble(port: number, parts: string[], methods: string[]) {
  const socket = connect({ port, host: '127.0.0.1' });
  let data = Buffer.alloc(0);
  let closed = false;
  socket.on('data', (d: Buffer) => {
    data = Buffer.concat([data, d]);
  });
  socket.on('end', () => {
    closed = true;
  });
  socket.on('error', () => {
    closed = true;
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    for (const p of parts) {
      if (closed) break;
      socket.write(p);
      await delay(5);
    }
    for (let i = 0; i < 100 && !closed && parseResponses(data, methods).responses.length < methods.length; i++)
      await delay(20);
    return parseResponses(data, methods).responses.map((r) => r.status);
  } finally {
    socket.destroy();
  }
}

describe(`${ID}: request bodies sent with Transfer-Encoding: chunked are refused`, { concurrency: 4 }, () => {
  for (const tree of fixTrees(ID, LEVEL)) {
    test(`${tree.name} (${tree.fixed ? 'fixed' : 'has the bug'})`, { timeout: 30_000 }, async () => {
      const server = await startTree(tree.dir, { set: { MaxRequestEntityBytes: LIMIT } });
      try {
        // All at once, with the next request pipelined behind it.
        const r = await exchange(server.port, post() + BODY + next, ['POST', 'GET'], { timeoutMs: 3000 });
        if (tree.fixed)
          assert.deepEqual(
            r.responses.map((x) => x.status),
            [405, 200],
          );
        else {
          assert.deepEqual(
            r.responses.map((x) => x.status),
            [501],
            'chunked is refused (the bug)',
          );
        }
        // Byte by byte, and in odd splits: the decoder keeps its place across segments.
        const whole = post() + BODY + next;
        const bytes = [...whole];
        assert.deepEqual(
          await dribble(server.port, bytes, ['POST', 'GET']),
          tree.fixed ? [405, 200] : [501],
          'sent one byte per segment',
        );
        if (tree.fixed) {
          // The limits: decoded size, malformed framing, other codings.
          const big = `${(LIMIT + 1).toString(16)}\r\n${'b'.repeat(LIMIT + 1)}\r\n0\r\n\r\n`;
          const split = `800\r\n${'b'.repeat(0x800)}\r\n800\r\n${'b'.repeat(0x800)}\r\n1\r\nb\r\n0\r\n\r\n`;
          const refused: Array<[string, number]> = [
            [post() + big, 413],
            [post() + split, 413],
            [post() + 'zz\r\nhello\r\n0\r\n\r\n', 400],
            [post() + '5\r\nhelloX\r\n0\r\n\r\n', 400],
            [post() + `1;${'e'.repeat(8000)}\r\n`, 400],
            [post() + '-5\r\nhello\r\n0\r\n\r\n', 400],
            ['POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 501],
            ['POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n', 400],
            ['POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
          ];
          for (const [req, status] of refused) {
            const x = await exchange(server.port, req, ['POST'], { waitForClose: true, timeoutMs: 5000 });
            assert.equal(x.responses[0]?.status, status, JSON.stringify(req.slice(0, 120)));
            assert.ok(x.closedByServer, `closed after ${status}`);
          }
          // Within the limit exactly: answered, connection kept.
          const fits = `${LIMIT.toString(16)}\r\n${'b'.repeat(LIMIT)}\r\n0\r\n\r\n`;
          const ok = await exchange(server.port, post() + fits + next, ['POST', 'GET']);
          assert.deepEqual(
            ok.responses.map((x) => x.status),
            [405, 200],
          );
        }
        if (python3) {
          const py = await pyRequests(server.port, [
            { method: 'POST', path: '/upload', body: ['hello', ' ', 'world'], chunked: true },
            { method: 'GET', path: '/index.html' },
          ]);
          assert.deepEqual(
            py.map((x) => [x.status, x.reused]),
            tree.fixed
              ? [
                  [405, false],
                  [200, true],
                ]
              : [
                  [501, false],
                  [200, false],
                ],
            'through http.client: answered, and the connection kept for the next request',
          );
        }
      } finally {
        await server.dispose();
      }
    });
  }
});
