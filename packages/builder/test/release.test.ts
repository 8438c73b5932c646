import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { BuildInfoSchema } from '@servicepack/core';
import { buildRelease, buildReleases, DEFAULT_SOURCE_DATE_EPOCH, releaseName, sourceDate } from '../src/release.js';
import { changedFiles, type FixSpec, fingerprint, makeProduct, RTM_SOURCE, tempDir } from './fixture.js';

/**
 * Q1 (SP1) changes the server module, Q2 (SP2) only the Alpha platform module, Q3 (SP3, also a
 * hotfix for SP2) changes the config file, adds a module and deletes a content file.
 */
const FIXES: FixSpec[] = [
  { id: 'Q1', level: 1, change: { 'src/server.ts': RTM_SOURCE['src/server.ts']!.replace('"4.0"', '"4.0 SP1"') } },
  {
    id: 'Q2',
    level: 2,
    arch: ['alpha'],
    change: { 'src/platform/alpha.ts': RTM_SOURCE['src/platform/alpha.ts']!.replace("'DEC Alpha'", "'DEC Alpha AXP'") },
  },
  {
    id: 'Q3',
    level: 3,
    hotfixBase: 2,
    change: {
      'conf/inetsrv.conf': 'Port 8080\nMaxConnections 100\nConnectionTimeout 120\n',
      'src/timeouts.ts': 'export const IDLE_TIMEOUT_MS = 120_000;\n',
      'wwwroot/index.html': null,
    },
  },
];

let root: string;
let product: Awaited<ReturnType<typeof makeProduct>>;
let releases: string;

before(async () => {
  root = await tempDir('sp-release-');
  product = await makeProduct(root, FIXES);
  releases = join(root, 'releases');
  await buildReleases({ ...product, releasesDir: releases, log: () => {} });
});

const tree = (level: string, arch: string) => join(releases, `inetsrv-4.0-${level}-${arch}`);

