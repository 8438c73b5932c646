/**
 * The peers of `bench/peers.ts` (docs/performance.md, "Against dpkg, rpm and rsync"): what an
 * administrator would use instead of servicepack, set up by the benchmark itself on the synthetic
 * fixture. Nothing system-wide: the tools come from Debian's packages (scripts/ensure-peers.sh), and
 * every database, admin dir, log and install root lives in the run's work folder.
 *
 * dpkg and rpm have no partial packages: the upgrade is the whole new version (10,000 files), of which
 * 2,000 differ from the installed one; both unpack everything and replace every file. The .deb is
 * gzip -9 like a pack; the .rpm's payload too (w9.gzdio), so no side wins on its codec.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Fixture } from './fixture.js';
import { log, repoRoot, run, sh, shellQuote, type Timed } from './lib.js';

/** Where the product lives inside a peer's install root, as a packaged /opt product would. */
export const PREFIX = 'opt/inetsrv';
const NAME = 'inetsrv';
/** level 5 → 4.0.5, level 6 → 4.0.6: the new version sorts after the old one for both tools. */
const VERSIONS = { old: '4.0.5', new: '4.0.6' } as const;
type Which = keyof typeof VERSIONS;

export interface PeerPackages {
  deb: Record<Which, string>;
  rpm: Record<Which, string>;
}

/** Installs dpkg-deb, rpm/rpmbuild and rsync from the distribution when missing; throws saying why not. */
export async function ensurePeerTools(): Promise<void> {
  await run('sh', [join(repoRoot, 'scripts', 'ensure-peers.sh')]);
}

function treeOf(fx: Fixture, which: Which): string {
  return which === 'old' ? fx.oldTree : fx.newTree;
}

/**
 * The product's files as a package ships them: the release tree without `.servicepack/` (the
 * installer's own folder: a trust key in the old tree), hard-linked, since it is only read.
 */
async function linkTree(fx: Fixture, which: Which, into: string): Promise<void> {
  mkdirSync(join(into, '..'), { recursive: true });
  await run('cp', ['-al', treeOf(fx, which), into]);
  rmSync(join(into, '.servicepack'), { recursive: true, force: true });
}

async function buildDeb(fx: Fixture, which: Which, dir: string, out: string): Promise<void> {
  const root = join(dir, `deb-${which}`);
  rmSync(root, { recursive: true, force: true });
  await linkTree(fx, which, join(root, PREFIX));
  mkdirSync(join(root, 'DEBIAN'), { mode: 0o755 });
  writeFileSync(
    join(root, 'DEBIAN', 'control'),
    [
      `Package: ${NAME}`,
      `Version: ${VERSIONS[which]}`,
      'Architecture: all',
      'Maintainer: servicepack bench <bench@localhost>',
      'Description: synthetic inetsrv tree of the servicepack benchmarks',
      '',
    ].join('\n'),
  );
  // what dh_md5sums writes, so that `dpkg --verify` has every file's digest to check
  await sh(
    `cd ${shellQuote(root)} && find opt -type f -print0 | sort -z | xargs -0 md5sum > DEBIAN/md5sums && chmod 644 DEBIAN/md5sums`,
  );
  await run('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z9', '--build', root, out]);
  rmSync(root, { recursive: true, force: true });
}

async function buildRpm(fx: Fixture, which: Which, dir: string, out: string): Promise<void> {
  const top = join(dir, `rpm-${which}`);
  rmSync(top, { recursive: true, force: true });
  for (const d of ['BUILD', 'RPMS', 'SOURCES', 'SPECS', 'SRPMS', 'BUILDROOT', 'tmp'])
    mkdirSync(join(top, d), { recursive: true });
  const src = join(top, 'tree');
  await linkTree(fx, which, src);
  const spec = join(top, 'SPECS', `${NAME}.spec`);
  writeFileSync(
    spec,
    [
      `Name: ${NAME}`,
      `Version: ${VERSIONS[which]}`,
      'Release: 1',
      'Summary: synthetic inetsrv tree of the servicepack benchmarks',
      'License: none',
      'BuildArch: noarch',
      // no dependency scan of 10,000 files: the benchmark installs with --nodeps anyway
      'AutoReqProv: no',
      '%description',
      'The synthetic inetsrv tree of the servicepack benchmarks.',
      '%install',
      `mkdir -p %{buildroot}/${PREFIX.split('/')[0]}`,
      `cp -al ${src} %{buildroot}/${PREFIX}`,
      '%files',
      '%defattr(-,root,root,-)',
      `/${PREFIX}`,
      '',
    ].join('\n'),
  );
  await run('rpmbuild', [
    '-bb',
    '--quiet',
    '--define',
    `_topdir ${top}`,
    '--define',
    `_tmppath ${join(top, 'tmp')}`,
    '--define',
    `_dbpath ${join(top, 'db')}`,
    '--define',
    '_binary_payload w9.gzdio',
    // none of the distribution's post-install passes (strip, byte-compile, debuginfo, build-id links)
    '--define',
    '__os_install_post %{nil}',
    '--define',
    'debug_package %{nil}',
    '--define',
    '_build_id_links none',
    spec,
  ]);
  await run('mv', [join(top, 'RPMS', 'noarch', `${NAME}-${VERSIONS[which]}-1.noarch.rpm`), out]);
  rmSync(top, { recursive: true, force: true });
}

