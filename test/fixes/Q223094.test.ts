/**
 * Q223094 "A quoted setting that contains ' #' is cut short", run against every built release tree
 * with a configuration file whose WwwRoot is a quoted folder name holding " #". Below SP5 the server
 * must refuse to start, exactly because it looked for the folder name cut at the "#"; from SP5 on it
 * must start and serve that folder. A comment after the quoted value is still a comment everywhere.
 * A missing build fails the test (run `pnpm build`), it is never skipped.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { exchange, runCli, startTree, fixTrees } from '../support/inetsrv.js';

const ID = 'Q223094';
const LEVEL = 5;

const work = mkdtempSync(join(tmpdir(), 'q223094-'));
after(() => rmSync(work, { recursive: true, force: true }));
const site = join(work, 'Site #2');
mkdirSync(site);
writeFileSync(join(site, 'index.html'), '<p>the second site</p>\n');
const conf = join(work, 'inetsrv.conf');
// The port comes from the harness (--port 0); only the content folder is read from this file.
writeFileSync(
  conf,
  `# A site whose folder name holds " #"; the value is quoted for that reason.\nWwwRoot = "${site}"   # the second site\n`,
);

describe(`${ID}: a quoted setting that contains " #" is cut short`, { concurrency: 8 }, () => {
  for (const tree of fixTrees(ID, LEVEL)) {
    test(`${tree.name} (${tree.fixed ? 'fixed' : 'has the bug'})`, { timeout: 15_000 }, async () => {
      const starting = startTree(tree.dir, { args: ['--config', conf], startTimeoutMs: 10_000 });
      if (!tree.fixed) {
        await assert.rejects(starting, /did not report 'listening'/);
        // The same start once more in the foreground, for its exit code and message (the harness may
        // see the process end before it has read its last words).
        const run = join(work, tree.name);
        const r = await runCli(
          tree.dir,
          [
            'start',
            '--port',
            '0',
            '--config',
            conf,
            '--set',
            `PidFile=${run}/inetsrv.pid`,
            '--set',
            `LogDirectory=${run}/logs`,
          ],
          {
            timeoutMs: 10_000,
          },
        );
        assert.equal(r.code, 1, r.stderr);
        // Cut at the "#", the value lost its closing quote too, so it became a path relative to the tree.
        const cut = `${tree.dir}/"${join(work, 'Site')}'`;
        assert.ok(r.stderr.includes(`ENOENT: no such file or directory, realpath '${cut}`), r.stderr);
        return;
      }
      const server = await starting;
      try {
        const [res] = (await exchange(server.port, 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n', ['GET'])).responses;
        assert.equal(res?.status, 200);
        assert.equal(res.body.toString(), '<p>the second site</p>\n');
        assert.doesNotMatch(server.stderr(), /unknown key|warning/, 'the trailing comment is still a comment');
      } finally {
        await server.dispose();
      }
    });
  }
});
