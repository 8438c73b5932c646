import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BuildInfo } from '../../src/installation/buildinfo.js';
import {
  type Catalog,
  CatalogSchema,
  catalogReleaseFromTree,
  identifyByCatalog,
  parseCatalogBytes,
  serializeCatalog,
} from '../../src/feed/catalog.js';
import { ServicepackError } from '../../src/support/errors.js';
import { NOT_OWNED } from '../../src/support/fsutil.js';
import { hashTree } from '../../src/support/hash.js';
import type { Arch } from '../../src/rules/level.js';
import { sha, tempDir } from '../pack-helpers.js';

type Files = Record<string, string>;

function buildInfo(level: number, arch: Arch, hotfixes: string[] = []): string {
  const info: BuildInfo = {
    product: 'inetsrv',
    displayName: 'inetsrv 4.0 Web Server',
    version: '4.0.0',
    level,
    arch,
    build: ['1381', String(level), ...hotfixes].join('.'),
    hotfixes,
    service: { pidFile: 'run/inetsrv.pid', start: ['bin/inetsrv', 'start', '--detach'] },
  };
  return `${JSON.stringify(info, null, 2)}\n`;
}

/**
 * Synthetic release history shaped like the real one: each level changes a file or two, the hotfix
 * build differs from its base level in one module and BUILDINFO, the architectures differ in their
 * platform module. Every tree also carries the folders a catalog must ignore.
 */
function releaseFiles(level: number, arch: Arch, hotfixes: string[] = []): Files {
  const files: Files = {
    'bin/inetsrv': '#!/usr/bin/env node\n',
    'package.json': '{"type":"module"}\n',
    'conf/inetsrv.conf': 'Port 80\n',
    'lib/server.js': `server ${level >= 2 ? 'v2' : 'v0'}\n`,
    'lib/http.js': `http ${level >= 1 ? 'v1' : 'v0'}\n`,
    'lib/conn.js': `conn ${level >= 3 || hotfixes.includes('Q7') ? 'fixed' : 'leaky'}\n`,
    'lib/util.js': 'util\n',
    'lib/log.js': 'log\n',
    [`lib/platform/${arch}.js`]: `${arch} ${level >= 2 ? 'v2' : 'v0'}\n`,
    'BUILDINFO.json': buildInfo(level, arch, hotfixes),
    // never part of the catalog
    'wwwroot/index.html': `<h1>${level}</h1>\n`,
    '.servicepack/trust/vendor.pub': 'key\n',
    'logs/access.log': 'GET /\n',
    'run/inetsrv.pid': '123\n',
  };
  if (level >= 2) files['lib/cache.js'] = 'cache\n';
  return files;
}

const RELEASES: { name: string; level: number; arch: Arch; hotfixes?: string[] }[] = [
  { name: 'inetsrv-4.0-rtm-x86', level: 0, arch: 'x86' },
  { name: 'inetsrv-4.0-sp1-x86', level: 1, arch: 'x86' },
  { name: 'inetsrv-4.0-sp1-q7-x86', level: 1, arch: 'x86', hotfixes: ['Q7'] },
  { name: 'inetsrv-4.0-sp2-x86', level: 2, arch: 'x86' },
  { name: 'inetsrv-4.0-sp3-x86', level: 3, arch: 'x86' },
  { name: 'inetsrv-4.0-sp1-alpha', level: 1, arch: 'alpha' },
  { name: 'inetsrv-4.0-sp2-alpha', level: 2, arch: 'alpha' },
];

async function writeTree(dir: string, files: Files): Promise<void> {
  for (const [p, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, p)), { recursive: true });
    await writeFile(join(dir, p), text);
  }
}

/** What detection sees in an installation: owned files -> sha256. */
async function installedFiles(dir: string): Promise<Map<string, string>> {
  return new Map([...(await hashTree(dir, NOT_OWNED))].map(([p, e]) => [p, e.sha256]));
}

