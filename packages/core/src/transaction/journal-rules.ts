import { ServicepackError } from '../support/errors.js';

/**
 * What a journal may say, in a module of its own (and without zod): journal.ts applies these rules
 * to a journal this process builds and moves between phases, journal-schema.ts to one read back,
 * settle-failure.ts and recover.ts decide from the phase table, and journal.ts needs the schema's
 * types.
 */

/** Paths in the journal are root-relative POSIX paths; nothing in it may point outside the root. */
export function journalPathProblem(p: string): string | undefined {
  if (p.length === 0 || p.length > 4096) return 'empty or too long';
  if (p.startsWith('/') || p.includes('\\') || p.includes('\0')) return 'absolute or non-POSIX';
  if (p.split('/').some((s) => s === '' || s === '.' || s === '..')) return 'empty, "." or ".." segment';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Phases (docs/transactions.md §4)

/**
 * A transaction's phases, in order. `none` (no journal.json yet) and `closed` (journal.json removed
 * again) are never written into a journal: on disk both are "no journal", and only the three
 * between them are recorded.
 */
export const PHASES = ['none', 'committing', 'trial', 'committed', 'rolled-back', 'closed'] as const;
export type Phase = (typeof PHASES)[number];
export const JOURNAL_PHASES = ['committing', 'trial', 'committed', 'rolled-back'] as const;
export type JournalPhase = (typeof JOURNAL_PHASES)[number];

/**
 * How a transaction caught in a phase is settled. In-process, after a step failed (settleFailure):
 * `discard` removes staging (nothing in the tree changed), `roll-back` undoes the journal's steps
 * newest first and then settles as its new phase says, `finish-rollback` removes staging and the
 * journal, `roll-forward` finishes the change and reports success with a warning, `done` only warns
 * (the change went through). By recover, for a journal found on disk: `clean-leftovers` when there
 * is none, else `roll-back`, `finish-rollback` (also recording the recovery and starting the
 * service) or `roll-forward`. `check` is what is verified before anything moves: `hashes`, each
 * file a step is about to undo against the journal; `moved-out`, that every step moving something
 * out of staging has happened. `first: 'stop-service'` stops the service of the new level before
 * anything moves (the trial started it: files are never moved under a running server).
 */
export type FailureSettlement =
  | { readonly action: 'discard' }
  | { readonly action: 'roll-back'; readonly check: 'hashes'; readonly first?: 'stop-service' }
  | { readonly action: 'finish-rollback' }
  | { readonly action: 'roll-forward'; readonly check: 'none' | 'moved-out' }
  | { readonly action: 'done' };
export type RecoverSettlement =
  | { readonly action: 'clean-leftovers' }
  | { readonly action: 'roll-back'; readonly check: 'hashes'; readonly first?: 'stop-service' }
  | { readonly action: 'finish-rollback' }
  | { readonly action: 'roll-forward'; readonly check: 'none' | 'moved-out' };

export interface PhaseRow {
  readonly meaning: string;
  /** the phases this one may move to; nothing else is ever written */
  readonly next: readonly Phase[];
  /** a step fails in this phase, in the process running the transaction */
  readonly onFailure: FailureSettlement;
  /** recover finds a transaction in this phase (a crash, kill -9, power cut) */
  readonly onRecover: RecoverSettlement;
}

/** The state-transition table: settleFailure and recover decide from it and nothing else. */
export const PHASE_TABLE: { readonly [P in Phase]: PhaseRow } = {
  none: {
    meaning: 'no journal yet: nothing in the tree has changed',
    next: ['committing'],
    onFailure: { action: 'discard' },
    onRecover: { action: 'clean-leftovers' },
  },
  committing: {
    meaning: 'files may be half moved',
    next: ['trial', 'committed', 'rolled-back'],
    onFailure: { action: 'roll-back', check: 'hashes' },
    onRecover: { action: 'roll-back', check: 'hashes' },
  },
  trial: {
    meaning: 'every file is in place and the new level is on trial: started and health-checked, not yet committed',
    next: ['committed', 'rolled-back'],
    onFailure: { action: 'roll-back', check: 'hashes', first: 'stop-service' },
    onRecover: { action: 'roll-back', check: 'hashes', first: 'stop-service' },
  },
  committed: {
    meaning: 'every file is in place (the commit point)',
    next: ['closed'],
    onFailure: { action: 'roll-forward', check: 'none' },
    onRecover: { action: 'roll-forward', check: 'moved-out' },
  },
  'rolled-back': {
    meaning: 'the previous tree is back',
    next: ['closed'],
    onFailure: { action: 'finish-rollback' },
    onRecover: { action: 'finish-rollback' },
  },
  closed: {
    meaning: 'journal.json is removed: the transaction is over',
    next: [],
    onFailure: { action: 'done' },
    onRecover: { action: 'clean-leftovers' },
  },
};

/** A phase change, once it is on disk. */
export interface PhaseMove {
  /** the transaction's id */
  id: string;
  from: Phase;
  to: Phase;
}
/** Told of every phase change (a test hook, like the checkpoints: the phase table's tests watch the moves). */
export type PhaseObserver = (move: PhaseMove) => void | Promise<void>;

export function isPhase(p: unknown): p is Phase {
  return typeof p === 'string' && (PHASES as readonly string[]).includes(p);
}

/**
 * The one gate every phase change goes through: a move the table does not list (a journal taken
 * from committed back to committing, a phase nobody knows) is refused before anything is written.
 */
export function checkTransition(from: string, to: string): void {
  if (isPhase(from) && isPhase(to) && PHASE_TABLE[from].next.includes(to)) return;
  throw new ServicepackError(
    'E_INVALID_STATE',
    `a transaction cannot go from phase ${JSON.stringify(from)} to ${JSON.stringify(to)} (docs/transactions.md §4): nothing was written; the journal, if any, is kept as it was; run servicepack recover and, if this persists, report it`,
    { from, to },
  );
}

/**
 * The row for a phase read back from a journal: one the table does not list as recorded is
 * refused, never guessed at.
 */
export function recordedPhaseRow(phase: string): PhaseRow {
  if ((JOURNAL_PHASES as readonly string[]).includes(phase)) return PHASE_TABLE[phase as JournalPhase];
  throw new ServicepackError(
    'E_INVALID_STATE',
    `the journal says phase ${JSON.stringify(phase)}, which is not one of ${JOURNAL_PHASES.join(', ')}: the interrupted transaction cannot be finished or rolled back automatically; nothing was changed; compare the installation with servicepack verify and restore damaged files from .servicepack/backup/ or the release`,
    { phase },
  );
}
