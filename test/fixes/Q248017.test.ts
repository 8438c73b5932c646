/**
 * Q248017 "A request for a folder with a doubled slash is redirected to another web site"
 * (security), run against SP6a and every tree of the post-SP6a hotfix chain (chainTrees). A folder
 * asked for without its trailing slash is redirected to the same path with one; before the fix the
 * path was repeated as sent, so `GET //docs` got `Location: //docs/`, which a browser reads as the
 * host "docs" (RFC 3986 §4.2, a network-path reference): any folder name became a redirect target
 * off the site. From the fix on, the redirect names a path on this site whatever the number of
 * leading slashes, and an ordinary folder request is redirected as before. A missing build (the
 * tree with the fix, or the one just before it) fails the test (run `pnpm build`), it is never
 * skipped.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chainTrees, exchange, startTree } from '../support/inetsrv.js';

const ID = 'Q248017';

/** Location of the 301 the server gives for `target` (the shipped wwwroot has the folder docs/). */
async function redirectFor(port: number, target: string): Promise<string | undefined> {
  const r = await exchange(port, `GET ${target} HTTP/1.1\r\nHost: localhost\r\n\r\n`, ['GET']);
  const [res] = r.responses;
  assert.equal(res?.status, 301, `${target}: a folder without its slash is redirected`);
  return res?.headers.get('location');
}

describe(`${ID}: a folder redirect names another host for a path starting with two slashes`, { concurrency: 4 }, () => {
  for (const tree of chainTrees(ID)) {
    test(`${tree.name} (${tree.fixed ? 'fixed' : 'has the bug'})`, { timeout: 30_000 }, async () => {
      const server = await startTree(tree.dir);
      try {
        // The ordinary case is the same on every level.
        assert.equal(await redirectFor(server.port, '/docs'), '/docs/');
        assert.equal(await redirectFor(server.port, '/docs?a=1'), '/docs/?a=1');
        for (const [target, onSite] of [
          ['//docs', '/docs/'],
          ['///docs', '/docs/'],
          ['//docs?a=1', '/docs/?a=1'],
        ] as const) {
          const location = await redirectFor(server.port, target);
          if (tree.fixed) {
            assert.equal(location, onSite, `${target} is redirected on this site`);
            // What a browser does with it: resolved against this server, it stays on this server.
            assert.equal(new URL(location ?? '', 'http://127.0.0.1/').host, '127.0.0.1');
          } else {
            assert.notEqual(new URL(location ?? '', 'http://127.0.0.1/').host, '127.0.0.1', `the bug: ${location}`);
          }
        }
      } finally {
        await server.dispose();
      }
    });
  }
});
