import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ServicepackError } from './errors.js';
import { type EventSink, nullSink } from './events.js';
import { SERVICEPACK_DIR } from './state.js';
import { TRUST_DIR } from './names.js';

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
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
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
  if (key.asymmetricKeyType !== 'ed25519') throw new TypeError(`expected an ed25519 public key, got ${key.asymmetricKeyType}`);
  return key;
}

export function parsePrivateKey(pem: string | Buffer): KeyObject {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new TypeError(`expected an ed25519 private key, got ${key.asymmetricKeyType}`);
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
// Trust store (DESIGN §6): which public keys may sign packs for an installation.

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

export { TRUST_DIR } from './names.js';
export const REVOKED_FILE = 'revoked';

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
 * `<root>/.servicepack/trust/revoked`: one keyid per line, `#` comments and blank lines ignored.
 * A malformed line is an error rather than skipped: a typo there would silently keep a
 * compromised key trusted.
 */
export async function loadRevokedKeyIds(root: string): Promise<string[]> {
  const file = join(trustDirOf(root), REVOKED_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new ServicepackError('E_IO', `cannot read ${file}: ${(e as Error).message}`, { file });
  }
  const out: string[] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.replace(/#.*$/, '').trim().toLowerCase();
    if (line === '') continue;
    if (!KEYID.test(line)) {
      throw new ServicepackError('E_INVALID_STATE', `${file}:${i + 1}: expected a keyid (64 hex digits); fix or remove the line`, { file, line: i + 1 });
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
      names = (await readdir(dir)).filter((n) => n.endsWith('.pub')).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new ServicepackError('E_IO', `cannot read ${dir}: ${(e as Error).message}`, { dir });
    }
    for (const name of names) {
      const file = join(dir, name);
      try {
        candidates.push(trustedKeyFromPem(await readFile(file), file));
      } catch (e) {
        throw new ServicepackError('E_INVALID_STATE', `${file} is not an ed25519 public key (PEM); replace or remove it`, { file }, { cause: e });
      }
    }
  }
  for (const file of opts.trustFiles ?? []) {
    let pem: Buffer;
    try {
      pem = await readFile(file);
    } catch (e) {
      throw new ServicepackError('E_USAGE', `cannot read trusted key ${file}: ${(e as Error).message}`, { file });
    }
    try {
      candidates.push(trustedKeyFromPem(pem, file));
    } catch (e) {
      throw new ServicepackError('E_USAGE', `${file} is not an ed25519 public key (PEM, SPKI); pass the .pub file written by keygen`, { file }, { cause: e });
    }
  }
  const keys: TrustedKey[] = [];
  for (const k of candidates) {
    if (revoked.includes(k.keyid)) {
      sink({ type: 'warning', code: 'W_KEY_REVOKED', message: `key ${k.keyid} is revoked and is not trusted`, path: k.source });
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
