/**
 * apply, uninstall and the installer's peak memory.
 *
 * - apply: `servicepack install PACK --root DIR -u` of the synthetic pack onto the synthetic
 *   installation, against the floor of what any installer must do with that pack: `tar -xzf` of
 *   it (decompress and write the payload) followed by `sha256sum` of the payload (hash it).
 * - uninstall: `servicepack uninstall --root DIR -u` of that pack, against the install's own time.
 * - install-peak-rss: the install's maximum resident set, against `node -e 0`'s.
 *
 * The installation is a hard-linked copy of the old release tree: the installer only renames
 * files (originals into the backup, staged files into place), so the shared files stay as they
 * are, and install + uninstall bring the tree back byte for byte for the next round.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensureFixture } from './support/fixture.js';
import { log, main, median, quick, report, run, servicepack, settle, sh, shellQuote } from './support/lib.js';

await main(async (work) => {
  const fx = await ensureFixture(work);
  const root = join(work, 'apply-root');
  const floorDir = join(work, 'apply-floor');
  rmSync(root, { recursive: true, force: true });
  await run('cp', ['-al', fx.oldTree, root]);
  const rounds = quick ? 2 : 5;
  const floor: number[] = [];
  const durableFloor: number[] = [];
  const apply: number[] = [];
  const uninstall: number[] = [];
  const rss: number[] = [];
  const nodeRss: number[] = [];
  const floorScript = [
    `mkdir ${shellQuote(floorDir)}`,
    `tar -xzf ${shellQuote(fx.pack)} -C ${shellQuote(floorDir)}`,
    `cd ${shellQuote(join(floorDir, 'payload'))}`,
    `xargs -d '\\n' -a ${shellQuote(fx.payloadList)} sha256sum > /dev/null`,
  ].join(' && ');
  for (let i = 0; i < rounds; i++) {
    // each step starts on a quiet file system: nothing of the previous one's writes or deletions pending
    await settle();
    floor.push((await sh(floorScript)).seconds);
    // what the floor leaves out: the installer must have its staged files on disk before its
    // journal points at them (docs/transactions.md §2); `sync -f` flushes the extraction's file system
    durableFloor.push(floor[i]! + (await run('sync', ['-f', floorDir])).seconds);
    rmSync(floorDir, { recursive: true, force: true });
    await settle();
    const inst = await servicepack(['install', '--accept-eula', '--root', root, '-u', fx.pack], {
      rss: true,
      okCodes: [10],
    });
    apply.push(inst.seconds);
    if (inst.maxRssKiB !== undefined) rss.push(inst.maxRssKiB / 1024);
    await settle();
    uninstall.push((await servicepack(['uninstall', '--root', root, '-u'], { okCodes: [10] })).seconds);
    const n = await run(process.execPath, ['-e', '0'], { rss: true });
    if (n.maxRssKiB !== undefined) nodeRss.push(n.maxRssKiB / 1024);
    log(
      `apply round ${i + 1}/${rounds}: floor ${floor[i]!.toFixed(2)} s, install ${apply[i]!.toFixed(2)} s, uninstall ${uninstall[i]!.toFixed(2)} s`,
    );
  }
  rmSync(root, { recursive: true, force: true });
  const a = median(apply);
  report(
    {
      name: 'apply',
      value: a,
      unit: 's',
      baseline: 'tar -xzf + sha256sum of the payload',
      baselineValue: median(floor),
      better: 'lower',
    },
    { max: 1.5 },
    { value: apply, baseline: floor },
  );
  report(
    {
      name: 'apply-vs-durable-floor',
      value: a,
      unit: 's',
      baseline: 'tar -xzf + sha256sum + sync -f (the floor with the flush)',
      baselineValue: median(durableFloor),
      better: 'lower',
    },
    undefined,
    { value: apply, baseline: durableFloor },
  );
  report(
    {
      name: 'uninstall',
      value: median(uninstall),
      unit: 's',
      baseline: 'servicepack install (apply)',
      baselineValue: a,
      better: 'lower',
    },
    { max: 0.5 },
    { value: uninstall, baseline: apply },
  );
  if (rss.length > 0) {
    report(
      {
        name: 'install-peak-rss',
        value: median(rss),
        unit: 'MiB',
        baseline: 'node -e 0',
        baselineValue: median(nodeRss),
        better: 'lower',
      },
      { valueMax: 100 },
      { value: rss, baseline: nodeRss },
    );
  }
});
