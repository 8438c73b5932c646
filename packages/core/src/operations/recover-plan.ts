import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ServicepackError } from '../support/errors.js';
import { errnoCode } from '../support/fsutil.js';
import { at, type Journal, journalPaths, readJournal } from '../transaction/journal.js';
import { checkMovedOut } from '../transaction/journal-apply.js';
import { type Phase, type RecoverSettlement, recordedPhaseRow } from '../transaction/journal-rules.js';
import { isAlive } from '../installation/service.js';
import { SERVICEPACK_DIR } from '../installation/names.js';
import { checkNoLinkOnTheWay, isRealFolder } from '../installation/servicepack-dir.js';
import { lockHolder, STAGING_DIR } from '../transaction/transaction.js';

/**
 * `recover --dry-run`: what recover would do, judged from the journal and the disk exactly as
 * recover judges them (the phase table's row, the steps found done), with nothing written: no
 * lock is taken, no journal moved, no file touched.
 */

/** One file or folder recover would change: `restore` puts the previous content back, `remove` deletes, `finish` completes a move. */
export interface RecoverPlanFile {
  verb: 'restore' | 'remove' | 'finish';
  path: string;
}

export interface RecoverPlan {
  /** the journal's phase, `none` when there is none */
  phase: Phase;
  /** the phase table's onRecover action for that phase (journal-rules.ts) */
  settle: RecoverSettlement['action'];
  transactionId?: string;
  action?: Journal['action'];
  packs: string[];
  /** the interrupted process */
  pid?: number;
  /** in the order recover would change them; a roll-back checks each file against the journal first */
  files: RecoverPlanFile[];
  /** the service was stopped by the transaction: recover starts it again if it is not running */
  startsService: boolean;
  /** no journal: leftovers of a run that died before writing one (root-relative) */
  leftovers: string[];
}

/**
 * Leftovers of a transaction that died before its journal existed (root-relative): staging's
 * entries, temp files of writeFileAtomic, and lock files of dead processes.
 */
export async function findLeftovers(root: string): Promise<string[]> {
  const sp = join(root, SERVICEPACK_DIR);
  const found: string[] = [];
  // a real folder, not a link to one
  if (isRealFolder(root, `${SERVICEPACK_DIR}/${STAGING_DIR}`)) {
    for (const name of await readdir(join(sp, STAGING_DIR))) found.push(`${SERVICEPACK_DIR}/${STAGING_DIR}/${name}`);
  }
  let names: string[] = [];
  try {
    names = await readdir(sp);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw e;
  }
  for (const name of names) {
    const tmp = /^\.[0-9a-f]{12}\.tmp$/.test(name);
    const lockPid = /^\.lock\.(\d+)\.[0-9a-f]+$/.exec(name)?.[1] ?? /^lock\.stale\.(\d+)$/.exec(name)?.[1];
    if (tmp || (lockPid !== undefined && Number(lockPid) !== process.pid && !isAlive(Number(lockPid))))
      found.push(`${SERVICEPACK_DIR}/${name}`);
  }
  return found;
}

const present = async (p: string) => (await lstat(p).catch(() => undefined)) !== undefined;

/**
 * The steps revertSteps would undo, newest first, judged as it judges them ("from absent, to
 * present"), each on the disk as the undoing of the later ones would leave it (an overlay of the
 * paths they would move), and what each means for the product's files.
 */
async function rollBackFiles(root: string, j: Journal): Promise<RecoverPlanFile[]> {
  const moved = new Map<string, boolean>();
  const exists = async (rel: string) => moved.get(rel) ?? (await present(at(root, rel)));
  const files: RecoverPlanFile[] = [];
  const add = (f: RecoverPlanFile) => {
    // a replaced file takes two steps (the original out, the new content in): one line
    if (!files.some((g) => g.path === f.path)) files.push(f);
  };
  for (let i = j.steps.length - 1; i >= 0; i--) {
    const s = j.steps[i]!;
    if (s.kind === 'mkdir') {
      if (await exists(s.dir)) {
        add({ verb: 'remove', path: `${s.dir}/` });
        moved.set(s.dir, false);
      }
      continue;
    }
    if ((await exists(s.from)) || !(await exists(s.to))) continue;
    moved.set(s.to, false);
    moved.set(s.from, true);
    const op = s.op === undefined ? undefined : j.ops[s.op];
    // a step of no file operation moves a backup folder: back into staging (removed with it) or back where it was
    if (op === undefined)
      add(s.from.startsWith(`${j.staging}/`) ? { verb: 'remove', path: s.to } : { verb: 'restore', path: s.from });
    else add({ verb: op.op === 'add' ? 'remove' : 'restore', path: op.path });
  }
  return files;
}

/** What is left of the work after the commit point (finishForward): moves out of staging not made yet, trees still there. */
async function rollForwardFiles(root: string, j: Journal): Promise<RecoverPlanFile[]> {
  const files: RecoverPlanFile[] = [];
  for (const m of j.finish.moves)
    if ((await present(at(root, m.from))) && !(await present(at(root, m.to))))
      files.push({ verb: 'finish', path: m.to });
  for (const t of j.finish.removeTrees) if (await present(at(root, t))) files.push({ verb: 'remove', path: t });
  return files;
}

export async function planRecovery(root: string): Promise<RecoverPlan> {
  const holder = await lockHolder(root);
  if (holder !== undefined)
    throw new ServicepackError(
      'E_BUSY',
      `servicepack (pid ${holder}) is changing ${root} right now: run again when it has finished`,
      { pid: holder },
    );
  const j = await readJournal(root);
  if (!j)
    return {
      phase: 'none',
      settle: 'clean-leftovers',
      packs: [],
      files: [],
      startsService: false,
      leftovers: await findLeftovers(root),
    };
  // the checks recover makes before it moves anything (read-only): a refusal there is one here
  checkNoLinkOnTheWay(root, journalPaths(j));
  const settle = recordedPhaseRow(j.phase).onRecover;
  if (settle.action === 'roll-forward' && settle.check === 'moved-out') await checkMovedOut(root, j);
  const files =
    settle.action === 'roll-back'
      ? await rollBackFiles(root, j)
      : settle.action === 'roll-forward'
        ? await rollForwardFiles(root, j)
        : [];
  // every way out of an open journal removes this transaction's staging
  if ((await present(at(root, j.staging))) && !files.some((f) => f.path === j.staging))
    files.push({ verb: 'remove', path: j.staging });
  const forward = settle.action === 'roll-forward';
  return {
    phase: j.phase,
    settle: settle.action,
    transactionId: j.id,
    action: j.action,
    packs: j.packs.map((p) => p.id),
    pid: j.pid,
    files,
    startsService: j.service.stop && !(forward && j.service.restart === 'never'),
    leftovers: [],
  };
}
