/**
 * One-file packs (.run, docs/formats.md "One-file pack (.run)"): built once here with the real
 * `servicepack pack build --sfx` from the bundled CLI, then run as an administrator would, on a copy
 * of the RTM x86 tree with no servicepack on PATH. The wrapper adds no trust: an altered pack inside
 * is refused with exit 4 and the tree is unchanged; `install X.run` and `pack inspect X.run` read
 * only the embedded pack, and a .run whose trailer lies about the offsets is refused with exit 4.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { shebangFlags } from '../packages/builder/src/sfx.js';
import { SFX_TRAILER_BYTES, type SfxLayout, sfxTrailer } from '../packages/core/src/pack/sfx.js';
import { cli, jsonDoc, treeSnapshot } from './support/hostile.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const rtmTree = join(repo, 'dist', 'releases', 'inetsrv-4.0-rtm-x86');
const bin = join(repo, 'installer', 'bin', 'servicepack');
const bundle = join(repo, 'installer', 'dist', 'bundle', 'servicepack.mjs');
/** node and the base system only: whatever servicepack the machine may have is out of reach */
const BARE_PATH = `${dirname(process.execPath)}:/usr/bin:/bin`;

let work: string;
let run: string;
let tgz: string;
let layout: SfxLayout;

function layoutOf(bytes: Buffer): SfxLayout {
  const text = bytes.subarray(bytes.length - SFX_TRAILER_BYTES).toString('latin1');
  return JSON.parse(text.slice(text.indexOf('{')).trimEnd()) as SfxLayout;
}

async function rtmCopy(name: string): Promise<string> {
  const root = join(work, name);
  await cp(rtmTree, root, { recursive: true, verbatimSymlinks: true });
  return root;
}

/** The .run itself, as `./X.run ARGS` off a terminal. */
function execRun(file: string, args: string[]) {
  return spawnSync(file, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: BARE_PATH, HOME: work, NO_COLOR: '1' },
    timeout: 60_000,
  });
}

