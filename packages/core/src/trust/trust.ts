import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ServicepackError } from '../support/errors.js';
import { type EventSink, nullSink } from '../support/events.js';
import { errnoCode, fileKind, readSmallFile } from '../support/fsutil.js';
import { SERVICEPACK_DIR } from '../installation/state.js';
import { TRUST_DIR } from '../installation/names.js';

/**
 * ed25519 keys and signatures. A keyid is the sha256 (hex) of the public key's SPKI DER encoding:
 * stable across PEM line wrapping, and what `servicepack keygen` prints.
 */
export interface Signature {
  keyid: string;
  /** base64 of the 64-byte ed25519 signature over the exact manifest (or index) bytes */
  sig: string;
}

export interface KeyPairPem {
  privateKeyPem: string;
  publicKeyPem: string;
  keyid: string;
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

export function generateKeyPair(): KeyPairPem {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyid: keyIdOf(publicKey),
  };
}

export function parsePublicKey(pem: string | Buffer): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519')
    throw new TypeError(`expected an ed25519 public key, got ${key.asymmetricKeyType}`);
  return key;
}

export function parsePrivateKey(pem: string | Buffer): KeyObject {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519')
    throw new TypeError(`expected an ed25519 private key, got ${key.asymmetricKeyType}`);
  return key;
}

export function signBytes(bytes: Uint8Array, privateKey: KeyObject): Signature {
  const publicKey = createPublicKey(privateKey);
  return { keyid: keyIdOf(publicKey), sig: sign(null, bytes, privateKey).toString('base64') };
}

