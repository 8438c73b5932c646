/**
 * `verify --feed` (issue 15): a vendor release tree servicepack never touched has no state record,
 * and `verify` alone can only say so. With a signed feed it compares every owned file with the
 * release BUILDINFO.json names in the feed's catalog, rpm -V style, under the trust rules of
 * `check` and `install --feed`.
 */
import assert from 'node:assert/strict';
import { appendFile, cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { installationFrom, repo, requireBuild, servicepack, tempFolders, tempRoot } from './support/servicepack.js';

const FEED = join(repo, 'dist', 'feed');
const KEY = join(repo, 'dist', 'keys', 'dev.pub');
let feed = '';

before(async () => {
  requireBuild([join(FEED, 'index.json'), KEY]);
  // a copy: a rebuild of dist/ while the suite runs must not change the feed under it
  feed = await tempRoot('sp-feed-');
  await cp(FEED, feed, { recursive: true });
});
after(async () => {
  for (const d of tempFolders()) await rm(d, { recursive: true, force: true });
});

interface VerifyDoc {
  code?: string;
  exitCode: number;
  stateRecord: boolean;
  catalog?: { release: string };
  problems: { path: string; kind: string; flags: string }[];
}

describe('verify of a vendor release tree', () => {
  test('without --feed it points at verify --feed, not at a query --feed that does not exist', async () => {
    const root = await installationFrom('sp5-q236565-x86');
    const r = await servicepack(['verify', '--root', root]);
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.out, /query --feed/);
    assert.match(r.out, /servicepack verify --feed URL/);
  });

  test('--feed: an untouched tree matches its release; an edited, a deleted and an added file are found (exit 4)', async () => {
    const root = await installationFrom('sp5-q236565-x86');
    const clean = await servicepack(['verify', '--root', root, '--feed', feed]);
    assert.equal(clean.code, 0, clean.err);
    assert.match(clean.err, /match inetsrv-4\.0-sp5-q236565-x86 in the catalog of file:/);

    await appendFile(join(root, 'lib', 'server.js'), '\n// edited by hand\n');
    await rm(join(root, 'lib', 'mime.js'));
    await writeFile(join(root, 'lib', 'evil.js'), 'process.exit(0)\n');
    const r = await servicepack(['verify', '--root', root, '--feed', feed]);
    assert.equal(r.code, 4, r.err);
    assert.deepEqual(r.out.trim().split('\n'), [
      'extra    lib/evil.js',
      'missing  lib/mime.js',
      '??5      lib/server.js',
    ]);

    const j = await servicepack(['verify', '--root', root, '--feed', feed, '--json']);
    assert.equal(j.code, 4, j.err);
    const doc = JSON.parse(j.out) as VerifyDoc;
    assert.equal(doc.stateRecord, false);
    assert.equal(doc.catalog?.release, 'inetsrv-4.0-sp5-q236565-x86');
    assert.deepEqual(
      doc.problems.map((p) => `${p.kind} ${p.path}`),
      ['extra lib/evil.js', 'missing lib/mime.js', 'modified lib/server.js'],
    );
  });

  test('--feed: a BUILDINFO.json claiming a release that never shipped is reported, and the files still compared', async () => {
    const root = await installationFrom('sp5-q236565-x86');
    const bi = join(root, 'BUILDINFO.json');
    await writeFile(bi, (await readFile(bi, 'utf8')).replace(/"level": 5/, '"level": 4'));
    const r = await servicepack(['verify', '--root', root, '--feed', feed, '--json']);
    assert.equal(r.code, 4, r.err);
    const doc = JSON.parse(r.out) as VerifyDoc;
    assert.equal(doc.catalog?.release, 'inetsrv-4.0-sp5-q236565-x86');
    assert.ok(doc.problems.some((p) => p.kind === 'buildinfo' && p.path === 'BUILDINFO.json'));
  });

  test('--feed trusts as check and install --feed do: a replaced catalog, no signature, an unknown key are exit 4', async () => {
    const root = await installationFrom('rtm-x86');
    const edited = await tempRoot('sp-feed-');
    await cp(feed, edited, { recursive: true });
    const catalog = join(edited, 'catalog.json');
    // the tree's own edit, hidden by a catalog that says so
    await appendFile(join(root, 'lib', 'server.js'), '// x\n');
    await writeFile(
      catalog,
      (await readFile(catalog, 'utf8')).replace(
        /"lib\/server\.js": "[0-9a-f]{64}"/g,
        '"lib/server.js": "0000000000000000000000000000000000000000000000000000000000000000"',
      ),
    );
    const swapped = await servicepack(['verify', '--root', root, '--feed', edited, '--json']);
    assert.equal(swapped.code, 4, swapped.err);
    assert.equal((JSON.parse(swapped.out) as VerifyDoc).code, 'E_HASH_MISMATCH');

    await rm(join(edited, 'index.sig'));
    const unsigned = await servicepack(['verify', '--root', root, '--feed', edited, '--json']);
    assert.equal(unsigned.code, 4, unsigned.err);
    assert.equal((JSON.parse(unsigned.out) as VerifyDoc).code, 'E_UNSIGNED');

    // the tree's own trust folder decides, as for install: without its key the feed is refused, --trust adds one
    await rm(join(root, '.servicepack', 'trust'), { recursive: true });
    const untrusted = await servicepack(['verify', '--root', root, '--feed', feed, '--json']);
    assert.equal(untrusted.code, 4, untrusted.err);
    assert.equal((JSON.parse(untrusted.out) as VerifyDoc).code, 'E_UNTRUSTED_KEY');
    const trusted = await servicepack(['verify', '--root', root, '--feed', feed, '--trust', KEY, '--json']);
    assert.equal(trusted.code, 4, trusted.err);
    assert.deepEqual(
      (JSON.parse(trusted.out) as VerifyDoc).problems.map((p) => `${p.kind} ${p.path}`),
      ['modified lib/server.js'],
    );
  });
});

describe('one name per difference (issue 15)', () => {
  test('query --json and verify --json call an edited file and a disagreeing BUILDINFO.json the same', async () => {
    const root = await installationFrom('rtm-x86');
    const sp1 = join(repo, 'dist', 'packs', 'inetsrv-4.0-sp1-x86.tgz');
    const inst = await servicepack(['install', '--accept-eula', '--root', root, '-u', sp1]);
    assert.equal(inst.code, 0, inst.err);
    await appendFile(join(root, 'lib', 'server.js'), '\n// edited by hand\n');
    const bi = join(root, 'BUILDINFO.json');
    await writeFile(bi, (await readFile(bi, 'utf8')).replace(/"level": 1/, '"level": 2'));
    const kinds = async (cmd: string) => {
      const r = await servicepack([cmd, '--root', root, '--json']);
      return Object.fromEntries(
        (JSON.parse(r.out) as VerifyDoc).problems
          .filter((p) => p.path === 'lib/server.js' || p.kind === 'buildinfo' || p.kind === 'record')
          .map((p) => [p.path, p.kind]),
      );
    };
    const q = await kinds('query');
    const v = await kinds('verify');
    assert.equal(q['lib/server.js'], 'modified');
    assert.equal(q['BUILDINFO.json'], 'buildinfo');
    assert.deepEqual(v, q);
  });
});
