import { rmSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { generateKeyPair } from '@servicepack/core';
import { diffTrees } from '../src/patch.js';
import type { FileTree } from '../src/tree.js';
import { listTree } from '../src/tree.js';

const temps = new Set<string>();
// node:test's after() registered inside a before() hook fires when that hook ends, too early here.
process.once('exit', () => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

/** A temp folder removed when the test process exits. */
export async function tempDir(prefix = 'sp-builder-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temps.add(dir);
  return dir;
}

export async function writeFiles(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
}

/**
 * A miniature product with the layout of packages/inetsrv: a launcher, a config file, content, and
 * TypeScript modules including one per architecture, loaded the way inetsrv loads its own.
 */
export const RTM_SOURCE: Record<string, string> = {
  'bin/inetsrv': "#!/usr/bin/env node\nimport '../lib/cli.js';\n",
  'conf/inetsrv.conf': 'Port 8080\nMaxConnections 100\n',
  'wwwroot/index.html': '<h1>It works</h1>\n',
  'src/cli.ts': [
    "import { readFileSync } from 'node:fs';",
    "import { greeting } from './server.js';",
    "import type { Platform } from './platform/types.js';",
    '',
    "const info = JSON.parse(readFileSync(new URL('../BUILDINFO.json', import.meta.url), 'utf8')) as { arch: string };",
    "const platform = (await import('./platform/' + info.arch + '.js')) as { default: Platform };",
    "console.log(greeting() + ' on ' + platform.default.name);",
    '',
  ].join('\n'),
  'src/server.ts': [
    'export const VERSION: string = "4.0";',
    '',
    'export function greeting(): string {',
    "  return 'inetsrv ' + VERSION;",
    '}',
    '',
  ].join('\n'),
  'src/platform/types.ts': 'export interface Platform {\n  name: string;\n}\n',
  'src/platform/x86.ts':
    "import type { Platform } from './types.js';\n\nconst p: Platform = { name: 'Intel x86' };\nexport default p;\n",
  'src/platform/alpha.ts':
    "import type { Platform } from './types.js';\n\nconst p: Platform = { name: 'DEC Alpha' };\nexport default p;\n",
};

export interface FixSpec {
  id: string;
  level: number;
  hotfixBase?: number;
  arch?: string[];
  /** The files the fix changes (null deletes), on top of the tree before it. */
  change: Record<string, string | null>;
}

export function fixYaml(f: {
  id: string;
  level: number;
  hotfixBase?: number;
  arch?: string[];
  diffs?: string[];
}): string {
  return [
    `id: ${f.id}`,
    `title: Fix ${f.id}`,
    `summary: Fixes ${f.id}.`,
    `level: ${f.level}`,
    ...(f.hotfixBase !== undefined ? [`hotfix: { baseLevel: ${f.hotfixBase} }`] : []),
    'security: false',
    `arch: [${(f.arch ?? ['x86', 'alpha']).join(', ')}]`,
    'symptoms: |',
    '  Something goes wrong.',
    'cause: |',
    '  A bug.',
    'resolution: |',
    '  Fixed.',
    `diffs: [${(f.diffs ?? ['changes.diff']).join(', ')}]`,
    '',
  ].join('\n');
}

function toTree(files: Record<string, string>): FileTree {
  return new Map(Object.entries(files).map(([p, t]) => [p, Buffer.from(t)]));
}

/**
 * Writes the source tree and a patch series whose diffs are computed from successive states, the
 * way `fix refresh` would have written them.
 */
export async function makeProduct(root: string, fixes: FixSpec[], source: Record<string, string> = RTM_SOURCE) {
  const sourceDir = join(root, 'inetsrv');
  const patchesDir = join(root, 'patches');
  await writeFiles(sourceDir, source);
  // Source modes must not leak into releases: make them odd on purpose.
  await chmod(join(sourceDir, 'bin/inetsrv'), 0o700);
  await chmod(join(sourceDir, 'src/server.ts'), 0o600);
  await mkdir(patchesDir, { recursive: true });
  let state = { ...source };
  for (const f of fixes) {
    const next: Record<string, string> = { ...state };
    for (const [p, t] of Object.entries(f.change)) {
      if (t === null) delete next[p];
      else next[p] = t;
    }
    const { text } = diffTrees(toTree(state), toTree(next));
    await writeFiles(join(patchesDir, f.id), { 'fix.yaml': fixYaml(f), 'changes.diff': text });
    state = next;
  }
  await writeFile(join(patchesDir, 'series'), `# ship order\n${fixes.map((f) => f.id).join('\n')}\n`);
  return { sourceDir, patchesDir, publicKeyPem: generateKeyPair().publicKeyPem };
}

/** path + mode + sha256 (+ mtime) of every entry: equal listings mean byte-identical trees. */
export async function fingerprint(dir: string): Promise<string[]> {
  return (await listTree(dir, { mtimes: true })).map((e) => `${e.path} ${e.mode.toString(8)} ${e.sha256} ${e.mtimeMs}`);
}

/** The files whose contents differ between two trees (present in one only counts). */
export async function changedFiles(a: string, b: string): Promise<string[]> {
  const la = new Map((await listTree(a)).filter((e) => !e.path.endsWith('/')).map((e) => [e.path, e.sha256]));
  const lb = new Map((await listTree(b)).filter((e) => !e.path.endsWith('/')).map((e) => [e.path, e.sha256]));
  return [...new Set([...la.keys(), ...lb.keys()])].filter((p) => la.get(p) !== lb.get(p)).sort();
}
