/**
 * Q192683 "Updated pages not refreshed when dates lie in the future", run against every built
 * release tree on a web root of files with chosen timestamps. Below SP4 both halves of the bug must
 * show, exactly: a file stamped in the future is announced with that future Last-Modified, and an
 * If-Modified-Since later than the server's clock is honoured (304 for a file changed since).
 * From SP4 on: Last-Modified is never later than Date, and such a date is ignored (200). Ordinary
 * conditional requests keep working everywhere. A missing build fails the test (run `pnpm build`),
 * it is never skipped.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { exchange, type RawResponse, startTree, fixTrees } from '../support/inetsrv.js';

const ID = 'Q192683';
const LEVEL = 4;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// Whole seconds: HTTP dates have no fractions, so the expected header can be written exactly.
const now = Math.floor(Date.now() / 1000) * 1000;
const futureStamp = now + 2 * DAY;
const pastStamp = now - HOUR;

const www = mkdtempSync(join(tmpdir(), 'q192683-'));
after(() => rmSync(www, { recursive: true, force: true }));
const FUTURE = 'copied-from-a-fast-clock.html';
const CHANGED = 'changed-an-hour-ago.html';
writeFileSync(join(www, FUTURE), '<p>stamped two days ahead</p>\n');
writeFileSync(join(www, CHANGED), '<p>the current version</p>\n');
utimesSync(join(www, FUTURE), futureStamp / 1000, futureStamp / 1000);
utimesSync(join(www, CHANGED), pastStamp / 1000, pastStamp / 1000);

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}\r\n`;

describe(`${ID}: updated pages not refreshed when dates lie in the future`, { concurrency: 8 }, () => {
  for (const tree of fixTrees(ID, LEVEL)) {
    test(`${tree.name} (${tree.fixed ? 'fixed' : 'has the bug'})`, { timeout: 15_000 }, async () => {
      const server = await startTree(tree.dir, { set: { WwwRoot: www } });
      const one = async (path: string, extra = ''): Promise<RawResponse> => {
        const [res] = (await exchange(server.port, get(path, extra), ['GET'])).responses;
        return res ?? assert.fail(`no response to GET ${path}`);
      };
      try {
        // 1. The future-dated file: what Last-Modified says, against the response's own Date.
        const future = await one(`/${FUTURE}`);
        assert.equal(future.status, 200);
        const lastModified = Date.parse(future.headers.get('last-modified') ?? '');
        const date = Date.parse(future.headers.get('date') ?? '');
        assert.ok(Number.isFinite(lastModified) && Number.isFinite(date));
        if (tree.fixed)
          assert.ok(
            lastModified <= date,
            `Last-Modified ${future.headers.get('last-modified')} is not later than Date ${future.headers.get('date')}`,
          );
        else
          assert.equal(
            future.headers.get('last-modified'),
            new Date(futureStamp).toUTCString(),
            'the future time stamp, as it is',
          );

        // 2. A file changed an hour ago, asked for with a date tomorrow (a client whose clock is ahead,
        //    or the future Last-Modified above sent back): the client's copy is older than the file.
        const tomorrow = new Date(now + DAY).toUTCString();
        const changed = await one(`/${CHANGED}`, `If-Modified-Since: ${tomorrow}\r\n`);
        if (tree.fixed) {
          assert.equal(changed.status, 200, 'a date later than the server clock is ignored');
          assert.equal(changed.body.toString(), '<p>the current version</p>\n');
        } else {
          assert.equal(changed.status, 304, 'a date later than the server clock is believed');
          assert.equal(changed.body.length, 0);
        }

        // 3. Ordinary conditional requests are unaffected.
        const plain = await one(`/${CHANGED}`);
        assert.equal(plain.headers.get('last-modified'), new Date(pastStamp).toUTCString());
        assert.equal(
          (await one(`/${CHANGED}`, `If-Modified-Since: ${plain.headers.get('last-modified')}\r\n`)).status,
          304,
        );
        assert.equal(
          (await one(`/${CHANGED}`, `If-Modified-Since: ${new Date(pastStamp - HOUR).toUTCString()}\r\n`)).status,
          200,
        );
      } finally {
        await server.dispose();
      }
    });
  }
});
