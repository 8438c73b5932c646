/**
 * The synthetic installation the servicing benchmarks work on: a level-5 inetsrv tree of many
 * files (10,000 / ~500 MiB; --quick 1,000 / ~50 MiB), a level-6 tree that replaces a fifth of
 * them (2,000 files / ~200 MiB), a throwaway signing key, and the pack between the two, built by
 * the vendor command line. Built once per run folder and reused by every benchmark of the run.
 *
 * Content is half incompressible (random bytes: images, archives, native code) and half text
 * (a made-up source language), so gzip does real work on one half and little on the other, as in
 * a real product tree. Sizes follow a log-normal spread (many small files, a few of several MiB).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { log, quick, run, servicepack } from './lib.js';

export interface FixtureSpec {
  files: number;
  bytes: number;
  packFiles: number;
  packBytes: number;
}

const MiB = 1024 * 1024;
export const SPEC: FixtureSpec = quick
  ? { files: 1_000, bytes: 50 * MiB, packFiles: 200, packBytes: 20 * MiB }
  : { files: 10_000, bytes: 500 * MiB, packFiles: 2_000, packBytes: 200 * MiB };

export interface Fixture {
  dir: string;
  spec: FixtureSpec;
  /** release trees as the vendor command line expects them: releases/inetsrv-4.0-sp5-x86 (old), …-sp6-x86 (new) */
  releases: string;
  oldTree: string;
  newTree: string;
  key: string;
  pub: string;
  def: string;
  /** the pack from oldTree to newTree */
  pack: string;
  /** files the pack ships (relative to newTree), for the tar baselines */
  payloadList: string;
  /** every file of the old tree the product owns (relative to oldTree), for the sha256sum baseline */
  ownedList: string;
}

/** mulberry32: a small seeded generator, so every run lays out the same sizes and names. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** Sizes with a log-normal spread, scaled so they add up to `total` exactly. */
function sizes(count: number, total: number, rand: () => number): number[] {
  const raw = Array.from({ length: count }, () => Math.exp(1.6 * gaussian(rand)));
  const sum = raw.reduce((a, b) => a + b, 0);
  const out = raw.map((r) => Math.max(16, Math.floor((r / sum) * total)));
  const diff = total - out.reduce((a, b) => a + b, 0);
  const big = out.indexOf(Math.max(...out));
  out[big] = Math.max(16, out[big]! + diff);
  return out;
}

const WORDS = (
  'const let var function return if else for while import export from class extends new this await async ' +
  'buffer socket request response header status connection server config module error value length index ' +
  'string number object array promise resolve reject stream chunk write read close open path file folder ' +
  'true false null undefined typeof instanceof try catch finally throw switch case break continue default'
).split(' ');

/** A few MiB of made-up source text; files are slices of it, so text compresses about 4:1 like real code. */
function corpus(rand: () => number, bytes: number): Buffer {
  const parts: string[] = [];
  let n = 0;
  while (n < bytes) {
    const line: string[] = [];
    const indent = '  '.repeat(Math.floor(rand() * 4));
    for (let w = 2 + Math.floor(rand() * 9); w > 0; w--) {
      line.push(
        rand() < 0.15
          ? `${WORDS[Math.floor(rand() * WORDS.length)]}${Math.floor(rand() * 1000)}`
          : WORDS[Math.floor(rand() * WORDS.length)]!,
      );
    }
    const s = `${indent}${line.join(rand() < 0.3 ? '.' : ' ')};\n`;
    parts.push(s);
    n += s.length;
  }
  const text = Buffer.from(parts.join(''));
  return Buffer.concat([text, text]);
}

function content(path: string, size: number, text: boolean, rand: () => number, words: Buffer): Buffer {
  if (!text) return randomBytes(size);
  const head = Buffer.from(`// ${path} ${randomBytes(16).toString('hex')}\n`);
  if (head.length >= size) return head.subarray(0, size);
  const half = words.length / 2;
  const start = Math.floor(rand() * (half - 1));
  const need = size - head.length;
  const body =
    need <= half
      ? words.subarray(start, start + need)
      : Buffer.concat(Array.from({ length: Math.ceil(need / half) }, () => words.subarray(0, half))).subarray(0, need);
  return Buffer.concat([head, body]);
}

function buildInfo(level: number): string {
  return `${JSON.stringify(
    {
      product: 'inetsrv',
      displayName: 'inetsrv 4.0 Web Server',
      version: '4.0.0',
      level,
      arch: 'x86',
      build: `1381.${level}`,
      hotfixes: [],
      service: { pidFile: 'run/inetsrv.pid', start: ['bin/inetsrv', 'start', '--detach'] },
    },
    null,
    2,
  )}\n`;
}

function put(file: string, data: Buffer | string, mode = 0o644): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, data, { mode });
}

