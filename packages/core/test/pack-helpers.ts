import { createHash, type KeyObject } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { hashTree } from '../src/support/hash.js';
import type { Manifest } from '../src/pack/manifest.js';
import { serializeManifest } from '../src/pack/pack-write.js';
import { generateKeyPair, parsePrivateKey, parsePublicKey, signBytes, type TrustedKey } from '../src/trust/trust.js';

export interface TestKey {
  privateKey: KeyObject;
  trusted: TrustedKey;
  publicKeyPem: string;
  privateKeyPem: string;
}

export function makeKey(): TestKey {
  const pair = generateKeyPair();
  return {
    privateKey: parsePrivateKey(pair.privateKeyPem),
    trusted: { keyid: pair.keyid, key: parsePublicKey(pair.publicKeyPem), source: 'test' },
    publicKeyPem: pair.publicKeyPem,
    privateKeyPem: pair.privateKeyPem,
  };
}

export const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

export async function tempDir(prefix = 'sp-pack-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export interface PayloadSpec {
  path: string;
  content: Buffer | string;
  mode?: number;
  config?: boolean;
}

/** Writes the payload files under `dir` and returns a manifest describing them. */
export async function makePayload(dir: string, files: PayloadSpec[], extra: Partial<Manifest> = {}): Promise<Manifest> {
  for (const f of files) {
    const p = join(dir, ...f.path.split('/'));
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, f.content, { mode: f.mode ?? 0o644 });
  }
  return {
    format: 1,
    id: 'inetsrv-4.0-sp9',
    kind: 'service-pack',
    product: 'inetsrv',
    title: 'inetsrv 4.0 Service Pack 9 (test)',
    level: 9,
    arch: 'x86',
    appliesTo: { version: '>=4.0.0 <4.1.0', levels: [0, 1] },
    supersedes: [],
    fixes: [{ id: 'Q1', title: 'a fix', summary: 'fixes a thing' }],
    files: files.map((f) => ({
      path: f.path,
      action: 'add' as const,
      sha256: sha(Buffer.from(f.content)),
      size: Buffer.byteLength(f.content),
      mode: f.mode ?? 0o644,
      ...(f.config ? { config: true } : {}),
      from: [],
    })),
    restart: true,
    created: '2026-01-02T03:04:05.000Z',
    ...extra,
  };
}

// ---- raw tar crafting for hostile archives (deliberately independent of the code under test) ----

export interface RawEntry {
  name: string;
  /** tar typeflag: '0' file, '1' hard link, '2' symlink, '3' char dev, '4' block dev, '5' dir, '6' fifo, 'x' pax, 'L' GNU long name */
  type?: string;
  data?: Buffer | string;
  mode?: number;
  linkname?: string;
  /** header size field when it should lie about the data */
  size?: number;
  magic?: string;
}

function octal(n: number, len: number): string {
  return `${n.toString(8).padStart(len - 1, '0')}\0`;
}

export function rawHeader(e: RawEntry, dataLength: number): Buffer {
  const b = Buffer.alloc(512);
  b.write(e.name, 0, 100, 'utf8');
  b.write(octal(e.mode ?? 0o644, 8), 100, 'ascii');
  b.write(octal(0, 8), 108, 'ascii');
  b.write(octal(0, 8), 116, 'ascii');
  b.write(octal(e.size ?? dataLength, 12), 124, 'ascii');
  b.write(octal(1700000000, 12), 136, 'ascii');
  b.write(e.type ?? '0', 156, 'ascii');
  if (e.linkname) b.write(e.linkname, 157, 100, 'utf8');
  b.write(e.magic ?? 'ustar\x0000', 257, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return b;
}

export function rawTar(entries: RawEntry[], { end = true }: { end?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    parts.push(rawHeader(e, data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  if (end) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export function rawPack(entries: RawEntry[], opts?: { end?: boolean }): Buffer {
  return gzipSync(rawTar(entries, opts));
}

/** manifest + signature entries for a hand-made pack, signed by `key` (or unsigned). */
export function headEntries(manifest: Manifest, key?: TestKey): { entries: RawEntry[]; manifestBytes: Buffer } {
  const manifestBytes = serializeManifest(manifest);
  const entries: RawEntry[] = [{ name: 'servicepack.json', data: manifestBytes }];
  if (key)
    entries.push({
      name: 'servicepack.sig',
      data: `${JSON.stringify({ signatures: [signBytes(manifestBytes, key.privateKey)] })}\n`,
    });
  return { entries, manifestBytes };
}

/** Every path and hash under `dir`, including folders, for "nothing else changed" checks. */
export async function snapshot(dir: string): Promise<string> {
  const files = await hashTree(dir);
  const names: string[] = [];
  async function walk(rel: string): Promise<void> {
    for (const e of (await readdir(join(dir, rel), { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      names.push(`${e.isDirectory() ? 'd' : e.isFile() ? 'f' : '?'} ${p}`);
      if (e.isDirectory()) await walk(p);
    }
  }
  await walk('');
  return JSON.stringify({ names, files: [...files.entries()] });
}

export async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, 'utf8'));
}
