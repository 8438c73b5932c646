import { readFileSync } from 'node:fs';

/**
 * `servicepack --version`: the version, the commit the build came from and the Node that runs it,
 * which is what a bug report needs. The commit is recorded by the build (build.ts) in
 * installer/dist/build-info.json; a tree not built from a git checkout says "unknown".
 */

/** installer/dist/build-info.json, next to the compiled program */
export const BUILD_INFO = new URL('../build-info.json', import.meta.url);

/**
 * The bundle (scripts/bundle.mjs) carries build-info.json's text in this constant (esbuild `define`), since
 * it is copied to places (a .deb, an npm package, a .run) where no build-info.json lies next to it.
 */
declare const __SERVICEPACK_BUILD_INFO__: string | undefined;

function buildInfoText(file: URL | string): string {
  if (file === BUILD_INFO && typeof __SERVICEPACK_BUILD_INFO__ === 'string') return __SERVICEPACK_BUILD_INFO__;
  return readFileSync(file, 'utf8');
}

/** a full commit hash: what build-info.json may hold, anything else is shown as "unknown" */
export const COMMIT = /^[0-9a-f]{40}$/;

/** The commit build-info.json records; anything but a commit hash (a hand-edited file, no file) is "unknown". */
export function builtCommit(file: URL | string = BUILD_INFO): string {
  try {
    const info: unknown = JSON.parse(buildInfoText(file));
    const commit = typeof info === 'object' && info !== null ? (info as { commit?: unknown }).commit : undefined;
    return typeof commit === 'string' && COMMIT.test(commit) ? commit : 'unknown';
  } catch {
    return 'unknown';
  }
}

export function versionText(version: string, file: URL | string = BUILD_INFO): string {
  return `servicepack ${version}\ncommit ${builtCommit(file)}\nnode ${process.version}\n`;
}
