/**
 * Q153207 "304 Not Modified announces Content-Length: 0", run against every built release tree:
 * below SP1 the 304 must say 0, exactly (the bug); from SP1 on, the length the 200 has. A missing
 * build fails the test (run `pnpm build`), it is never skipped.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { exchange, startTree, fixTrees } from '../support/inetsrv.js';

const ID = 'Q153207';
const LEVEL = 1;

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}\r\n`;

describe(`${ID}: 304 Not Modified announces Content-Length: 0`, { concurrency: 8 }, () => {
  for (const tree of fixTrees(ID, LEVEL)) {
    test(`${tree.name} (${tree.fixed ? 'fixed' : 'has the bug'})`, { timeout: 15_000 }, async () => {
      const file = readFileSync(join(tree.dir, 'wwwroot', 'readme.txt'));
      const server = await startTree(tree.dir);
      try {
        const [full] = (await exchange(server.port, get('/readme.txt'), ['GET'])).responses;
        assert.equal(full?.status, 200);
        assert.equal(full.headers.get('content-length'), String(file.length));
        assert.deepEqual(full.body, file);
        const etag = full.headers.get('etag') ?? assert.fail('no ETag');
        const lastModified = full.headers.get('last-modified') ?? assert.fail('no Last-Modified');
        for (const condition of [`If-None-Match: ${etag}`, `If-Modified-Since: ${lastModified}`]) {
          // A second request on the same connection: if the 304 had sent body bytes, its status line would be garbage.
          const r = await exchange(server.port, get('/readme.txt', `${condition}\r\n`) + get('/readme.txt'), [
            'GET',
            'GET',
          ]);
          const [notModified, after] = r.responses;
          assert.equal(notModified?.status, 304, condition);
          assert.equal(notModified.body.length, 0);
          assert.equal(notModified.headers.get('etag'), etag);
          assert.equal(after?.status, 200, `${condition}: the next response on the connection`);
          assert.deepEqual(after.body, file);
          assert.equal(
            notModified.headers.get('content-length'),
            tree.fixed ? String(file.length) : '0',
            `${condition}: Content-Length of the 304`,
          );
        }
      } finally {
        await server.dispose();
      }
    });
  }
});
