import { z } from 'zod';
import { ARCHES } from '../rules/level.js';
import { serviceBlockReason } from './record-paths.js';

/** `BUILDINFO.json` of every release tree (docs/formats.md "BUILDINFO.json"): what the vendor says it shipped. */
export const BuildInfoSchema = z.strictObject({
  product: z.string().regex(/^[a-z][a-z0-9-]*$/),
  displayName: z.string().min(1),
  version: z.string().regex(/^\d+\.\d+\.\d+$/),
  level: z.number().int().min(0).max(99),
  arch: z.enum(ARCHES),
  build: z.string().min(1),
  hotfixes: z.array(z.string().regex(/^[A-Za-z0-9-]+$/)),
  service: z
    .strictObject({
      pidFile: z.string().min(1),
      start: z.array(z.string().min(1)).min(1),
    })
    .superRefine((s, ctx) => {
      const why = serviceBlockReason(s);
      if (why !== undefined) ctx.addIssue({ code: 'custom', message: why });
    }),
});
export type BuildInfo = z.infer<typeof BuildInfoSchema>;

export { BUILDINFO_FILE } from './names.js';
