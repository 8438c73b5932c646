/**
 * The front ends show Security Rollup 1 as a rollup (issue 17 item 3): `pack inspect` names its kind,
 * the level it stays on and what it carries; `check` on SP6a offers it and the first hotfix of the
 * chain, never a hotfix whose predecessors are missing; `query --json` lists it under `rollups`;
 * `verify --feed` finds SP6a + SRP1 + a later hotfix among the catalog's chain trees.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { installationFrom, pack, repo, requireBuild, servicepack, tempFolders } from './support/servicepack.js';

const FEED = join(repo, 'dist', 'feed');
const FOUR = ['Q248017', 'Q248395', 'Q247318', 'Q247602'];

after(async () => {
  for (const d of tempFolders()) await rm(d, { recursive: true, force: true });
});

/** The value of one `pack inspect` row ("kind        rollup …"). */
function row(out: string, key: string): string | undefined {
  const line = out.split('\n').find((l) => l.startsWith(`${key} `));
  return line?.slice(12);
}

test('pack inspect shows the rollup as a rollup: its name, the level it stays on, its four fixes and what it replaces; a chain hotfix shows what it requires', async () => {
  requireBuild([pack('sp6a-srp1-x86'), pack('sp6a-q248395-x86')]);
  const r = await servicepack(['pack', 'inspect', pack('sp6a-srp1-x86')]);
  assert.equal(r.code, 0, r.err);
  assert.equal(row(r.out, 'kind'), 'rollup (Security Rollup 1)');
  assert.equal(row(r.out, 'level'), 'Service Pack 6a (a rollup does not change the level)');
  assert.equal(row(r.out, 'supersedes'), FOUR.join(', '));
  assert.match(r.out, /^fixes \(4\)$/m);
  for (const id of FOUR) assert.match(r.out, new RegExp(`^  ${id} .*\\[security\\]$`, 'm'));
  assert.doesNotMatch(r.out, /Service Pack 6a \(a hotfix/);

  const q = await servicepack(['pack', 'inspect', pack('sp6a-q248395-x86')]);
  assert.equal(q.code, 0, q.err);
  assert.equal(row(q.out, 'kind'), 'hotfix');
  assert.match(row(q.out, 'requires') ?? '', /^Q248017 \(installed first/);
});

test('check on SP6a offers SRP1 and Q248017 (security), on SP6a + SRP1 Q248901; query --json lists the rollup; verify --feed names the chain tree', async () => {
  requireBuild([join(FEED, 'index.json')]);
  const root = await installationFrom('sp6a-x86');
  const c = await servicepack(['check', '--root', root, '--feed', FEED, '--json']);
  assert.equal(c.code, 0, c.err);
  const doc = JSON.parse(c.out) as { updates: { id: string; kind: string; security: boolean }[]; latest: string[] };
  assert.deepEqual(
    doc.updates.map((u) => [u.id, u.kind, u.security]),
    [
      ['SRP1', 'rollup', true],
      ['Q248017', 'hotfix', true],
    ],
  );
  assert.equal(doc.latest[0], 'SRP1');
  const text = await servicepack(['check', '--root', root, '--feed', FEED]);
  assert.match(text.out, /^ {2}SRP1 +Security Rollup 1 \(Q248017, Q248395, Q247318, Q247602\) \[security\]/m);
  assert.doesNotMatch(text.out, /^ {2}Q248395 /m);

  const i = await servicepack(['install', '-u', '--accept-eula', '--root', root, '--feed', FEED, 'SRP1']);
  assert.equal(i.code, 0, i.err);
  const after1 = JSON.parse((await servicepack(['check', '--root', root, '--feed', FEED, '--json'])).out) as {
    updates: { id: string }[];
  };
  assert.deepEqual(
    after1.updates.map((u) => u.id),
    ['Q248901'],
  );

  const q = JSON.parse((await servicepack(['query', '--json', '--root', root])).out) as {
    levelName: string;
    rollups: unknown;
  };
  assert.equal(q.levelName, 'Service Pack 6a + Security Rollup 1');
  assert.deepEqual(q.rollups, [{ id: 'SRP1', name: 'Security Rollup 1', fixes: FOUR }]);

  assert.equal(
    (await servicepack(['install', '-u', '--accept-eula', '--root', root, '--feed', FEED, 'Q248901'])).code,
    0,
  );
  const v = await servicepack(['verify', '--root', root, '--feed', FEED]);
  assert.equal(v.code, 0, v.err);
  assert.match(
    v.err,
    /Service Pack 6a \+ Security Rollup 1, hotfix Q248901 match inetsrv-4\.0-sp6a-q248017-q248395-q247318-q247602-q248901-x86 in the catalog/,
  );

  // Q248901 and then SRP1 uninstalled: back on SP6a, no rollup listed
  for (let k = 0; k < 2; k++) assert.equal((await servicepack(['uninstall', '-u', '--root', root])).code, 0);
  const back = JSON.parse((await servicepack(['query', '--json', '--root', root])).out) as {
    levelName: string;
    rollups: unknown;
  };
  assert.equal(back.levelName, 'Service Pack 6a');
  assert.deepEqual(back.rollups, []);
});
