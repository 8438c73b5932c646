import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair, keyIdOf, parsePublicKey } from '@servicepack/core';

export interface DevKey {
  privateKeyPath: string;
  publicKeyPath: string;
  publicKeyPem: string;
  keyid: string;
}

/**
 * The demo's vendor key: generated on first build, never committed (docs/layout.md §1). Kept across builds
 * so that rebuilding gives byte-identical signed packs.
 */
export async function ensureDevKey(distDir: string): Promise<DevKey> {
  const dir = join(distDir, 'keys');
  const privateKeyPath = join(dir, 'dev.key');
  const publicKeyPath = join(dir, 'dev.pub');
  if (!existsSync(privateKeyPath) || !existsSync(publicKeyPath)) {
    await mkdir(dir, { recursive: true });
    const pair = generateKeyPair();
    await writeFile(privateKeyPath, pair.privateKeyPem, { mode: 0o600 });
    await writeFile(publicKeyPath, pair.publicKeyPem, { mode: 0o644 });
  }
  const publicKeyPem = await readFile(publicKeyPath, 'utf8');
  return { privateKeyPath, publicKeyPath, publicKeyPem, keyid: keyIdOf(parsePublicKey(publicKeyPem)) };
}
