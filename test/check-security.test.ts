/**
 * `check` marks security fixes (issue 15): the signed index says which fixes are security fixes
 * (`fixes[].security`, from the vendor's fix records); an administrator deciding what to install
 * first must see it, in plain text and in `--json`.
 */
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { installationFrom, repo, requireBuild, servicepack, tempFolders } from './support/servicepack.js';

const FEED = join(repo, 'dist', 'feed');

after(async () => {
  for (const d of tempFolders()) await rm(d, { recursive: true, force: true });
});

interface Fix {
  id: string;
  security?: boolean;
}

test('check marks the updates with security fixes, and the fixes themselves', async () => {
  requireBuild([join(FEED, 'index.json')]);
  const index = JSON.parse(await readFile(join(FEED, 'index.json'), 'utf8')) as {
    packs: { id: string; arch: string; fixes: Fix[] }[];
  };
  const root = await installationFrom('rtm-x86');
  const j = await servicepack(['check', '--root', root, '--feed', FEED, '--json']);
  assert.equal(j.code, 0, j.err);
  const doc = JSON.parse(j.out) as { updates: { id: string; security: boolean; fixes: Fix[] }[] };
  assert.ok(doc.updates.length > 0);
  for (const u of doc.updates) {
    const entry = index.packs.find((p) => p.id === u.id && p.arch === 'x86')!;
    assert.equal(
      u.security,
      entry.fixes.some((f) => f.security === true),
    );
  }
  // the newest service pack: SP6a, which replaces SP6 in what check offers
  const sp6a = doc.updates.find((u) => u.id === 'inetsrv-4.0-sp6a')!;
  const security = sp6a.fixes.filter((f) => f.security === true).map((f) => f.id);
  const other = sp6a.fixes.filter((f) => f.security !== true).map((f) => f.id);
  assert.ok(security.length > 0 && other.length > 0, 'SP6a carries both kinds of fix');

  const r = await servicepack(['check', '--root', root, '--feed', FEED]);
  assert.equal(r.code, 0, r.err);
  const line = r.out.split('\n').find((l) => l.trimStart().startsWith('inetsrv-4.0-sp6a'))!;
  assert.match(line, /inetsrv-4\.0-sp6a\s+Service Pack 6a \[security\], /);
  for (const id of security) assert.ok(line.includes(`${id} [security]`), line);
  for (const id of other) assert.ok(!line.includes(`${id} [security]`) && line.includes(id), line);
});