/** Builds the trees and the pack under `work` unless a previous benchmark of this run already did. */
export async function ensureFixture(work: string): Promise<Fixture> {
  const dir = join(work, quick ? 'fixture-quick' : 'fixture');
  const releases = join(dir, 'releases');
  const fx: Fixture = {
    dir,
    spec: SPEC,
    releases,
    oldTree: join(releases, 'inetsrv-4.0-sp5-x86'),
    newTree: join(releases, 'inetsrv-4.0-sp6-x86'),
    key: join(dir, 'bench.key'),
    pub: join(dir, 'bench.pub'),
    def: join(dir, 'bench-sp6.yaml'),
    pack: join(dir, 'bench-sp6-x86.tgz'),
    payloadList: join(dir, 'payload.list'),
    ownedList: join(dir, 'owned.list'),
  };
  if (existsSync(join(dir, 'ready'))) return fx;
  rmSync(dir, { recursive: true, force: true });
  const t0 = performance.now();
  log(
    `fixture: ${SPEC.files} files / ${SPEC.bytes / MiB} MiB, pack of ${SPEC.packFiles} files / ${SPEC.packBytes / MiB} MiB in ${dir}`,
  );
  const rand = prng(0x5e7c1ce);
  const words = corpus(rand, 4 * MiB);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  mkdirSync(dir, { recursive: true });
  writeFileSync(fx.key, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(fx.pub, publicKey.export({ type: 'spki', format: 'pem' }));

  // The old tree: BUILDINFO, a launcher, a config file, and SPEC.files - 4 payload files in
  // 100 folders, text under lib/ and binary under res/.
  const n = SPEC.files - 4;
  const sz = sizes(n, SPEC.bytes, rand);
  const paths = sz.map((_, i) => {
    const text = i % 2 === 0;
    return `${text ? 'lib' : 'res'}/m${String(i % 100).padStart(2, '0')}/f${String(i).padStart(5, '0')}.${text ? 'js' : 'dat'}`;
  });
  put(join(fx.oldTree, 'BUILDINFO.json'), buildInfo(5));
  put(join(fx.oldTree, 'package.json'), '{"name":"inetsrv","private":true,"type":"module"}\n');
  put(join(fx.oldTree, 'bin', 'inetsrv'), '#!/usr/bin/env node\nimport "../lib/cli.js";\n', 0o755);
  put(join(fx.oldTree, 'conf', 'inetsrv.conf'), '# inetsrv 4.0 configuration\nPort = 8080\n');
  put(join(fx.oldTree, '.servicepack', 'trust', 'bench.pub'), readFileSync(fx.pub));
  for (let i = 0; i < n; i++) put(join(fx.oldTree, paths[i]!), content(paths[i]!, sz[i]!, i % 2 === 0, rand, words));

  // The new tree shares every unchanged file with the old one (hard links: it is only read) and
  // replaces SPEC.packFiles - 1 of them (plus BUILDINFO.json) with new content of SPEC.packBytes.
  const chosen = new Set<number>();
  while (chosen.size < SPEC.packFiles - 1) chosen.add(Math.floor(rand() * n));
  const chosenBytes = [...chosen].reduce((a, i) => a + sz[i]!, 0);
  const scale = SPEC.packBytes / chosenBytes;
  put(join(fx.newTree, 'BUILDINFO.json'), buildInfo(6));
  for (const f of ['package.json', 'bin/inetsrv', 'conf/inetsrv.conf']) {
    mkdirSync(dirname(join(fx.newTree, f)), { recursive: true });
    linkSync(join(fx.oldTree, f), join(fx.newTree, f));
  }
  for (let i = 0; i < n; i++) {
    const p = paths[i]!;
    if (chosen.has(i))
      put(join(fx.newTree, p), content(p, Math.max(16, Math.round(sz[i]! * scale)), i % 2 === 0, rand, words));
    else {
      mkdirSync(dirname(join(fx.newTree, p)), { recursive: true });
      linkSync(join(fx.oldTree, p), join(fx.newTree, p));
    }
  }
  const shipped = ['BUILDINFO.json', ...[...chosen].sort((a, b) => a - b).map((i) => paths[i]!)];
  writeFileSync(fx.payloadList, `${shipped.join('\n')}\n`);
  writeFileSync(
    fx.ownedList,
    `${['BUILDINFO.json', 'package.json', 'bin/inetsrv', 'conf/inetsrv.conf', ...paths].join('\n')}\n`,
  );
  writeFileSync(
    fx.def,
    [
      'id: bench-sp6',
      'kind: service-pack',
      'product: inetsrv',
      'title: Benchmark Service Pack 6',
      'level: 6',
      'appliesTo:',
      '  version: ">=4.0.0 <4.1.0"',
      '  levels: [5]',
      'fixes: []',
      'arches: [x86]',
      'created: "2026-01-01T00:00:00Z"',
      '',
    ].join('\n'),
  );
  log(`fixture: trees written in ${((performance.now() - t0) / 1000).toFixed(1)} s; building the pack`);
  const tmp = `${fx.pack}.tmp.tgz`;
  await buildPackCli(fx, tmp);
  renameSync(tmp, fx.pack);
  // the floor and the installer both start from a cold-ish but cached pack, as after a download
  await run('sync', []);
  writeFileSync(join(dir, 'ready'), '');
  log(`fixture: ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return fx;
}

/** `servicepack pack build` of the fixture's definition: the vendor's own command line. */
export function buildPackCli(fx: Fixture, out: string): ReturnType<typeof servicepack> {
  return servicepack([
    'pack',
    'build',
    '--def',
    fx.def,
    '--arch',
    'x86',
    '--key',
    fx.key,
    '--out',
    out,
    '--releases',
    fx.releases,
  ]);
}

/**
 * The old tree with the pack installed, for verify and query: a hard-linked copy (the installer
 * only ever renames files, never writes into one, so the old tree's files stay untouched) and one
 * install, so there is a state record with every file's hash to check against.
 */
export async function ensureInstalled(work: string, fx: Fixture): Promise<string> {
  const root = join(work, quick ? 'installed-quick' : 'installed');
  if (existsSync(join(root, '.servicepack', 'state.json'))) return root;
  rmSync(root, { recursive: true, force: true });
  await run('cp', ['-al', fx.oldTree, root]);
  await servicepack(['install', '--accept-eula', '--root', root, '-u', fx.pack], { okCodes: [10] });
  await run('sync', []);
  return root;
}
