/**
 * Q250516 "If-Match and If-Unmodified-Since are ignored", run against SP6a and every tree of the
 * post-SP6a hotfix chain (chainTrees): `If-Match: "nope"` and an If-Unmodified-Since before the
 * file's last change are answered 200 with the file below the fix (the bug) and 412 Precondition
 * Failed from it on (RFC 9110 §13.1.1, §13.1.4), for a small file (kept in memory since Q241072)
 * and a large one (streamed). Conditions that hold (the current ETag, `*`, a date after the change,
 * an invalid date) give 200 everywhere, and If-None-Match still gives 304. Checked through Python's
 * http.client and raw sockets. A missing build (the tree with the fix, or the one just before it)
 * fails the test (run `pnpm build`), it is never skipped.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { chainTrees, exchange, type RawResponse, startTree } from '../support/inetsrv.js';
import { pyRequests, python3 } from '../support/python-http.js';

const ID = 'Q250516';
/** The files' modification time: 2001-01-01. */
const MTIME = new Date('2001-01-01T00:00:00Z');
const PAST = 'Sun, 06 Nov 1994 08:49:37 GMT';
const LATER = 'Sat, 01 Jan 2005 00:00:00 GMT';

const work = mkdtempSync(join(tmpdir(), 'q250516-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe(`${ID}: If-Match and If-Unmodified-Since are ignored`, { concurrency: 4 }, () => {
  for (const tree of chainTrees(ID)) {
    test(`${tree.name} (${tree.fixed ? 'fixed' : 'has the bug'})`, { timeout: 20_000 }, async () => {
      const www = join(work, tree.name);
      mkdirSync(www, { recursive: true });
      const files = { '/small.txt': Buffer.alloc(1000, 's'), '/large.bin': Buffer.alloc(200 * 1024, 'l') };
      for (const [path, data] of Object.entries(files)) {
        writeFileSync(join(www, path), data);
        utimesSync(join(www, path), MTIME, MTIME);
      }
      const server = await startTree(tree.dir, { set: { WwwRoot: www } });
      const one = async (path: string, extra: string): Promise<RawResponse> => {
        const req = `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}\r\n`;
        const [res] = (await exchange(server.port, req, ['GET'])).responses;
        return res ?? assert.fail(`no response to GET ${path} with ${extra}`);
      };
      try {
        for (const [path, data] of Object.entries(files)) {
          const plain = await one(path, '');
          assert.equal(plain.status, 200);
          const etag = plain.headers.get('etag') ?? assert.fail('no ETag');
          const failing = [`If-Match: "nope"\r\n`, `If-Match: W/${etag}\r\n`, `If-Unmodified-Since: ${PAST}\r\n`];
          for (const extra of failing) {
            const r = await one(path, extra);
            if (tree.fixed) assert.equal(r.status, 412, `${path} with ${extra.trim()}`);
            else {
              assert.equal(r.status, 200, `${path} with ${extra.trim()} is answered (the bug)`);
              assert.ok(r.body.equals(data));
            }
          }
          const holding = [
            `If-Match: ${etag}\r\n`,
            `If-Match: "other", ${etag}\r\n`,
            'If-Match: *\r\n',
            `If-Unmodified-Since: ${LATER}\r\n`,
            'If-Unmodified-Since: yesterday\r\n',
            // If-Match decides; If-Unmodified-Since is not looked at when it is present (§13.2.2).
            `If-Match: ${etag}\r\nIf-Unmodified-Since: ${PAST}\r\n`,
          ];
          for (const extra of holding) {
            const r = await one(path, extra);
            assert.equal(r.status, 200, `${path} with ${extra.trim()}`);
            assert.ok(r.body.equals(data), `${path} with ${extra.trim()}: the file`);
          }
          assert.equal((await one(path, `If-None-Match: ${etag}\r\n`)).status, 304);
          if (python3) {
            const py = await pyRequests(server.port, [
              { method: 'GET', path, headers: [['If-Match', '"nope"']] },
              { method: 'GET', path, headers: [['If-Unmodified-Since', PAST]] },
              { method: 'HEAD', path, headers: [['If-Match', '"nope"']] },
              { method: 'GET', path, headers: [['If-Match', etag]] },
            ]);
            assert.deepEqual(
              py.map((r) => r.status),
              tree.fixed ? [412, 412, 412, 200] : [200, 200, 200, 200],
              `${path} through http.client`,
            );
          }
        }
      } finally {
        await server.dispose();
      }
    });
  }
});
