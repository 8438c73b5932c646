/**
 * Tools for building hostile input by hand: a raw tar writer that can put any value in any header
 * field (deliberately independent of core's tar-format.ts, so a bug there cannot hide itself in the
 * fixtures), deterministic ed25519 keys, signature files, a byte-exact tree snapshot, and an
 * in-process runner for the `servicepack` command line.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Io } from '../../installer/src/io.js';
import { captureIo } from '../../installer/test/capture-io.js';

// ---------------------------------------------------------------------------------------------
// Keys

export interface FixedKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  privateKeyPem: string;
  publicKeyPem: string;
  keyid: string;
}

// PKCS#8 wrapping of a raw 32-byte ed25519 seed (RFC 8410)
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * A key derived from `label`: the same label gives the same key in every run, so packs signed with
 * it are byte-identical between runs and a failing bit-flip offset can be reproduced.
 */
export function fixedKey(label: string): FixedKey {
  const seed = createHash('sha256').update(`servicepack test key: ${label}`).digest();
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const publicKey = createPublicKey(privateKey);
  return {
    privateKey,
    publicKey,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyid: createHash('sha256')
      .update(publicKey.export({ type: 'spki', format: 'der' }))
      .digest('hex'),
  };
}

export interface RawSignature {
  keyid: string;
  sig: string;
}

export function signWith(bytes: Buffer, key: FixedKey): RawSignature {
  return { keyid: key.keyid, sig: sign(null, bytes, key.privateKey).toString('base64') };
}

/** servicepack.sig / index.sig bytes, as the writers lay them out (sorted by keyid). */
export function signatureFile(bytes: Buffer, keys: readonly FixedKey[]): Buffer {
  const signatures = keys.map((k) => signWith(bytes, k)).sort((a, b) => (a.keyid < b.keyid ? -1 : 1));
  return Buffer.from(`${JSON.stringify({ signatures }, null, 2)}\n`);
}

// ---------------------------------------------------------------------------------------------
// Raw tar

export interface RawEntry {
  /** the ustar name field (at most 100 bytes; longer names go through `prefix` or `pax`) */
  name: string;
  prefix?: string;
  /** typeflag: '0' file, '1' hard link, '2' symlink, '3' char dev, '4' block dev, '5' dir, '6' FIFO, '7', 'g', 'x', 'L', 'K', ... */
  type?: string;
  data?: Buffer | string;
  mode?: number;
  /** header size when it should lie about the data: a number (octal) or the raw 12 bytes of the field */
  size?: number | Buffer;
  linkname?: string;
  /** the 8 bytes at offset 257: magic + version */
  magic?: string;
  uid?: number;
  gid?: number;
  mtime?: number;
  /** write a wrong checksum */
  badChecksum?: boolean;
  /** PAX records emitted in an 'x' header right before this entry */
  pax?: Record<string, string>;
}

export const BLOCK = 512;

export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

function octal(n: number, len: number): string {
  return `${n.toString(8).padStart(len - 1, '0')}\0`;
}

export function headerBlock(e: RawEntry, dataLength: number): Buffer {
  const b = Buffer.alloc(BLOCK);
  const name = Buffer.from(e.name, 'utf8');
  if (name.length > 100) throw new RangeError(`raw tar: name longer than 100 bytes: ${e.name}`);
  name.copy(b, 0);
  b.write(octal(e.mode ?? 0o644, 8), 100, 'ascii');
  b.write(octal(e.uid ?? 0, 8), 108, 'ascii');
  b.write(octal(e.gid ?? 0, 8), 116, 'ascii');
  if (Buffer.isBuffer(e.size)) e.size.copy(b, 124, 0, 12);
  else b.write(octal(e.size ?? dataLength, 12), 124, 'ascii');
  b.write(octal(e.mtime ?? 943228800, 12), 136, 'ascii');
  b.write(e.type ?? '0', 156, 'latin1');
  if (e.linkname !== undefined) Buffer.from(e.linkname, 'utf8').copy(b, 157, 0, 100);
  b.write(e.magic ?? 'ustar\x0000', 257, 'latin1');
  if (e.prefix !== undefined) Buffer.from(e.prefix, 'utf8').copy(b, 345, 0, 155);
  setChecksum(b);
  if (e.badChecksum) b[148] = b[148] === 0x30 ? 0x31 : 0x30;
  return b;
}

/** Recomputes the header checksum in place (after a deliberate change to another field). */
export function setChecksum(b: Buffer, offset = 0): void {
  b.fill(0x20, offset + 148, offset + 156);
  let sum = 0;
  for (let i = offset; i < offset + BLOCK; i++) sum += b[i]!;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, offset + 148, 'ascii');
}

