/**
 * Synthetic installations and packs for the install-side unit tests: small release trees built in
 * temp folders, and packs made from the difference between two trees with the core's own
 * writePack and a throwaway key, the way the builder makes the real ones.
 */
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { BuildInfo } from '../src/installation/buildinfo.js';
import { detectInstallation } from '../src/installation/detect.js';
import { hashTree, type TreeEntry } from '../src/support/hash.js';
import type { Manifest } from '../src/pack/manifest.js';
import { writePack } from '../src/pack/pack-write.js';
import type { State } from '../src/installation/state.js';
import { writeState } from '../src/installation/state-store.js';
import { generateKeyPair, parsePrivateKey } from '../src/trust/trust.js';

export const NOT_OWNED = ['.servicepack', 'wwwroot', 'logs', 'run'];

export async function tempDir(prefix = 'sp-inst-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export function buildInfo(level: number, extra: Partial<BuildInfo> = {}): BuildInfo {
  return {
    product: 'inetsrv',
    displayName: 'inetsrv web server',
    version: '4.0.0',
    level,
    arch: 'x86',
    build: `1381.${level}`,
    hotfixes: [],
    service: { pidFile: 'run/inetsrv.pid', start: ['bin/inetsrv', 'start', '--detach'] },
    ...extra,
  };
}

export type TreeSpec = Record<string, string | { content: string; mode: number }>;

/** Files of a level: RTM, then SP1 changes a.js and the config, drops old.js and adds a nested file. */
export function levelFiles(
  level: number,
  arch: 'x86' | 'alpha' = 'x86',
  bin = '#!/usr/bin/env node\nconsole.log("inetsrv");\n',
): TreeSpec {
  const files: TreeSpec = {
    'BUILDINFO.json': `${JSON.stringify(buildInfo(level, { arch }), null, 2)}\n`,
    'bin/inetsrv': { content: bin, mode: 0o755 },
    'lib/a.js': level >= 1 ? 'export const a = 2; // fixed in SP1\n' : 'export const a = 1;\n',
    'lib/b.js': 'export const b = 1;\n',
    [`lib/platform/${arch}.js`]: `export const arch = '${arch}';\n`,
    'conf/inetsrv.conf': level >= 1 ? 'Port 8080\nKeepAliveTimeout 5\n' : 'Port 8080\n',
  };
  if (level < 1) files['lib/old.js'] = 'export const old = true;\n';
  if (level >= 1) files['lib/new/c.js'] = 'export const c = 3;\n';
  if (level >= 2) files['lib/b.js'] = 'export const b = 2; // SP2\n';
  return files;
}

export async function writeTree(dir: string, files: TreeSpec): Promise<void> {
  for (const [rel, spec] of Object.entries(files)) {
    const p = join(dir, ...rel.split('/'));
    await mkdir(dirname(p), { recursive: true });
    const { content, mode } = typeof spec === 'string' ? { content: spec, mode: 0o644 } : spec;
    await writeFile(p, content);
    await chmod(p, mode);
  }
}

export interface Vendor {
  privateKeyPem: string;
  publicKeyPem: string;
  keyid: string;
}

export function makeVendor(): Vendor {
  return generateKeyPair();
}

/** A release tree as the vendor ships it: the level's files, content in wwwroot/, the vendor key in the trust store. */
export async function makeInstallation(
  level: number,
  vendor: Vendor,
  opts: { arch?: 'x86' | 'alpha'; dir?: string; bin?: string } = {},
): Promise<string> {
  const root = opts.dir ?? (await tempDir('sp-root-'));
  await writeTree(root, levelFiles(level, opts.arch, opts.bin));
  await writeTree(root, { 'wwwroot/index.html': '<h1>hello</h1>\n' });
  await mkdir(join(root, '.servicepack', 'trust'), { recursive: true });
  await writeFile(join(root, '.servicepack', 'trust', 'vendor.pub'), vendor.publicKeyPem);
  return root;
}

export interface PackSpec {
  level: number;
  /** the levels it installs on; the manifest's `from` lists hold every version those levels had */
  fromLevels: number[];
  arch?: 'x86' | 'alpha';
  kind?: 'service-pack' | 'hotfix';
  id?: string;
  baseLevel?: number;
  supersedes?: string[];
  restart?: boolean;
  config?: string[];
  /** applied to the manifest before it is written */
  edit?: (m: Manifest) => void;
  /** replaces the target tree's files before the pack is made */
  target?: TreeSpec;
  /** bin/inetsrv content of every level */
  bin?: string;
}

