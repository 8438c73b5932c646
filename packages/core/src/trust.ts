import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';

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
