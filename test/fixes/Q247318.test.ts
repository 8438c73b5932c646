/**
 * Q247318 "Slow request bodies keep connections open indefinitely" (security), run against SP6a and
 * every tree of the post-SP6a hotfix chain (chainTrees). A request announcing a body that arrives
 * slowly (Content-Length 60000, a byte every 200 ms) was not answered before its last byte, even
 * when the answer did not depend on it (405 for POST), and no limit but ConnectionTimeout (900 s,
 * per byte) applied: a few hundred such clients took every connection. From the fix on the request
 * is answered at once and the body must be complete within RequestBodyTimeout (30 s by default, 2 s
 * here), or the connection closes. A body that does arrive in time still leaves the connection
 * usable. The trees before the fix ignore RequestBodyTimeout with a warning. A missing build (the
 * tree with the fix, or the one just before it) fails the test (run `pnpm build`), it is never
 * skipped.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { chainTrees, delay, parseResponses, type RawResponse, startTree } from '../support/inetsrv.js';

const ID = 'Q247318';
const BODY_TIMEOUT_S = 2;
/** How long the test drips at most: well past RequestBodyTimeout, far below ConnectionTimeout. */
const DRIP_MS = 6000;
const DRIP_EVERY_MS = 200;

/** A raw client that records what the server sends and whether it closed. */
class Dripper {
  readonly socket: Socket;
  data = Buffer.alloc(0);
  closedAt: number | undefined;
  readonly #t0 = performance.now();

  constructor(port: number) {
    this.socket = connect({ port, host: '127.0.0.1' });
    this.socket.on('data', (d: Buffer) => {
      this.data = Buffer.concat([this.data, d]);
    });
    const closed = () => {
      this.closedAt ??= performance.now() - this.#t0;
    };
    this.socket.on('end', closed);
    this.socket.on('close', closed);
    this.socket.on('error', () => {});
  }

  responses(methods: string[]): RawResponse[] {
    return parseResponses(this.data, methods).responses;
  }

  /** Sends one byte of body every DRIP_EVERY_MS until `done` or the server closes, for at most DRIP_MS. */
  async drip(done: () => boolean): Promise<void> {
    for (let waited = 0; waited < DRIP_MS && this.closedAt === undefined && !done(); waited += DRIP_EVERY_MS) {
      this.socket.write('x');
      await delay(DRIP_EVERY_MS);
    }
  }
}

describe(`${ID}: slow request bodies keep connections open indefinitely`, { concurrency: 6 }, () => {
  for (const tree of chainTrees(ID)) {
    test(`${tree.name} (${tree.fixed ? 'fixed' : 'has the bug'})`, { timeout: 40_000 }, async () => {
      const server = await startTree(tree.dir, { set: { RequestBodyTimeout: BODY_TIMEOUT_S } });
      const clients: Dripper[] = [];
      try {
        // The answer is known from the head: 405. It must not wait for 60,000 dripped bytes.
        const post = new Dripper(server.port);
        clients.push(post);
        post.socket.write('POST /index.html HTTP/1.1\r\nHost: localhost\r\nContent-Length: 60000\r\n\r\n');
        await post.drip(() => post.responses(['POST']).length > 0);
        const [answer] = post.responses(['POST']);
        // A late body must not hold the connection: closed after RequestBodyTimeout, while still dripping.
        await post.drip(() => false);
        if (tree.fixed) {
          assert.equal(answer?.status, 405, 'POST answered before its body arrived');
          assert.ok(post.closedAt !== undefined, `connection still open after ${DRIP_MS} ms of a late body`);
        } else {
          assert.equal(answer, undefined, 'the bug: no answer before the whole body');
          assert.equal(post.closedAt, undefined, 'the bug: a dripped body holds the connection');
        }

        // Not changed: a body that arrives (in pieces) in time is skipped and the connection serves on.
        const ok = new Dripper(server.port);
        clients.push(ok);
        ok.socket.write('POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nhello');
        await delay(100);
        ok.socket.write('world');
        await delay(100);
        ok.socket.write('GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n');
        for (let i = 0; i < 50 && ok.responses(['POST', 'GET']).length < 2; i++) await delay(100);
        assert.deepEqual(
          ok.responses(['POST', 'GET']).map((r) => r.status),
          [405, 200],
        );
      } finally {
        for (const c of clients) c.socket.destroy();
        await server.dispose();
      }
    });
  }
});
