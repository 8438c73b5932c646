/**
 * Opening a pack: nothing in it is believed before its signature is judged. Only the manifest and
 * signature entries are read, within a byte budget, and the signature is judged over the raw manifest
 * bytes before they are parsed. The decompressed stream and its limits live here too, since the head
 * is read through them before anything else is trusted.
 */
import { createGunzip } from 'node:zlib';
import { isServicepackError, ServicepackError } from '../support/errors.js';
import { checkSignatures, type Signature, type SignatureCheck, type TrustedKey } from '../trust/trust.js';
import {
  MANIFEST_ENTRY,
  MANIFEST_MAX_BYTES,
  type Manifest,
  ManifestSchema,
  SIGNATURE_ENTRY,
  SignatureFileSchema,
} from './manifest.js';
import { feedFile } from './file-feed.js';
import { notAPackError, notGzipError } from './not-a-pack.js';
import { type PackRegion, packRegion, type SfxLayout } from './sfx.js';
import { BLOCK, type TarEntry, TarReader } from './tar-format.js';

/** servicepack.sig holds at most 16 small signatures (SignatureFileSchema); anything bigger is hostile. */
export const SIGNATURE_MAX_BYTES = 64 * 1024;
/** EULA and release notes are read into memory: cap them. */
export const DOCUMENT_MAX_BYTES = 1024 * 1024;
/** Deflate cannot legitimately exceed ~1032:1; beyond this the stream is a bomb (node-tar's default too). */
export const MAX_DECOMPRESSION_RATIO = 1000;
const RATIO_GRACE_BYTES = 1024 * 1024;
export const PAX_OVERHEAD = 3 * BLOCK + 8 * 1024;

export interface OpenPackOptions {
  trustedKeys: TrustedKey[];
  /** `--allow-unsigned`: lets a pack without a signature, or signed only by unknown keys, through */
  allowUnsigned?: boolean;
  revokedKeyIds?: string[];
}

export interface VerifiedPack {
  path: string;
  manifest: Manifest;
  /** the exact bytes the signatures cover; the staging pass insists on finding them again */
  manifestBytes: Buffer;
  /** keyids of the trusted keys whose signature verified */
  signedBy: string[];
  unsigned: boolean;
  /** size of the pack in bytes (of the .tgz, or of the pack embedded in a .run) */
  size: number;
  /** where the pack starts in the file: 0 for a .tgz, the embedded pack's offset in a .run */
  offset: number;
}

// ---------------------------------------------------------------------------------------------------
// The decompressed tar stream of a pack, with the resource limits applied as bytes arrive.

export interface PackStream {
  reader: TarReader;
  close(): void;
}

export function corrupt(message: string, details: Record<string, unknown> = {}, cause?: unknown): ServicepackError {
  return new ServicepackError('E_CORRUPT_ARCHIVE', `${message}; download or copy the pack again`, details, { cause });
}
export function unsafe(message: string, details: Record<string, unknown> = {}): ServicepackError {
  return new ServicepackError(
    'E_UNSAFE_ARCHIVE',
    `the pack contains an entry the installer refuses: ${message}; do not use this pack`,
    details,
  );
}

/** Where the pack bytes lie in the file: all of a .tgz, the embedded region of a one-file pack (.run). */
async function locatePack(path: string): Promise<PackRegion> {
  try {
    return await packRegion(path);
  } catch (e) {
    if (isServicepackError(e)) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ServicepackError('E_USAGE', `no pack at ${path}; check the path`, { path });
    if (code === 'EISDIR')
      throw new ServicepackError('E_USAGE', `${path} is not a file; pass the path of a pack (.tgz)`, { path });
    throw new ServicepackError('E_IO', `cannot read ${path}: ${(e as Error).message}`, { path }, { cause: e });
  }
}

