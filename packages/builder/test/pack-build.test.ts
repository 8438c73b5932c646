import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type Arch,
  generateKeyPair,
  jsonSchemas,
  type ManifestFile,
  openPack,
  parsePrivateKey,
  parsePublicKey,
  stagePayload,
} from '@servicepack/core';
import { buildAllPacks, buildPack, findBaseTrees, packCreated, packFileName, writeSchemas } from '../src/pack-build.js';
import { type PackDef, parsePackDef } from '../src/pack-def.js';
import { buildInfoFor, releaseName } from '../src/release.js';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

type Tree = Record<string, string | { text: string; mode: number }>;

async function writeRelease(
  releases: string,
  level: number,
  hotfixes: string[],
  files: Tree,
  arch: Arch = 'x86',
): Promise<string> {
  const dir = join(releases, releaseName(level, arch, hotfixes));
  const all: Tree = { ...files, 'BUILDINFO.json': `${JSON.stringify(buildInfoFor(level, arch, hotfixes), null, 2)}\n` };
  for (const [p, v] of Object.entries(all)) {
    const file = join(dir, ...p.split('/'));
    await mkdir(dirname(file), { recursive: true });
    const { text, mode } = typeof v === 'string' ? { text: v, mode: 0o644 } : v;
    await writeFile(file, text);
    await chmod(file, mode);
  }
  return dir;
}

const RTM: Tree = {
  'package.json': '{"type":"module"}\n',
  'bin/inetsrv': { text: '#!/usr/bin/env node\n', mode: 0o755 },
  'lib/a.js': 'a0\n',
  'lib/b.js': 'b0\n',
  'lib/gone.js': 'gone\n',
  'lib/mode.js': 'mode\n',
  'conf/inetsrv.conf': 'Port 80\n',
  'wwwroot/index.html': '<h1>rtm</h1>\n',
  '.servicepack/trust/vendor.pub': 'key\n',
};
const SP1: Tree = { ...RTM, 'lib/a.js': 'a1\n', 'lib/new1.js': 'n1\n' };
const SP1_Q9: Tree = { ...SP1, 'lib/b.js': 'b-hotfix\n' };
const { 'lib/gone.js': _gone, ...SP1_REST } = SP1;
const SP2: Tree = {
  ...SP1_REST,
  'lib/a.js': 'a2\n',
  'lib/new2.js': 'n2\n',
  'lib/mode.js': { text: 'mode\n', mode: 0o755 },
  'conf/inetsrv.conf': 'Port 80\nKeepAlive on\n',
  'wwwroot/index.html': '<h1>sp2</h1>\n',
  '.servicepack/trust/vendor.pub': 'other key\n',
};

const DEF_YAML = `# test pack
id: inetsrv-4.0-sp2
kind: service-pack
product: inetsrv
title: inetsrv 4.0 Service Pack 2
level: 2
appliesTo:
  version: ">=4.0.0 <4.1.0"
  levels: [0, 1]
supersedes: [Q9]
eula: EULA.txt
arches: [x86]
created: "2001-02-03T04:05:06Z"
`;