before(async () => {
  for (const p of [bin, bundle, rtmTree])
    if (!existsSync(p)) throw new Error(`build output missing (run pnpm build first): ${p}`);
  work = await mkdtemp(join(tmpdir(), 'sp-sfx-'));
  tgz = join(work, 'inetsrv-4.0-sp6-x86.tgz');
  const sfx = spawnSync(
    process.execPath,
    [
      bin,
      'pack',
      'build',
      '--def',
      join(repo, 'manifests', 'packs', 'sp6.yaml'),
      '--arch',
      'x86',
      '--out',
      tgz,
      '--sfx',
      '--json',
    ],
    { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, cwd: repo, timeout: 120_000 },
  );
  assert.equal(sfx.status, 0, sfx.stderr);
  run = (JSON.parse(sfx.stdout) as { sfx: string }).sfx;
  assert.equal(run, join(work, 'inetsrv-4.0-sp6-x86.run'));
  layout = layoutOf(await readFile(run));
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('one-file pack (.run)', () => {
  test('holds the signed .tgz byte for byte and the bundled installer, and is executable', async () => {
    const [r, t, b] = await Promise.all([readFile(run), readFile(tgz), readFile(bundle)]);
    assert.equal(r.subarray(0, 10).toString('latin1'), '#!/bin/sh\n');
    assert.ok(r.subarray(layout.packOffset, layout.packOffset + layout.packLength).equals(t));
    assert.ok(r.subarray(layout.bundleOffset, layout.bundleOffset + layout.bundleLength).equals(b));
    // pnpm build (the builder's build-all) writes one beside every pack
    const distRun = await readFile(join(repo, 'dist', 'packs', 'inetsrv-4.0-sp6-x86.run'));
    const d = layoutOf(distRun);
    const distTgz = await readFile(join(repo, 'dist', 'packs', 'inetsrv-4.0-sp6-x86.tgz'));
    assert.ok(distRun.subarray(d.packOffset, d.packOffset + d.packLength).equals(distTgz));
  });

  test('runs node with the flags of the installer first line, as /usr/bin/servicepack does; nothing else reaches the shell', async () => {
    const [r, b, entry] = await Promise.all([readFile(run), readFile(bundle), readFile(bin, 'utf8')]);
    const first = entry.split('\n', 1)[0]!;
    assert.ok(
      b.toString('latin1', 0, first.length + 1) === `${first}\n`,
      'the bundle starts with the first line of the entry',
    );
    assert.deepEqual(shebangFlags(b), ['--max-semi-space-size=1']);
    const stub = r.subarray(0, layout.bundleOffset).toString('utf8');
    assert.match(stub, /^exec "\$NODE" --max-semi-space-size=1 --input-type=module -e '/m);
    for (const line of [
      '#!/usr/bin/env -S node --max-semi-space-size=1; rm -rf /',
      '#!/usr/bin/env -S node $(id)',
      '#!/usr/bin/env -S node --x=1 `id`',
      '#!/usr/bin/env node',
    ])
      assert.deepEqual(shebangFlags(Buffer.from(`${line}\nimport "x";\n`)), [], line);
  });

  test('installs SP6 unattended on the RTM tree with no servicepack on PATH', async () => {
    const root = await rtmCopy('unattended');
    const onPath = spawnSync('sh', ['-c', 'command -v servicepack'], { env: { PATH: BARE_PATH } });
    assert.notEqual(onPath.status, 0, 'servicepack is on the bare PATH: the test would prove nothing');
    const r = execRun(run, ['-u', '--accept-eula', '--root', root]);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    const q = await cli(['query', '--root', root, '--json']);
    assert.equal(jsonDoc(q)['level'], 6);
    // off a terminal without -u it asks for nothing and changes nothing: the installer's refusal
    const again = execRun(run, ['--root', await rtmCopy('no-switch')]);
    assert.equal(again.status, 2, again.stderr);
    assert.match(again.stderr, /pass -u\/--yes/);
    assert.match(execRun(run, ['--help']).stdout, /one-file service pack/i);
    assert.equal(execRun(run, ['--allow-unsigned']).status, 2);
  });

  test('a .run whose embedded pack was altered is refused with exit 4 and the tree is unchanged', async () => {
    const root = await rtmCopy('altered');
    const bytes = await readFile(run);
    bytes[layout.packOffset + Math.floor(layout.packLength / 2)]! ^= 0x01;
    const altered = join(work, 'altered.run');
    await writeFile(altered, bytes, { mode: 0o755 });
    const before = await treeSnapshot(root);
    const r = execRun(altered, ['-u', '--accept-eula', '--root', root]);
    assert.equal(r.status, 4, `${r.stdout}\n${r.stderr}`);
    assert.deepEqual(await treeSnapshot(root), before);
    // an installed servicepack reads only the pack inside: the same refusal, nothing of the .run run
    const viaCli = await cli(['install', '-u', '--accept-eula', '--root', root, '--json', '--', altered]);
    assert.equal(viaCli.code, 4, viaCli.err);
    assert.deepEqual(await treeSnapshot(root), before);
  });

  test('pack inspect reads a .run like the .tgz it carries', async () => {
    const fromRun = jsonDoc(await cli(['pack', 'inspect', '--json', run]));
    const fromTgz = jsonDoc(await cli(['pack', 'inspect', '--json', tgz]));
    for (const key of ['manifest', 'signatures', 'sha256', 'size']) assert.deepEqual(fromRun[key], fromTgz[key], key);
    assert.equal(fromTgz['oneFile'], undefined);
    const w = fromRun['oneFile'] as { bundleIntact: boolean; packOffset: number };
    assert.equal(w.bundleIntact, true);
    assert.equal(w.packOffset, layout.packOffset);
    const text = await cli(['pack', 'inspect', run]);
    assert.match(text.out, /^id {10}inetsrv-4\.0-sp6$/m);
    assert.match(text.out, /one-file pack \(\.run\)/);
    // signing in place would rewrite it as a bare .tgz: the .tgz is signed and the .run built again
    const signed = await cli(['pack', 'sign', run, '--key', join(repo, 'dist', 'keys', 'dev.key')]);
    assert.equal(signed.code, 2, signed.err);
    assert.match(signed.err, /sign the \.tgz it was built from/);
  });

  test('a .run whose trailer lies about the offsets is refused with exit 4 and a clear message', async () => {
    const original = await readFile(run);
    const body = original.subarray(0, original.length - SFX_TRAILER_BYTES);
    const size = original.length;
    const cases: [string, Buffer][] = [
      ['pack beyond the end', sfxTrailer({ ...layout, packLength: layout.packLength + 4096 })],
      ['pack overlapping the bundle', sfxTrailer({ ...layout, packOffset: layout.packOffset - 100 })],
      ['huge lengths', sfxTrailer({ ...layout, bundleLength: 2 ** 52, packLength: 2 ** 52 })],
      ['no trailer', Buffer.alloc(SFX_TRAILER_BYTES, 0x20)],
      ['not JSON', Buffer.from('#SERVICEPACK-RUN/1 {"bundleOffset":'.padEnd(SFX_TRAILER_BYTES - 1, ' ') + '\n')],
    ];
    const root = await rtmCopy('hostile');
    const before = await treeSnapshot(root);
    for (const [name, trailer] of cases) {
      const file = join(work, `hostile-${name.replaceAll(' ', '-')}.run`);
      await writeFile(file, Buffer.concat([body, trailer]), { mode: 0o755 });
      assert.equal(size, body.length + trailer.length, name);
      const installed = await cli(['install', '-u', '--accept-eula', '--root', root, '--json', '--', file]);
      assert.equal(installed.code, 4, `${name}: ${installed.err}`);
      const doc = jsonDoc(installed) as { code?: string; message?: string };
      assert.equal(doc.code, 'E_CORRUPT_ARCHIVE', name);
      assert.match(doc.message ?? '', /one-file pack \(\.run\).*copy it again/, name);
      const inspected = await cli(['pack', 'inspect', file]);
      assert.equal(inspected.code, 4, name);
    }
    // run as a program: the wrapper finds no pack where its trailer points, and the installer says so
    const direct = execRun(join(work, 'hostile-pack-beyond-the-end.run'), ['-u', '--accept-eula', '--root', root]);
    assert.equal(direct.status, 4, direct.stderr);
    assert.match(direct.stderr, /one-file pack \(\.run\)/);
    assert.deepEqual(await treeSnapshot(root), before);
  });
});
