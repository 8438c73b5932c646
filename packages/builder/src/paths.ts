import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Repository layout (docs/layout.md §1). In a checkout this file is packages/builder/{src,dist}/paths,
 * and the layout is resolved from there so any cwd works. Bundled into the shipped CLI it lies
 * wherever the CLI is installed (/usr/share/servicepack/lib/…), which is no checkout: there the
 * vendor's checkout is the folder the command runs in, as `pack build --help` words its defaults.
 */
export const repoRoot =
  basename(resolve(here, '..')) === 'builder' && basename(resolve(here, '..', '..')) === 'packages'
    ? resolve(here, '..', '..', '..')
    : process.cwd();
export const paths = {
  repoRoot,
  inetsrvSource: join(repoRoot, 'packages', 'inetsrv'),
  patches: join(repoRoot, 'patches'),
  manifests: join(repoRoot, 'manifests'),
  dist: join(repoRoot, 'dist'),
  releases: join(repoRoot, 'dist', 'releases'),
  packs: join(repoRoot, 'dist', 'packs'),
  feed: join(repoRoot, 'dist', 'feed'),
  work: join(repoRoot, '.work'),
};
