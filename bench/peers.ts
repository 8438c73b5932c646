/**
 * servicepack against what administrators would use instead (docs/performance.md, "Against dpkg, rpm
 * and rsync"), on the synthetic fixture, each peer set up here (bench/support/peers.ts), every pair
 * measured interleaved in the same rounds, medians:
 *
 * - apply: `servicepack install -u PACK` against `dpkg -i` of the new version's .deb (with and without
 *   --force-unsafe-io), `rpm -U` of its .rpm, `rsync -a --delete NEW/ OLD/` (no decompression, no
 *   hashing, not crash-safe) and the same with `--checksum` (every file of both trees read);
 * - uninstall: `servicepack uninstall -u` against `dpkg -i` of the old .deb and `rpm -U --oldpackage`;
 * - verify: `servicepack verify` against `dpkg --verify` (md5 of every file) and `rpm -V`;
 * - query: `servicepack query` of the 10,000-file record against `rpm -q` and `dpkg -s`.
 *
 * Each install also leaves its transaction log; the per-step times in it (stage, journal, …) are
 * printed as medians, for the stage analysis in docs/performance.md.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensureFixture, ensureInstalled, type Fixture } from './support/fixture.js';
import { log, main, median, quick, report, run, servicepack, settle, type Target } from './support/lib.js';
import { DpkgRoot, ensurePeerPackages, ensurePeerTools, PREFIX, RpmRoot } from './support/peers.js';

type Series = Record<string, number[]>;

function push(s: Series, key: string, x: number): void {
  if (!s[key]) s[key] = [];
  s[key].push(x);
}

/** One result line per peer: servicepack's median against the peer's, both from the same rounds. */
function compare(
  s: Series,
  name: string,
  ours: string,
  peer: string,
  baseline: string,
  unit: 's' | 'ms',
  target?: Target,
): void {
  const v = s[ours] ?? [];
  const b = s[peer] ?? [];
  report({ name, value: median(v), unit, baseline, baselineValue: median(b), better: 'lower' }, target, {
    value: v,
    baseline: b,
  });
}

/**
 * Seconds per step of the newest transaction in `root`, from its log (`.servicepack/log/<txid>.jsonl`):
 * a step's `started` line to its `done` line.
 */
