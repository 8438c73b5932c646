import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository layout (docs/layout.md §1), resolved from this package's own location so any cwd works. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
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
