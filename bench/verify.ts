/**
 * verify: `servicepack verify --root DIR` of the whole synthetic installation (every owned file
 * hashed and compared with the state record) against `sha256sum` over the same files; and the
 * peak memory of verify against `node -e 0`'s.
 */
import { ensureFixture, ensureInstalled } from './support/fixture.js';
import { log, main, median, quick, report, run, servicepack, sh, shellQuote } from './support/lib.js';

await main(async (work) => {
  const fx = await ensureFixture(work);
  const root = await ensureInstalled(work, fx);
  const rounds = quick ? 2 : 5;
  const verify: number[] = [];
  const floor: number[] = [];
  const rss: number[] = [];
  const nodeRss: number[] = [];
  const floorScript = `cd ${shellQuote(root)} && xargs -d '\\n' -a ${shellQuote(fx.ownedList)} sha256sum > /dev/null`;
  for (let i = 0; i < rounds; i++) {
    floor.push((await sh(floorScript)).seconds);
    const v = await servicepack(['verify', '--root', root], { rss: true });
    verify.push(v.seconds);
    if (v.maxRssKiB !== undefined) rss.push(v.maxRssKiB / 1024);
    const n = await run(process.execPath, ['-e', '0'], { rss: true });
    if (n.maxRssKiB !== undefined) nodeRss.push(n.maxRssKiB / 1024);
    log(`verify round ${i + 1}/${rounds}: sha256sum ${floor[i]!.toFixed(2)} s, verify ${verify[i]!.toFixed(2)} s`);
  }
  report(
    {
      name: 'verify',
      value: median(verify),
      unit: 's',
      baseline: 'sha256sum of the same files',
      baselineValue: median(floor),
      better: 'lower',
    },
    { max: 1.3 },
    { value: verify, baseline: floor },
  );
  if (rss.length > 0) {
    report(
      {
        name: 'verify-peak-rss',
        value: median(rss),
        unit: 'MiB',
        baseline: 'node -e 0',
        baselineValue: median(nodeRss),
        better: 'lower',
      },
      { valueMax: 200 },
      { value: rss, baseline: nodeRss },
    );
  }
});