export function verifyBytes(bytes: Uint8Array, signature: Signature, publicKey: KeyObject): boolean {
  try {
    return verify(null, bytes, publicKey, Buffer.from(signature.sig, 'base64'));
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------
// Trust store (docs/threat-model.md): which public keys may sign packs for an installation.

export interface TrustedKey {
  keyid: string;
  key: KeyObject;
  /** where the key came from (file path), for messages and `pack inspect` */
  source: string;
}

export interface TrustStore {
  keys: TrustedKey[];
  /** keyids listed in `<root>/.servicepack/trust/revoked`; never trusted, whatever file offers them */
  revoked: string[];
}

export interface LoadTrustOptions {
  /** installation root: every `*.pub` in `<root>/.servicepack/trust/` is trusted */
  root?: string;
  /** extra PEM files (`--trust FILE`, answer file `trust:`) */
  trustFiles?: string[];
  /** receives a warning for every key skipped because it is revoked */
  sink?: EventSink;
}

export { TRUST_DIR } from '../installation/names.js';
export const REVOKED_FILE = 'revoked';
/** A PEM public key is under 1 KiB; a file much larger is not one, and is not read to find out. */
export const KEY_FILE_MAX_BYTES = 64 * 1024;
/** Some 14,000 keyids with comments. */
export const REVOKED_FILE_MAX_BYTES = 1024 * 1024;

export function trustDirOf(root: string): string {
  return join(root, SERVICEPACK_DIR, TRUST_DIR);
}

/** Parses one PEM public key; the caller decides which error code a bad file deserves. */
export function trustedKeyFromPem(pem: string | Buffer, source: string): TrustedKey {
  // createPublicKey happily derives a public key from a private one; a private key lying in a trust
  // location is a leak to fix, not an anchor to use
  if (pem.toString().includes('PRIVATE KEY')) throw new TypeError(`${source} holds a private key, not a public one`);
  const key = parsePublicKey(pem);
  return { keyid: keyIdOf(key), key, source };
}

const KEYID = /^[0-9a-f]{64}$/;

/**
 * Whether the installation has a trust folder. A link there is refused, not followed: what this
 * root-run installer trusts is decided by what is really in the installation's own folder.
 */
async function hasTrustDir(dir: string): Promise<boolean> {
  try {
    const st = await lstat(dir);
    if (st.isDirectory()) return true;
    throw new ServicepackError(
      'E_INVALID_STATE',
      `${dir} is ${fileKind(st)}, not a folder: the trust folder must be a real folder of .pub files; replace it`,
      { dir },
    );
  } catch (e) {
    if (e instanceof ServicepackError) throw e;
    if (errnoCode(e) === 'ENOENT') return false;
    throw new ServicepackError('E_IO', `cannot read ${dir}: ${(e as Error).message}`, { dir }, { cause: e });
  }
}

/**
 * `<root>/.servicepack/trust/revoked`: one keyid per line, `#` comments and blank lines ignored.
 * A malformed line is an error rather than skipped: a typo there would silently keep a
 * compromised key trusted.
 */
export async function loadRevokedKeyIds(root: string): Promise<string[]> {
  const dir = trustDirOf(root);
  if (!(await hasTrustDir(dir))) return [];
  const file = join(dir, REVOKED_FILE);
  const read = await readSmallFile(file, REVOKED_FILE_MAX_BYTES, { followLinks: false });
  if (!read.ok) {
    if (read.missing) return [];
    throw new ServicepackError(
      'E_INVALID_STATE',
      `the revocation list ${file} ${read.why}: it must be a regular file (not a link) of at most ${REVOKED_FILE_MAX_BYTES} bytes, one keyid a line; replace it`,
      { file },
      { cause: read.cause },
    );
  }
  const text = read.bytes.toString('utf8');
  const out: string[] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.replace(/#.*$/, '').trim().toLowerCase();
    if (line === '') continue;
    if (!KEYID.test(line)) {
      throw new ServicepackError(
        'E_INVALID_STATE',
        `${file}:${i + 1}: expected a keyid (64 hex digits); fix or remove the line`,
        { file, line: i + 1 },
      );
    }
    if (!out.includes(line)) out.push(line);
  }
  return out;
}

export async function loadTrustStore(opts: LoadTrustOptions): Promise<TrustStore> {
  const sink = opts.sink ?? nullSink;
  const revoked = opts.root === undefined ? [] : await loadRevokedKeyIds(opts.root);
  const candidates: TrustedKey[] = [];
  if (opts.root !== undefined) {
    const dir = trustDirOf(opts.root);
    let names: string[] = [];
    try {
      if (await hasTrustDir(dir)) names = (await readdir(dir)).filter((n) => n.endsWith('.pub')).sort();
    } catch (e) {
      if (e instanceof ServicepackError) throw e;
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new ServicepackError('E_IO', `cannot read ${dir}: ${(e as Error).message}`, { dir });
    }
    for (const name of names) {
      const file = join(dir, name);
      const read = await readSmallFile(file, KEY_FILE_MAX_BYTES, { followLinks: false });
      if (!read.ok) {
        if (read.missing) continue;
        throw new ServicepackError(
          'E_INVALID_STATE',
          `${file} ${read.why}: a trusted key must be a regular file (not a link) of at most ${KEY_FILE_MAX_BYTES} bytes; replace or remove it`,
          { file },
          { cause: read.cause },
        );
      }
      try {
        candidates.push(trustedKeyFromPem(read.bytes, file));
      } catch (e) {
        throw new ServicepackError(
          'E_INVALID_STATE',
          `${file} is not an ed25519 public key (PEM); replace or remove it`,
          { file },
          { cause: e },
        );
      }
    }
  }
  for (const file of opts.trustFiles ?? []) {
    // the administrator named this file, so a link to it is followed; what it leads to is not trusted
    const read = await readSmallFile(file, KEY_FILE_MAX_BYTES, { followLinks: true });
    if (!read.ok) {
      throw new ServicepackError(
        'E_USAGE',
        `cannot use trusted key ${file}: it ${read.why}; pass the .pub file written by keygen (a regular file of at most ${KEY_FILE_MAX_BYTES} bytes)`,
        { file },
        { cause: read.cause },
      );
    }
    try {
      candidates.push(trustedKeyFromPem(read.bytes, file));
    } catch (e) {
      throw new ServicepackError(
        'E_USAGE',
        `${file} is not an ed25519 public key (PEM, SPKI); pass the .pub file written by keygen`,
        { file },
        { cause: e },
      );
    }
  }
  const keys: TrustedKey[] = [];
  for (const k of candidates) {
    if (revoked.includes(k.keyid)) {
      sink({
        type: 'warning',
        code: 'W_KEY_REVOKED',
        message: `key ${k.keyid} is revoked and is not trusted`,
        path: k.source,
      });
      continue;
    }
    if (!keys.some((t) => t.keyid === k.keyid)) keys.push(k);
  }
  return { keys, revoked };
}

export async function loadTrustedKeys(opts: LoadTrustOptions): Promise<TrustedKey[]> {
  return (await loadTrustStore(opts)).keys;
}

/** valid: trusted key, good signature · bad: trusted key, signature does not verify · untrusted: unknown key · revoked: key on the revoked list */
export type SignatureStatus = 'valid' | 'bad' | 'untrusted' | 'revoked';

export interface SignatureCheck {
  keyid: string;
  status: SignatureStatus;
  /** the trusted key's source when known */
  source?: string;
}

/** Judges each signature over `bytes`; the caller decides what set of results is acceptable. */
export function checkSignatures(
  bytes: Uint8Array,
  signatures: readonly Signature[],
  opts: { trustedKeys: readonly TrustedKey[]; revokedKeyIds?: readonly string[] },
): SignatureCheck[] {
  return signatures.map((s) => {
    if (opts.revokedKeyIds?.includes(s.keyid)) return { keyid: s.keyid, status: 'revoked' };
    const key = opts.trustedKeys.find((k) => k.keyid === s.keyid);
    if (!key) return { keyid: s.keyid, status: 'untrusted' };
    return { keyid: s.keyid, status: verifyBytes(bytes, s, key.key) ? 'valid' : 'bad', source: key.source };
  });
}
