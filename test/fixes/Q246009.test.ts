/**
 * Q246009 "The server stops answering when MaxConnections is 0": SP6's Q236565 checked the limit
 * against its own connection count without excluding 0 (no limit), so a site whose
 * conf/inetsrv.conf says `MaxConnections = 0` (accepted as "no limit" since RTM) had every connection
 * closed unanswered. Run against every built release tree with that configuration file: SP6 and the
 * Q236565 hotfix build for SP5 must close the connection without an answer (and count a drop), every
 * other level, SP5 and SP6a included, must answer 200 and keep answering. A missing build fails the
 * test (run `pnpm build`), it is never skipped.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { exchange, fixTrees, startTree } from '../support/inetsrv.js';

const ID = 'Q246009';
const LEVEL = 7;
/** The fix that brought the bug: SP6 and its hotfix build for SP5 carry it. */
const CULPRIT = { id: 'Q236565', level: 6 };
const ATTEMPTS = 5;

const work = mkdtempSync(join(tmpdir(), 'q246009-'));
after(() => rmSync(work, { recursive: true, force: true }));
const conf = join(work, 'inetsrv.conf');
// The port, pid file and log folder come from the harness; the trigger is this file's one setting.
writeFileSync(conf, '# no limit on connections\nMaxConnections = 0\n');

const trees = fixTrees(ID, LEVEL, (info, carries) => {
  const culprit = info.level >= CULPRIT.level || info.hotfixes.includes(CULPRIT.id);
  return carries || !culprit;
});

describe(`${ID}: the server stops answering when MaxConnections is 0`, { concurrency: 4 }, () => {
  test('the trees that have the bug are exactly SP6 and the Q236565 hotfix build, on both arches', () => {
    const broken = trees.filter((t) => !t.fixed).map((t) => t.name);
    assert.deepEqual(broken, [
      'inetsrv-4.0-sp5-q236565-alpha',
      'inetsrv-4.0-sp5-q236565-x86',
      'inetsrv-4.0-sp6-alpha',
      'inetsrv-4.0-sp6-x86',
    ]);
  });
  for (const tree of trees) {
    test(`${tree.name} (${tree.fixed ? 'answers' : 'has the bug'})`, { timeout: 15_000 }, async () => {
      const server = await startTree(tree.dir, { args: ['--config', conf], startTimeoutMs: 10_000 });
      try {
        // Several connections one after another: with no limit none of them may be refused.
        for (let i = 0; i < ATTEMPTS; i++) {
          const r = await exchange(server.port, 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n', ['GET']);
          if (tree.fixed) assert.equal(r.responses[0]?.status, 200, `${tree.name}: connection ${i + 1} answered`);
          else {
            assert.equal(r.responses.length, 0, `${tree.name}: connection ${i + 1} closed without an answer`);
            assert.equal(r.closedByServer, true, `${tree.name}: the server closed connection ${i + 1}`);
          }
        }
        const stats = await server.stats();
        assert.equal(stats.drops, tree.fixed ? 0 : ATTEMPTS, `${tree.name}: drops`);
      } finally {
        await server.dispose();
      }
    });
  }
});
