import { detectInstallation, type Problem } from './detect.js';
import { ServicepackError } from './errors.js';
import { type Level, levelName } from './level.js';
import type { HistoryEntry, State } from './state.js';
import { assertNoOpenTransaction } from './open-transaction.js';

/** `servicepack query --json` (DESIGN §4): one object, the fields scripts rely on first. */
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
  // Half-moved files would give a wrong answer: an open transaction must be settled first (exit 6).
  await assertNoOpenTransaction(root);
  // Presence, size and mode of every file, but content only where those differ from the record:
  // a query answers in the time node takes to start, whatever the tree's size; `verify` reads
  // every byte (see DetectOptions).
  const inst = await detectInstallation(root, { trustRecord: true });
  return {
    product: inst.product,
    displayName: inst.buildInfo.displayName,
    version: inst.version,
    arch: inst.arch,
    level: inst.level,
    levelName: inst.levelName,
    hotfixes: inst.hotfixes,
    build: inst.buildInfo.build,
    consistent: inst.consistent,
    problems: inst.problems,
    installed: inst.state?.installed ?? [],
    history: inst.state?.history ?? [],
    root: inst.root,
    stateRecord: inst.state !== undefined,
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
