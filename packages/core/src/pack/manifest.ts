import { z } from 'zod';
import { MAX_REL_PATH, pathFoldKey, unsafePathReason } from './archive-path.js';
import { ARCHES, PACK_KINDS } from '../rules/level.js';

/**
 * The pack manifest (docs/formats.md "Pack manifest"). Every object is strict: a signed manifest must
 * not carry anything the installer would silently ignore, so an unknown key is a refusal, not a warning.
 */
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex sha256');

/** Relative POSIX path inside the product tree; the pack reader re-checks every path it touches. */
export const RelPathSchema = z
  .string()
  .min(1)
  .max(MAX_REL_PATH)
  .superRefine((p, ctx) => {
    // the same rule the pack reader applies to archive entries, so a signed manifest can never
    // name a file the reader would refuse (or one that aliases another on Windows or macOS)
    const reason = unsafePathReason(p);
    if (reason) ctx.addIssue({ code: 'custom', message: `expected a safe relative path: ${reason}` });
  });

export const FileActionSchema = z.enum(['add', 'replace', 'delete']);

export const ManifestFileSchema = z.strictObject({
  path: RelPathSchema,
  action: FileActionSchema,
  /** sha256/size/mode of the new content; absent for delete */
  sha256: sha256.optional(),
  size: z
    .number()
    .int()
    .min(0)
    .max(2 ** 40)
    .optional(),
  mode: z.number().int().min(0).max(0o777).optional(),
  /** an admin-edited file: never overwritten when locally modified, the new default lands beside as .spnew */
  config: z.boolean().optional(),
  /** sha256 of every known earlier version of this path; a current hash outside it means "locally modified" */
  from: z.array(sha256),
});
export type ManifestFile = z.infer<typeof ManifestFileSchema>;

export const FixRefSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9-]+$/),
  title: z.string().min(1),
  summary: z.string(),
  level: z.number().int().min(0).max(99).optional(),
  security: z.boolean().optional(),
});
export type FixRef = z.infer<typeof FixRefSchema>;

export const ManifestSchema = z
  .strictObject({
    format: z.literal(1),
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/),
    kind: z.enum(PACK_KINDS),
    product: z.string().regex(/^[a-z][a-z0-9-]*$/),
    title: z.string().min(1),
    /** the level reached (for a hotfix: the level it applies to, which it does not change) */
    level: z.number().int().min(0).max(99),
    /** hotfix and rollup: the service pack level it is built for */
    baseLevel: z.number().int().min(0).max(99).optional(),
    arch: z.enum(ARCHES),
    appliesTo: z.strictObject({
      version: z.string().min(1),
      levels: z.array(z.number().int().min(0).max(99)).min(1),
      /** hotfixes an installation may carry and still take this pack */
      hotfixes: z.array(z.string()).optional(),
      /** hotfixes an installation must carry: the pack is built on them and its files include them */
      requires: z.array(z.string()).optional(),
    }),
    supersedes: z.array(z.string()),
    fixes: z.array(FixRefSchema),
    files: z.array(ManifestFileSchema),
    restart: z.boolean(),
    created: z.string().datetime(),
    /** documents shipped beside the payload, e.g. EULA.txt */
    documents: z
      .array(z.strictObject({ name: z.string().regex(/^[A-Za-z0-9._-]+$/), sha256, size: z.number().int().min(0) }))
      .optional(),
  })
  .superRefine((m, ctx) => {
    if (m.kind !== 'service-pack' && m.baseLevel === undefined)
      ctx.addIssue({ code: 'custom', message: `a ${m.kind} names its baseLevel`, path: ['baseLevel'] });
    const seen = new Set<string>();
    for (const [i, f] of m.files.entries()) {
      const key = pathFoldKey(f.path);
      if (seen.has(key))
        ctx.addIssue({ code: 'custom', message: `duplicate path ${f.path}`, path: ['files', i, 'path'] });
      seen.add(key);
      if (f.action !== 'delete' && (f.sha256 === undefined || f.size === undefined))
        ctx.addIssue({ code: 'custom', message: `${f.action} needs sha256 and size`, path: ['files', i] });
    }
  });
export type Manifest = z.infer<typeof ManifestSchema>;

export const MANIFEST_ENTRY = 'servicepack.json';
export const SIGNATURE_ENTRY = 'servicepack.sig';
export const PAYLOAD_PREFIX = 'payload/';
/** A manifest larger than this is refused before parsing (a memory-exhaustion guard). */
export const MANIFEST_MAX_BYTES = 4 * 1024 * 1024;

export const SignatureFileSchema = z.strictObject({
  signatures: z
    .array(
      z.strictObject({
        keyid: sha256,
        sig: z
          .string()
          .regex(/^[A-Za-z0-9+/]+=*$/)
          .max(200),
      }),
    )
    .max(16),
});
export type SignatureFile = z.infer<typeof SignatureFileSchema>;