function pad(n: number): Buffer {
  return Buffer.alloc((BLOCK - (n % BLOCK)) % BLOCK);
}

export interface TarOptions {
  /** write the two zero blocks (default true) */
  end?: boolean;
  /** pad to a 10 KiB record like GNU tar (default true) */
  record?: boolean;
  /** raw bytes appended after everything */
  trailer?: Buffer;
}

export function tarBytes(entries: readonly RawEntry[], opts: TarOptions = {}): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.pax) {
      const body = Buffer.from(
        Object.entries(e.pax)
          .map(([k, v]) => paxRecord(k, v))
          .join(''),
      );
      parts.push(headerBlock({ name: 'PaxHeader/x', type: 'x' }, body.length), body, pad(body.length));
    }
    const data = Buffer.from(e.data ?? '');
    parts.push(headerBlock(e, data.length), data, pad(data.length));
  }
  if (opts.end ?? true) parts.push(Buffer.alloc(2 * BLOCK));
  let tar = Buffer.concat(parts);
  if ((opts.end ?? true) && (opts.record ?? true))
    tar = Buffer.concat([tar, Buffer.alloc((20 * BLOCK - (tar.length % (20 * BLOCK))) % (20 * BLOCK))]);
  return opts.trailer ? Buffer.concat([tar, opts.trailer]) : tar;
}

export function tgz(entries: readonly RawEntry[], opts: TarOptions = {}): Buffer {
  return gzipSync(tarBytes(entries, opts), { level: 6 });
}

// ---------------------------------------------------------------------------------------------
// Snapshots: every name, type, mode, size, content hash and link target under a folder

export async function treeSnapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(rel: string): Promise<void> {
    const names = (await readdir(join(dir, rel))).sort();
    for (const name of names) {
      const p = rel ? `${rel}/${name}` : name;
      // an earlier run's staging on its way out in the background (core garbage.ts)
      if (p === '.servicepack/garbage') continue;
      const full = join(dir, p);
      const st = await lstat(full);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out.push(`d ${mode} ${p}`);
        await walk(p);
      } else if (st.isFile()) {
        out.push(
          `f ${mode} ${st.size} ${createHash('sha256')
            .update(await readFile(full))
            .digest('hex')} ${p}`,
        );
      } else if (st.isSymbolicLink()) {
        out.push(`l ${p} -> ${await readlink(full)}`);
      } else {
        out.push(`? ${mode} ${p}`);
      }
    }
  }
  await walk('');
  return out;
}

// ---------------------------------------------------------------------------------------------
// The command line, in process

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

let runner: ((argv: readonly string[], io: Io) => Promise<number>) | undefined;

/** `servicepack ARGS` through the installer's own `run()`, with captured output and no terminal. */
export async function cli(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  // loaded on first use: the fuzz run imports this module but never needs commander
  runner ??= (await import('../../installer/src/cli.js')).run;
  const { io, output } = captureIo({ NO_COLOR: '1', ...env });
  const code = await runner(['node', 'servicepack', ...args], io);
  return { code, ...output() };
}

/** The one JSON document a `--json` run prints. */
export function jsonDoc(r: CliResult): Record<string, unknown> {
  try {
    return JSON.parse(r.out) as Record<string, unknown>;
  } catch {
    throw new Error(`not one JSON document on stdout (exit ${r.code}):\n${r.out}\n${r.err}`);
  }
}

// ---------------------------------------------------------------------------------------------
// A TLS certificate for loopback https servers, made here (no openssl): a self-signed X.509 v1
// certificate for an ed25519 key, DER-encoded by hand. Clients must be told not to verify it.

function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, content]);
}

export function selfSignedCertificate(key: FixedKey, commonName = 'servicepack test'): string {
  const seq = (...parts: Buffer[]) => der(0x30, Buffer.concat(parts));
  const ed25519 = seq(der(0x06, Buffer.from([0x2b, 0x65, 0x70])));
  const name = seq(der(0x31, seq(der(0x06, Buffer.from([0x55, 0x04, 0x03])), der(0x0c, Buffer.from(commonName)))));
  const validity = seq(der(0x17, Buffer.from('200101000000Z')), der(0x18, Buffer.from('20991231235959Z')));
  const spki = key.publicKey.export({ type: 'spki', format: 'der' });
  const tbs = seq(der(0x02, Buffer.from([0x01])), ed25519, name, validity, name, spki);
  const cert = seq(tbs, ed25519, der(0x03, Buffer.concat([Buffer.from([0]), sign(null, tbs, key.privateKey)])));
  const b64 = cert.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`;
}
