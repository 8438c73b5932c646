// The node modules the bundle holds, read from its metafile (scripts/bundle.mjs writes it; esbuild's
// input paths, relative to the repository): one reading for the .deb's copyright file and the npm
// package's notices, so both name exactly what is in the shipped file.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Each bundled package once, by name and sorted, with its package.json and license text ('' when it
 * ships none). Throws when the metafile is missing or names a package that is not in the repository.
 */
export function bundledModules(repo, bundle) {
  const metafile = `${bundle}.meta.json`;
  if (!existsSync(metafile))
    throw new Error(`${relative(repo, metafile)} is missing: run the whole build (pnpm build)`);
  const byName = new Map();
  for (const input of Object.keys(JSON.parse(readFileSync(metafile, 'utf8')).inputs).sort()) {
    const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m === null) continue;
    const dir = join(repo, m[1]);
    if (!existsSync(join(dir, 'package.json')))
      throw new Error(`${relative(repo, metafile)} names ${m[1]}, which is not in the repository`);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    if (pkg.name.startsWith('@servicepack/') || byName.has(pkg.name)) continue;
    const licenseFile = readdirSync(dir).find((f) => /^licen[sc]e/i.test(f));
    byName.set(pkg.name, {
      dir,
      pkg,
      licenseText: licenseFile === undefined ? '' : readFileSync(join(dir, licenseFile), 'utf8'),
    });
  }
  return [...byName.values()].sort((a, b) => (a.pkg.name < b.pkg.name ? -1 : 1));
}
