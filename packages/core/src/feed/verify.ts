import { SignatureFileSchema } from '../pack/manifest.js';
import { ServicepackError } from '../support/errors.js';
import { checkSignatures, type Signature, type TrustedKey } from '../trust/trust.js';
import { FEED_INDEX_MAX_BYTES, FEED_SIGNATURE_FILE, type FeedIndex, FeedIndexSchema } from './schema.js';

/**
 * Judging an index already in memory, apart from how its bytes arrived: the checks (size,
 * signature, schema, expiry, version floor, product) are the same for a folder, a mirror or a fuzzer.
 */

export interface VerifyFeedOptions {
  trustedKeys: readonly TrustedKey[];
  revokedKeyIds?: readonly string[];
  /** the highest version this client has accepted from this feed before (its state record keeps it) */
  lastSeenVersion?: number;
  /** defaults to the current time; tests and `--now`-style tooling pass their own */
  now?: Date;
  /** when given, an index for another product is refused */
  product?: string;
}

function parseSignatureFile(bytes: Buffer, source: string): Signature[] {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new ServicepackError(
      'E_BAD_SIGNATURE',
      `${source} is not valid JSON; the feed was damaged or tampered with, do not use it`,
      { source },
    );
  }
  const r = SignatureFileSchema.safeParse(json);
  if (!r.success)
    throw new ServicepackError(
      'E_BAD_SIGNATURE',
      `${source} is malformed; the feed was damaged or tampered with, do not use it`,
      { source },
    );
  return r.data.signatures;
}

/**
 * Judges `indexBytes` in the order that keeps hostile input away from the parser: size, then the
 * signature over the exact bytes, then JSON and schema, then freshness (expiry) and the version
 * floor. Returns the index and the keyids whose signature verified.
 */
export function verifyFeedIndex(
  indexBytes: Buffer,
  signatureBytes: Buffer,
  opts: VerifyFeedOptions & { source: string },
): { index: FeedIndex; signedBy: string[] } {
  const { source } = opts;
  if (indexBytes.length > FEED_INDEX_MAX_BYTES) {
    throw new ServicepackError(
      'E_FEED',
      `${source} is larger than ${FEED_INDEX_MAX_BYTES} bytes; the feed is misconfigured or hostile, use another`,
      {
        source,
        limit: FEED_INDEX_MAX_BYTES,
      },
    );
  }
  const signatures = parseSignatureFile(signatureBytes, `${source} (${FEED_SIGNATURE_FILE})`);
  if (signatures.length === 0) {
    throw new ServicepackError(
      'E_UNSIGNED',
      `${source} is not signed; a feed is only used when a trusted key signed its index`,
      { source },
    );
  }
  const checks = checkSignatures(indexBytes, signatures, {
    trustedKeys: opts.trustedKeys,
    revokedKeyIds: opts.revokedKeyIds ?? [],
  });
  const signedBy = checks.filter((c) => c.status === 'valid').map((c) => c.keyid);
  if (signedBy.length === 0) {
    const bad = checks.filter((c) => c.status === 'bad');
    if (bad.length > 0) {
      throw new ServicepackError(
        'E_BAD_SIGNATURE',
        `${source}: the signature by trusted key ${bad[0]!.keyid} does not match the index; the feed was tampered with or damaged, do not use it`,
        {
          source,
          keyids: bad.map((c) => c.keyid),
        },
      );
    }
    const revoked = checks.filter((c) => c.status === 'revoked').map((c) => c.keyid);
    throw new ServicepackError(
      'E_UNTRUSTED_KEY',
      revoked.length > 0
        ? `${source} is signed only by revoked key(s) ${revoked.join(', ')}; ask the publisher to re-sign the feed with a current key`
        : `${source} is signed by key(s) this installation does not trust (${checks.map((c) => c.keyid).join(', ')}); add the vendor's public key with --trust FILE or to .servicepack/trust/`,
      { source, keyids: checks.map((c) => c.keyid), revoked },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(indexBytes));
  } catch (e) {
    throw new ServicepackError(
      'E_FEED',
      `${source} is signed but not valid UTF-8 JSON (${(e as Error).message}); ask the publisher to republish the feed`,
      { source },
    );
  }
  const r = FeedIndexSchema.safeParse(json);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new ServicepackError(
      'E_FEED',
      `${source} is signed but is not an index this installer can read (a newer format?); update servicepack:\n  ${issues.join('\n  ')}`,
      {
        source,
        issues,
      },
    );
  }
  const index = r.data;
  const now = opts.now ?? new Date();
  if (Date.parse(index.expires) <= now.getTime()) {
    throw new ServicepackError(
      'E_FEED_EXPIRED',
      `${source} expired on ${index.expires} (now ${now.toISOString()}); an expired index may be a replay of old data, so it is not used. Ask the publisher to re-sign the feed, or check this machine's clock`,
      { source, expires: index.expires, now: now.toISOString(), version: index.version },
    );
  }
  if (opts.lastSeenVersion !== undefined && index.version < opts.lastSeenVersion) {
    throw new ServicepackError(
      'E_FEED_ROLLBACK',
      `${source} is version ${index.version}, older than version ${opts.lastSeenVersion} seen before; a mirror may be replaying old data. Use another mirror or ask the publisher`,
      { source, version: index.version, lastSeenVersion: opts.lastSeenVersion },
    );
  }
  if (opts.product !== undefined && index.product !== opts.product) {
    throw new ServicepackError(
      'E_WRONG_PRODUCT',
      `${source} is a feed for ${index.product}, not ${opts.product}; check the feed URL`,
      { source, product: index.product },
    );
  }
  return { index, signedBy };
}