/** Makes a signed pack from level tree(s) to the target level, like the builder does. */
export async function makePack(
  vendor: Vendor | Vendor[],
  spec: PackSpec,
  outDir?: string,
): Promise<{ path: string; manifest: Manifest }> {
  const arch = spec.arch ?? 'x86';
  const work = await tempDir('sp-packsrc-');
  const targetDir = join(work, 'target');
  await writeTree(targetDir, spec.target ?? levelFiles(spec.level, arch, spec.bin));
  const target = await hashTree(targetDir);
  const earlier: Map<string, TreeEntry>[] = [];
  for (const l of spec.fromLevels) {
    const d = join(work, `from-${l}`);
    await writeTree(d, levelFiles(l, arch, spec.bin));
    earlier.push(await hashTree(d));
  }
  const config = new Set(spec.config ?? ['conf/inetsrv.conf']);
  const files: Manifest['files'] = [];
  const allPaths = new Set([...target.keys(), ...earlier.flatMap((t) => [...t.keys()])]);
  for (const path of [...allPaths].sort()) {
    const now = target.get(path);
    const before = earlier.map((t) => t.get(path)).filter((x): x is TreeEntry => x !== undefined);
    const from = [...new Set(before.map((b) => b.sha256).filter((h) => h !== now?.sha256))];
    if (!now) {
      files.push({ path, action: 'delete', from: [...new Set(before.map((b) => b.sha256))] });
      continue;
    }
    if (before.length > 0 && before.every((b) => b.sha256 === now.sha256 && b.mode === now.mode)) continue;
    files.push({
      path,
      action: before.length === 0 ? 'add' : 'replace',
      sha256: now.sha256,
      size: now.size,
      mode: now.mode,
      ...(config.has(path) ? { config: true } : {}),
      from,
    });
  }
  const kind = spec.kind ?? 'service-pack';
  const id = spec.id ?? `inetsrv-4.0-sp${spec.level}`;
  const manifest: Manifest = {
    format: 1,
    id,
    kind,
    product: 'inetsrv',
    title: kind === 'hotfix' ? `Hotfix ${id}` : `inetsrv 4.0 Service Pack ${spec.level}`,
    level: spec.level,
    ...(spec.baseLevel !== undefined ? { baseLevel: spec.baseLevel } : {}),
    arch,
    appliesTo: { version: '>=4.0.0 <4.1.0', levels: spec.fromLevels },
    supersedes: spec.supersedes ?? [],
    fixes: [{ id: `Q${100 + spec.level}`, title: 'a fix', summary: 'fixes a thing', level: spec.level }],
    files,
    restart: spec.restart ?? true,
    created: '2026-01-02T03:04:05.000Z',
  };
  spec.edit?.(manifest);
  const out = join(outDir ?? work, `${id}-${arch}.tgz`);
  const vendors = Array.isArray(vendor) ? vendor : [vendor];
  await writePack({
    out,
    manifest,
    privateKeys: vendors.map((v) => parsePrivateKey(v.privateKeyPem)),
    payloadDir: targetDir,
  });
  return { path: out, manifest };
}

/**
 * Every file under `dir`, .servicepack/ included: "nothing changed" means this is equal before and
 * after. Except `.servicepack/garbage/`: an earlier transaction's staging, deleted in the background
 * (garbage.ts), which may still be on its way out when a later snapshot is taken.
 */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [p, e] of await hashTree(dir, ['.servicepack'])) out[p] = `${e.sha256} ${e.mode.toString(8)}`;
  if (existsSync(join(dir, '.servicepack'))) {
    for (const [p, e] of await hashTree(join(dir, '.servicepack'), ['garbage']))
      out[`.servicepack/${p}`] = `${e.sha256} ${e.mode.toString(8)}`;
  }
  return out;
}

/**
 * The names in `.servicepack/` once the background deletion of finished transactions' staging
 * (garbage.ts) is done: waits up to 15 s for `garbage/` to go, and fails if it does not.
 */
export async function servicepackDirSettled(root: string): Promise<string[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const names = (await readdir(join(root, '.servicepack'))).sort();
    if (!names.includes('garbage')) return names;
    if (Date.now() > deadline) throw new Error(`${root}/.servicepack/garbage was not deleted within 15 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The owned part of a tree: what must equal the release tree of the level reached. */
export async function ownedSnapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [p, e] of await hashTree(dir, NOT_OWNED)) out[p] = `${e.sha256} ${e.mode.toString(8)}`;
  return out;
}

export async function levelSnapshot(level: number, arch: 'x86' | 'alpha' = 'x86'): Promise<Record<string, string>> {
  const d = await tempDir('sp-level-');
  try {
    await writeTree(d, levelFiles(level, arch));
    return await ownedSnapshot(d);
  } finally {
    await rm(d, { recursive: true, force: true });
  }
}

export async function readJson<T = unknown>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

export async function copyTree(src: string, dest: string): Promise<void> {
  await cp(src, dest, { recursive: true, preserveTimestamps: true });
}

/** A state record that matches the tree exactly, as the installer would have written it (plus `extra`). */
export async function recordAsIs(root: string, extra: Partial<State> = {}): Promise<State> {
  const inst = await detectInstallation(root);
  const state: State = {
    format: 1,
    product: inst.product,
    version: inst.version,
    arch: inst.arch,
    level: inst.level,
    hotfixes: inst.hotfixes,
    installed: [],
    files: Object.fromEntries([...inst.files].map(([p, f]) => [p, { sha256: f.sha256, size: f.size, mode: f.mode }])),
    history: [],
    ...extra,
  };
  await writeState(root, state);
  return state;
}
