import { MAX_REL_PATH, unsafePathReason } from '../pack/archive-path.js';
import { isOwnedPath } from '../support/fsutil.js';
import { BACKUP_DIR } from './names.js';

/**
 * The path rules for the records read back (state record, backup record, BUILDINFO.json), in a
 * module of their own: the zod schemas (state.ts, buildinfo.ts) and the zod-free checks
 * (record-check.ts) both apply them, and record-check.ts needs the schemas' types, so the rules
 * cannot live in either without an import cycle.
 */

/**
 * Why `p` is not the path of one of the product's own files: the path rule, then not inside the
 * folders the installer, the content and the server keep. The rule for every product path a record
 * read back names (state record, backup record): such paths are renamed, deleted and walked up to
 * the root, so an absolute or `..` path in a forged record would reach outside the tree, or never
 * reach the top (`posix.dirname('/')` is `/`).
 */
export function ownedPathReason(p: string): string | undefined {
  if (p.length <= MAX_REL_PATH && PLAIN_OWNED_PATH.test(p)) return undefined;
  return unsafePathReason(p) ?? (isOwnedPath(p) ? undefined : 'not a file the product owns');
}

/**
 * The usual product path, which ownedPathReason accepts without the general rules: up to 32
 * segments of ASCII letters, digits, `_`, `+`, `-` and inner dots (so no empty, `.` or `..`
 * segment, nothing ending in a dot, no colon, backslash or control character), no Windows device
 * name, and not under a folder the product does not own. A state record names every file of the
 * installation and `query` reads it in a one-shot process: the general rules cost about 80 ms
 * there on 10,000 files, this one regex a few. Whatever it does not match goes to the general rules.
 */
const PLAIN_SEGMENT = String.raw`(?!(?:con|prn|aux|nul|com[0-9]|lpt[0-9])(?:\.|/|$))[A-Za-z0-9_+-](?:[A-Za-z0-9_.+-]*[A-Za-z0-9_+-])?`;
const PLAIN_OWNED_PATH = new RegExp(
  `^(?!(?:wwwroot|logs|run)(?:/|$))${PLAIN_SEGMENT}(?:/${PLAIN_SEGMENT}){0,31}$`,
  'i',
);

/** Why `rel` (under .servicepack/) is not a pack's backup folder `backup/<pack id>`: uninstall reads the record there, restores from it and deletes it. */
export function backupFolderReason(rel: string): string | undefined {
  const why = unsafePathReason(rel);
  if (why !== undefined) return why;
  const segs = rel.split('/');
  return segs.length === 2 && segs[0] === BACKUP_DIR ? undefined : `not a folder ${BACKUP_DIR}/<pack id>`;
}

/**
 * Why a path in BUILDINFO.json's service block (the pid file; the start program when it is named by
 * a path, a bare name being looked up in PATH) is not a file inside the installation, or undefined.
 * service.ts resolves these against the root, reads the pid file and runs the program as root: the
 * one rule for them, applied wherever a BUILDINFO.json is believed (BuildInfoSchema, checkedBuildInfo,
 * so a pack's own BUILDINFO.json too) and again by service.ts before it resolves one.
 */
export function servicePathReason(rel: string): string | undefined {
  return unsafePathReason(rel);
}

/** The first of BUILDINFO.json's service paths that servicePathReason refuses, worded for a message. */
export function serviceBlockReason(service: { pidFile: string; start: readonly string[] }): string | undefined {
  const program = service.start[0];
  for (const [field, rel] of [
    ['pidFile', service.pidFile],
    ['start', program?.includes('/') ? program : undefined],
  ] as const) {
    const why = rel === undefined ? undefined : servicePathReason(rel);
    if (why !== undefined)
      return `service.${field} ${JSON.stringify(rel)} is not a path inside the installation (${why})`;
  }
  return undefined;
}