function stepTimes(root: string): Record<string, number> {
  const dir = join(root, '.servicepack', 'log');
  const newest = readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .pop();
  if (!newest) return {};
  const started = new Map<string, number>();
  const out: Record<string, number> = {};
  for (const line of readFileSync(join(dir, newest), 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const ev = JSON.parse(line) as { time?: unknown; event?: unknown; step?: unknown; state?: unknown };
    if (ev.event !== 'step' || typeof ev.step !== 'string' || typeof ev.time !== 'string') continue;
    const t = Date.parse(ev.time);
    if (ev.state === 'started') started.set(ev.step, t);
    else if (ev.state === 'done' && started.has(ev.step)) out[ev.step] = (t - started.get(ev.step)!) / 1000;
  }
  return out;
}

async function applyAndUninstall(work: string, fx: Fixture, s: Series): Promise<void> {
  const pk = await ensurePeerPackages(fx);
  const spRoot = join(work, 'peers-sp');
  const rsyncRoot = join(work, 'peers-rsync');
  const dpkg = new DpkgRoot(join(work, 'peers-dpkg'));
  const rpm = new RpmRoot(join(work, 'peers-rpm'));
  rmSync(spRoot, { recursive: true, force: true });
  await run('cp', ['-al', fx.oldTree, spRoot]);
  // the old version installed by each tool, as the installation the upgrade starts from
  await dpkg.install(pk.deb.old);
  await rpm.init();
  await rpm.install(pk.rpm.old);
  const resetRsync = async (): Promise<void> => {
    rmSync(rsyncRoot, { recursive: true, force: true });
    await run('cp', ['-al', fx.oldTree, rsyncRoot]);
  };
  // once, not timed: the install after it finds the state record the uninstall leaves, as every
  // install does after servicepack's first (without one, detect hashes the whole tree)
  await servicepack(['install', '--accept-eula', '--root', spRoot, '-u', fx.pack], { okCodes: [10] });
  await servicepack(['uninstall', '--root', spRoot, '-u'], { okCodes: [10] });
  const steps: Series = {};
  const rounds = quick ? 1 : 5;
  const timed = async (key: string, step: () => Promise<{ seconds: number }>): Promise<void> => {
    // each step starts on a quiet file system (bench/support/lib.ts settle)
    await settle();
    push(s, key, (await step()).seconds);
  };
  const rsyncOnto = async (key: string, flags: string[]): Promise<void> => {
    await resetRsync();
    await timed(key, () => run('rsync', ['-a', '--delete', ...flags, `${fx.newTree}/`, `${rsyncRoot}/`]));
  };
  // An upgrade and the downgrade after it stay together; the groups take turns at going first, so
  // that no tool always runs right after the same neighbour (whose writes and deletions the disk may
  // still be busy with).
  const groups: Array<() => Promise<void>> = [
    async () => {
      await timed('sp-install', () =>
        servicepack(['install', '--accept-eula', '--root', spRoot, '-u', fx.pack], { okCodes: [10] }),
      );
      for (const [k, v] of Object.entries(stepTimes(spRoot))) push(steps, k, v);
      await timed('sp-uninstall', () => servicepack(['uninstall', '--root', spRoot, '-u'], { okCodes: [10] }));
    },
    async () => {
      await timed('dpkg-upgrade', () => dpkg.install(pk.deb.new));
      await timed('dpkg-downgrade', () => dpkg.install(pk.deb.old));
    },
    async () => {
      await timed('dpkg-unsafe-upgrade', () => dpkg.install(pk.deb.new, { unsafeIo: true }));
      await timed('dpkg-unsafe-downgrade', () => dpkg.install(pk.deb.old, { unsafeIo: true }));
    },
    async () => {
      await timed('rpm-upgrade', () => rpm.install(pk.rpm.new));
      await timed('rpm-downgrade', () => rpm.install(pk.rpm.old, { oldPackage: true }));
    },
    () => rsyncOnto('rsync', []),
    () => rsyncOnto('rsync-checksum', ['--checksum']),
    // rsync with the flush servicepack cannot skip (docs/transactions.md §2), for information
    () => rsyncOnto('rsync-checksum-fsync', ['--checksum', '--fsync']),
  ];
  for (let i = 0; i < rounds; i++) {
    for (let g = 0; g < groups.length; g++) await groups[(g + i * 2) % groups.length]!();
    const last = (k: string): string => (s[k]?.[i] ?? Number.NaN).toFixed(2);
    log(
      `peers apply round ${i + 1}/${rounds}: servicepack ${last('sp-install')} s (uninstall ${last('sp-uninstall')}), ` +
        `dpkg ${last('dpkg-upgrade')} (${last('dpkg-downgrade')}), unsafe-io ${last('dpkg-unsafe-upgrade')}, ` +
        `rpm ${last('rpm-upgrade')} (${last('rpm-downgrade')}), rsync ${last('rsync')}, --checksum ${last('rsync-checksum')}, + --fsync ${last('rsync-checksum-fsync')}`,
    );
  }
  log(
    `servicepack install by step (medians, from the transaction log): ${Object.entries(steps)
      .map(([k, v]) => `${k} ${median(v).toFixed(3)}`)
      .join(', ')}`,
  );
  // the new version in place for the verify section, as servicepack's installed tree is
  await dpkg.install(pk.deb.new);
  await rpm.install(pk.rpm.new);
  rmSync(spRoot, { recursive: true, force: true });
  rmSync(rsyncRoot, { recursive: true, force: true });

  const deb = 'gzip -9 .deb of the new version, private admindir';
  compare(s, 'apply-vs-dpkg', 'sp-install', 'dpkg-upgrade', `dpkg -i (${deb})`, 's');
  compare(s, 'apply-vs-dpkg-unsafe-io', 'sp-install', 'dpkg-unsafe-upgrade', 'dpkg -i --force-unsafe-io', 's');
  compare(s, 'apply-vs-rpm', 'sp-install', 'rpm-upgrade', 'rpm -U (w9.gzdio payload, --nodeps, private root)', 's');
  compare(
    s,
    'apply-vs-rsync',
    'sp-install',
    'rsync',
    'rsync -a --delete NEW/ OLD/ (no decompression, no hashing, not crash-safe)',
    's',
  );
  compare(s, 'apply-vs-rsync-checksum', 'sp-install', 'rsync-checksum', 'rsync -a --delete --checksum', 's', {
    max: 1.0,
  });
  compare(
    s,
    'apply-vs-rsync-checksum-fsync',
    'sp-install',
    'rsync-checksum-fsync',
    'rsync -a --delete --checksum --fsync (flushes every file it writes)',
    's',
  );
  compare(s, 'uninstall-vs-dpkg', 'sp-uninstall', 'dpkg-downgrade', 'dpkg -i of the old version', 's');
  compare(s, 'uninstall-vs-rpm', 'sp-uninstall', 'rpm-downgrade', 'rpm -U --oldpackage of the old version', 's');
  return verifyAndQuery(work, fx, dpkg, rpm, s);
}

async function verifyAndQuery(work: string, fx: Fixture, dpkg: DpkgRoot, rpm: RpmRoot, s: Series): Promise<void> {
  const root = await ensureInstalled(work, fx);
  const rounds = quick ? 2 : 5;
  for (let i = 0; i < rounds; i++) {
    push(s, 'sp-verify', (await servicepack(['verify', '--root', root])).seconds);
    push(s, 'dpkg-verify', (await dpkg.verify()).seconds);
    push(s, 'rpm-verify', (await rpm.verify()).seconds);
  }
  compare(s, 'verify-vs-dpkg', 'sp-verify', 'dpkg-verify', `dpkg --verify (md5 of every file under /${PREFIX})`, 's');
  compare(s, 'verify-vs-rpm', 'sp-verify', 'rpm-verify', 'rpm -V (sha256 of every file)', 's', { max: 1.0 });

  // one of each first: the records and the tools in the page cache, as on a machine in use
  await servicepack(['query', '--root', root]);
  await rpm.query();
  await dpkg.query();
  for (let i = 0; i < (quick ? 5 : 15); i++) {
    push(s, 'sp-query', (await servicepack(['query', '--root', root])).seconds * 1000);
    push(s, 'rpm-query', (await rpm.query()).seconds * 1000);
    push(s, 'dpkg-query', (await dpkg.query()).seconds * 1000);
  }
  compare(s, 'query-vs-rpm', 'sp-query', 'rpm-query', `rpm -q (a ${fx.spec.files}-file package)`, 'ms');
  compare(s, 'query-vs-dpkg', 'sp-query', 'dpkg-query', `dpkg -s (a ${fx.spec.files}-file package)`, 'ms');
}

await main(async (work) => {
  await ensurePeerTools();
  const fx = await ensureFixture(work);
  const s: Series = {};
  try {
    await applyAndUninstall(work, fx, s);
  } finally {
    for (const d of ['peers-sp', 'peers-rsync', 'peers-dpkg', 'peers-rpm'])
      rmSync(join(work, d), { recursive: true, force: true });
  }
});
