import { readFileSync } from 'node:fs';

/**
 * `servicepack --version`: the version, the commit the build came from and the Node that runs it,
 * which is what a bug report needs. The commit is recorded by the build (build.ts) in
 * installer/dist/build-info.json; a tree not built from a git checkout says "unknown".
 */

/** installer/dist/build-info.json, next to the compiled program */
export const BUILD_INFO = new URL('../build-info.json', import.meta.url);

/** a full commit hash: what build-info.json may hold, anything else is shown as "unknown" */
export const COMMIT = /^[0-9a-f]{40}$/;

/** The commit build-info.json records; anything but a commit hash (a hand-edited file, no file) is "unknown". */
export function builtCommit(file: URL | string = BUILD_INFO): string {
  try {
    const info: unknown = JSON.parse(readFileSync(file, 'utf8'));
    const commit = typeof info === 'object' && info !== null ? (info as { commit?: unknown }).commit : undefined;
    return typeof commit === 'string' && COMMIT.test(commit) ? commit : 'unknown';
  } catch {
    return 'unknown';
  }
}

export function versionText(version: string, file: URL | string = BUILD_INFO): string {
  return `servicepack ${version}\ncommit ${builtCommit(file)}\nnode ${process.version}\n`;
}
