/**
 * Q162814 "A file URL with a trailing slash is served as the file", run against every built
 * release tree: below SP2 "/readme.txt/" must come back as the file, exactly (the bug); from SP2
 * on, 404. Folders and plain file URLs must behave the same everywhere. A missing build fails the
 * test (run `pnpm build`), it is never skipped.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { exchange, type RawResponse, startTree, fixTrees } from '../support/inetsrv.js';

const ID = 'Q162814';
const LEVEL = 2;

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`;

/** Files of the shipped wwwroot, asked for with a slash after their name. */
const FILES = ['readme.txt', 'index.html', 'docs/index.html', 'images/logo.png'];

describe(`${ID}: a file URL with a trailing slash is served as the file`, { concurrency: 8 }, () => {
  for (const tree of fixTrees(ID, LEVEL)) {
    test(`${tree.name} (${tree.fixed ? 'fixed' : 'has the bug'})`, { timeout: 15_000 }, async () => {
      const server = await startTree(tree.dir);
      const one = async (path: string): Promise<RawResponse> => {
        const [res] = (await exchange(server.port, get(path), ['GET'])).responses;
        return res ?? assert.fail(`no response to GET ${path}`);
      };
      try {
        for (const file of FILES) {
          const content = readFileSync(join(tree.dir, 'wwwroot', file));
          const plain = await one(`/${file}`);
          assert.equal(plain.status, 200, `/${file}`);
          assert.deepEqual(plain.body, content);
          const slashed = await one(`/${file}/`);
          if (tree.fixed) {
            assert.equal(slashed.status, 404, `/${file}/`);
            assert.match(slashed.body.toString(), /404 Not Found/);
          } else {
            assert.equal(slashed.status, 200, `/${file}/ is answered with the file`);
            assert.deepEqual(slashed.body, content, `/${file}/ carries the file's bytes`);
            assert.equal(slashed.headers.get('etag'), plain.headers.get('etag'));
          }
        }
        // Folders are unchanged: the slash form serves the default document, the bare form redirects to it.
        assert.equal((await one('/docs/')).status, 200);
        const redirect = await one('/docs');
        assert.equal(redirect.status, 301);
        assert.equal(redirect.headers.get('location'), '/docs/');
        assert.equal((await one('/')).status, 200);
      } finally {
        await server.dispose();
      }
    });
  }
});
