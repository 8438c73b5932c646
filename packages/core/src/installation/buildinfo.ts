import { z } from 'zod';
import { ARCHES } from '../rules/level.js';
import { HEALTH_KEY, HEALTH_LIMITS, HEALTH_PATH, healthBlockReason } from '../health/contract-rules.js';
import { serviceBlockReason } from './record-paths.js';

/**
 * How to tell that the service works after an update (docs/transactions.md §7 "Health check"): an
 * HTTP probe of the address and port the installation's own configuration file names (never a
 * pack's claims), and how long the server must keep running. Declared by the release, so it is
 * signed with the packs that carry BUILDINFO.json.
 */
export const HealthContractSchema = z
  .strictObject({
    http: z.strictObject({
      /** the installation's configuration file, root-relative ("Key = Value" lines, as the product reads them) */
      conf: z.string().min(1),
      addressKey: z.string().regex(HEALTH_KEY),
      portKey: z.string().regex(HEALTH_KEY),
      /** what the product uses when the file does not set the key */
      defaultAddress: z.string().min(1),
      defaultPort: z.number().int().min(1).max(65_535),
      /** the request: GET of this path, twice on one connection */
      path: z.string().regex(HEALTH_PATH),
    }),
    /** the probe must pass within this many seconds of the start */
    timeoutSeconds: z.number().int().min(1).max(HEALTH_LIMITS.timeoutSeconds),
    /** the server must still run this many seconds after it was started */
    runningSeconds: z.number().int().min(0).max(HEALTH_LIMITS.runningSeconds),
  })
  .superRefine((h, ctx) => {
    const why = healthBlockReason(h);
    if (why !== undefined) ctx.addIssue({ code: 'custom', message: why });
  });
export type HealthContract = z.infer<typeof HealthContractSchema>;

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
  health: HealthContractSchema.optional(),
});
export type BuildInfo = z.infer<typeof BuildInfoSchema>;

export { BUILDINFO_FILE } from './names.js';
