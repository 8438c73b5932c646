import { join, resolve } from 'node:path';
import { ServicepackError } from '../support/errors.js';
import { errnoCode } from '../support/fsutil.js';
import { BUILDINFO_FILE, JOURNAL_FILE, PRODUCT, SERVICEPACK_DIR } from './names.js';
import { syncFs } from '../support/sync-fs.js';

const { lstatSync, statSync } = syncFs;

/**
 * The one judgement of an installation root before anything is read from it: a folder that does not
 * exist, something that is not a folder, and a folder without inetsrv in it each have their own
 * code (exit 7, "no installation at the target"), never "not applicable" and never an unexpected
 * ENOTDIR. Every command that takes a root, and every operation, asks here.
 */

/**
 * Where the operator wrote the root, so that the error says what to correct: `--root`, the
 * environment, an answer file's target. Core only repeats these words; the front end chooses them.
 */
export interface RootOrigin {
  /** e.g. "given with --root", "from SERVICEPACK_ROOT", "/etc/sp/fleet.yaml:4: targets[1].root" */
  source: string;
  /** what to change, e.g. "give --root the folder inetsrv is installed in" */
  fix: string;
}

const UNNAMED_FIX = `name the folder ${PRODUCT} is installed in`;

type RootCode = 'E_ROOT_MISSING' | 'E_ROOT_NOT_FOLDER' | 'E_NOT_INSTALLED';

export const ROOT_ERROR_CODES: readonly string[] = ['E_ROOT_MISSING', 'E_ROOT_NOT_FOLDER', 'E_NOT_INSTALLED'];

function rootError(code: RootCode, root: string, why: string, origin: RootOrigin | undefined): ServicepackError {
  const from = origin === undefined ? '' : ` (${origin.source})`;
  return new ServicepackError(
    code,
    `no ${PRODUCT} installation found in ${root}${from}: ${why}; ${origin?.fix ?? UNNAMED_FIX}`,
    { root, ...(origin ? { source: origin.source } : {}) },
  );
}

/** The folder holds no BUILDINFO.json (what a release tree always has). */
export function notInstalledError(root: string, origin?: RootOrigin): ServicepackError {
  return rootError('E_NOT_INSTALLED', root, `it has no ${BUILDINFO_FILE}`, origin);
}

/** `root` (absolute) is a folder, following a link to it as `cd` would: the administrator chose the path. */
export function checkRootFolder(root: string, origin?: RootOrigin): void {
  let isFolder: boolean;
  try {
    const st = statSync(root, { throwIfNoEntry: false });
    if (st === undefined) throw rootError('E_ROOT_MISSING', root, 'the folder does not exist', origin);
    isFolder = st.isDirectory();
  } catch (e) {
    if (e instanceof ServicepackError) throw e;
    // a file on the way (/etc/passwd/x): no such folder can exist
    if (errnoCode(e) === 'ENOTDIR') throw rootError('E_ROOT_MISSING', root, 'the folder does not exist', origin);
    throw new ServicepackError('E_IO', `cannot look at ${root}: ${(e as Error).message}`, { root }, { cause: e });
  }
  if (!isFolder) throw rootError('E_ROOT_NOT_FOLDER', root, 'it is not a folder', origin);
}

/**
 * A folder with inetsrv in it: BUILDINFO.json, or a journal (an interrupted commit can leave
 * BUILDINFO.json in the backup, and recovery must still find the installation). Returns the
 * absolute root.
 */
export function checkInstallationRoot(rootArg: string, origin?: RootOrigin): string {
  const root = resolve(rootArg);
  checkRootFolder(root, origin);
  const present = (p: string) => {
    try {
      return lstatSync(p, { throwIfNoEntry: false }) !== undefined;
    } catch (e) {
      throw new ServicepackError('E_IO', `cannot look at ${p}: ${(e as Error).message}`, { path: p }, { cause: e });
    }
  };
  if (!present(join(root, BUILDINFO_FILE)) && !present(join(root, SERVICEPACK_DIR, JOURNAL_FILE)))
    throw notInstalledError(root, origin);
  return root;
}