export function openPackStream(
  path: string,
  maxTarBytes: number,
  region: { start: number; size: number } = { start: 0, size: Number.POSITIVE_INFINITY },
): PackStream {
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  // an empty file (or region) is the empty stream it is, and gunzip's "unexpected end" says what is wrong with it
  const file = feedFile(path, region.start, region.size, gunzip);
  let produced = 0;
  async function* guarded(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of gunzip) {
        const buf = chunk as Buffer;
        produced += buf.length;
        if (produced > RATIO_GRACE_BYTES && produced > MAX_DECOMPRESSION_RATIO * Math.max(file.bytesRead, 1)) {
          throw unsafe(`decompression ratio above ${MAX_DECOMPRESSION_RATIO}:1`);
        }
        yield buf;
      }
    } catch (e) {
      if (isServicepackError(e)) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      // refused before a byte came out: is it gzip at all? (a text file, a zip, a plain tar named as a pack)
      if (typeof code === 'string' && code.startsWith('Z_') && produced === 0) {
        const notGzip = notGzipError(path, e);
        if (notGzip) throw notGzip;
      }
      if (typeof code === 'string' && code.startsWith('Z_'))
        throw corrupt(`${path} is not a complete gzip file (${(e as Error).message})`, { path }, e);
      throw new ServicepackError('E_IO', `cannot read ${path}: ${(e as Error).message}`, { path }, { cause: e });
    }
  }
  const reader = new TarReader(guarded(), (total) => {
    if (total > maxTarBytes)
      throw unsafe('more data than its manifest accounts for', { bytes: total, limit: maxTarBytes });
  });
  return {
    reader,
    close() {
      file.stop();
      gunzip.destroy();
    },
  };
}

export interface PackHead {
  manifestBytes: Buffer;
  /** undefined when the pack has no servicepack.sig entry */
  signatures: Signature[] | undefined;
}

/**
 * Reads servicepack.json and servicepack.sig (when present) from `reader`. `next` is the header
 * already read after the manifest when there was no signature entry, or undefined when the reader
 * stands right after the signature.
 */
export async function readHead(
  reader: TarReader,
  path: string,
): Promise<{ head: PackHead; next: TarEntry | null | undefined }> {
  let first: TarEntry | null;
  try {
    first = await reader.next();
  } catch (e) {
    // a stream that does not even start like our tar is some other archive, whatever its first bytes claim
    if (isServicepackError(e) && e.code === 'E_UNSAFE_ARCHIVE')
      throw notAPackError(path, `its first header is refused: ${String(e.details['reason'] ?? e.message)}`);
    throw e;
  }
  if (first?.type !== 'file' || first.path !== MANIFEST_ENTRY) {
    const why =
      first === null ? 'the archive is empty' : `its first entry is ${JSON.stringify(first.path)}, a ${first.type}`;
    throw notAPackError(path, why, { first: first?.path ?? null });
  }
  if (first.size > MANIFEST_MAX_BYTES)
    throw unsafe(`${MANIFEST_ENTRY} is ${first.size} bytes (limit ${MANIFEST_MAX_BYTES})`, { size: first.size });
  const manifestBytes = await reader.readBody();
  const second = await reader.next();
  if (second?.type !== 'file' || second.path !== SIGNATURE_ENTRY)
    return { head: { manifestBytes, signatures: undefined }, next: second };
  if (second.size > SIGNATURE_MAX_BYTES)
    throw unsafe(`${SIGNATURE_ENTRY} is ${second.size} bytes (limit ${SIGNATURE_MAX_BYTES})`);
  const sigBytes = await reader.readBody();
  let parsed: unknown;
  try {
    parsed = JSON.parse(sigBytes.toString('utf8'));
  } catch {
    throw new ServicepackError(
      'E_BAD_SIGNATURE',
      `${SIGNATURE_ENTRY} in ${path} is not valid JSON; the pack was damaged or tampered with`,
      { path },
    );
  }
  const sigs = SignatureFileSchema.safeParse(parsed);
  if (!sigs.success)
    throw new ServicepackError(
      'E_BAD_SIGNATURE',
      `${SIGNATURE_ENTRY} in ${path} is malformed; the pack was damaged or tampered with`,
      { path },
    );
  // the entry after the signature is left unread: verification looks at nothing but these two
  return { head: { manifestBytes, signatures: sigs.data.signatures }, next: undefined };
}

async function readPackHead(path: string, region: PackRegion): Promise<PackHead> {
  const s = openPackStream(path, MANIFEST_MAX_BYTES + SIGNATURE_MAX_BYTES + 4 * PAX_OVERHEAD, region);
  try {
    return (await readHead(s.reader, path)).head;
  } finally {
    s.close();
  }
}

/** JSON + schema, only ever called on bytes whose signature has been judged. */
export function parseManifestBytes(bytes: Buffer, source: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new ServicepackError(
      'E_INVALID_MANIFEST',
      `${source}: ${MANIFEST_ENTRY} is not valid UTF-8 JSON (${(e as Error).message})`,
      { source },
    );
  }
  const r = ManifestSchema.safeParse(json);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new ServicepackError(
      'E_INVALID_MANIFEST',
      `${source}: invalid manifest; this installer cannot use it:\n  ${issues.join('\n  ')}`,
      { source, issues },
    );
  }
  return r.data;
}