/** The .deb and .rpm of both versions, built once per run folder (not timed). */
export async function ensurePeerPackages(fx: Fixture): Promise<PeerPackages> {
  const dir = join(fx.dir, 'peers');
  const pk: PeerPackages = {
    deb: { old: join(dir, `${NAME}_${VERSIONS.old}_all.deb`), new: join(dir, `${NAME}_${VERSIONS.new}_all.deb`) },
    rpm: { old: join(dir, `${NAME}-${VERSIONS.old}.rpm`), new: join(dir, `${NAME}-${VERSIONS.new}.rpm`) },
  };
  if (existsSync(join(dir, 'ready'))) return pk;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const t0 = performance.now();
  log('peers: building the .deb and .rpm of both versions (gzip -9, not timed)');
  // two at a time: each is one deflate stream, and the machine has two cores
  await Promise.all([buildDeb(fx, 'old', dir, pk.deb.old), buildRpm(fx, 'old', dir, pk.rpm.old)]);
  await Promise.all([buildDeb(fx, 'new', dir, pk.deb.new), buildRpm(fx, 'new', dir, pk.rpm.new)]);
  await run('sync', []);
  writeFileSync(join(dir, 'ready'), '');
  log(`peers: packages ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return pk;
}

/**
 * dpkg with a private admin dir and install root: `--admindir`, `--instdir`, `--log` name folders of
 * the run only; the package has no maintainer scripts or triggers.
 */
export class DpkgRoot {
  readonly admin: string;
  readonly inst: string;
  constructor(dir: string) {
    this.admin = join(dir, 'admin');
    this.inst = join(dir, 'root');
    rmSync(dir, { recursive: true, force: true });
    for (const d of ['info', 'updates', 'triggers']) mkdirSync(join(this.admin, d), { recursive: true });
    writeFileSync(join(this.admin, 'status'), '');
    writeFileSync(join(this.admin, 'available'), '');
    mkdirSync(this.inst, { recursive: true });
  }
  #argv(...rest: string[]): string[] {
    return [`--admindir=${this.admin}`, `--instdir=${this.inst}`, `--log=${join(this.admin, 'dpkg.log')}`, ...rest];
  }
  install(deb: string, opts: { unsafeIo?: boolean } = {}): Promise<Timed> {
    return run('dpkg', this.#argv(...(opts.unsafeIo ? ['--force-unsafe-io'] : []), '--no-triggers', '-i', deb));
  }
  /** `dpkg --verify`: every file's md5 against the package's md5sums; problems are printed, not an exit code */
  async verify(): Promise<Timed> {
    const r = await run('dpkg', this.#argv('--verify', NAME));
    if (r.stdout.trim() !== '') throw new Error(`dpkg --verify found differences:\n${r.stdout.slice(0, 2000)}`);
    return r;
  }
  query(): Promise<Timed> {
    return run('dpkg', [`--admindir=${this.admin}`, '-s', NAME]);
  }
}

/**
 * rpm with a private root and database (`--root DIR --dbpath /var/lib/rpm`, i.e. DIR/var/lib/rpm;
 * Debian's rpm would otherwise use ~/.rpmdb), `--nodeps`, no scriptlets or triggers.
 */
export class RpmRoot {
  readonly root: string;
  constructor(dir: string) {
    this.root = join(dir, 'root');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(this.root, { recursive: true });
  }
  #argv(...rest: string[]): string[] {
    return ['--root', this.root, '--dbpath', '/var/lib/rpm', ...rest];
  }
  init(): Promise<Timed> {
    return run('rpm', this.#argv('--initdb'));
  }
  install(rpm: string, opts: { oldPackage?: boolean } = {}): Promise<Timed> {
    return run(
      'rpm',
      this.#argv('-U', '--nodeps', '--noscripts', '--notriggers', ...(opts.oldPackage ? ['--oldpackage'] : []), rpm),
    );
  }
  /** `rpm -V`: every file's digest, size, mode, owner, mtime against the database; exit 1 on a difference */
  verify(): Promise<Timed> {
    return run('rpm', this.#argv('-V', NAME));
  }
  query(): Promise<Timed> {
    return run('rpm', this.#argv('-q', NAME));
  }
}
