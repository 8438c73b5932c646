#!/usr/bin/env node
// `pnpm build`'s step before the builder: the installer and its runtime dependencies bundled twice
// (docs/architecture.md, "The bundle"): as one ESM file, installer/dist/bundle/servicepack.mjs, which
// the .run packs carry, and as the folder installer/dist/bundle/split/ (servicepack.mjs and lib/),
// which the .deb and the npm package install. Run after tsc and cli-docs: it bundles the compiled
// installer/dist and embeds installer/dist/build-info.json, the one record of the build's commit;
// and before build-all, which puts the one file into every pack's .run.
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const repo = fileURLToPath(new URL('..', import.meta.url));
const ENTRY = join(repo, 'installer', 'bin', 'servicepack');
/** the one file: the .run packs carry it (an install from a .run needs most of it anyway) */
export const BUNDLE = join(repo, 'installer', 'dist', 'bundle', 'servicepack.mjs');
/** the folder the .deb and the npm package ship: servicepack.mjs, lib/core.mjs and the lazy lib/ files */
export const SPLIT = join(repo, 'installer', 'dist', 'bundle', 'split');

/**
 * ink loads its devtools (react-devtools-core, ws) only when DEV=true, for debugging ink itself. The
 * bundle leaves them out: the stub fails as a missing package does, and ink says so (its own warning).
 */
const noDevtools = {
  name: 'no-ink-devtools',
  setup(b) {
    b.onResolve({ filter: /^\.\/devtools\.js$/ }, (args) =>
      /[\\/]ink[\\/]build$/.test(args.resolveDir) ? { path: 'ink-devtools', namespace: 'stub' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
      contents:
        "throw Object.assign(new Error('react-devtools-core is not in the servicepack bundle'), { code: 'ERR_MODULE_NOT_FOUND' });",
      loader: 'js',
    }));
  },
};

/**
 * zod's `z` namespace carries all its ~50 message locales (a sixth of the bundle, compiled at every
 * start); servicepack uses only the English messages zod configures by default, so `z.locales` holds `en` alone.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    // the stub's own path names no node module: the copyright files list modules from the metafile's paths
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic|core)$/.test(args.resolveDir)
        ? { path: 'en-only', namespace: 'zod-locales', pluginData: join(args.resolveDir, '..', 'locales') }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: "export { default as en } from './en.js';",
      resolveDir: args.pluginData,
      loader: 'js',
    }));
  },
};

/**
 * esbuild hoists a bundled module's `import … from 'node:crypto'` to the top of the one output file,
 * where it would load on every start, even in a module only a dynamic import() reaches (and which
 * esbuild therefore runs lazily). Through a CommonJS shim the builtin is required when the module
 * importing it runs, so `query` still loads no crypto, zlib or tty, as the unbundled installer does.
 */
