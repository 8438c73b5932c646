import type { KeyObject } from 'node:crypto';
import { type Manifest, SignatureFileSchema } from '../pack/manifest.js';
import { ServicepackError } from '../support/errors.js';
import { type Signature, signBytes } from '../trust/trust.js';
import { type FeedIndex, FeedIndexSchema, type FeedPack, FeedPackSchema } from './schema.js';

/**
 * Writing a feed index: the publisher in the builder uses these so that reader and writer share one
 * definition, and the client reuses feedPackEntry to hold a pack's manifest against its index entry.
 */

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** What the index says about a pack, taken from its signed manifest; `file` pins the .tgz itself. */
export function feedPackEntry(manifest: Manifest, file: { url: string; sha256: string; size: number }): FeedPack {
  return FeedPackSchema.parse({
    id: manifest.id,
    kind: manifest.kind,
    level: manifest.level,
    ...(manifest.baseLevel !== undefined ? { baseLevel: manifest.baseLevel } : {}),
    arch: manifest.arch,
    appliesTo: {
      version: manifest.appliesTo.version,
      levels: [...manifest.appliesTo.levels],
      ...(manifest.appliesTo.hotfixes !== undefined ? { hotfixes: [...manifest.appliesTo.hotfixes] } : {}),
      // a client choosing from the index alone (check, latest) must see the chain a hotfix is built on
      ...(manifest.appliesTo.requires !== undefined ? { requires: [...manifest.appliesTo.requires] } : {}),
    },
    supersedes: [...manifest.supersedes],
    fixes: manifest.fixes.map((f) => ({
      id: f.id,
      title: f.title,
      summary: f.summary,
      ...(f.security !== undefined ? { security: f.security } : {}),
    })),
    url: file.url,
    sha256: file.sha256,
    size: file.size,
  });
}

/**
 * The one serialisation of an index: schema-checked (which also fixes key order), packs sorted by
 * url, 2-space JSON plus a newline. Signed exactly as written, so equal content gives equal bytes.
 */
export function serializeFeedIndex(index: FeedIndex): Buffer {
  const r = FeedIndexSchema.safeParse(index);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ServicepackError('E_FEED', `refusing to write an invalid feed index:\n  ${issues.join('\n  ')}`, {
      issues,
    });
  }
  const packs = [...r.data.packs].sort((a, b) => byCodeUnit(a.url, b.url));
  return Buffer.from(`${JSON.stringify(FeedIndexSchema.parse({ ...r.data, packs }), null, 2)}\n`, 'utf8');
}

/** index.sig: one signature per key over `indexBytes`, sorted by keyid (ed25519 is deterministic). */
export function signFeedIndex(indexBytes: Uint8Array, privateKeys: readonly KeyObject[]): Buffer {
  const unique = new Map<string, Signature>();
  for (const k of privateKeys) {
    const s = signBytes(indexBytes, k);
    unique.set(s.keyid, s);
  }
  const signatures = [...unique.values()].sort((a, b) => byCodeUnit(a.keyid, b.keyid));
  return Buffer.from(`${JSON.stringify(SignatureFileSchema.parse({ signatures }), null, 2)}\n`, 'utf8');
}
