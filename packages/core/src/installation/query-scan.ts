import { join, resolve } from 'node:path';
import type { BuildInfo } from './buildinfo.js';
import { NOT_OWNED } from '../support/fsutil.js';
import { BUILDINFO_FILE, JOURNAL_FILE, SERVICEPACK_DIR, STATE_FILE } from './names.js';
import { checkedBuildInfo, checkedState } from './record-check.js';
import { readRecordFileSync } from './servicepack-dir.js';
import type { State } from './state.js';
import { syncFs } from '../support/sync-fs.js';

const { lstatSync, readdirSync, readFileSync } = syncFs;

/** An installation whose state record, BUILDINFO.json and files agree. */
export interface ConsistentInstallation {
  /** absolute */
  root: string;
  state: State;
  buildInfo: BuildInfo;
}

/**
 * `query`'s answer for the usual case, an installation whose state record, BUILDINFO.json and
 * files agree, in as little time as that check allows: synchronous reads, one lstat per file and
 * nothing else per file (no Dirent, no map of the tree, nothing sorted, nothing hashed). With
 * 10,000 files the lstats are most of it (about 7 us each of kernel time on the benchmark machine).
 *
 * It only ever answers "consistent": anything else (no state record, a record or BUILDINFO.json
 * the quick checks do not vouch for, records that disagree, a file that differs, is missing or
 * is extra, anything but regular files and folders, any error at all) returns undefined, and the
 * caller asks detectInstallation, which finds and words every problem and error. The criteria are
 * detectInstallation's with `trustRecord` (size and mode against the record), so both give the
 * same answer for the same tree.
 */
export function consistentInstallation(rootArg: string): ConsistentInstallation | undefined {
  const root = resolve(rootArg);
  try {
    // BUILDINFO.json and the state record first: a root that is not an installation (a mistyped
    // --root, `/`) is never listed.
    const buildInfo = checkedBuildInfo(JSON.parse(readFileSync(`${root}/${BUILDINFO_FILE}`, 'utf8')));
    if (!buildInfo) return undefined;
    const state = checkedState(JSON.parse(readRecordFileSync(`${root}/${SERVICEPACK_DIR}/${STATE_FILE}`)));
    if (!state || !recordsAgree(state, buildInfo)) return undefined;
    const matched = matchTree(root, state.files);
    // Every listed file matched a distinct recorded one: equal counts mean none is missing.
    return matched !== undefined && matched === Object.keys(state.files).length
      ? { root, state, buildInfo }
      : undefined;
  } catch {
    return undefined;
  }
}

/** What detect.ts's crossCheck reports nothing for. */
function recordsAgree(s: State, b: BuildInfo): boolean {
  if (s.product !== b.product || s.version !== b.version || s.arch !== b.arch || s.level !== b.level) return false;
  if (s.hotfixes.length !== b.hotfixes.length) return false;
  const have = new Set(b.hotfixes);
  return s.hotfixes.every((h) => have.has(h));
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

/**
 * The number of owned files on disk, each a regular file with its recorded size and permission
 * bits; undefined at the first one that is not (or is not recorded), or at anything but a file
 * or a folder. Folders are listed as hashTree lists them (top-level NOT_OWNED skipped).
 *
 * Synchronous on purpose: an lstat is a few microseconds of kernel time, and handing 10,000 of
 * them to the thread pool costs this thread more in callbacks than it saves (measured: 1.5x
 * slower on a loaded two-core machine), with nothing else on this path to overlap them with.
 */
function matchTree(root: string, recorded: State['files']): number | undefined {
  let matched = 0;
  const walk = (abs: string, rel: string): boolean => {
    // Names only, and the type from the lstat each entry gets anyway: a Dirent per file would be
    // 10,000 more objects to allocate and collect.
    for (const name of readdirSync(abs)) {
      if (rel === '' && (NOT_OWNED as readonly string[]).includes(name)) continue;
      const path = rel === '' ? name : `${rel}/${name}`;
      const st = lstatSync(`${abs}/${name}`);
      const type = st.mode & S_IFMT;
      if (type === S_IFDIR) {
        if (!walk(`${abs}/${name}`, path)) return false;
        continue;
      }
      if (type !== S_IFREG || !Object.hasOwn(recorded, path)) return false;
      const want = recorded[path]!;
      if (st.size !== want.size || (st.mode & 0o777) !== want.mode) return false;
      matched++;
    }
    return true;
  };
  return walk(root, '') ? matched : undefined;
}

/**
 * Whether `root` certainly has no journal (no transaction open), by one synchronous lstat; false
 * also when that cannot be told (any error but ENOENT), for assertNoOpenTransaction to decide.
 */
export function journalAbsent(root: string): boolean {
  try {
    // join, as open-transaction.ts spells the path: `..` after a link must name the same file
    lstatSync(join(root, SERVICEPACK_DIR, JOURNAL_FILE));
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}
