import { z } from 'zod';
import { ARCHES, PACK_KINDS } from '../rules/level.js';
import { backupFolderReason, ownedPathReason } from './record-paths.js';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/** `rule` on a string: what record-check.ts applies to the same field (record-paths.ts), worded by zod. */
const checkedBy = (rule: (s: string) => string | undefined) =>
  z.string().superRefine((s, ctx) => {
    const why = rule(s);
    if (why !== undefined) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(s)}: ${why}` });
  });
const ownedPath = checkedBy(ownedPathReason);
const backupFolder = checkedBy(backupFolderReason);

export const HistoryEntrySchema = z.strictObject({
  id: z.string(),
  packId: z.string(),
  action: z.enum(['install', 'uninstall', 'recover']),
  time: z.string(),
  result: z.enum(['done', 'rolled-back', 'rolled-forward', 'failed']),
  fromLevel: z.number().int(),
  toLevel: z.number().int(),
  /** folder under .servicepack/ holding what this transaction replaced; absent with --no-backup */
  backup: backupFolder.optional(),
  /** the health check the change was put on trial with (docs/transactions.md §7): passed, or failed and rolled back */
  health: z.strictObject({ passed: z.boolean(), summary: z.string().max(2000) }).optional(),
});
export type HistoryEntry = z.infer<typeof HistoryEntrySchema>;

/**
 * A change went in but the service it stopped was not started again (the run exited 10): `-z`
 * (`no-restart`) or a start that failed (`start-failed`). Records older than issue 15 have no such
 * field; a change that finds the service running again drops it (journaled-steps.ts).
 */
export const RestartPendingSchema = z.strictObject({
  since: z.string(),
  transactionId: z.string(),
  reason: z.enum(['no-restart', 'start-failed']),
});
export type RestartPending = z.infer<typeof RestartPendingSchema>;

export const OwnedFileSchema = z.strictObject({ sha256, size: z.number().int().min(0), mode: z.number().int() });
export type OwnedFile = z.infer<typeof OwnedFileSchema>;

/** `<root>/.servicepack/state.json` (docs/formats.md "State record"): the installer's record of what is on disk. */
export const StateSchema = z.strictObject({
  format: z.literal(1),
  product: z.string(),
  version: z.string(),
  arch: z.enum(ARCHES),
  level: z.number().int().min(0),
  hotfixes: z.array(z.string()),
  /** installed packs, oldest first: the uninstall order is this list reversed */
  installed: z.array(
    z.strictObject({
      packId: z.string(),
      kind: z.enum(PACK_KINDS),
      fromLevel: z.number().int(),
      level: z.number().int(),
      backup: backupFolder.optional(),
      /** a rollup's hotfixes, so that query names the rollup while they are all installed */
      fixes: z.array(z.string()).optional(),
    }),
  ),
  files: z.record(ownedPath, OwnedFileSchema),
  /** config files the admin changed that a pack left in place (.spnew written beside) */
  keptModified: z.array(ownedPath).optional(),
  feeds: z.record(z.string(), z.strictObject({ version: z.number().int(), seen: z.string() })).optional(),
  restartPending: RestartPendingSchema.optional(),
  history: z.array(HistoryEntrySchema),
});
export type State = z.infer<typeof StateSchema>;

export { SERVICEPACK_DIR } from './names.js';
