/**
 * Q241072 "Static files are served slowly and with high CPU usage", run against every built release
 * tree. Not a timing test (speed targets live in bench/inetsrv.ts): what it checks is the work the
 * server does, read from the kernel's own count of the bytes the process read (/proc/PID/io rchar).
 * Below SP6 the server reads a file again for every request; from SP6 on it reads an unchanged small
 * file once. The cache must not change what is served: on every tree a file that is changed (in
 * size, or in place with the same size), deleted or replaced by a link out of the web root is
 * noticed within a bounded time, conditional requests and HEAD answer as before, and a file too
 * large for the cache is still served whole. A missing build fails the test (run `pnpm build`), it
 * is never skipped.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { exchange, parseResponses, procIo, type RawResponse, startTree, fixTrees } from '../support/inetsrv.js';

const ID = 'Q241072';
const LEVEL = 6;
/** Requests for the same file on one connection. */
const N = 200;
/** Below the fix's in-memory limit (64 KiB), so the fixed server may keep it. */
const SIZE = 32 * 1024;
/** How long the fixed server may go on serving what a path was (it rechecks once a second). */
const NOTICE_MS = 3000;

/** One keep-alive connection, one request at a time, as a browser reloading a page does. */
class Client {
  readonly #socket: Socket;
  #data: Buffer = Buffer.alloc(0);
  #waiting: (() => void) | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (d: Buffer) => {
      this.#data = this.#data.length === 0 ? d : Buffer.concat([this.#data, d]);
      this.#waiting?.();
    });
    socket.on('close', () => this.#waiting?.());
    socket.on('error', () => {});
  }

  static open(port: number): Promise<Client> {
    return new Promise((res, rej) => {
      const socket = connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => res(new Client(socket)));
      socket.once('error', rej);
    });
  }

  async request(method: string, path: string, extra = ''): Promise<RawResponse> {
    this.#socket.write(`${method} ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}\r\n`);
    const deadline = Date.now() + 5000;
    for (;;) {
      const { responses, rest } = parseResponses(this.#data, [method]);
      const [r] = responses;
      if (r !== undefined) {
        this.#data = rest;
        return r;
      }
      if (this.#socket.destroyed || Date.now() > deadline) throw new Error(`no response to ${method} ${path}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.#waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiting = undefined;
    }
  }

  close(): void {
    this.#socket.destroy();
  }
}

/** Asks until the answer satisfies `ok`, for at most NOTICE_MS; returns the last answer. */
async function until(port: number, path: string, ok: (r: RawResponse) => boolean): Promise<RawResponse> {
  const t0 = Date.now();
  for (;;) {
    const [r] = (await exchange(port, `GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`, ['GET'])).responses;
    if (r === undefined) throw new Error(`no response to GET ${path}`);
    if (ok(r) || Date.now() - t0 > NOTICE_MS) return r;
    await new Promise((res) => setTimeout(res, 50));
  }
}

function content(size: number, fill: string): Buffer {
  return Buffer.alloc(size, fill);
}

const work = mkdtempSync(join(tmpdir(), 'q241072-'));
after(() => rmSync(work, { recursive: true, force: true }));
const outside = join(work, 'outside.html');
writeFileSync(outside, '<p>not part of the site</p>\n');

describe(`${ID}: static files are served slowly and with high CPU usage`, { concurrency: 4 }, () => {
  for (const tree of fixTrees(ID, LEVEL)) {
    test(`${tree.name} (${tree.fixed ? 'fixed' : 'has the bug'})`, { timeout: 30_000 }, async () => {
      const www = join(work, tree.name);
      mkdirSync(join(www, 'sub'), { recursive: true });
      const page = content(SIZE, 'a');
      writeFileSync(join(www, 'page.html'), page);
      writeFileSync(join(www, 'sub', 'index.html'), '<p>sub</p>\n');
      const large = Buffer.alloc(200 * 1024);
      for (let i = 0; i < large.length; i++) large[i] = (i * 7) & 0xff;
      writeFileSync(join(www, 'large.bin'), large);
      // The file reads must be read(2) calls, which rchar counts, whatever libuv would pick.
      const server = await startTree(tree.dir, { set: { WwwRoot: www }, env: { UV_USE_IO_URING: '0' } });
      try {
        // 1. The work per request: bytes read for N requests of the same unchanged file.
        const client = await Client.open(server.port);
        try {
          const first = await client.request('GET', '/page.html');
          assert.equal(first.status, 200);
          assert.ok(first.body.equals(page));
          const before = procIo(server.pid);
          if (before === undefined) assert.fail('/proc/PID/io is not readable: this test needs Linux /proc');
          const request = 'GET /page.html HTTP/1.1\r\nHost: localhost\r\n\r\n';
          for (let i = 0; i < N; i++) {
            const r = await client.request('GET', '/page.html');
            assert.equal(r.status, 200);
            assert.equal(r.body.length, SIZE);
          }
          const read = (procIo(server.pid)?.rchar ?? Number.NaN) - before.rchar;
          if (tree.fixed) {
            // Once more at most (a recheck that found it changed), plus the requests themselves.
            assert.ok(
              read < 4 * SIZE + N * request.length * 2,
              `read ${read} bytes for ${N} requests of a ${SIZE}-byte file: it is read again each time`,
            );
          } else {
            assert.ok(
              read >= N * SIZE,
              `read ${read} bytes for ${N} requests of a ${SIZE}-byte file: expected the bug (at least ${N * SIZE})`,
            );
          }

          // 2. Conditional requests and HEAD answer as before.
          const etag = first.headers.get('etag') ?? '';
          const lastModified = first.headers.get('last-modified') ?? '';
          assert.match(etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
          assert.equal((await client.request('GET', '/page.html', `If-None-Match: ${etag}\r\n`)).status, 304);
          assert.equal((await client.request('GET', '/page.html', `If-None-Match: W/${etag}\r\n`)).status, 304);
          assert.equal((await client.request('GET', '/page.html', 'If-None-Match: "0-0"\r\n')).status, 200);
          assert.equal(
            (await client.request('GET', '/page.html', `If-Modified-Since: ${lastModified}\r\n`)).status,
            304,
          );
          const head = await client.request('HEAD', '/page.html');
          assert.equal(head.status, 200);
          assert.equal(head.headers.get('content-length'), String(SIZE));
          assert.equal(head.headers.get('etag'), etag);
          assert.equal(head.headers.get('content-type'), first.headers.get('content-type'));
          // A folder's default document, and the redirect to the folder's URL.
          assert.equal((await client.request('GET', '/sub/')).body.toString(), '<p>sub</p>\n');
          assert.equal((await client.request('GET', '/sub')).status, 301);
          // Too large to be held in memory: still served whole.
          for (let i = 0; i < 2; i++) {
            const r = await client.request('GET', '/large.bin');
            assert.equal(r.status, 200);
            assert.ok(r.body.equals(large), 'the large file arrives intact');
          }
        } finally {
          client.close();
        }

        // 3. A change of size is noticed, with new validators.
        const grown = content(SIZE + 100, 'b');
        writeFileSync(join(www, 'page.html'), grown);
        let r = await until(server.port, '/page.html', (x) => x.body.equals(grown));
        assert.ok(r.body.equals(grown), 'a file that grew is served as it is now');
        const etag2 = r.headers.get('etag');
        assert.notEqual(etag2, undefined);

        // 4. So is a rewrite in place that keeps the size, with a new modification time.
        const same = content(SIZE + 100, 'c');
        writeFileSync(join(www, 'page.html'), same);
        // An hour back: a date of its own, and not in the future, which Last-Modified would not repeat (Q192683).
        const earlier = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);
        utimesSync(join(www, 'page.html'), earlier, earlier);
        r = await until(server.port, '/page.html', (x) => x.body.equals(same));
        assert.ok(r.body.equals(same), 'a same-size rewrite is served as it is now');
        assert.notEqual(r.headers.get('etag'), etag2, 'the ETag follows the modification time');
        assert.equal(r.headers.get('last-modified'), earlier.toUTCString());

        // 5. A deleted file is gone.
        unlinkSync(join(www, 'page.html'));
        r = await until(server.port, '/page.html', (x) => x.status === 404);
        assert.equal(r.status, 404, 'a deleted file is no longer served');

        // 6. A file replaced by a link to outside the web root is refused, not followed.
        writeFileSync(join(www, 'link.html'), '<p>inside</p>\n');
        assert.equal((await until(server.port, '/link.html', (x) => x.status === 200)).status, 200);
        unlinkSync(join(www, 'link.html'));
        symlinkSync(outside, join(www, 'link.html'));
        r = await until(server.port, '/link.html', (x) => x.status === 403);
        assert.equal(r.status, 403, 'a link out of the web root is refused');
        assert.ok(!r.body.toString().includes('not part of the site'));
      } finally {
        await server.dispose();
      }
    });
  }
});
