/**
 * The one-file bundle (scripts/bundle.mjs → installer/dist/bundle/servicepack.mjs): it keeps the
 * installer's lazy boundaries (a `query` evaluates none of the dependencies behind a dynamic import
 * and loads no crypto or zlib), and a copy of it alone names the build's commit.
 *
 * What a run evaluates is read from V8's coverage of a twin built without minifying (the same
 * inputs, the same wrapping): esbuild runs a module reached through a dynamic import inside a
 * wrapper function named after the module's path, so the coverage says whether it ran. A module
 * esbuild did not wrap runs at every start, so each of them must be wrapped too.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { releaseTree, repoRoot } from './support/inetsrv.js';

const BUNDLE = join(repoRoot, 'installer', 'dist', 'bundle', 'servicepack.mjs');
/** what a query must not evaluate: the wizard, the progress display, the validation, the tar reader, the parser */
const LAZY = [
  'zod',
  'ink',
  '@inkjs/ui',
  'react',
  'react-reconciler',
  'scheduler',
  'yoga-layout',
  'listr2',
  'tar',
  'commander',
  '@commander-js/extra-typings',
  'yaml',
];
const LAZY_BUILTINS = ['crypto', 'zlib'];

let work = '';
let root = '';
let twin = '';
let installCoverage = '';

function node(args: string[], env: Record<string, string> = {}): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, args, {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The package a bundled input belongs to (pnpm's store path), or undefined for the project's own files. */
function packageOf(input: string): string | undefined {
  const names = [...input.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)];
  return names.at(-1)?.[1];
}

/** The names of the twin's wrapper functions that ran, from NODE_V8_COVERAGE's output. */
function ranWrappers(args: string[]): Set<string> {
  const dir = mkdtempSync(join(work, 'coverage-'));
  const r = node([twin, ...args], { NODE_V8_COVERAGE: dir });
  assert.ok(r.code === 0, `${args.join(' ')}: exit ${r.code}\n${r.err}`);
  const ran = new Set<string>();
  for (const f of readdirSync(dir)) {
    const cov = JSON.parse(readFileSync(join(dir, f), 'utf8')) as {
      result: { url: string; functions: { functionName: string; ranges: { count: number }[] }[] }[];
    };
    for (const script of cov.result) {
      if (!script.url.endsWith('/twin.mjs')) continue;
      for (const fn of script.functions) if ((fn.ranges[0]?.count ?? 0) > 0) ran.add(fn.functionName);
    }
  }
  return ran;
}

/** The files (file: URLs) a run compiled code from, read from NODE_V8_COVERAGE's output in `dir`. */
function codeFiles(dir: string): Set<string> {
  const files = new Set<string>();
  for (const f of readdirSync(dir)) {
    const cov = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { result: { url: string }[] };
    for (const script of cov.result) if (script.url.startsWith('file:')) files.add(script.url);
  }
  return files;
}

/** The builtins a run of the shipped bundle loaded (process.moduleLoadList, recorded at exit by a preload). */
function loadedBuiltins(args: string[]): string[] {
  const probe = join(work, 'probe.cjs');
  const record = join(work, `loaded-${args[0]}.json`);
  writeFileSync(
    probe,
    `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify(process.moduleLoadList)));\n`,
  );
  const r = node(['--require', probe, BUNDLE, ...args]);
  assert.ok(r.code === 0, `${args.join(' ')}: exit ${r.code}\n${r.err}`);
  const list = JSON.parse(readFileSync(record, 'utf8')) as string[];
  return LAZY_BUILTINS.filter((b) => list.includes(`NativeModule ${b}`));
}

describe('the one-file bundle', () => {
  before(() => {
    for (const p of [BUNDLE, join(repoRoot, 'installer', 'dist', 'build-info.json')]) {
      if (!existsSync(p)) throw new Error(`${p} is missing: run pnpm build (npx --yes pnpm@10.34.8 run build) first`);
    }
    work = mkdtempSync(join(tmpdir(), 'sp-bundle-'));
    root = join(work, 'rtm');
    cpSync(releaseTree('inetsrv-4.0-rtm-x86'), root, { recursive: true });
    // SP6 installed through the bundle: a query of a tree with a state record hashes nothing
    const sp6 = join(repoRoot, 'dist', 'packs', 'inetsrv-4.0-sp6-x86.tgz');
    installCoverage = mkdtempSync(join(work, 'install-coverage-'));
    const install = node([BUNDLE, 'install', '-u', '--accept-eula', '--root', root, sp6], {
      NODE_V8_COVERAGE: installCoverage,
    });
    assert.equal(install.code, 0, install.err);
    twin = join(work, 'twin.mjs');
    const r = node([join(repoRoot, 'scripts', 'bundle.mjs'), '--no-minify', '--outfile', twin]);
    assert.equal(r.code, 0, r.err);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  test('query through the bundle evaluates none of zod, ink, react, listr2, tar, commander, yaml', () => {
    const meta = JSON.parse(readFileSync(`${twin}.meta.json`, 'utf8')) as {
      outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>;
    };
    const inputs = Object.entries(Object.values(meta.outputs)[0]?.inputs ?? {})
      .filter(([path, i]) => i.bytesInOutput > 0 && LAZY.includes(packageOf(path) ?? ''))
      .map(([path]) => path);
    // the list is not empty because the packages are in the bundle (the wizard and install need them)
    for (const pkg of ['zod', 'ink', 'react', 'listr2', 'commander']) {
      assert.ok(
        inputs.some((p) => packageOf(p) === pkg),
        `${pkg} is not in the bundle`,
      );
    }
    const text = readFileSync(twin, 'utf8');
    const unwrapped = inputs.filter((p) => !text.includes(`${JSON.stringify(p)}(`));
    assert.deepEqual(unwrapped, [], 'modules the bundle runs at every start, not when first imported');

    const ran = ranWrappers(['query', '--root', root]);
    assert.deepEqual(
      inputs.filter((p) => ran.has(p)),
      [],
      'modules a query evaluated',
    );
    // the same reading sees them run where they are used: --help is commander's
    const help = ranWrappers(['--help']);
    assert.ok(
      inputs.some((p) => packageOf(p) === 'commander' && help.has(p)),
      '--help ran no commander module: the coverage is not read right',
    );
  });

  test('query through the shipped bundle loads no crypto or zlib (verify does load crypto)', () => {
    assert.deepEqual(loadedBuiltins(['query', '--root', root]), []);
    assert.ok(loadedBuiltins(['verify', '--root', root]).includes('crypto'), 'the probe does not see crypto load');
  });

  test('an install through the bundle runs no code but the bundle itself (nothing from node_modules)', () => {
    assert.deepEqual([...codeFiles(installCoverage)], [pathToFileURL(BUNDLE).href]);
  });

  test('a copy of the bundle alone names the commit build-info.json records, and the node that runs it', () => {
    const alone = join(mkdtempSync(join(work, 'alone-')), 'servicepack');
    copyFileSync(BUNDLE, alone);
    const info = JSON.parse(readFileSync(join(repoRoot, 'installer', 'dist', 'build-info.json'), 'utf8')) as {
      commit: string;
    };
    assert.match(info.commit, /^[0-9a-f]{40}$/, 'the build ran in a git checkout');
    const r = node([alone, '--version']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out.split('\n').slice(1, 3), [`commit ${info.commit}`, `node ${process.version}`]);
  });
});