function judge(
  head: PackHead,
  path: string,
  opts: OpenPackOptions,
): { signedBy: string[]; unsigned: boolean; checks: SignatureCheck[] } {
  const sigs = head.signatures ?? [];
  const checks = checkSignatures(head.manifestBytes, sigs, {
    trustedKeys: opts.trustedKeys,
    revokedKeyIds: opts.revokedKeyIds ?? [],
  });
  const signedBy = checks.filter((c) => c.status === 'valid').map((c) => c.keyid);
  if (signedBy.length > 0) return { signedBy, unsigned: false, checks };
  if (sigs.length === 0) {
    if (opts.allowUnsigned) return { signedBy, unsigned: true, checks };
    throw new ServicepackError(
      'E_UNSIGNED',
      `${path} is not signed; get a signed pack from the vendor (or pass --allow-unsigned if you built it yourself)`,
      { path },
    );
  }
  // a trusted key whose signature fails means the manifest was altered: never overridable
  const bad = checks.filter((c) => c.status === 'bad');
  if (bad.length > 0) {
    throw new ServicepackError(
      'E_BAD_SIGNATURE',
      `${path}: the signature by trusted key ${bad[0]!.keyid} does not match the manifest; the pack was tampered with or damaged`,
      {
        path,
        keyids: bad.map((c) => c.keyid),
      },
    );
  }
  const revoked = checks.filter((c) => c.status === 'revoked');
  if (revoked.length > 0) {
    throw new ServicepackError(
      'E_UNTRUSTED_KEY',
      `${path} is signed only by revoked key(s) ${revoked.map((c) => c.keyid).join(', ')}; get a pack signed with the vendor's current key`,
      {
        path,
        keyids: checks.map((c) => c.keyid),
        revoked: revoked.map((c) => c.keyid),
      },
    );
  }
  if (opts.allowUnsigned) return { signedBy, unsigned: true, checks };
  throw new ServicepackError(
    'E_UNTRUSTED_KEY',
    `${path} is signed by key(s) this installation does not trust (${checks.map((c) => c.keyid).join(', ')}); add the vendor's public key with --trust FILE or to .servicepack/trust/`,
    { path, keyids: checks.map((c) => c.keyid) },
  );
}

/**
 * Verifies a pack before anything in it is interpreted: only the manifest and signature entries are
 * read, and the signature is judged over the raw manifest bytes before they are parsed as JSON.
 */
export async function openPack(path: string, opts: OpenPackOptions): Promise<VerifiedPack> {
  const region = await locatePack(path);
  const head = await readPackHead(path, region);
  const { signedBy, unsigned } = judge(head, path, opts);
  const manifest = parseManifestBytes(head.manifestBytes, path);
  return {
    path,
    manifest,
    manifestBytes: head.manifestBytes,
    signedBy,
    unsigned,
    size: region.size,
    offset: region.start,
  };
}

export interface PackInspection {
  path: string;
  /** of the pack itself, as in VerifiedPack */
  size: number;
  /** the layout of a one-file pack (.run) */
  sfx?: SfxLayout;
  manifest: Manifest;
  manifestBytes: Buffer;
  /** every signature in the pack with what the given trust store makes of it */
  signatures: SignatureCheck[];
}

/** For `pack inspect`: reports signatures instead of enforcing them. The manifest is still schema-checked. */
export async function inspectPack(
  path: string,
  opts: { trustedKeys: TrustedKey[]; revokedKeyIds?: string[] },
): Promise<PackInspection> {
  const region = await locatePack(path);
  const head = await readPackHead(path, region);
  const signatures = checkSignatures(head.manifestBytes, head.signatures ?? [], {
    trustedKeys: opts.trustedKeys,
    revokedKeyIds: opts.revokedKeyIds ?? [],
  });
  return {
    path,
    size: region.size,
    ...(region.sfx ? { sfx: region.sfx } : {}),
    manifest: parseManifestBytes(head.manifestBytes, path),
    manifestBytes: head.manifestBytes,
    signatures,
  };
}

/** Reads the manifest and signatures of a pack without judging them (for `pack sign`). */
export async function readPackSignatures(path: string): Promise<{ manifestBytes: Buffer; signatures: Signature[] }> {
  const head = await readPackHead(path, await locatePack(path));
  return { manifestBytes: head.manifestBytes, signatures: head.signatures ?? [] };
}