describe('file catalog', () => {
  let root: string;
  let catalog: Catalog;
  const treeDir = (name: string) => join(root, 'releases', name);

  before(async () => {
    root = await tempDir('sp-catalog-');
    const releases = [];
    for (const r of RELEASES) {
      await writeTree(treeDir(r.name), releaseFiles(r.level, r.arch, r.hotfixes));
      const { product, release } = await catalogReleaseFromTree(treeDir(r.name));
      assert.equal(product, 'inetsrv');
      releases.push(release);
    }
    catalog = { format: 1, product: 'inetsrv', releases };
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('an entry holds the identity from BUILDINFO and the sha256 of every owned file, nothing else', async () => {
    const { release } = await catalogReleaseFromTree(treeDir('inetsrv-4.0-sp1-q7-x86'));
    assert.equal(release.name, 'inetsrv-4.0-sp1-q7-x86');
    assert.deepEqual([release.version, release.level, release.arch, release.hotfixes], ['4.0.0', 1, 'x86', ['Q7']]);
    const expected = Object.entries(releaseFiles(1, 'x86', ['Q7'])).filter(
      ([p]) => !/^(wwwroot|\.servicepack|logs|run)\//.test(p),
    );
    assert.deepEqual(Object.keys(release.files).sort(), expected.map(([p]) => p).sort());
    for (const [p, text] of expected) assert.equal(release.files[p], sha(text), p);
  });

  it('identifies every release by its own files, exactly', async () => {
    for (const r of RELEASES) {
      const id = identifyByCatalog(await installedFiles(treeDir(r.name)), catalog);
      assert.ok(id, r.name);
      assert.equal(id.best.name, r.name);
      assert.deepEqual([id.best.level, id.best.arch, id.best.hotfixes], [r.level, r.arch, r.hotfixes ?? []]);
      assert.equal(id.exact, true, `${r.name}: ${id.disagree.join(', ')}`);
      assert.deepEqual(id.disagree, []);
      assert.equal(id.matching, id.total);
    }
  });

  it('one locally modified file: still identified, and the file is reported', async () => {
    const files = await installedFiles(treeDir('inetsrv-4.0-sp2-x86'));
    files.set('conf/inetsrv.conf', sha('Port 8080\n'));
    const id = identifyByCatalog(files, catalog)!;
    assert.equal(id.best.name, 'inetsrv-4.0-sp2-x86');
    assert.deepEqual(id.disagree, ['conf/inetsrv.conf']);
    assert.deepEqual(id.modified, ['conf/inetsrv.conf']);
    assert.equal(id.matching, id.total - 1);
    assert.equal(id.exact, false);
  });

  it('an edited BUILDINFO.json does not fool it: the other files identify the release', async () => {
    const files = await installedFiles(treeDir('inetsrv-4.0-sp1-x86'));
    // claims Service Pack 3, as a hand edit or a half-done install might
    files.set('BUILDINFO.json', sha(buildInfo(3, 'x86')));
    const id = identifyByCatalog(files, catalog)!;
    assert.equal(id.best.name, 'inetsrv-4.0-sp1-x86');
    assert.equal(id.best.level, 1);
    assert.deepEqual(id.disagree, ['BUILDINFO.json']);
  });

  it('a missing and an extra file are reported as such', async () => {
    const files = await installedFiles(treeDir('inetsrv-4.0-sp3-x86'));
    files.delete('lib/log.js');
    files.set('lib/local-addon.js', sha('mine\n'));
    const id = identifyByCatalog(files, catalog)!;
    assert.equal(id.best.name, 'inetsrv-4.0-sp3-x86');
    assert.deepEqual(id.missing, ['lib/log.js']);
    assert.deepEqual(id.extra, ['lib/local-addon.js']);
    assert.deepEqual(id.disagree, ['lib/local-addon.js', 'lib/log.js']);
  });

  it('tells a hotfix build from its base level, and one architecture from the other', async () => {
    const base = identifyByCatalog(await installedFiles(treeDir('inetsrv-4.0-sp1-x86')), catalog)!;
    assert.equal(base.best.name, 'inetsrv-4.0-sp1-x86');
    const hot = await installedFiles(treeDir('inetsrv-4.0-sp1-q7-x86'));
    hot.set('BUILDINFO.json', sha(buildInfo(1, 'x86')));
    // even with BUILDINFO rewritten to the base level, the fixed module says Q7 is installed
    const id = identifyByCatalog(hot, catalog)!;
    assert.equal(id.best.name, 'inetsrv-4.0-sp1-q7-x86');
    assert.deepEqual(id.best.hotfixes, ['Q7']);
    const alpha = identifyByCatalog(await installedFiles(treeDir('inetsrv-4.0-sp1-alpha')), catalog)!;
    assert.deepEqual([alpha.best.name, alpha.best.arch], ['inetsrv-4.0-sp1-alpha', 'alpha']);
  });

  it('does not depend on the order of the catalog', async () => {
    const files = await installedFiles(treeDir('inetsrv-4.0-sp2-alpha'));
    files.set('lib/server.js', sha('server v0\n'));
    const a = identifyByCatalog(files, catalog);
    const b = identifyByCatalog(files, { ...catalog, releases: [...catalog.releases].reverse() });
    assert.deepEqual(a, b);
  });

  it('files that match nothing identify nothing', () => {
    assert.equal(identifyByCatalog(new Map([['lib/other.js', sha('x')]]), catalog), undefined);
    assert.equal(identifyByCatalog(new Map(), catalog), undefined);
    assert.equal(identifyByCatalog(new Map([['lib/util.js', sha('util\n')]]), { ...catalog, releases: [] }), undefined);
  });

  it('accepts detect-style entries ({ sha256, ... }) as well as plain hashes', async () => {
    const tree = await hashTree(treeDir('inetsrv-4.0-sp3-x86'), NOT_OWNED);
    assert.equal(identifyByCatalog(tree, catalog)?.best.name, 'inetsrv-4.0-sp3-x86');
  });

  it('serialises canonically and parses back; the schema refuses unsafe paths and duplicates', () => {
    const bytes = serializeCatalog(catalog);
    const shuffled = serializeCatalog({ ...catalog, releases: [...catalog.releases].reverse() });
    assert.ok(bytes.equals(shuffled));
    assert.deepEqual(
      parseCatalogBytes(bytes, 'catalog.json').releases.map((r) => r.name),
      [...RELEASES.map((r) => r.name)].sort(),
    );
    const first = catalog.releases[0]!;
    assert.equal(
      CatalogSchema.safeParse({ ...catalog, releases: [{ ...first, files: { '../etc/passwd': sha('x') } }] }).success,
      false,
    );
    assert.equal(CatalogSchema.safeParse({ ...catalog, releases: [first, first] }).success, false);
    assert.throws(
      () => parseCatalogBytes(Buffer.from('{"format":1}'), 'catalog.json'),
      (e: unknown) => e instanceof ServicepackError && e.code === 'E_FEED' && /releases/.test(e.message),
    );
  });
});
