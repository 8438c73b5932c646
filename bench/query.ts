/**
 * query: wall time of `servicepack query --root DIR` against `node -e 0` (the start-up of the
 * runtime itself), on the synthetic installation (a state record of 10,000 files) and on the real
 * SP6 release tree, installed the same way.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensureFixture, ensureInstalled } from './support/fixture.js';
import { log, main, median, quick, repoRoot, report, run, servicepack } from './support/lib.js';

async function compare(name: string, root: string, what: string): Promise<void> {
  const rounds = quick ? 5 : 15;
  const q: number[] = [];
  const n: number[] = [];
  // one of each first: the files and node itself in the page cache, as on a machine in use
  await servicepack(['query', '--root', root]);
  await run(process.execPath, ['-e', '0']);
  for (let i = 0; i < rounds; i++) {
    n.push((await run(process.execPath, ['-e', '0'])).seconds * 1000);
    q.push((await servicepack(['query', '--root', root])).seconds * 1000);
  }
  log(`${name}: ${what}`);
  report(
    { name, value: median(q), unit: 'ms', baseline: 'node -e 0', baselineValue: median(n), better: 'lower' },
    { max: 1.5 },
    { value: q, baseline: n },
  );
}

await main(async (work) => {
  const fx = await ensureFixture(work);
  const root = await ensureInstalled(work, fx);
  await compare('query', root, `synthetic installation, ${fx.spec.files} files`);
  const rtm = join(repoRoot, 'dist', 'releases', 'inetsrv-4.0-rtm-x86');
  const sp6 = join(repoRoot, 'dist', 'packs', 'inetsrv-4.0-sp6-x86.tgz');
  if (existsSync(rtm) && existsSync(sp6)) {
    const small = join(work, 'query-release');
    rmSync(small, { recursive: true, force: true });
    await run('cp', ['-a', rtm, small]);
    await servicepack(['install', '--accept-eula', '--root', small, '-u', sp6], { okCodes: [10] });
    await compare('query-release-tree', small, 'the RTM release tree with SP6 installed');
    rmSync(small, { recursive: true, force: true });
  } else log('query-release-tree: skipped (run pnpm build for dist/releases and dist/packs)');
});
