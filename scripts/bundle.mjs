#!/usr/bin/env node
// `pnpm build`'s step before the builder: the installer and its runtime dependencies in one ESM file,
// installer/dist/bundle/servicepack.mjs, which the .deb, the npm package and the .run packs ship
// (docs/architecture.md, "The bundle"). Run after tsc and cli-docs: it bundles the compiled
// installer/dist and embeds installer/dist/build-info.json, the one record of the build's commit;
// and before build-all, which puts this bundle into every pack's .run.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const repo = fileURLToPath(new URL('..', import.meta.url));
export const BUNDLE = join(repo, 'installer', 'dist', 'bundle', 'servicepack.mjs');

/**
 * ink imports react-devtools-core only when DEV is set; bundling it would pull in a browser
 * debugger client. A stub keeps the import resolvable and the file small.
 */
const noDevtools = {
  name: 'no-react-devtools',
  setup(b) {
    b.onResolve({ filter: /^react-devtools-core$/ }, () => ({ path: 'react-devtools-core', namespace: 'stub' }));
    b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
      contents: 'export default { initialize() {}, connectToDevTools() {} };',
      loader: 'js',
    }));
  },
};

/**
 * Bundles the installer into `outfile`. `minify` is a choice measured by bench/startup.ts; the
 * metafile (next to the bundle) names every input, for tests that check what the bundle holds.
 */
export async function bundle({ outfile = BUNDLE, minify = false } = {}) {
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
    define: { __SERVICEPACK_BUILD_INFO__: JSON.stringify(buildInfo) },
    plugins: [noDevtools],
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  writeFileSync(`${outfile}.meta.json`, JSON.stringify(result.metafile));
  chmodSync(outfile, 0o755);
  return outfile;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(`bundle: ${await bundle()}\n`);
}
