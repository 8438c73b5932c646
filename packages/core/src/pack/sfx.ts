import { open } from 'node:fs/promises';
import { ServicepackError } from '../support/errors.js';

/**
 * One-file packs (.run, docs/formats.md "One-file pack (.run)"): a shell stub, the bundled installer
 * and the signed pack, unchanged, followed by a fixed-size trailer that says where each part lies.
 * This module only finds the pack inside such a file; nothing in the stub or the bundle is run or
 * believed here, and the pack found is verified by its own signature like any .tgz. The trailer is
 * unauthenticated, so every number in it is checked against the file before it is used.
 */

/** The trailer is the last SFX_TRAILER_BYTES of the file: the magic, one JSON object, space padding, "\n". */
export const SFX_TRAILER_BYTES = 512;
export const SFX_MAGIC = '#SERVICEPACK-RUN/1 ';
/** A .run starts with a shell stub; a gzip file (a .tgz) never starts with "#!". */
const SHEBANG = '#!';

export interface SfxLayout {
  /** the stub's length: the bundle starts right after it */
  bundleOffset: number;
  bundleLength: number;
  /** what the builder recorded for the bundle (informational: the wrapper is not trusted for anything) */
  bundleSha256: string;
  packOffset: number;
  packLength: number;
}

/** Where the pack bytes of a file lie: the whole file for a .tgz, the embedded region for a .run. */
export interface PackRegion {
  start: number;
  size: number;
  /** set when the file is a one-file pack */
  sfx?: SfxLayout;
}

/** The trailer for `layout`, exactly SFX_TRAILER_BYTES long (the builder writes it, readSfxLayout reads it). */
export function sfxTrailer(layout: SfxLayout): Buffer {
  const body = `${SFX_MAGIC}${JSON.stringify(layout)}`;
  if (body.length + 1 > SFX_TRAILER_BYTES) throw new Error('one-file pack trailer too long');
  return Buffer.from(`${body.padEnd(SFX_TRAILER_BYTES - 1, ' ')}\n`, 'latin1');
}

function damaged(path: string, why: string, details: Record<string, unknown> = {}): ServicepackError {
  return new ServicepackError(
    'E_CORRUPT_ARCHIVE',
    `${path} starts like a one-file pack (.run) but ${why}; it is damaged or was tampered with: download or copy it again`,
    { path, ...details },
  );
}

const INT = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Checks an untrusted trailer against the file's size: the parts must tile the file exactly, in order. */
export function parseSfxTrailer(path: string, trailer: Buffer, fileSize: number): SfxLayout {
  const text = trailer.toString('latin1');
  if (!text.startsWith(SFX_MAGIC) || !text.endsWith('\n'))
    throw damaged(path, `its last ${SFX_TRAILER_BYTES} bytes are not a one-file pack trailer`);
  let raw: unknown;
  try {
    raw = JSON.parse(text.slice(SFX_MAGIC.length).trimEnd());
  } catch {
    throw damaged(path, 'its trailer is not valid JSON');
  }
  const o = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const { bundleOffset, bundleLength, bundleSha256, packOffset, packLength } = o;
  if (!INT(bundleOffset) || !INT(bundleLength) || !INT(packOffset) || !INT(packLength))
    throw damaged(path, 'its trailer lacks the offsets and lengths as whole numbers');
  if (typeof bundleSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(bundleSha256))
    throw damaged(path, 'its trailer has no bundle sha256');
  const layout = { bundleOffset, bundleLength, bundleSha256, packOffset, packLength };
  // stub | bundle | pack | trailer, contiguous: no overlap, no gap, nothing beyond the file
  if (
    bundleOffset === 0 ||
    bundleLength === 0 ||
    packLength === 0 ||
    bundleOffset + bundleLength !== packOffset ||
    packOffset + packLength !== fileSize - SFX_TRAILER_BYTES
  )
    throw damaged(path, `its trailer's offsets do not fit the file (${fileSize} bytes)`, { layout });
  return layout;
}

/**
 * Where the pack lies in the file at `path` (opened, checked to be a regular file). A file that does
 * not start with "#!" is a .tgz as it is; one that does must carry a valid trailer.
 */
export async function packRegion(path: string): Promise<PackRegion> {
  const fh = await open(path, 'r');
  try {
    const st = await fh.stat();
    if (!st.isFile())
      throw new ServicepackError('E_USAGE', `${path} is not a file; pass the path of a pack (.tgz or .run)`, { path });
    const head = Buffer.alloc(SHEBANG.length);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    if (bytesRead < SHEBANG.length || head.toString('latin1') !== SHEBANG) return { start: 0, size: st.size };
    if (st.size < SFX_TRAILER_BYTES) throw damaged(path, 'it is too short to hold a trailer');
    const trailer = Buffer.alloc(SFX_TRAILER_BYTES);
    const r = await fh.read(trailer, 0, SFX_TRAILER_BYTES, st.size - SFX_TRAILER_BYTES);
    if (r.bytesRead !== SFX_TRAILER_BYTES) throw damaged(path, 'its trailer could not be read whole');
    const sfx = parseSfxTrailer(path, trailer, st.size);
    return { start: sfx.packOffset, size: sfx.packLength, sfx };
  } finally {
    await fh.close();
  }
}

/** sha256 of a region of a file (the embedded pack or bundle of a .run), read in bounded chunks. */
export async function sha256Region(path: string, start: number, size: number): Promise<string> {
  const { createHash } = await import('node:crypto');
  const hash = createHash('sha256');
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(Math.min(size, 1024 * 1024));
    let done = 0;
    while (done < size) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - done), start + done);
      if (bytesRead === 0) throw damaged(path, 'it ended before the end its trailer gives');
      hash.update(buf.subarray(0, bytesRead));
      done += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}
