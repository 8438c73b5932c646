import { z } from 'zod';
import { ownedPathReason } from '../installation/record-paths.js';
import { PACK_KINDS } from '../rules/level.js';

/**
 * The backup record's schema (`backup.json`), in a module of its own so that zod loads only when
 * the check in backup-record.ts cannot vouch for a record (it is damaged or forged, and this words the error).
 */

const ownedPath = z.string().superRefine((p, ctx) => {
  const why = ownedPathReason(p);
  if (why) ctx.addIssue({ code: 'custom', message: why });
});
const meta = z.strictObject({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().min(0),
  mode: z.number().int().min(0).max(0o7777),
});

/** A backup record is read back before uninstall moves anything: a damaged or forged one must not send files outside the tree. */
export const BackupRecordSchema = z
  .strictObject({
    format: z.literal(1),
    packId: z.string(),
    kind: z.enum(PACK_KINDS),
    transactionId: z.string(),
    time: z.string(),
    fromLevel: z.number().int().min(0),
    toLevel: z.number().int().min(0),
    fromHotfixes: z.array(z.string()),
    toHotfixes: z.array(z.string()),
    files: z.array(
      z.strictObject({
        path: ownedPath,
        op: z.enum(['add', 'replace', 'delete']),
        reason: z.enum(['pack', 'overwrite-modified', 'spnew']),
        before: meta.optional(),
        after: meta.optional(),
        backup: z.string().optional(),
      }),
    ),
    createdDirs: z.array(ownedPath),
    removedDirs: z.array(ownedPath),
    spnew: z.array(z.string()),
    kept: z.array(z.string()),
    restart: z.boolean().optional(),
    previousState: z.unknown(),
  })
  .superRefine((r, ctx) => {
    for (const f of r.files) {
      if (f.backup !== undefined && f.backup !== `files/${f.path}`)
        ctx.addIssue({ code: 'custom', path: ['files'], message: `${f.path}: backup must be files/${f.path}` });
    }
  });
