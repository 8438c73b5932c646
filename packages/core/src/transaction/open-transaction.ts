import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ServicepackError } from '../support/errors.js';
import { errnoCode, exists } from '../support/fsutil.js';
import { JOURNAL_FILE, LOCK_FILE, SERVICEPACK_DIR } from '../installation/names.js';
import { readRecordFile } from '../installation/servicepack-dir.js';

/**
 * The lock file and the open-journal check, apart from the rest of transaction.ts so that the
 * read-only commands (query, verify) load neither the journal schema nor zod to ask "is a
 * transaction open?". transaction.ts re-exports everything here.
 */

export { LOCK_FILE } from '../installation/names.js';

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return errnoCode(e) === 'EPERM';
  }
}

export interface LockOwner {
  pid: number;
  /** the process's start time (/proc/<pid>/stat field 22), when known: tells a reused pid from the holder */
  start?: string;
}

export function parseLock(text: string): LockOwner | undefined {
  const [p, start] = text.trim().split(/\s+/);
  const pid = Number.parseInt(p ?? '', 10);
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  return { pid, ...(start !== undefined && /^\d+$/.test(start) ? { start } : {}) };
}

/** `/proc/<pid>/stat`: the state (field 3, `Z` for a zombie) and the start time (field 22); undefined without /proc. */
export async function procStat(pid: number): Promise<{ state: string; start: string } | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may contain spaces and parentheses: count fields after the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const [state, start] = [fields[0], fields[19]];
    return state !== undefined && start !== undefined && /^\d+$/.test(start) ? { state, start } : undefined;
  } catch {
    return undefined;
  }
}

export async function processStart(pid: number): Promise<string | undefined> {
  return (await procStat(pid))?.start;
}

/** Whether the lock's owner still runs: alive, and (where /proc tells) not a later process that got the same pid. */
export async function ownerAlive(owner: LockOwner): Promise<boolean> {
  if (!isAlive(owner.pid)) return false;
  if (owner.start === undefined) return true;
  const now = await processStart(owner.pid);
  return now === undefined || now === owner.start;
}

/** The live holder of the lock, if any (for read-only commands, which do not take it). */
export async function lockHolder(root: string): Promise<number | undefined> {
  try {
    const owner = parseLock(await readRecordFile(join(root, SERVICEPACK_DIR, LOCK_FILE)));
    return owner && owner.pid !== process.pid && (await ownerAlive(owner)) ? owner.pid : undefined;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return undefined;
    throw e;
  }
}

/**
 * For commands that only read (query, verify): an open journal means the files may be half old,
 * half new, so any answer would be wrong. A live lock holder means the transaction is still
 * running (busy, exit 5); otherwise it was interrupted and needs `recover` (exit 6).
 */
export async function assertNoOpenTransaction(root: string): Promise<void> {
  const path = join(root, SERVICEPACK_DIR, JOURNAL_FILE);
  if (!(await exists(path))) return;
  const holder = await lockHolder(root);
  if (holder !== undefined) {
    throw new ServicepackError(
      'E_BUSY',
      `servicepack (pid ${holder}) is changing ${root} right now: run again when it has finished`,
      { pid: holder },
    );
  }
  let what = 'an interrupted transaction';
  try {
    // only now, with a journal to describe, is its schema worth loading
    const { readJournal } = await import('./journal.js');
    const j = await readJournal(root);
    if (j) what = `an interrupted ${j.action} of ${j.packs.map((p) => p.id).join(', ')} (transaction ${j.id})`;
  } catch {
    // the message below still says what to do; recover reports why the journal cannot be read
  }
  throw new ServicepackError(
    'E_NEEDS_RECOVER',
    `${what} left ${root} unfinished: run servicepack recover --root ${root} (install and uninstall also do it first), then run again`,
    { journal: path },
  );
}

/** The first version's name, still used by front ends that check before starting (the wizard). */
export const assertNoOpenJournal = assertNoOpenTransaction;
