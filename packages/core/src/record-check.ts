import { MAX_REL_PATH, unsafePathReason } from './archive-path.js';
import type { BuildInfo } from './buildinfo.js';
import { isOwnedPath } from './fsutil.js';
import { ARCHES } from './level.js';
import { BACKUP_DIR } from './names.js';
import type { State } from './state.js';

/**
 * Schema-library-free checks of the two records `query` and `verify` read, so that they start as
 * fast as node itself: loading zod costs more than everything else those commands do on a normal
 * installation. Each check is deliberately stricter than (or as strict as) the zod schema it
 * mirrors (StateSchema, BuildInfoSchema): what passes here passes there, and whatever fails here
 * goes to the zod schema, which stays the authority and words the error.
 */

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** exactly the required keys, plus optional ones, and nothing else (zod's strictObject) */
export function keysOk(o: Obj, required: readonly string[], optional: readonly string[] = []): boolean {
  let n = 0;
  for (const k of required) {
    if (!Object.hasOwn(o, k)) return false;
    n++;
  }
  for (const k of optional) if (Object.hasOwn(o, k)) n++;
  return Object.keys(o).length === n;
}

export const str = (v: unknown): v is string => typeof v === 'string';
export const int = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const strArray = (v: unknown, each: (s: string) => boolean = () => true): boolean => Array.isArray(v) && v.every((x) => str(x) && each(x));
const ARCH: ReadonlySet<string> = new Set(ARCHES);
export const SHA256 = /^[0-9a-f]{64}$/;

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
const PLAIN_OWNED_PATH = new RegExp(`^(?!(?:wwwroot|logs|run)(?:/|$))${PLAIN_SEGMENT}(?:/${PLAIN_SEGMENT}){0,31}$`, 'i');

/** Why `rel` (under .servicepack/) is not a pack's backup folder `backup/<pack id>`: uninstall reads the record there, restores from it and deletes it. */
export function backupFolderReason(rel: string): string | undefined {
  const why = unsafePathReason(rel);
  if (why !== undefined) return why;
  const segs = rel.split('/');
  return segs.length === 2 && segs[0] === BACKUP_DIR ? undefined : `not a folder ${BACKUP_DIR}/<pack id>`;
}

const ownedPathOk = (p: unknown): boolean => str(p) && ownedPathReason(p) === undefined;
const backupOk = (v: Obj): boolean => !Object.hasOwn(v, 'backup') || (str(v['backup']) && backupFolderReason(v['backup']) === undefined);

/**
 * Called once per file of the installation (10,000 times on a large one), so written out rather
 * than through keysOk: the same test (exactly these three own keys) at half the cost.
 */
function ownedFileOk(v: unknown): boolean {
  if (!isObj(v)) return false;
  const sha256 = v['sha256'];
  const size = v['size'];
  const mode = v['mode'];
  return (
    str(sha256) &&
    SHA256.test(sha256) &&
    int(size) &&
    size >= 0 &&
    int(mode) &&
    Object.keys(v).length === 3 &&
    Object.hasOwn(v, 'sha256') &&
    Object.hasOwn(v, 'size') &&
    Object.hasOwn(v, 'mode')
  );
}

function historyOk(v: unknown): boolean {
  if (!isObj(v) || !keysOk(v, ['id', 'packId', 'action', 'time', 'result', 'fromLevel', 'toLevel'], ['backup'])) return false;
  return (
    str(v['id']) &&
    str(v['packId']) &&
    (v['action'] === 'install' || v['action'] === 'uninstall' || v['action'] === 'recover') &&
    str(v['time']) &&
    (v['result'] === 'done' || v['result'] === 'rolled-back' || v['result'] === 'rolled-forward' || v['result'] === 'failed') &&
    int(v['fromLevel']) &&
    int(v['toLevel']) &&
    backupOk(v)
  );
}

function installedOk(v: unknown): boolean {
  if (!isObj(v) || !keysOk(v, ['packId', 'kind', 'fromLevel', 'level'], ['backup'])) return false;
  return str(v['packId']) && (v['kind'] === 'service-pack' || v['kind'] === 'hotfix') && int(v['fromLevel']) && int(v['level']) && backupOk(v);
}

/** The parsed JSON of a state record, when it certainly matches StateSchema; undefined means "ask the schema". */
export function checkedState(v: unknown): State | undefined {
  if (!isObj(v) || !keysOk(v, ['format', 'product', 'version', 'arch', 'level', 'hotfixes', 'installed', 'files', 'history'], ['keptModified', 'feeds'])) return undefined;
  if (v['format'] !== 1 || !str(v['product']) || !str(v['version']) || !ARCH.has(v['arch'] as string) || !int(v['level']) || v['level'] < 0) return undefined;
  if (!strArray(v['hotfixes']) || !Array.isArray(v['installed']) || !v['installed'].every(installedOk)) return undefined;
  const files = v['files'];
  if (!isObj(files) || Object.getPrototypeOf(files) !== Object.prototype) return undefined;
  for (const k in files) if (!ownedFileOk(files[k]) || ownedPathReason(k) !== undefined) return undefined;
  if (Object.hasOwn(v, 'keptModified') && !(Array.isArray(v['keptModified']) && v['keptModified'].every(ownedPathOk))) return undefined;
  if (Object.hasOwn(v, 'feeds')) {
    const feeds = v['feeds'];
    if (!isObj(feeds)) return undefined;
    for (const k in feeds) {
      const f = feeds[k];
      if (!isObj(f) || !keysOk(f, ['version', 'seen']) || !int(f['version']) || !str(f['seen'])) return undefined;
    }
  }
  if (!Array.isArray(v['history']) || !v['history'].every(historyOk)) return undefined;
  return v as unknown as State;
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
    if (why !== undefined) return `service.${field} ${JSON.stringify(rel)} is not a path inside the installation (${why})`;
  }
  return undefined;
}

/** The parsed JSON of BUILDINFO.json, when it certainly matches BuildInfoSchema; undefined means "ask the schema". */
export function checkedBuildInfo(v: unknown): BuildInfo | undefined {
  if (!isObj(v) || !keysOk(v, ['product', 'displayName', 'version', 'level', 'arch', 'build', 'hotfixes', 'service'])) return undefined;
  const ok =
    str(v['product']) &&
    /^[a-z][a-z0-9-]*$/.test(v['product']) &&
    str(v['displayName']) &&
    v['displayName'].length > 0 &&
    str(v['version']) &&
    /^\d+\.\d+\.\d+$/.test(v['version']) &&
    int(v['level']) &&
    v['level'] >= 0 &&
    v['level'] <= 99 &&
    ARCH.has(v['arch'] as string) &&
    str(v['build']) &&
    v['build'].length > 0 &&
    strArray(v['hotfixes'], (h) => /^[A-Za-z0-9-]+$/.test(h));
  if (!ok) return undefined;
  const s = v['service'];
  if (!isObj(s) || !keysOk(s, ['pidFile', 'start']) || !str(s['pidFile']) || s['pidFile'].length === 0) return undefined;
  if (!Array.isArray(s['start']) || s['start'].length === 0 || !strArray(s['start'], (x) => x.length > 0)) return undefined;
  if (serviceBlockReason(s as BuildInfo['service']) !== undefined) return undefined;
  return v as unknown as BuildInfo;
}
