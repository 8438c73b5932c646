import { z } from 'zod';
import { ARCHES } from './level.js';

/** Fix ids double as hotfix ids in BUILDINFO.json and pack ids, so they share that alphabet. */
export const FIX_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9-]*$/;

const text = z.string().regex(/\S/, 'must not be empty');

/**
 * `patches/<ID>/fix.yaml` (docs/internal-contracts.md): what a fix changes and why, in the words a
 * KB article would use, plus where it ships. Strict so that a misspelt key is an error rather than
 * a silently ignored field.
 */
export const FixSchema = z
  .strictObject({
    id: z.string().regex(FIX_ID_PATTERN, 'letters, digits and dashes only'),
    title: text.regex(/^[^\n]*$/, 'must be one line'),
    summary: text,
    /**
     * The first service pack that ships the fix; RTM (0) is the base, so a fix starts at 1. Absent for
     * a fix no service pack ships (after SP6a): it is released only as a hotfix and in rollups.
     */
    level: z.number().int().min(1).max(99).optional(),
    /** Also released alone, as a hotfix installable on exactly this level. */
    hotfix: z.strictObject({ baseLevel: z.number().int().min(0).max(98) }).optional(),
    security: z.boolean().default(false),
    arch: z
      .array(z.enum(ARCHES))
      .min(1)
      .default([...ARCHES]),
    symptoms: text,
    cause: text,
    resolution: text,
    /** File names inside the fix's folder; no paths, so a fix cannot point outside its folder. */
    diffs: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a file name inside the fix folder')).min(1),
  })
  .superRefine((f, ctx) => {
    if (f.level === undefined && f.hotfix === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['level'],
        message: 'a fix ships in a service pack (level) or as a hotfix (hotfix.baseLevel), or both',
      });
  });
export type Fix = z.infer<typeof FixSchema>;
