/**
 * Q253405 "Request bodies sent with Transfer-Encoding: chunked are refused", run against SP6a and
 * every tree of the post-SP6a hotfix chain (chainTrees): below the fix a chunked request body is
 * answered 501 and the connection closed (the bug); from the fix on the body is decoded (RFC 9112
 * §7.1) and skipped, the request answered like one with a Content-Length (405) and the next request
 * on the connection answered too, whatever the segments the body arrives in. As for a Content-Length
 * body since Q247318, the request is answered before its body has arrived, and the rest of the body is
 * decoded after the answer: a body that then breaks its framing or MaxRequestEntityBytes, or is not
 * complete within RequestBodyTimeout, ends the connection. The limits hold for a body that has
 * arrived with the head: over MaxRequestEntityBytes is 413, a malformed chunk 400, any other coding
 * 501, chunked with Content-Length or in HTTP/1.0 400. Checked through Python's http.client
 * (encode_chunked) and raw sockets. A missing build (the tree with the fix, or the one just before
 * it) fails the test (run `pnpm build`), it is never skipped.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { chainTrees, delay, exchange, parseResponses, startTree } from '../support/inetsrv.js';
import { pyRequests, python3 } from '../support/python-http.js';

const ID = 'Q253405';
const LIMIT = 4096;
/** RequestBodyTimeout given to every tree, in seconds (the trees before Q247318 ignore it with a warning). */
const BODY_TIMEOUT_S = 2;

const post = (extra = '') => `POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n${extra}\r\n`;
const next = 'GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n';
/** Chunks with an extension, a trailer field, upper-case hex and a size with leading zeros. */
const BODY = '5;name=value\r\nhello\r\n00A\r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\n';

/** One connection driven step by step: what has arrived so far, and whether the server has closed it. */
class Conversation {
  readonly socket: Socket;
  data = Buffer.alloc(0);
  closedAfterMs: number | undefined;
  readonly #t0 = performance.now();

  constructor(port: number) {
    this.socket = connect({ port, host: '127.0.0.1' });
    this.socket.on('data', (d: Buffer) => {
      this.data = Buffer.concat([this.data, d]);
    });
    const closed = () => {
      this.closedAfterMs ??= performance.now() - this.#t0;
    };
    this.socket.on('end', closed);
    this.socket.on('error', closed);
  }

  /** Statuses of the responses so far, once `n` have arrived, the server has closed, or `ms` have passed. */
  async statuses(methods: string[], ms = 3000): Promise<number[]> {
    const t0 = performance.now();
    const got = () => parseResponses(this.data, methods).responses;
    while (got().length < methods.length && this.closedAfterMs === undefined && performance.now() - t0 < ms)
      await delay(10);
    return got().map((r) => r.status);
  }

  /** Milliseconds from the connect to the server's FIN, waiting at most `ms` for it. */
  async closed(ms: number): Promise<number | undefined> {
    const t0 = performance.now();
    while (this.closedAfterMs === undefined && performance.now() - t0 < ms) await delay(20);
    return this.closedAfterMs;
  }
}

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
  for (const tree of chainTrees(ID)) {
    test(`${tree.name} (${tree.fixed ? 'fixed' : 'has the bug'})`, { timeout: 30_000 }, async () => {
      const server = await startTree(tree.dir, {
        set: { MaxRequestEntityBytes: LIMIT, RequestBodyTimeout: BODY_TIMEOUT_S },
      });
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
        // Answered before the body has arrived; the rest of the body, sent after the answer, is decoded
        // and skipped, and the next request behind it is answered on the same connection.
        {
          const c = new Conversation(server.port);
          try {
            c.socket.write(`${post()}5\r\nhello\r\n`);
            assert.deepEqual(await c.statuses(['POST']), tree.fixed ? [405] : [501], 'answered before the body ends');
            if (tree.fixed) {
              c.socket.write(`3;x=y\r\nabc\r\n0\r\nX-Trailer: yes\r\n\r\n${next}`);
              assert.deepEqual(await c.statuses(['POST', 'GET']), [405, 200], 'the request after the body');
              assert.equal(c.closedAfterMs, undefined, 'the connection stays open');
            } else assert.notEqual(await c.closed(3000), undefined, 'closed after 501 (the bug)');
          } finally {
            c.socket.destroy();
          }
        }
        if (tree.fixed) {
          // After the answer, the decoder still holds the limits: a body over MaxRequestEntityBytes or
          // malformed ends the connection (the next request cannot be found), as does a body that is
          // not complete within RequestBodyTimeout.
          for (const [rest, what] of [
            [`${LIMIT.toString(16)}\r\n`, 'over MaxRequestEntityBytes'],
            ['zz\r\n', 'a malformed chunk size'],
            ['', `incomplete after RequestBodyTimeout (${BODY_TIMEOUT_S} s)`],
          ] as const) {
            const c = new Conversation(server.port);
            try {
              c.socket.write(`${post()}5\r\nhello\r\n`);
              assert.deepEqual(await c.statuses(['POST']), [405], `${what}: answered first`);
              const t0 = performance.now();
              if (rest !== '') c.socket.write(rest + next);
              assert.notEqual(await c.closed(BODY_TIMEOUT_S * 1000 + 3000), undefined, `${what}: closed`);
              const after = performance.now() - t0;
              if (rest !== '')
                assert.ok(after < BODY_TIMEOUT_S * 1000, `${what}: closed at once, not after ${after} ms`);
              assert.deepEqual(await c.statuses(['POST', 'GET'], 0), [405], `${what}: no answer after it`);
            } finally {
              c.socket.destroy();
            }
          }
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
