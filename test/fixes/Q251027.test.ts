/**
 * Q251027 "Range requests are answered with the whole file", run against SP6a and every tree of the
 * post-SP6a hotfix chain (chainTrees): below the fix a Range request is answered 200 with the whole
 * file and no Accept-Ranges (the bug); from the fix on, one range gives 206 with Content-Range and
 * exactly those bytes, a range beyond the end 416 with `Content-Range: bytes *<slash>size`, and
 * every 200 carries `Accept-Ranges: bytes`. Several ranges, an invalid Range and an If-Range naming
 * another version give the whole file (200) on every tree: multipart/byteranges is not produced.
 * For a small file (kept in memory since Q241072) and a large one (streamed from an offset).
 * Checked through Python's http.client and raw sockets. A missing build (the tree with the fix, or
 * the one just before it) fails the test (run `pnpm build`), it is never skipped.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { chainTrees, exchange, type RawResponse, startTree } from '../support/inetsrv.js';
import { pyRequests, python3 } from '../support/python-http.js';

const ID = 'Q251027';

const work = mkdtempSync(join(tmpdir(), 'q251027-'));
after(() => rmSync(work, { recursive: true, force: true }));

function pattern(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

describe(`${ID}: range requests are answered with the whole file`, { concurrency: 4 }, () => {
  for (const tree of chainTrees(ID)) {
    test(`${tree.name} (${tree.fixed ? 'fixed' : 'has the bug'})`, { timeout: 20_000 }, async () => {
      const www = join(work, tree.name);
      mkdirSync(www, { recursive: true });
      const files = { '/small.bin': pattern(1000), '/large.bin': pattern(300 * 1024) };
      for (const [path, data] of Object.entries(files)) writeFileSync(join(www, path), data);
      const server = await startTree(tree.dir, { set: { WwwRoot: www } });
      const one = async (method: string, path: string, extra: string): Promise<RawResponse> => {
        const req = `${method} ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}\r\n`;
        const [res] = (await exchange(server.port, req, [method])).responses;
        return res ?? assert.fail(`no response to ${method} ${path} with ${extra}`);
      };
      const whole = (r: RawResponse, data: Buffer, what: string) => {
        assert.equal(r.status, 200, what);
        assert.ok(r.body.equals(data), `${what}: the whole file`);
      };
      try {
        for (const [path, data] of Object.entries(files)) {
          const size = data.length;
          const plain = await one('GET', path, '');
          whole(plain, data, path);
          assert.equal(plain.headers.get('accept-ranges'), tree.fixed ? 'bytes' : undefined, `${path}: Accept-Ranges`);
          const etag = plain.headers.get('etag') ?? assert.fail('no ETag');
          const cases: Array<[string, number, number]> = [
            ['bytes=100-199', 100, 199],
            ['bytes=0-0', 0, 0],
            [`bytes=${size - 10}-`, size - 10, size - 1],
            ['bytes=-10', size - 10, size - 1],
            [`bytes=900-${size * 2}`, 900, size - 1],
            ['bytes=-99999999', 0, size - 1],
          ];
          for (const [range, first, last] of cases) {
            const r = await one('GET', path, `Range: ${range}\r\n`);
            if (!tree.fixed) {
              whole(r, data, `${path} ${range} (the bug)`);
              continue;
            }
            assert.equal(r.status, 206, `${path} ${range}`);
            assert.equal(r.headers.get('content-range'), `bytes ${first}-${last}/${size}`, `${path} ${range}`);
            assert.ok(r.body.equals(data.subarray(first, last + 1)), `${path} ${range}: the bytes asked for`);
          }
          for (const range of [`bytes=${size}-`, `bytes=${size + 5}-${size + 10}`, 'bytes=-0']) {
            const r = await one('GET', path, `Range: ${range}\r\n`);
            if (!tree.fixed) whole(r, data, `${path} ${range} (the bug)`);
            else {
              assert.equal(r.status, 416, `${path} ${range}`);
              assert.equal(r.headers.get('content-range'), `bytes */${size}`);
            }
          }
          // The whole file on every tree: several ranges, invalid ones, an If-Range of another version, HEAD.
          for (const extra of [
            'Range: bytes=0-1,5-6\r\n',
            'Range: bytes=5-1\r\n',
            'Range: items=0-1\r\n',
            'Range: bytes=x-\r\n',
            `Range: bytes=0-9\r\nIf-Range: "other"\r\n`,
          ]) {
            whole(await one('GET', path, extra), data, `${path} ${extra.trim()}`);
          }
          const head = await one('HEAD', path, 'Range: bytes=0-9\r\n');
          assert.equal(head.status, 200);
          assert.equal(head.headers.get('content-length'), String(size));
          const ifRange = await one('GET', path, `Range: bytes=0-9\r\nIf-Range: ${etag}\r\n`);
          assert.equal(ifRange.status, tree.fixed ? 206 : 200, `${path} If-Range with the current ETag`);
          if (python3) {
            const py = await pyRequests(server.port, [
              { method: 'GET', path, headers: [['Range', 'bytes=10-19']] },
              { method: 'GET', path, headers: [['Range', `bytes=${size}-`]] },
              { method: 'GET', path },
            ]);
            const [part, beyond, all] = py;
            if (tree.fixed) {
              assert.equal(part?.status, 206);
              assert.ok(part?.body.equals(data.subarray(10, 20)), `${path}: bytes 10-19 through http.client`);
              assert.equal(part?.headers['content-range'], `bytes 10-19/${size}`);
              assert.equal(beyond?.status, 416);
              assert.equal(all?.headers['accept-ranges'], 'bytes');
            } else {
              assert.equal(part?.status, 200);
              assert.equal(part?.body.length, size);
              assert.equal(beyond?.status, 200);
              assert.equal(all?.headers['accept-ranges'], undefined);
            }
            assert.ok(all?.body.equals(data));
          }
        }
      } finally {
        await server.dispose();
      }
    });
  }
});