describe('pack builder', () => {
  let dir: string;
  let releases: string;
  let def: PackDef;
  const pair = generateKeyPair();
  const privateKey = parsePrivateKey(pair.privateKeyPem);
  const trusted = { keyid: pair.keyid, key: parsePublicKey(pair.publicKeyPem), source: 'test' };

  before(async () => {
    dir = await mkdtempLocal();
    releases = join(dir, 'releases');
    await writeRelease(releases, 0, [], RTM);
    await writeRelease(releases, 1, [], SP1);
    await writeRelease(releases, 1, ['Q9'], SP1_Q9);
    await writeRelease(releases, 2, [], SP2);
    // not a base: other arch, and a hotfix the pack does not supersede
    await writeRelease(releases, 1, [], SP1, 'alpha');
    await writeRelease(releases, 1, ['Q8'], SP1);
    def = parsePackDef(DEF_YAML, 'sp2.yaml');
    await mkdir(join(dir, 'manifests', 'packs'), { recursive: true });
    await writeFile(join(dir, 'manifests', 'packs', 'sp2.yaml'), DEF_YAML);
    await writeFile(join(dir, 'manifests', 'EULA.txt'), 'Test EULA\n');
    const patches = join(dir, 'patches');
    for (const [id, level, hotfix] of [
      ['Q1', 1, undefined],
      ['Q9', 2, 1],
      ['Q7', 3, undefined],
    ] as const) {
      await mkdir(join(patches, id), { recursive: true });
      await writeFile(join(patches, id, 'changes.diff'), '');
      await writeFile(
        join(patches, id, 'fix.yaml'),
        `id: ${id}\ntitle: Fix ${id}\nsummary: summary of ${id}\nlevel: ${level}\n${hotfix !== undefined ? `hotfix: { baseLevel: ${hotfix} }\n` : ''}symptoms: s\ncause: c\nresolution: r\ndiffs: [changes.diff]\n`,
      );
    }
    await writeFile(join(patches, 'series'), 'Q1\nQ9\nQ7\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function mkdtempLocal(): Promise<string> {
    const { mkdtemp } = await import('node:fs/promises');
    return mkdtemp(join(tmpdir(), 'sp-packbuild-'));
  }

  it('finds the base trees the pack installs on', async () => {
    const bases = await findBaseTrees(releases, def, 'x86');
    assert.deepEqual(
      bases.map((b) => [b.level, b.hotfixes]),
      [
        [0, []],
        [1, []],
        [1, ['Q9']],
      ],
    );
  });

  it('diffs release trees into add/replace/delete with from, config and restart', async () => {
    const bases = await findBaseTrees(releases, def, 'x86');
    const built = await buildPack({
      def,
      arch: 'x86',
      newTree: join(releases, releaseName(2, 'x86')),
      oldTrees: bases,
      privateKey,
      out: join(dir, 'out', 'a.tgz'),
      created: packCreated(def, {}),
      fixes: [{ id: 'Q1', title: 't', summary: 's' }],
      eula: join(dir, 'manifests', 'EULA.txt'),
    });
    const m = built.manifest;
    const byPath = new Map<string, ManifestFile>(m.files.map((f) => [f.path, f]));
    assert.deepEqual([...byPath.keys()].sort(), [
      'BUILDINFO.json',
      'conf/inetsrv.conf',
      'lib/a.js',
      'lib/b.js',
      'lib/gone.js',
      'lib/mode.js',
      'lib/new1.js',
      'lib/new2.js',
    ]);
    assert.deepEqual(byPath.get('lib/a.js'), {
      path: 'lib/a.js',
      action: 'replace',
      sha256: sha('a2\n'),
      size: 3,
      mode: 0o644,
      from: [sha('a0\n'), sha('a1\n')].sort(),
    });
    // unchanged since RTM except in the superseded hotfix tree: shipped so the hotfix's version is replaced
    assert.equal(byPath.get('lib/b.js')?.action, 'replace');
    assert.deepEqual(byPath.get('lib/b.js')?.from, [sha('b0\n'), sha('b-hotfix\n')].sort());
    assert.deepEqual(byPath.get('lib/gone.js'), { path: 'lib/gone.js', action: 'delete', from: [sha('gone\n')] });
    // present on SP1 but not RTM: an add, with SP1's hash as a known earlier version
    assert.deepEqual(byPath.get('lib/new1.js'), {
      path: 'lib/new1.js',
      action: 'add',
      sha256: sha('n1\n'),
      size: 3,
      mode: 0o644,
      from: [sha('n1\n')],
    });
    assert.deepEqual(byPath.get('lib/new2.js')?.from, []);
    assert.equal(byPath.get('lib/new2.js')?.action, 'add');
    assert.equal(byPath.get('lib/mode.js')?.mode, 0o755);
    assert.equal(byPath.get('conf/inetsrv.conf')?.config, true);
    assert.equal(byPath.get('BUILDINFO.json')?.from.length, 3);
    assert.equal(m.restart, true);
    assert.equal(m.created, '2001-02-03T04:05:06.000Z');
    assert.deepEqual(m.documents, [{ name: 'EULA.txt', sha256: sha('Test EULA\n'), size: 10 }]);
    assert.deepEqual(built.counts, { add: 2, replace: 5, delete: 1 });
    assert.ok(
      !m.files.some(
        (f) =>
          f.path.startsWith('wwwroot/') ||
          f.path.startsWith('.servicepack/') ||
          f.path === 'bin/inetsrv' ||
          f.path === 'package.json',
      ),
    );

    // the pack opens and stages to exactly the new tree's files
    const pack = await openPack(built.out, { trustedKeys: [trusted] });
    const staged = await stagePayload(pack, join(dir, 'stage'));
    for (const [p, f] of staged.files) {
      assert.equal(
        sha(await readFile(join(staged.dir, p))),
        sha(await readFile(join(releases, releaseName(2, 'x86'), p))),
        p,
      );
      assert.equal(f.sha256, byPath.get(p)?.sha256);
    }
    assert.equal(staged.files.size, 7);
  });

  it('restart is false when only config and BUILDINFO change', async () => {
    const r = join(dir, 'releases-cfg');
    await writeRelease(r, 0, [], RTM);
    await writeRelease(r, 2, [], { ...RTM, 'conf/inetsrv.conf': 'Port 81\n' });
    const built = await buildPack({
      def,
      arch: 'x86',
      newTree: join(r, releaseName(2, 'x86')),
      oldTrees: await findBaseTrees(r, def, 'x86'),
      privateKey,
      out: join(dir, 'out', 'cfg.tgz'),
      created: packCreated(def, {}),
      fixes: [],
    }).catch((e: unknown) => e);
    // the definition names a EULA: refusing to build without it
    assert.ok(built instanceof Error && /EULA/.test(built.message));
    const noEula = parsePackDef(DEF_YAML.replace('eula: EULA.txt\n', ''), 'x.yaml');
    const ok = await buildPack({
      def: noEula,
      arch: 'x86',
      newTree: join(r, releaseName(2, 'x86')),
      oldTrees: await findBaseTrees(r, noEula, 'x86'),
      privateKey,
      out: join(dir, 'out', 'cfg.tgz'),
      created: packCreated(noEula, {}),
      fixes: [],
    });
    assert.deepEqual(
      ok.manifest.files.map((f) => f.path),
      ['BUILDINFO.json', 'conf/inetsrv.conf'],
    );
    assert.equal(ok.manifest.restart, false);
  });

  it('buildAllPacks: definitions to signed packs, byte-identical on rebuild', async () => {
    const common = {
      releasesDir: releases,
      manifestsDir: join(dir, 'manifests'),
      patchesDir: join(dir, 'patches'),
      privateKey,
      log: () => {},
      // the packs alone: whether a .run is written beside each depends on the bundle being built (test/sfx.test.ts)
      sfx: false,
    };
    const a = await buildAllPacks({ ...common, outDir: join(dir, 'packs-a') });
    const b = await buildAllPacks({ ...common, outDir: join(dir, 'packs-b') });
    assert.equal(a.length, 1);
    assert.equal(a[0]!.out, join(dir, 'packs-a', 'inetsrv-4.0-sp2-x86.tgz'));
    assert.equal(sha(await readFile(a[0]!.out)), sha(await readFile(b[0]!.out)));
    assert.equal(a[0]!.sha256, b[0]!.sha256);
    // fixes: the series up to level 2, each once
    assert.deepEqual(
      a[0]!.manifest.fixes.map((f) => f.id),
      ['Q1', 'Q9'],
    );
    assert.equal(a[0]!.manifest.fixes[0]!.title, 'Fix Q1');
    const listing = execFileSync('tar', ['-tzf', a[0]!.out], { encoding: 'utf8' }).trim().split('\n');
    assert.deepEqual(listing.slice(0, 2), ['servicepack.json', 'servicepack.sig']);
    assert.equal(listing.at(-1), 'EULA.txt');
    // a stale pack from a removed definition is cleaned up
    await writeFile(join(dir, 'packs-a', 'old-x86.tgz'), 'stale');
    await buildAllPacks({ ...common, outDir: join(dir, 'packs-a') });
    assert.deepEqual((await import('node:fs')).readdirSync(join(dir, 'packs-a')), ['inetsrv-4.0-sp2-x86.tgz']);
    // SOURCE_DATE_EPOCH wins over the definition's date
    assert.equal(packCreated(def, { SOURCE_DATE_EPOCH: '86400' }), '1970-01-02T00:00:00.000Z');
  });

  it('hotfix definitions: name, fixes and bases', async () => {
    const hf = parsePackDef(
      'id: Q9\nkind: hotfix\nproduct: inetsrv\ntitle: Hotfix Q9\nlevel: 1\nbaseLevel: 1\nappliesTo: { version: "4.0.0", levels: [1] }\narches: [x86]\n',
      'q9.yaml',
    );
    assert.equal(packFileName(hf, 'x86'), 'inetsrv-4.0-sp1-q9-x86.tgz');
    const bases = await findBaseTrees(releases, hf, 'x86');
    assert.deepEqual(
      bases.map((b) => [b.level, b.hotfixes]),
      [[1, []]],
    );
  });

  it('pack definitions report errors with file, line and key', () => {
    assert.throws(() => parsePackDef(`${DEF_YAML}colour: blue\n`, 'sp2.yaml'), /sp2\.yaml:14: unknown key colour/);
    assert.throws(
      () => parsePackDef(DEF_YAML.replace('levels: [0, 1]', 'levels: [0, 2]'), 'sp2.yaml'),
      /sp2\.yaml:9: appliesTo\.levels: a service pack installs only on levels below/,
    );
    assert.throws(() => parsePackDef(DEF_YAML.replace('kind: service-pack', 'kind: hotfix'), 'sp2.yaml'), /baseLevel/);
  });

  it('writes stable JSON Schemas', async () => {
    const out = join(dir, 'schema');
    const first = await writeSchemas(out);
    // One file per schema core publishes; manifest, state and buildinfo are the contract's minimum.
    const expected = Object.keys(jsonSchemas())
      .map((n) => `${n}.schema.json`)
      .sort();
    for (const must of ['buildinfo', 'manifest', 'state']) assert.ok(expected.includes(`${must}.schema.json`));
    assert.deepEqual(first.map((f) => f.slice(out.length + 1)).sort(), expected);
    assert.deepEqual(await writeSchemas(out), []);
    const manifest = JSON.parse(await readFile(join(out, 'manifest.schema.json'), 'utf8')) as {
      properties: Record<string, unknown>;
      additionalProperties: boolean;
    };
    assert.ok('files' in manifest.properties);
    assert.equal(manifest.additionalProperties, false);
  });
});