describe('buildReleases', () => {
  it('builds RTM, every level and each hotfix build, for both architectures', async () => {
    assert.deepEqual((await readdir(releases)).sort(), [
      'inetsrv-4.0-rtm-alpha',
      'inetsrv-4.0-rtm-x86',
      'inetsrv-4.0-sp1-alpha',
      'inetsrv-4.0-sp1-x86',
      'inetsrv-4.0-sp2-alpha',
      'inetsrv-4.0-sp2-q3-alpha',
      'inetsrv-4.0-sp2-q3-x86',
      'inetsrv-4.0-sp2-x86',
      'inetsrv-4.0-sp3-alpha',
      'inetsrv-4.0-sp3-x86',
    ]);
  });

  it('lays a tree out as the contract says, with normalized modes and times', async () => {
    const listing = await fingerprint(tree('sp3', 'x86'));
    const mtime = DEFAULT_SOURCE_DATE_EPOCH * 1000;
    const byPath = new Map(listing.map((l) => [l.split(' ')[0] ?? '', l.split(' ')]));
    assert.deepEqual(
      [...byPath.keys()],
      [
        '.servicepack/',
        '.servicepack/trust/',
        '.servicepack/trust/vendor.pub',
        'BUILDINFO.json',
        'bin/',
        'bin/inetsrv',
        'conf/',
        'conf/inetsrv.conf',
        'lib/',
        'lib/cli.js',
        'lib/platform/',
        'lib/platform/types.js',
        'lib/platform/x86.js',
        'lib/server.js',
        'lib/timeouts.js',
        'package.json',
      ],
    );
    for (const [path, [, mode, , m]] of byPath) {
      const want = path.endsWith('/') || path.startsWith('bin/') ? '755' : '644';
      assert.equal(mode, want, `mode of ${path}`);
      assert.equal(Number(m), mtime, `mtime of ${path}`);
    }
    assert.equal((await stat(tree('sp3', 'x86'))).mtimeMs, mtime);
    assert.equal(
      await readFile(join(tree('sp3', 'x86'), 'package.json'), 'utf8'),
      '{\n  "name": "inetsrv",\n  "private": true,\n  "type": "module"\n}\n',
    );
    assert.equal(
      await readFile(join(tree('sp3', 'x86'), '.servicepack/trust/vendor.pub'), 'utf8'),
      product.publicKeyPem,
    );
  });

  it('writes BUILDINFO.json with level, arch, build number and hotfixes in a fixed key order', async () => {
    const text = await readFile(join(tree('sp2-q3', 'alpha'), 'BUILDINFO.json'), 'utf8');
    assert.ok(text.endsWith('}\n'));
    const info = BuildInfoSchema.parse(JSON.parse(text));
    assert.deepEqual(Object.keys(JSON.parse(text)), [
      'product',
      'displayName',
      'version',
      'level',
      'arch',
      'build',
      'hotfixes',
      'service',
      'health',
    ]);
    assert.deepEqual(info, {
      product: 'inetsrv',
      displayName: info.displayName,
      version: '4.0.0',
      level: 2,
      arch: 'alpha',
      build: '1381.2.Q3',
      hotfixes: ['Q3'],
      service: { pidFile: 'run/inetsrv.pid', start: ['bin/inetsrv', 'start', '--detach'] },
      // the health contract the release declares (issue 18): where the site's own conf says it listens
      health: {
        http: {
          conf: 'conf/inetsrv.conf',
          addressKey: 'ListenAddress',
          portKey: 'Port',
          defaultAddress: '127.0.0.1',
          defaultPort: 8080,
          path: '/',
        },
        timeoutSeconds: 10,
        runningSeconds: 3,
      },
    });
    const rtm = JSON.parse(await readFile(join(tree('rtm', 'x86'), 'BUILDINFO.json'), 'utf8')) as {
      build: string;
      level: number;
      hotfixes: string[];
    };
    assert.deepEqual([rtm.build, rtm.level, rtm.hotfixes], ['1381.0', 0, []]);
  });

  it('produces runnable ESM that loads only its own platform module', () => {
    // Also proves `import type` was erased and the `.js` specifiers were kept as written.
    assert.equal(
      execFileSync(join(tree('rtm', 'x86'), 'bin/inetsrv'), { encoding: 'utf8' }),
      'inetsrv 4.0 on Intel x86\n',
    );
    assert.equal(
      execFileSync(join(tree('sp3', 'alpha'), 'bin/inetsrv'), { encoding: 'utf8' }),
      'inetsrv 4.0 SP1 on DEC Alpha AXP\n',
    );
  });

  it('puts only the tree’s own architecture module in it', async () => {
    for (const level of ['rtm', 'sp1', 'sp2', 'sp2-q3', 'sp3']) {
      assert.ok(existsSync(join(tree(level, 'x86'), 'lib/platform/x86.js')));
      assert.ok(!existsSync(join(tree(level, 'x86'), 'lib/platform/alpha.js')), `${level}-x86 has no alpha module`);
      assert.ok(existsSync(join(tree(level, 'alpha'), 'lib/platform/alpha.js')));
      assert.ok(!existsSync(join(tree(level, 'alpha'), 'lib/platform/x86.js')), `${level}-alpha has no x86 module`);
    }
  });

  it('changes exactly the files a level’s fixes touch, plus BUILDINFO.json', async () => {
    assert.deepEqual(await changedFiles(tree('rtm', 'x86'), tree('sp1', 'x86')), ['BUILDINFO.json', 'lib/server.js']);
    assert.deepEqual(await changedFiles(tree('sp2', 'x86'), tree('sp3', 'x86')), [
      'BUILDINFO.json',
      'conf/inetsrv.conf',
      'lib/timeouts.js',
      'wwwroot/index.html',
    ]);
    assert.deepEqual(await changedFiles(tree('rtm', 'alpha'), tree('sp3', 'alpha')), [
      'BUILDINFO.json',
      'conf/inetsrv.conf',
      'lib/platform/alpha.js',
      'lib/server.js',
      'lib/timeouts.js',
      'wwwroot/index.html',
    ]);
  });

  it('ships an Alpha-only fix to Alpha only', async () => {
    assert.deepEqual(await changedFiles(tree('sp1', 'x86'), tree('sp2', 'x86')), ['BUILDINFO.json']);
    assert.deepEqual(await changedFiles(tree('sp1', 'alpha'), tree('sp2', 'alpha')), [
      'BUILDINFO.json',
      'lib/platform/alpha.js',
    ]);
  });

  it('builds a hotfix tree as its base level plus that one fix', async () => {
    assert.deepEqual(
      await changedFiles(tree('sp2', 'x86'), tree('sp2-q3', 'x86')),
      await changedFiles(tree('sp2', 'x86'), tree('sp3', 'x86')),
    );
    assert.deepEqual(await changedFiles(tree('sp2-q3', 'x86'), tree('sp3', 'x86')), ['BUILDINFO.json']);
  });

  it('gives byte-identical trees (content, modes, times) when built again', async () => {
    const again = join(root, 'again');
    await buildReleases({ ...product, releasesDir: again, log: () => {} });
    for (const name of await readdir(releases)) {
      assert.deepEqual(await fingerprint(join(again, name)), await fingerprint(join(releases, name)), name);
    }
  });

  it('replaces an existing tree whole, dropping files that no longer belong', async () => {
    const out = join(root, 'replace');
    const stray = join(out, releaseName(1, 'x86'), 'lib', 'stray.js');
    await mkdir(join(out, releaseName(1, 'x86'), 'lib'), { recursive: true });
    await writeFile(stray, 'left over\n');
    await buildRelease({ ...product, outDir: out, level: 1, arch: 'x86' });
    assert.ok(!existsSync(stray));
    assert.deepEqual(await fingerprint(join(out, releaseName(1, 'x86'))), await fingerprint(tree('sp1', 'x86')));
    assert.deepEqual(await readdir(out), [releaseName(1, 'x86')], 'no temp folder left behind');
  });

  it('removes trees of levels that are no longer in the series', async () => {
    const out = join(root, 'prune');
    await mkdir(join(out, 'inetsrv-4.0-sp9-x86'), { recursive: true });
    await mkdir(join(out, 'unrelated'), { recursive: true });
    await buildReleases({ ...product, releasesDir: out, log: () => {} });
    assert.ok(!existsSync(join(out, 'inetsrv-4.0-sp9-x86')));
    assert.ok(existsSync(join(out, 'unrelated')), 'only release trees are pruned');
  });

  it('fails naming the fix when a diff does not apply, and leaves the existing tree alone', async () => {
    const broken = await makeProduct(join(root, 'broken'), FIXES);
    const diff = join(broken.patchesDir, 'Q1', 'changes.diff');
    await writeFile(diff, (await readFile(diff, 'utf8')).replace('-export const VERSION', '-export const VERSON'));
    const out = join(root, 'broken-out');
    await buildRelease({ ...broken, outDir: out, level: 0, arch: 'x86' });
    const rtm = await fingerprint(join(out, releaseName(0, 'x86')));
    await assert.rejects(
      buildReleases({ ...broken, releasesDir: out, log: () => {} }),
      /fix Q1: .*changes\.diff: src\/server\.ts: hunk #1 .* does not apply/,
    );
    await assert.rejects(buildRelease({ ...broken, outDir: out, level: 1, arch: 'x86' }), /fix Q1:/);
    assert.deepEqual(await fingerprint(join(out, releaseName(0, 'x86'))), rtm);
    assert.ok(!existsSync(join(out, releaseName(1, 'x86'))));
  });

  it('refuses a hotfix build on a level the fix is not a hotfix for', async () => {
    await assert.rejects(
      buildRelease({ ...product, outDir: join(root, 'hf'), level: 1, arch: 'x86', hotfixes: ['Q3'] }),
      /fix Q3 is a hotfix for level 2 only/,
    );
    await assert.rejects(
      buildRelease({ ...product, outDir: join(root, 'hf'), level: 1, arch: 'x86', hotfixes: ['Q2'] }),
      /fix Q2 is not released as a hotfix/,
    );
  });

  it('reports a syntax error in a module with its file and line', async () => {
    const bad = await makeProduct(join(root, 'syntax'), [], { ...RTM_SOURCE, 'src/server.ts': 'export const x = ;\n' });
    await assert.rejects(
      buildRelease({ ...bad, outDir: join(root, 'syntax-out'), level: 0, arch: 'x86' }),
      /server\.ts:1:\d+: Expression expected/,
    );
  });

  it('takes its timestamp from SOURCE_DATE_EPOCH when set', () => {
    assert.equal(sourceDate({ SOURCE_DATE_EPOCH: '1000' }).getTime(), 1_000_000);
    assert.equal(sourceDate({}).getTime(), DEFAULT_SOURCE_DATE_EPOCH * 1000);
    assert.throws(() => sourceDate({ SOURCE_DATE_EPOCH: 'yesterday' }), /SOURCE_DATE_EPOCH must be whole seconds/);
  });
});
