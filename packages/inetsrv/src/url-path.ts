/**
 * Turns a request-target into path segments that can be joined under the web root. This is the
 * first of two fences against reading outside wwwroot (the second, in static-files, checks the
 * real path): it refuses, rather than repairs, anything that could name another folder.
 */

export type TargetResult =
  | {
      ok: true;
      /** Decoded, non-empty, each a plain file or folder name. */
      segments: string[];
      trailingSlash: boolean;
      /** The path as sent (still percent-encoded): what the log records and redirects repeat. */
      rawPath: string;
      /** Without the "?"; empty when there is none. */
      query: string;
    }
  | { ok: false; status: 400 | 403 | 404; reason: string };

const ABSOLUTE_FORM = /^https?:\/\/[^/?#]*/i;
const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

function decodeSegment(seg: string): string | undefined {
  if (!seg.includes('%')) return seg;
  if (/%(?![0-9A-Fa-f]{2})/.test(seg)) return undefined;
  // Decode to bytes first, then as strict UTF-8: overlong or invalid sequences are refused, not mapped.
  const bytes: number[] = [];
  for (let i = 0; i < seg.length; i++) {
    if (seg[i] === '%') {
      bytes.push(Number.parseInt(seg.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(seg.charCodeAt(i));
    }
  }
  try {
    return fatalUtf8.decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

export function parseTarget(target: string): TargetResult {
  let t = target;
  // Absolute-form (RFC 9112 §3.2.2) must be accepted by servers; the authority is not ours to check.
  const abs = ABSOLUTE_FORM.exec(t);
  if (abs) t = t.slice(abs[0].length) || '/';
  if (!t.startsWith('/')) return { ok: false, status: 400, reason: 'target is not an absolute path' };
  if (t.includes('#')) return { ok: false, status: 400, reason: 'fragment in target' };
  const q = t.indexOf('?');
  const rawPath = q < 0 ? t : t.slice(0, q);
  const query = q < 0 ? '' : t.slice(q + 1);
  const segments: string[] = [];
  for (const raw of rawPath.split('/')) {
    if (raw === '') continue;
    const seg = decodeSegment(raw);
    if (seg === undefined) return { ok: false, status: 400, reason: 'bad percent-encoding' };
    if (seg.includes('\0')) return { ok: false, status: 400, reason: 'NUL in path' };
    if (seg === '.' || seg === '..') return { ok: false, status: 403, reason: 'dot-segment in path' };
    // An encoded separator would let one "name" span folders once the OS sees it.
    if (seg.includes('/') || seg.includes('\\')) return { ok: false, status: 403, reason: 'separator inside a path segment' };
    // Hidden files (.git, .htaccess ...) are not content; say "not found" rather than confirm them.
    if (seg.startsWith('.')) return { ok: false, status: 404, reason: 'hidden file' };
    segments.push(seg);
  }
  return { ok: true, segments, trailingSlash: rawPath.endsWith('/'), rawPath, query };
}
