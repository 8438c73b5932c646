#!/usr/bin/env node
// `pnpm build`'s step before the builder: the installer and its runtime dependencies in one ESM file,
// installer/dist/bundle/servicepack.mjs, which the .deb, the npm package and the .run packs ship
// (docs/architecture.md, "The bundle"). Run after tsc and cli-docs: it bundles the compiled
// installer/dist and embeds installer/dist/build-info.json, the one record of the build's commit;
// and before build-all, which puts this bundle into every pack's .run.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const repo = fileURLToPath(new URL('..', import.meta.url));
export const BUNDLE = join(repo, 'installer', 'dist', 'bundle', 'servicepack.mjs');

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

/**
 * Bundles the installer into `outfile`. Minified, since it starts faster (bench/startup.ts measures
 * both); not minified, the lazy wrappers keep their module paths, which test/bundle.test.ts reads.
 * esbuild's record of every input goes next to it (`<outfile>.meta.json`): the packages' copyright
 * files name the modules the bundle holds from it.
 */
export async function bundle({ outfile = BUNDLE, minify = true } = {}) {
  const buildInfo = readFileSync(join(repo, 'installer', 'dist', 'build-info.json'), 'utf8');
  mkdirSync(dirname(outfile), { recursive: true });
  const result = await build({
    entryPoints: [join(repo, 'installer', 'bin', 'servicepack')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    minify,
    // the entry has no extension; it keeps its shebang, which esbuild carries to the output
    loader: { '': 'js' },
    // CommonJS dependencies call require(); an ES module has none of its own
    banner: {
      js: "import { createRequire as __spCreateRequire } from 'node:module';\nconst require = __spCreateRequire(import.meta.url);",
    },
    // React's production build: the development one is twice the size, all of it parsed at every start
    define: { __SERVICEPACK_BUILD_INFO__: JSON.stringify(buildInfo), 'process.env.NODE_ENV': '"production"' },
    plugins: [noDevtools, zodEnglishOnly, lazyBuiltins],
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  writeFileSync(`${outfile}.meta.json`, JSON.stringify(result.metafile));
  chmodSync(outfile, 0o755);
  return outfile;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // `node scripts/bundle.mjs [--no-minify] [--outfile FILE]`: the benchmark and the tests build variants
  const args = process.argv.slice(2);
  const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const out = await bundle({
    outfile: opt('--outfile'),
    minify: !args.includes('--no-minify'),
  });
  process.stdout.write(`bundle: ${out}\n`);
}
