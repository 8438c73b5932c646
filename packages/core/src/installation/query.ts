import { resolve } from 'node:path';
import type { Installation, Problem } from './detect.js';
import { ServicepackError } from '../support/errors.js';
import { type Level, levelName } from '../rules/level.js';
import { consistentInstallation, journalAbsent } from './query-scan.js';
import { checkRootFolder } from './root.js';
import { checkServicepackDir } from './servicepack-dir.js';
import type { HistoryEntry, State } from './state.js';

/** `servicepack query --json` (docs/cli.md §2): one object, the fields scripts rely on first. */
export interface QueryResult {
  product: string;
  displayName: string;
  version: string;
  arch: string;
  level: Level;
  levelName: string;
  hotfixes: string[];
  build: string;
  consistent: boolean;
  problems: Problem[];
  /** installed packs, oldest first */
  installed: State['installed'];
  history: HistoryEntry[];
  root: string;
  /** false for a vendor release tree nothing was ever installed on */
  stateRecord: boolean;
}

export async function queryInstallation(root: string): Promise<QueryResult> {
  checkRootFolder(resolve(root));
  // records read through a link could be anyone's: refused, as by the commands that change things
  checkServicepackDir(root);
  // Half-moved files would give a wrong answer: an open transaction must be settled first (exit 6).
  // The check and its journal schema load only when there is a journal to look at.
  if (!journalAbsent(root)) await (await import('../transaction/open-transaction.js')).assertNoOpenTransaction(root);
  // Presence, size and mode of every file, but content only where those differ from the record:
  // a query answers in the time node takes to start, whatever the tree's size; `verify` reads
  // every byte (see DetectOptions). An installation that agrees with its record is answered
  // without the general detection; anything else gets detectInstallation's full account.
  const quick = consistentInstallation(root);
  if (quick) return result({ ...quick, problems: [], consistent: true }, quick.state);
  const { detectInstallation } = await import('./detect.js');
  const inst = await detectInstallation(root, { trustRecord: true });
  return result(inst, inst.state);
}

function result(
  inst: Pick<Installation, 'root' | 'buildInfo' | 'consistent' | 'problems'>,
  state: State | undefined,
): QueryResult {
  // Product, version, arch, level and hotfixes come from the state record when there is one
  // (what this installer did), from BUILDINFO.json otherwise: as detectInstallation reports them.
  const src = state ?? inst.buildInfo;
  return {
    product: src.product,
    displayName: inst.buildInfo.displayName,
    version: src.version,
    arch: src.arch,
    level: src.level,
    levelName: levelName(src.level, src.hotfixes),
    hotfixes: [...src.hotfixes],
    build: inst.buildInfo.build,
    consistent: inst.consistent,
    problems: inst.problems,
    installed: state?.installed ?? [],
    history: state?.history ?? [],
    root: inst.root,
    stateRecord: state !== undefined,
  };
}

/** `query --require LEVEL`: the installed level must be at least `level` (exit 3 otherwise). */
export function checkRequirement(q: QueryResult, level: Level): void {
  if (q.level < level) {
    throw new ServicepackError(
      'E_REQUIREMENT_NOT_MET',
      `${q.product} in ${q.root} is at ${q.levelName}; ${levelName(level)} or later is required: install ${levelName(level)}`,
      { level: q.level, required: level },
    );
  }
}
