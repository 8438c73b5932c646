import { closeSync, openSync, readSync } from 'node:fs';
import { ServicepackError } from '../support/errors.js';
import { MANIFEST_ENTRY } from './manifest.js';

/**
 * The refusals of a file that is no pack at all, worded for the person who named the wrong file:
 * what it seems to be instead, and what a pack is. "Download it again" is the advice for a damaged
 * pack (open.ts `corrupt`), not for a text file or a plain tar. The codes stay E_CORRUPT_ARCHIVE.
 */

const WHAT_A_PACK_IS = `a servicepack pack is a gzip-compressed tar (.tgz) whose first entry is its signed manifest ${MANIFEST_ENTRY}, as \`servicepack pack build\` makes it`;
const ADVICE =
  'name the pack file (.tgz) the vendor published; `servicepack pack inspect FILE` shows what a pack holds';

/** A guess from the first bytes, for the message only: nothing is decided on it. */
function looksLike(head: Buffer): string | undefined {
  const starts = (s: string) => head.subarray(0, s.length).equals(Buffer.from(s, 'latin1'));
  if (head.length === 0) return 'it is empty';
  if (head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar') return 'it is an uncompressed tar';
  if (starts('PK\x03\x04')) return 'it is a zip archive';
  if (starts('\xfd7zXZ\x00')) return 'it is xz-compressed';
  if (starts('BZh')) return 'it is bzip2-compressed';
  if (starts('(\xb5/\xfd')) return 'it is zstd-compressed';
  if (starts('-----BEGIN')) return 'it is a PEM file (a key?)';
  if (starts('{') || starts('[')) return 'it looks like JSON';
  const text = head.subarray(0, 64).every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127));
  return text ? 'it is text' : undefined;
}

function firstBytes(path: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(512);
    return buf.subarray(0, readSync(fd, buf, 0, buf.length, 0));
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * When gunzip refused the file before producing a byte: a file that does not start with gzip's
 * magic is "not a gzip file" (undefined otherwise: a gzip stream damaged early is a damaged pack).
 */
export function notGzipError(path: string, cause: unknown): ServicepackError | undefined {
  const head = firstBytes(path);
  if (head === undefined || (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b)) return undefined;
  const seems = looksLike(head);
  return new ServicepackError(
    'E_CORRUPT_ARCHIVE',
    `${path} is not a gzip file${seems ? ` (${seems})` : ''}: ${WHAT_A_PACK_IS}; ${ADVICE}`,
    { path },
    { cause },
  );
}

/** A readable .tgz whose first entry is not the manifest: some other archive, not a damaged pack. */
export function notAPackError(path: string, why: string, details: Record<string, unknown> = {}): ServicepackError {
  return new ServicepackError(
    'E_CORRUPT_ARCHIVE',
    `${path} is not a servicepack pack (no manifest ${MANIFEST_ENTRY} as its first entry: ${why}): ${WHAT_A_PACK_IS}; ${ADVICE}`,
    { path, ...details },
  );
}
