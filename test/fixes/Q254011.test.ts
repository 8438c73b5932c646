/**
 * Q254011 "The server answers fewer requests per second than other web servers on the same
 * machine", run against SP6a and every tree of the post-SP6a hotfix chain (chainTrees). Throughput
 * itself is a benchmark's business (bench/inetsrv-nginx.ts, docs/performance.md); what this test
 * holds is the per-request work the fix removed that can be counted: below the fix every request on
 * a keep-alive connection clears and creates a HeaderWaitTimeout timer (200 requests, at least 200
 * setTimeout calls, counted by a preload in the server process); from the fix on the connection's one
 * timer is moved on only when it fires. And what must not change with it: the answers (status,
 * headers, body, one write each), and HeaderWaitTimeout, which still answers 408 to a head that
 * stops half-way after those 200 requests, neither early nor late. A missing build fails the test
 * (run `pnpm build`), it is never skipped.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { chainTrees, parseResponses, repoRoot, startTree } from '../support/inetsrv.js';

const ID = 'Q254011';
const REQUESTS = 200;
const HEADER_WAIT_S = 1;
const hook = pathToFileURL(join(repoRoot, 'test', 'support', 'count-timers.mjs')).href;

/** One keep-alive connection: each request is sent once the previous answer has arrived whole. */
class Client {
  readonly socket: Socket;
  #data: Buffer = Buffer.alloc(0);
  /** 'data' events: with Nagle off on both ends, a response written at once arrives as one. */
  chunks = 0;
  closed = false;

  constructor(port: number) {
    this.socket = connect({ port, host: '127.0.0.1', noDelay: true });
    this.socket.on('data', (d: Buffer) => {
      this.chunks++;
      this.#data = Buffer.concat([this.#data, d]);
    });
    this.socket.on('close', () => {
      this.closed = true;
    });
    this.socket.on('error', () => {});
  }

  async ask(request: string, ms = 3000): Promise<ReturnType<typeof parseResponses>['responses'][number] | undefined> {
    this.socket.write(request);
    const t0 = performance.now();
    for (;;) {
      const { responses, rest } = parseResponses(this.#data, ['GET']);
      if (responses[0] !== undefined) {
        this.#data = rest;
        return responses[0];
      }
      if (this.closed || performance.now() - t0 > ms) return undefined;
      await new Promise((r) => setImmediate(r));
    }
  }
}

describe(`${ID}: the server answers fewer requests per second than other web servers`, { concurrency: 4 }, () => {
  for (const tree of chainTrees(ID)) {
    test(`${tree.name} (${tree.fixed ? 'fixed' : 'has the bug'})`, { timeout: 30_000 }, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'q254011-'));
      const countFile = join(dir, 'timers');
      const server = await startTree(tree.dir, {
        // no access log: its batches' flush timers are not the connection's
        set: { HeaderWaitTimeout: HEADER_WAIT_S, LogDirectory: '' },
        env: {
          NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --import ${hook}`.trim(),
          COUNT_TIMERS_FILE: countFile,
        },
      });
      const timers = () => Number(readFileSync(countFile, 'utf8'));
      const client = new Client(server.port);
      try {
        const expected = readFileSync(join(tree.dir, 'wwwroot', 'index.html'));
        const get = 'GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n';
        // the first answer fills the file cache; the count starts after it
        assert.equal((await client.ask(get))?.status, 200);
        const before = timers();
        const chunksBefore = client.chunks;
        const started = performance.now();
        for (let i = 0; i < REQUESTS; i++) {
          const r = await client.ask(get);
          assert.equal(r?.status, 200, `request ${i + 2}`);
          assert.deepEqual(r.body, expected);
          assert.equal(r.headers.get('content-length'), String(expected.length));
          assert.equal(r.headers.get('connection'), undefined);
        }
        assert.equal(client.chunks - chunksBefore, REQUESTS, 'every answer arrived in one piece');
        const created = timers() - before;
        // The connection's one timer is moved on when it fires, once per HeaderWaitTimeout at most.
        const firings = Math.ceil((performance.now() - started) / (HEADER_WAIT_S * 1000));
        if (tree.fixed)
          assert.ok(created <= firings, `${created} setTimeout calls for ${REQUESTS} requests in ${firings} s`);
        else assert.ok(created >= REQUESTS, `a timer per request (the bug): ${created} for ${REQUESTS} requests`);

        // HeaderWaitTimeout still holds on that connection, counted from the head's first byte.
        const t0 = performance.now();
        const late = await client.ask('GET /index.html HTTP/1.1\r\nHost: local', (HEADER_WAIT_S + 3) * 1000);
        const ms = performance.now() - t0;
        assert.equal(late?.status, 408);
        assert.ok(ms >= HEADER_WAIT_S * 1000 - 50, `408 after ${ms.toFixed(0)} ms, before HeaderWaitTimeout`);
        assert.ok(ms < HEADER_WAIT_S * 1000 + 1500, `408 after ${ms.toFixed(0)} ms, long after HeaderWaitTimeout`);
      } finally {
        client.socket.destroy();
        await server.dispose();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
