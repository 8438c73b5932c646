import type { BuildInfo } from './buildinfo.js';
import { ARCHES, PACK_KINDS } from '../rules/level.js';
import { healthBlockOk } from '../health/contract-rules.js';
import { backupFolderReason, ownedPathReason, serviceBlockReason } from './record-paths.js';
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
const strArray = (v: unknown, each: (s: string) => boolean = () => true): boolean =>
  Array.isArray(v) && v.every((x) => str(x) && each(x));
const ARCH: ReadonlySet<string> = new Set(ARCHES);
export const KINDS: ReadonlySet<unknown> = new Set(PACK_KINDS);
export const SHA256 = /^[0-9a-f]{64}$/;

const ownedPathOk = (p: unknown): boolean => str(p) && ownedPathReason(p) === undefined;
const backupOk = (v: Obj): boolean =>
  !Object.hasOwn(v, 'backup') || (str(v['backup']) && backupFolderReason(v['backup']) === undefined);

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

const healthOk = (v: Obj): boolean => {
  if (!Object.hasOwn(v, 'health')) return true;
  const h = v['health'];
  return (
    isObj(h) &&
    keysOk(h, ['passed', 'summary']) &&
    typeof h['passed'] === 'boolean' &&
    str(h['summary']) &&
    h['summary'].length <= 2000
  );
};

function historyOk(v: unknown): boolean {
  if (
    !isObj(v) ||
    !keysOk(v, ['id', 'packId', 'action', 'time', 'result', 'fromLevel', 'toLevel'], ['backup', 'health'])
  )
    return false;
  return (
    str(v['id']) &&
    str(v['packId']) &&
    (v['action'] === 'install' || v['action'] === 'uninstall' || v['action'] === 'recover') &&
    str(v['time']) &&
    (v['result'] === 'done' ||
      v['result'] === 'rolled-back' ||
      v['result'] === 'rolled-forward' ||
      v['result'] === 'failed') &&
    int(v['fromLevel']) &&
    int(v['toLevel']) &&
    backupOk(v) &&
    healthOk(v)
  );
}

function installedOk(v: unknown): boolean {
  if (!isObj(v) || !keysOk(v, ['packId', 'kind', 'fromLevel', 'level'], ['backup', 'fixes'])) return false;
  return (
    (!Object.hasOwn(v, 'fixes') || strArray(v['fixes'])) &&
    str(v['packId']) &&
    KINDS.has(v['kind']) &&
    int(v['fromLevel']) &&
    int(v['level']) &&
    backupOk(v)
  );
}

/** The parsed JSON of a state record, when it certainly matches StateSchema; undefined means "ask the schema". */
export function checkedState(v: unknown): State | undefined {
  if (
    !isObj(v) ||
    !keysOk(
      v,
      ['format', 'product', 'version', 'arch', 'level', 'hotfixes', 'installed', 'files', 'history'],
      ['keptModified', 'feeds', 'restartPending'],
    )
  )
    return undefined;
  if (
    v['format'] !== 1 ||
    !str(v['product']) ||
    !str(v['version']) ||
    !ARCH.has(v['arch'] as string) ||
    !int(v['level']) ||
    v['level'] < 0
  )
    return undefined;
  if (!strArray(v['hotfixes']) || !Array.isArray(v['installed']) || !v['installed'].every(installedOk))
    return undefined;
  const files = v['files'];
  if (!isObj(files) || Object.getPrototypeOf(files) !== Object.prototype) return undefined;
  for (const k in files) if (!ownedFileOk(files[k]) || ownedPathReason(k) !== undefined) return undefined;
  if (Object.hasOwn(v, 'keptModified') && !(Array.isArray(v['keptModified']) && v['keptModified'].every(ownedPathOk)))
    return undefined;
  if (Object.hasOwn(v, 'feeds')) {
    const feeds = v['feeds'];
    if (!isObj(feeds)) return undefined;
    for (const k in feeds) {
      const f = feeds[k];
      if (!isObj(f) || !keysOk(f, ['version', 'seen']) || !int(f['version']) || !str(f['seen'])) return undefined;
    }
  }
  if (Object.hasOwn(v, 'restartPending')) {
    const r = v['restartPending'];
    if (
      !isObj(r) ||
      !keysOk(r, ['since', 'transactionId', 'reason']) ||
      !str(r['since']) ||
      !str(r['transactionId']) ||
      (r['reason'] !== 'no-restart' && r['reason'] !== 'start-failed')
    )
      return undefined;
  }
  if (!Array.isArray(v['history']) || !v['history'].every(historyOk)) return undefined;
  return v as unknown as State;
}

/** The parsed JSON of BUILDINFO.json, when it certainly matches BuildInfoSchema; undefined means "ask the schema". */
export function checkedBuildInfo(v: unknown): BuildInfo | undefined {
  if (
    !isObj(v) ||
    !keysOk(v, ['product', 'displayName', 'version', 'level', 'arch', 'build', 'hotfixes', 'service'], ['health'])
  )
    return undefined;
  if (Object.hasOwn(v, 'health') && !healthBlockOk(v['health'])) return undefined;
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
  if (!isObj(s) || !keysOk(s, ['pidFile', 'start']) || !str(s['pidFile']) || s['pidFile'].length === 0)
    return undefined;
  if (!Array.isArray(s['start']) || s['start'].length === 0 || !strArray(s['start'], (x) => x.length > 0))
    return undefined;
  if (serviceBlockReason(s as BuildInfo['service']) !== undefined) return undefined;
  return v as unknown as BuildInfo;
}