const lazyBuiltins = {
  name: 'lazy-node-builtins',
  setup(b) {
    const names = new Set(builtinModules.filter((m) => !m.startsWith('_')));
    b.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) => {
      const name = args.path.replace(/^node:/, '');
      if (args.kind === 'require-call' || !names.has(name)) return undefined;
      return { path: `node:${name}`, namespace: 'lazy-builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

/** What every output shares: node 20 ESM, build-info embedded, React's production build. */
function common(minify) {
  const buildInfo = readFileSync(join(repo, 'installer', 'dist', 'build-info.json'), 'utf8');
  return {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify,
    // the entry has no extension; it keeps its shebang, which esbuild carries to the output
    loader: { '': 'js' },
    // CommonJS dependencies call require(); an ES module has none of its own
    banner: {
      js: "import { createRequire as __spCreateRequire } from 'node:module';\nconst require = __spCreateRequire(import.meta.url);",
    },
    // React's production build: the development one is twice the size, all of it parsed at every start
    define: { __SERVICEPACK_BUILD_INFO__: JSON.stringify(buildInfo), 'process.env.NODE_ENV': '"production"' },
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  };
}

/**
 * Bundles the installer into `outfile`. Minified, since it starts faster (bench/startup.ts measures
 * both); not minified, the lazy wrappers keep their module paths, which test/bundle.test.ts reads.
 * esbuild's record of every input goes next to it (`<outfile>.meta.json`): the packages' copyright
 * files name the modules the bundle holds from it, and bundleSplit plans its files from it.
 */
export async function bundle({ outfile = BUNDLE, minify = true } = {}) {
  mkdirSync(dirname(outfile), { recursive: true });
  const result = await build({
    ...common(minify),
    entryPoints: [ENTRY],
    outfile,
    plugins: [noDevtools, zodEnglishOnly, lazyBuiltins],
  });
  writeFileSync(`${outfile}.meta.json`, JSON.stringify(result.metafile));
  chmodSync(outfile, 0o755);
  return outfile;
}

/**
 * Builtins a module on every start's path must not pull in: the unbundled `query` loads none of them
 * (test/bundle.test.ts holds crypto and zlib to that).
 */
const COSTLY_BUILTINS = new Set(['crypto', 'zlib', 'worker_threads', 'child_process', 'http', 'https', 'http2', 'tls']);

/**
 * The modules lib/core.mjs holds, from the one-file build's metafile: the entry's static imports and,
 * transitively, every module a dynamic import there reaches whose static imports are servicepack's
 * own code and builtins outside COSTLY_BUILTINS (query's record reader, level rules, root checks, the
 * plain reporter). Paths are the metafile's, relative to the repository.
 */
function corePlan(metafile) {
  const inputs = metafile.inputs;
  const builtin = (p) => /^(?:lazy-builtin:)?node:(.+)$/.exec(p)?.[1];
  const own = (p) => inputs[p] !== undefined && !p.includes('node_modules/') && builtin(p) === undefined;
  const cheap = (p) => own(p) || (builtin(p) !== undefined && !COSTLY_BUILTINS.has(builtin(p)));
  const imports = (p, dynamic) =>
    (inputs[p]?.imports ?? [])
      .filter((i) => !i.external && (i.kind === 'dynamic-import') === dynamic)
      .map((i) => i.path);
  const closure = (root) => {
    const seen = new Set();
    const todo = [root];
    while (todo.length > 0) {
      const p = todo.pop();
      if (seen.has(p)) continue;
      seen.add(p);
      todo.push(...imports(p, false));
    }
    return seen;
  };
  const entry = relative(repo, ENTRY);
  const core = closure(entry);
  const costly = [...core].filter((p) => !cheap(p));
  if (costly.length > 0)
    throw new Error(`the entry's static imports reach ${costly.join(', ')}: keep them behind import()`);
  for (let grown = true; grown; ) {
    grown = false;
    for (const p of [...core]) {
      for (const target of imports(p, true)) {
        if (core.has(target)) continue;
        const reach = closure(target);
        if (![...reach].every(cheap)) continue;
        for (const r of reach) core.add(r);
        grown = true;
      }
    }
  }
  const modules = [...core].filter((p) => own(p) && p !== entry);
  const lazy = new Set();
  for (const p of modules) for (const t of imports(p, true)) if (!core.has(t) && builtin(t) === undefined) lazy.add(t);
  return { modules, lazy: [...lazy] };
}

/** A module of the program, not one of the build's own: builtin shims, core.mjs's source, the re-exports */
const isModule = (p) => !/^(lazy-builtin|core-from-entry|core-from-lib):/.test(p) && p !== 'servicepack-core';

/** A lazy module's file name in lib/, from its path: stable across builds, as core.mjs names it. */
function lazyName(p) {
  const tail = p.includes('node_modules/') ? p.slice(p.lastIndexOf('node_modules/') + 13) : p.replace(/\/dist\//, '/');
  return tail
    .replace(/\.[cm]?js$/, '')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/**
 * The shipped folder: `servicepack.mjs` (the entry: its shebang and one import), `lib/core.mjs` (every
 * module a query or verify needs before its first dynamic import, one file: a query compiles ~40 KB
 * instead of the one file's 1.2 MB, and opens two files), and lib/ files for the rest, loaded when a
 * command first needs them (esbuild's code splitting). A lib/ file imports what core.mjs holds from
 * core.mjs, so each module runs once per process. File names are fixed (core.mjs, the lazy modules'
 * names) or esbuild's content hashes: the same commit builds the same folder.
 */
export async function bundleSplit({ outdir = SPLIT, minify = true, metafile = `${BUNDLE}.meta.json` } = {}) {
  const plan = corePlan(JSON.parse(readFileSync(metafile, 'utf8')));
  const abs = (p) => join(repo, p);
  const inCore = new Map(plan.modules.map((p, i) => [abs(p), i]));
  const lazyFile = new Map(plan.lazy.map((p) => [abs(p), `${lazyName(p)}.mjs`]));
  const names = [...lazyFile.values(), 'core.mjs'];
  if (new Set(names).size !== names.length) throw new Error(`two lazy modules share a name: ${names.join(' ')}`);
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(join(outdir, 'lib'), { recursive: true });

  // each core module's export names, so that core.mjs can re-export them under names of its own
  const probe = await build({
    ...common(false),
    banner: {},
    entryPoints: [...inCore.keys()],
    outdir: join(outdir, 'probe'),
    splitting: true,
    write: false,
    plugins: [
      {
        name: 'outside-core-external',
        setup(b) {
          b.onResolve({ filter: /.*/ }, async (args) => {
            if (args.pluginData === 'probe' || args.kind === 'entry-point') return undefined;
            const r = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: 'probe' });
            return inCore.has(r.path) ? undefined : { path: args.path, external: true };
          });
        },
      },
    ],
  });
  const exportsOf = new Map();
  for (const out of Object.values(probe.metafile.outputs)) {
    if (out.entryPoint !== undefined) exportsOf.set(abs(out.entryPoint), out.exports);
  }
  const alias = (p, name) => `m${inCore.get(p)}$${name}`;

  // lib/core.mjs: one module re-exporting every core module's exports under m<i>$<name>
  const coreSource = [...inCore.keys()]
    .map((p) => {
      const names = exportsOf.get(p) ?? [];
      return names.length === 0
        ? `import ${JSON.stringify(p)};`
        : `export { ${names.map((n) => `${n} as ${alias(p, n)}`).join(', ')} } from ${JSON.stringify(p)};`;
    })
    .join('\n');
  const coreResult = await build({
    ...common(minify),
    stdin: { contents: coreSource, resolveDir: repo, sourcefile: 'servicepack-core', loader: 'js' },
    outfile: join(outdir, 'lib', 'core.mjs'),
    plugins: [
      {
        name: 'lazy-outside-core',
        setup(b) {
          b.onResolve({ filter: /.*/ }, async (args) => {
            if (args.pluginData === 'core' || args.kind === 'entry-point') return undefined;
            const r = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: 'core' });
            if (r.errors.length > 0 || r.external || inCore.has(r.path)) return undefined;
            const file = lazyFile.get(r.path);
            if (args.kind === 'dynamic-import' && file !== undefined) return { path: `./${file}`, external: true };
            throw new Error(`${relative(repo, args.importer)} imports ${args.path}, which lib/core.mjs cannot hold`);
          });
        },
      },
    ],
  });

  // the entry and the lazy modules; whatever they import from core.mjs's modules comes from core.mjs
  const fromCore = {
    name: 'from-core',
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.namespace.startsWith('core-from-')) return { path: args.path, external: true };
        if (args.pluginData === 'lazy' || args.kind === 'entry-point' || args.namespace !== 'file') return undefined;
        const r = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: 'lazy' });
        if (r.errors.length > 0 || !inCore.has(r.path)) return undefined;
        // the entry sits beside lib/, the lazy files in it
        return { path: r.path, namespace: args.importer === ENTRY ? 'core-from-entry' : 'core-from-lib' };
      });
      const load = (args) => {
        const from = JSON.stringify(args.namespace === 'core-from-entry' ? './lib/core.mjs' : './core.mjs');
        const names = exportsOf.get(args.path) ?? [];
        return {
          contents:
            names.length === 0
              ? `import ${from};`
              : `export { ${names.map((n) => `${alias(args.path, n)} as ${n}`).join(', ')} } from ${from};`,
          loader: 'js',
        };
      };
      b.onLoad({ filter: /.*/, namespace: 'core-from-entry' }, load);
      b.onLoad({ filter: /.*/, namespace: 'core-from-lib' }, load);
    },
  };
  // the entry alone, so that it imports core.mjs and nothing else (not even esbuild's helpers)
  const entryResult = await build({
    ...common(minify),
    banner: {},
    entryPoints: [ENTRY],
    outfile: join(outdir, 'servicepack.mjs'),
    plugins: [fromCore],
  });
  const entryInputs = Object.keys(entryResult.metafile.inputs).filter((p) => !p.startsWith('core-from-'));
  if (entryInputs.join() !== relative(repo, ENTRY))
    throw new Error(`the entry bundles ${entryInputs.join(', ')}: it must hold its own line and import the rest`);
  const lazyResult = await build({
    ...common(minify),
    entryPoints: Object.fromEntries([...lazyFile].map(([p, f]) => [f.replace(/\.mjs$/, ''), p])),
    outdir: join(outdir, 'lib'),
    outExtension: { '.js': '.mjs' },
    splitting: true,
    plugins: [noDevtools, zodEnglishOnly, fromCore],
  });
  const external = (o) => o.imports.filter((i) => i.external && i.path.startsWith('.'));
  const outputs = { ...entryResult.metafile.outputs, ...coreResult.metafile.outputs, ...lazyResult.metafile.outputs };
  for (const [file, out] of Object.entries(outputs)) {
    for (const i of external(out)) {
      const target = join(dirname(join(repo, file)), i.path);
      if (relative(outdir, target).startsWith('..')) throw new Error(`${file} imports ${i.path}, outside ${outdir}`);
    }
  }
  // each module once: one that core.mjs holds and a lib/ file too would run twice, with two states
  const twice = Object.keys(lazyResult.metafile.inputs).filter((p) => inCore.has(abs(p)));
  if (twice.length > 0) throw new Error(`lib/ files hold modules core.mjs holds: ${twice.join(', ')}`);
  // the folder holds the modules the one file does (the copyright files list them from its metafile)
  const held = new Set(
    [entryResult, coreResult, lazyResult].flatMap((r) => Object.keys(r.metafile.inputs)).filter(isModule),
  );
  const oneFile = Object.keys(JSON.parse(readFileSync(metafile, 'utf8')).inputs).filter(isModule);
  const differ = [...oneFile.filter((p) => !held.has(p)), ...[...held].filter((p) => !oneFile.includes(p))];
  if (differ.length > 0) throw new Error(`the folder and the one file hold different modules: ${differ.join(', ')}`);
  writeFileSync(
    `${outdir}.meta.json`,
    JSON.stringify({
      entry: entryResult.metafile,
      core: coreResult.metafile,
      lazy: lazyResult.metafile,
      coreModules: plan.modules,
    }),
  );
  chmodSync(join(outdir, 'servicepack.mjs'), 0o755);
  return outdir;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // `node scripts/bundle.mjs [--no-minify] [--outfile FILE [--outdir DIR]]`: the one file, then the folder
  // planned from its metafile; the benchmark and the tests build variants elsewhere (--outfile alone:
  // the one file alone, so that a variant never replaces the folder pnpm build made)
  const args = process.argv.slice(2);
  const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const minify = !args.includes('--no-minify');
  const out = await bundle({ outfile: opt('--outfile'), minify });
  process.stdout.write(`bundle: ${out}\n`);
  if (opt('--outfile') === undefined || opt('--outdir') !== undefined) {
    const dir = await bundleSplit({ outdir: opt('--outdir'), minify, metafile: `${out}.meta.json` });
    process.stdout.write(`bundle: ${dir}/\n`);
  }
}
