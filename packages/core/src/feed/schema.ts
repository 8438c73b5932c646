import { z } from 'zod';
import { unsafePathReason } from '../pack/archive-path.js';
import { FixRefSchema } from '../pack/manifest.js';
import { ARCHES, PACK_KINDS } from '../rules/level.js';
import { CATALOG_MAX_BYTES } from './catalog.js';

/**
 * The signed feed (docs/formats.md "Feed index", docs/threat-model.md): a static folder any web server
 * or CDN can serve.
 *
 *   index.json    product, version (a counter that only grows), created, expires, every pack with
 *                 the facts a client needs to choose it, pinned by url + sha256 + size, and the
 *                 catalog pinned the same way
 *   index.sig     {signatures:[{keyid,sig}]} over the exact bytes of index.json (as servicepack.sig)
 *   packs/*.tgz   the packs themselves
 *   catalog.json  the file catalog (catalog.ts)
 *
 * What TUF taught, scaled to one role: the index is bounded in size and its signature is judged on
 * the raw bytes before anything parses them; expiry defeats freeze attacks, the version floor
 * defeats rollback; every byte fetched afterwards (packs, catalog) is bound to the signed index by
 * length and hash, and a pack's own signed manifest must say what the index says about it, so a
 * valid pack served under another pack's name (mix-and-match) is refused.
 *
 * This module holds the index's shape and its limits, the one definition reader and publisher share.
 */
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex sha256');

/**
 * A path relative to the index, in a deliberately small alphabet: it is resolved as a URL and used
 * as a local file name, and must never leave the feed's folder (no `..`, no scheme, no query).
 */
export const FeedRelUrlSchema = z
  .string()
  .min(1)
  .max(240)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, 'expected a relative path of letters, digits, ".", "_", "-" and "/"')
  .superRefine((p, ctx) => {
    const reason = unsafePathReason(p);
    if (reason) ctx.addIssue({ code: 'custom', message: `expected a safe relative path: ${reason}` });
  });

export const FeedFixSchema = FixRefSchema.pick({ id: true, title: true, summary: true, security: true });
export type FeedFix = z.infer<typeof FeedFixSchema>;

export const FeedPackSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/),
  kind: z.enum(PACK_KINDS),
  level: z.number().int().min(0).max(99),
  baseLevel: z.number().int().min(0).max(99).optional(),
  arch: z.enum(ARCHES),
  appliesTo: z.strictObject({
    version: z.string().min(1),
    levels: z.array(z.number().int().min(0).max(99)).min(1),
    hotfixes: z.array(z.string()).optional(),
    requires: z.array(z.string()).optional(),
  }),
  supersedes: z.array(z.string()),
  fixes: z.array(FeedFixSchema),
  /** relative to the index, e.g. packs/inetsrv-4.0-sp6-x86.tgz */
  url: FeedRelUrlSchema,
  sha256,
  size: z
    .number()
    .int()
    .min(1)
    .max(2 ** 40),
});
export type FeedPack = z.infer<typeof FeedPackSchema>;

export const FeedIndexSchema = z
  .strictObject({
    format: z.literal(1),
    product: z.string().regex(/^[a-z][a-z0-9-]*$/),
    /** grows with every change; a client refuses an index older than the newest it has seen */
    version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    created: z.string().datetime(),
    /** after this instant the index is refused: a mirror cannot freeze clients on old data forever */
    expires: z.string().datetime(),
    packs: z.array(FeedPackSchema),
    catalog: z.strictObject({ url: FeedRelUrlSchema, sha256, size: z.number().int().min(1).max(CATALOG_MAX_BYTES) }),
  })
  .superRefine((ix, ctx) => {
    if (Date.parse(ix.expires) <= Date.parse(ix.created))
      ctx.addIssue({ code: 'custom', message: 'expires must be later than created', path: ['expires'] });
    const urls = new Set<string>([ix.catalog.url]);
    const ids = new Set<string>();
    for (const [i, p] of ix.packs.entries()) {
      if (urls.has(p.url))
        ctx.addIssue({ code: 'custom', message: `url ${p.url} is used twice`, path: ['packs', i, 'url'] });
      urls.add(p.url);
      const key = `${p.id}\u0000${p.arch}`;
      if (ids.has(key))
        ctx.addIssue({ code: 'custom', message: `pack ${p.id} for ${p.arch} is listed twice`, path: ['packs', i] });
      ids.add(key);
      if (p.kind !== 'service-pack' && p.baseLevel === undefined)
        ctx.addIssue({ code: 'custom', message: `a ${p.kind} names its baseLevel`, path: ['packs', i, 'baseLevel'] });
    }
  });
export type FeedIndex = z.infer<typeof FeedIndexSchema>;

export const FEED_INDEX_FILE = 'index.json';
export const FEED_SIGNATURE_FILE = 'index.sig';
export const FEED_PACKS_DIR = 'packs';
/** Refused before a byte is parsed (TUF's "endless data" defence); a thousand packs fit in ~2 MiB. */
export const FEED_INDEX_MAX_BYTES = 4 * 1024 * 1024;
export const FEED_SIGNATURE_MAX_BYTES = 64 * 1024;
