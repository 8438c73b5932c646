/**
 * startup: wall time of `servicepack query --root DIR` from the shipped bundle folder (what the .deb
 * and the npm package install: servicepack.mjs, lib/core.mjs, lazy lib/ files) against the unbundled
 * installer (installer/bin, node_modules) and `node -e 0`, on the RTM release tree with SP6 installed;
 * the folder minified and not, to choose what ships, and the one file the .run packs carry.
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
  servicepackShipped,
  servicepackNodeFlags,
} from './support/lib.js';

const ONE_FILE = join(repoRoot, 'installer', 'dist', 'bundle', 'servicepack.mjs');
const SHIPPED = servicepackShipped;
const SP6 = join(repoRoot, 'dist', 'packs', 'inetsrv-4.0-sp6-x86.tgz');

await main(async (work) => {
  const root = join(work, 'startup-rtm');
  rmSync(root, { recursive: true, force: true });
  cpSync(join(repoRoot, 'dist', 'releases', 'inetsrv-4.0-rtm-x86'), root, { recursive: true });
  // as query-release-tree: SP6 installed, so that the query reads the state record and hashes nothing
  await servicepack(['install', '--accept-eula', '--root', root, '-u', SP6], { okCodes: [10] });
  const plain = join(work, 'startup-plain');
  await run(process.execPath, [
    join(repoRoot, 'scripts', 'bundle.mjs'),
    '--no-minify',
    '--outfile',
    `${plain}.mjs`,
    '--outdir',
    plain,
  ]);
  const variants: Record<string, string[]> = {
    node: ['-e', '0'],
    // with the flags of the CLI's first line, as its path runs it
    unbundled: [...servicepackNodeFlags, servicepackBin, 'query', '--root', root],
    shipped: [...servicepackNodeFlags, SHIPPED, 'query', '--root', root],
    plain: [...servicepackNodeFlags, join(plain, 'servicepack.mjs'), 'query', '--root', root],
    oneFile: [...servicepackNodeFlags, ONE_FILE, 'query', '--root', root],
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
  row('startup-minified-vs-plain', 'shipped', 'plain', 'query of the bundle folder not minified');
  row('startup-one-file-vs-folder', 'oneFile', 'shipped', 'query of the shipped bundle folder');
  rmSync(root, { recursive: true, force: true });
});
