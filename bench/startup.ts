/**
 * startup: wall time of `servicepack query --root DIR` from the one-file bundle (what the .deb, the
 * npm package and the .run packs ship) against the unbundled installer (installer/bin, node_modules)
 * and `node -e 0`, on the RTM release tree with SP6 installed; the bundle minified and not, to choose what ships.
 */
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  log,
  main,
  median,
  quick,
  repoRoot,
  report,
  run,
  servicepack,
  servicepackBin,
  servicepackNodeFlags,
} from './support/lib.js';

const BUNDLE = join(repoRoot, 'installer', 'dist', 'bundle', 'servicepack.mjs');
const SP6 = join(repoRoot, 'dist', 'packs', 'inetsrv-4.0-sp6-x86.tgz');

await main(async (work) => {
  const root = join(work, 'startup-rtm');
  rmSync(root, { recursive: true, force: true });
  cpSync(join(repoRoot, 'dist', 'releases', 'inetsrv-4.0-rtm-x86'), root, { recursive: true });
  // as query-release-tree: SP6 installed, so that the query reads the state record and hashes nothing
  await servicepack(['install', '--accept-eula', '--root', root, '-u', SP6], { okCodes: [10] });
  const plain = join(work, 'startup-plain.mjs');
  const minified = join(work, 'startup-minified.mjs');
  const bundler = join(repoRoot, 'scripts', 'bundle.mjs');
  await run(process.execPath, [bundler, '--no-minify', '--outfile', plain]);
  await run(process.execPath, [bundler, '--outfile', minified]);
  const variants: Record<string, string[]> = {
    node: ['-e', '0'],
    // with the flags of the CLI's first line, as its path runs it
    unbundled: [...servicepackNodeFlags, servicepackBin, 'query', '--root', root],
    shipped: [...servicepackNodeFlags, BUNDLE, 'query', '--root', root],
    plain: [...servicepackNodeFlags, plain, 'query', '--root', root],
    minified: [...servicepackNodeFlags, minified, 'query', '--root', root],
  };
  const ms: Record<string, number[]> = {};
  // one of each first: the files and node itself in the page cache, as on a machine in use
  for (const args of Object.values(variants)) await run(process.execPath, args);
  const rounds = quick ? 5 : 20;
  for (const name of Object.keys(variants)) ms[name] = [];
  for (let i = 0; i < rounds; i++) {
    for (const [name, args] of Object.entries(variants))
      ms[name]?.push((await run(process.execPath, args)).seconds * 1000);
  }
  const m = (name: string): number => median(ms[name] ?? []);
  const samples = (a: string, b: string) => ({ value: ms[a] ?? [], baseline: ms[b] ?? [] });
  log('startup: query of the RTM release tree, interleaved rounds, medians');
  const row = (name: string, value: string, baseline: string, baselineName: string, max?: number) =>
    report(
      { name, value: m(value), unit: 'ms', baseline: baselineName, baselineValue: m(baseline), better: 'lower' },
      max === undefined ? undefined : { max },
      samples(value, baseline),
    );
  row('startup-bundle', 'shipped', 'node', 'node -e 0', 1.5);
  row('startup-unbundled', 'unbundled', 'node', 'node -e 0', 1.5);
  row('startup-bundle-vs-unbundled', 'shipped', 'unbundled', 'query of installer/bin (unbundled)', 1.0);
  row('startup-minified-vs-plain', 'minified', 'plain', 'query of the bundle not minified');
  rmSync(root, { recursive: true, force: true });
});
