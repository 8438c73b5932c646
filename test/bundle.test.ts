/**
 * The bundle (scripts/bundle.mjs). What the .deb and the npm package ship is a folder,
 * installer/dist/bundle/split/: servicepack.mjs, lib/core.mjs with what a query or verify needs, and
 * lib/ files for the rest, loaded when a command first needs them. A query must compile code from
 * the entry and core.mjs alone and load no crypto or zlib; every module is held once, so it runs once.
 *
 * The .run packs carry the one file (installer/dist/bundle/servicepack.mjs), which keeps the
 * installer's lazy boundaries too. What a run of it evaluates is read from V8's coverage of a twin
 * built without minifying (the same inputs, the same wrapping): esbuild runs a module reached through
 * a dynamic import inside a wrapper function named after the module's path, so the coverage says
 * whether it ran. A module esbuild did not wrap runs at every start, so each of them must be wrapped too.
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
const SPLIT = join(repoRoot, 'installer', 'dist', 'bundle', 'split');
const SPLIT_ENTRY = join(SPLIT, 'servicepack.mjs');
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

function node(
  args: string[],
  env: Record<string, string> = {},
  cwd = repoRoot,
): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, args, {
    cwd,
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

/** The builtins a run of `bundle` loaded (process.moduleLoadList, recorded at exit by a preload). */
function loadedBuiltins(bundle: string, args: string[]): string[] {
  const probe = join(work, 'probe.cjs');
  const record = join(work, `loaded-${args[0]}.json`);
  writeFileSync(
    probe,
    `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify(process.moduleLoadList)));\n`,
  );
  const r = node(['--require', probe, bundle, ...args]);
  assert.ok(r.code === 0, `${args.join(' ')}: exit ${r.code}\n${r.err}`);
  const list = JSON.parse(readFileSync(record, 'utf8')) as string[];
  return LAZY_BUILTINS.filter((b) => list.includes(`NativeModule ${b}`));
}

/** The files (file: URLs) a run of `args` compiled code from. */
function compiledFrom(args: string[]): string[] {
  const dir = mkdtempSync(join(work, 'coverage-'));
  const r = node(args, { NODE_V8_COVERAGE: dir });
  assert.ok(r.code === 0, `${args.join(' ')}: exit ${r.code}\n${r.err}`);
  return [...codeFiles(dir)].sort();
}

interface Metafile {
  inputs: Record<string, unknown>;
  outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>;
}

/** The packages (of LAZY) whose code is in `meta`'s outputs. */
function lazyPackagesIn(meta: Metafile): string[] {
  const held = new Set<string>();
  for (const out of Object.values(meta.outputs))
    for (const [path, i] of Object.entries(out.inputs)) {
      const pkg = packageOf(path);
      if (i.bytesInOutput > 0 && pkg !== undefined && LAZY.includes(pkg)) held.add(pkg);
    }
  return [...held].sort();
}

function commitOf(): string {
  const info = JSON.parse(readFileSync(join(repoRoot, 'installer', 'dist', 'build-info.json'), 'utf8')) as {
    commit: string;
  };
  assert.match(info.commit, /^[0-9a-f]{40}$/, 'the build ran in a git checkout');
  return info.commit;
}

