/**
 * pack-build: `servicepack pack build` of the synthetic pack (diff the two release trees, hash,
 * write the signed manifest and the gzip'd tar) against `tar -cf - PAYLOAD | gzip -9`: packs are
 * compressed at gzip level 9, so the floor is compressing the same payload at the same level.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildPackCli, ensureFixture } from './support/fixture.js';
import { log, main, median, quick, report, settle, sh, shellQuote } from './support/lib.js';

await main(async (work) => {
  const fx = await ensureFixture(work);
  const out = join(work, 'pack-build.tgz');
  const tarOut = join(work, 'pack-build-tar.tgz');
  const rounds = quick ? 1 : 3;
  const build: number[] = [];
  const floor: number[] = [];
  const floorScript = `tar -cf - -C ${shellQuote(fx.newTree)} -T ${shellQuote(fx.payloadList)} | gzip -9 > ${shellQuote(tarOut)}`;
  for (let i = 0; i < rounds; i++) {
    await settle();
    floor.push((await sh(floorScript)).seconds);
    rmSync(tarOut, { force: true });
    await settle();
    build.push((await buildPackCli(fx, out)).seconds);
    rmSync(out, { force: true });
    log(
      `pack-build round ${i + 1}/${rounds}: tar | gzip -9 ${floor[i]!.toFixed(2)} s, pack build ${build[i]!.toFixed(2)} s`,
    );
  }
  report(
    {
      name: 'pack-build',
      value: median(build),
      unit: 's',
      baseline: 'tar -cf - | gzip -9 of the payload',
      baselineValue: median(floor),
      better: 'lower',
    },
    { max: 1.5 },
    { value: build, baseline: floor },
  );
});
