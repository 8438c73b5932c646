import { z } from 'zod';
import { BuildInfoSchema } from '../installation/buildinfo.js';
import { PACK_KINDS } from '../rules/level.js';
import { JOURNAL_PHASES, journalPathProblem } from './journal-rules.js';
import { StateSchema } from '../installation/state.js';

/**
 * The journal's schema, in a module of its own: zod takes about 0.1 s to load, and only a journal
 * read back from disk (recovery, an interrupted run) needs it; a journal this process builds is
 * checked by checkBuiltJournal (journal.ts).
 */

const RelPath = z.string().superRefine((p, ctx) => {
  const why = journalPathProblem(p);
  if (why) ctx.addIssue({ code: 'custom', message: `not a path inside the installation (${why})` });
});

const FileMetaSchema = z.strictObject({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().min(0),
  mode: z.number().int().min(0).max(0o7777),
});

export const JournalStepSchema = z.discriminatedUnion('kind', [
  /** `op`: index into `ops` of the file operation this primitive belongs to */
  z.strictObject({ kind: z.literal('rename'), from: RelPath, to: RelPath, op: z.number().int().min(0).optional() }),
  z.strictObject({ kind: z.literal('mkdir'), dir: RelPath, op: z.number().int().min(0).optional() }),
]);
export type JournalStep = z.infer<typeof JournalStepSchema>;

export const JournalOpSchema = z.strictObject({
  /** id of the pack this change belongs to */
  pack: z.string(),
  path: RelPath,
  op: z.enum(['add', 'replace', 'delete']),
  reason: z.string(),
  /** what is there now (absent: nothing) */
  before: FileMetaSchema.optional(),
  /** what will be there (absent: nothing) */
  after: FileMetaSchema.optional(),
  /** where the current content goes (a backup, or a trash path inside staging) */
  backup: RelPath.optional(),
  /** where the new content comes from (a staged file, or a backed-up original) */
  source: RelPath.optional(),
});
export type JournalOp = z.infer<typeof JournalOpSchema>;

export const JournalPhaseSchema = z.enum(JOURNAL_PHASES);
export type JournalPhase = z.infer<typeof JournalPhaseSchema>;

export const JournalSchema = z.strictObject({
  format: z.literal(1),
  /** the transaction id */
  id: z.string().regex(/^[0-9A-Za-z-]+$/),
  action: z.enum(['install', 'uninstall']),
  /**
   * committing: files may be half moved; recovery rolls back. trial: every file is in place, the
   * new level's server runs on trial; recovery stops it and rolls back. committed: every file is in place
   * (the commit point); recovery rolls forward. rolled-back: the previous tree is back; recovery
   * only cleans up. Nothing else decides the direction.
   */
  phase: JournalPhaseSchema,
  pid: z.number().int(),
  time: z.string(),
  /** this transaction's staging folder */
  staging: RelPath,
  packs: z.array(
    z.strictObject({
      id: z.string(),
      kind: z.enum(PACK_KINDS),
      fromLevel: z.number().int(),
      toLevel: z.number().int(),
      fromHotfixes: z.array(z.string()),
      toHotfixes: z.array(z.string()),
      backup: z.string().optional(),
    }),
  ),
  ops: z.array(JournalOpSchema),
  steps: z.array(JournalStepSchema),
  /** done after the commit point, each idempotent: folders emptied by the change, trees no longer needed, moves out of staging */
  finish: z.strictObject({
    pruneDirs: z.array(RelPath),
    removeTrees: z.array(RelPath),
    moves: z.array(z.strictObject({ from: RelPath, to: RelPath })),
  }),
  state: z.strictObject({
    /** whether a state record existed before (when not, `previousFiles` is what was on disk) */
    existed: z.boolean(),
    previousFiles: z.record(StateSchema.shape.files.keyType, FileMetaSchema).optional(),
    after: StateSchema,
  }),
  service: z.strictObject({
    wasRunning: z.boolean(),
    pid: z.number().int().optional(),
    /** the transaction stops the service before the commit (it runs and the change needs a restart) */
    stop: z.boolean(),
    restart: z.enum(['auto', 'never']),
    /** BUILDINFO before and after: how to start the old level after a rollback, the new one after a roll-forward */
    before: BuildInfoSchema,
    after: BuildInfoSchema,
  }),
  /**
   * Files written before journal.json so that the phase changes and the state record need no new
   * disk space once the tree is being changed: each is put in place by a rename.
   */
  prepared: z.strictObject({
    committed: RelPath,
    rolledBack: RelPath,
    state: RelPath,
    /** present when the transaction puts the new level on trial (a health check) before the commit point */
    trial: RelPath.optional(),
  }),
});
export type Journal = z.infer<typeof JournalSchema>;