describe('the bundle', () => {
  before(() => {
    for (const p of [BUNDLE, SPLIT_ENTRY, join(repoRoot, 'installer', 'dist', 'build-info.json')]) {
      if (!existsSync(p)) throw new Error(`${p} is missing: run pnpm build (npx --yes pnpm@10.34.8 run build) first`);
    }
    work = mkdtempSync(join(tmpdir(), 'sp-bundle-'));
    root = join(work, 'rtm');
    cpSync(releaseTree('inetsrv-4.0-rtm-x86'), root, { recursive: true });
    // SP6 installed through the shipped folder: a query of a tree with a state record hashes nothing
    const sp6 = join(repoRoot, 'dist', 'packs', 'inetsrv-4.0-sp6-x86.tgz');
    installCoverage = mkdtempSync(join(work, 'install-coverage-'));
    const install = node([SPLIT_ENTRY, 'install', '-u', '--accept-eula', '--root', root, sp6], {
      NODE_V8_COVERAGE: installCoverage,
    });
    assert.equal(install.code, 0, install.err);
    twin = join(work, 'twin.mjs');
    const r = node([join(repoRoot, 'scripts', 'bundle.mjs'), '--no-minify', '--outfile', twin]);
    assert.equal(r.code, 0, r.err);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  test('query through the shipped folder compiles code from servicepack.mjs and lib/core.mjs alone', () => {
    assert.deepEqual(compiledFrom([SPLIT_ENTRY, 'query', '--root', root]), [
      pathToFileURL(join(SPLIT, 'lib', 'core.mjs')).href,
      pathToFileURL(SPLIT_ENTRY).href,
    ]);
    // the same reading sees the lazy files load where they are used: --help is commander's
    const help = compiledFrom([SPLIT_ENTRY, '--help']);
    assert.ok(help.length > 2, `--help compiled only ${help.join(' ')}: the coverage is not read right`);
  });

  test('neither servicepack.mjs nor lib/core.mjs holds zod, ink, react, listr2, tar, commander or yaml (lib/ files do)', () => {
    const meta = JSON.parse(readFileSync(`${SPLIT}.meta.json`, 'utf8')) as Record<'entry' | 'core' | 'lazy', Metafile>;
    assert.deepEqual(lazyPackagesIn(meta.entry), []);
    assert.deepEqual(lazyPackagesIn(meta.core), []);
    // the reading finds them where they are: in the lazy files
    for (const pkg of ['zod', 'ink', 'react', 'listr2', 'commander', 'yaml'])
      assert.ok(lazyPackagesIn(meta.lazy).includes(pkg), `${pkg} is not in lib/`);
  });

  test('each module is in the folder once: none of lib/core.mjs is in servicepack.mjs or another lib/ file', () => {
    const meta = JSON.parse(readFileSync(`${SPLIT}.meta.json`, 'utf8')) as Record<'entry' | 'core' | 'lazy', Metafile>;
    const inCore = Object.keys(meta.core.inputs).filter((p) => p !== 'servicepack-core');
    assert.ok(inCore.includes('installer/dist/cli.js'), `core.mjs lacks cli.js: ${inCore.join(' ')}`);
    const elsewhere = [...Object.keys(meta.entry.inputs), ...Object.keys(meta.lazy.inputs)];
    assert.deepEqual(
      inCore.filter((p) => elsewhere.includes(p)),
      [],
    );
  });

  for (const [shipped, entry] of [
    ['the shipped folder', SPLIT_ENTRY],
    ['the one file', BUNDLE],
  ] as const) {
    test(`query through ${shipped} loads no crypto or zlib (verify does load crypto)`, () => {
      assert.deepEqual(loadedBuiltins(entry, ['query', '--root', root]), []);
      assert.ok(
        loadedBuiltins(entry, ['verify', '--root', root]).includes('crypto'),
        'the probe does not see crypto load',
      );
    });
  }

  test('an install through the shipped folder runs code from the folder alone (nothing from node_modules)', () => {
    const files = [...codeFiles(installCoverage)];
    assert.ok(files.length > 2, `the install compiled only ${files.join(' ')}`);
    assert.deepEqual(
      files.filter((f) => !f.startsWith(pathToFileURL(SPLIT).href + '/')),
      [],
    );
  });

  test('pack build through the shipped folder takes patches/ and the other defaults from the checkout it runs in', () => {
    // The folder is no checkout: its defaults once pointed under installer/dist (or /usr/share on a .deb)
    const out = join(work, 'built-sp6.tgz');
    const inCheckout = node([
      SPLIT_ENTRY,
      'pack',
      'build',
      '--def',
      'manifests/packs/sp6.yaml',
      '--arch',
      'x86',
      '--out',
      out,
    ]);
    assert.equal(inCheckout.code, 0, inCheckout.err);
    assert.ok(existsSync(out));
    const elsewhere = node(
      [
        SPLIT_ENTRY,
        'pack',
        'build',
        '--def',
        join(repoRoot, 'manifests', 'packs', 'sp6.yaml'),
        '--arch',
        'x86',
        '--out',
        out,
      ],
      {},
      work,
    );
    assert.equal(elsewhere.code, 1, elsewhere.err);
    assert.match(elsewhere.err, /error: patches\/series does not exist/);
  });

  test('a copy of the shipped folder elsewhere names the commit build-info.json records, and the node that runs it', () => {
    const copy = join(mkdtempSync(join(work, 'folder-')), 'servicepack');
    cpSync(SPLIT, copy, { recursive: true });
    const r = node([join(copy, 'servicepack.mjs'), '--version']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out.split('\n').slice(1, 3), [`commit ${commitOf()}`, `node ${process.version}`]);
  });

  test('query through the one file evaluates none of zod, ink, react, listr2, tar, commander, yaml', () => {
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

  test('a copy of the one file alone (as a .run unpacks it) names the commit build-info.json records, and the node', () => {
    const alone = join(mkdtempSync(join(work, 'alone-')), 'servicepack');
    copyFileSync(BUNDLE, alone);
    const r = node([alone, '--version']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out.split('\n').slice(1, 3), [`commit ${commitOf()}`, `node ${process.version}`]);
  });
});
