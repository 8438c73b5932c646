/**
 * Path rules shared by the pack writer, the pack reader and the manifest schema. A pack is built on
 * one system and unpacked on another, so a name is judged by every filesystem it could land on:
 * what is harmless on ext4 (`a\b`, `C:x`, `CON`, `x.`) escapes or aliases on Windows or macOS, and
 * the tar CVEs of 2018-2026 were mostly such disagreements between "the name we checked" and "the
 * file the OS opened".
 */

/** Longest relative path a pack may carry (the manifest schema allows the same). */
export const MAX_REL_PATH = 240;
const MAX_SEGMENTS = 32;

const WINDOWS_RESERVED = /^(?:con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³])(?:\..*)?$/i;

/**
 * Why `p` is not a safe relative POSIX path, or undefined when it is. Checked: empty, too long or too
 * deep, absolute, backslash, drive letter, control characters (C0, DEL and C1: `\u009b` is CSI on
 * many terminals), line separators and bidirectional controls (they make a name printed on a
 * terminal read as another), empty/`.`/`..` segments, Windows reserved device names and segments
 * ending in a dot or a space (Windows strips those, aliasing two names to one file).
 */
export function unsafePathReason(p: string): string | undefined {
  if (p.length === 0) return 'empty path';
  if (p.length > MAX_REL_PATH) return `path longer than ${MAX_REL_PATH} characters`;
  if (p.startsWith('/')) return 'absolute path';
  if (p.includes('\\')) return 'backslash in path';
  if (/^[A-Za-z]:/.test(p)) return 'drive letter in path';
  if (/[\x00-\x1f\x7f-\x9f]/.test(p)) return 'control character in path';
  // Unicode's Bidi_Control set plus the two line separators
  if (/[\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(p))
    return 'line separator or bidirectional control character in path';
  const segments = p.split('/');
  if (segments.length > MAX_SEGMENTS) return `more than ${MAX_SEGMENTS} path segments`;
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..') return `"${s}" segment in path`;
    if (s.endsWith('.') || s.endsWith(' ')) return 'path segment ending in a dot or a space';
    if (WINDOWS_RESERVED.test(s)) return `reserved device name "${s}" in path`;
    if (s.includes(':')) return 'colon in path (alternate data stream on Windows)';
  }
  return undefined;
}

export function isSafeRelPath(p: string): boolean {
  return unsafePathReason(p) === undefined;
}

/**
 * The key under which two names count as the same file somewhere: NFC (macOS normalises), then a
 * full case fold approximated by upper-then-lower so that `ß` and `ss` meet (APFS, NTFS).
 */
export function pathFoldKey(p: string): string {
  return p.normalize('NFC').toUpperCase().toLowerCase().normalize('NFC');
}
