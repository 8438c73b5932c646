/**
 * HTTP/1.x request heads, parsed from the bytes received so far. The parser is strict where
 * leniency lets two parties disagree on where a request ends (request smuggling): one Host, one
 * Content-Length, no folded lines, no Transfer-Encoding beside Content-Length.
 */

export interface RequestHead {
  method: string;
  /** The request-target exactly as sent. */
  target: string;
  /** The minor version: 0 or 1 (a later 1.x is answered as 1.1). */
  minor: 0 | 1;
  /** Lower-case names; repeated fields joined with ", ". */
  headers: Map<string, string>;
}

export interface ParseLimits {
  maxRequestBytes: number;
  maxUrlLength: number;
  maxRequestEntityBytes: number;
}

export type HeadResult =
  | { kind: 'incomplete' }
  /** `headBytes` counts everything up to and including the blank line that ends the head. */
  | { kind: 'head'; head: RequestHead; headBytes: number; bodyLength: number }
  | { kind: 'error'; status: 400 | 413 | 414 | 501 | 505; reason: string };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REQUEST_LINE = /^([^ ]+) ([^ ]+) HTTP\/(\d)\.(\d)$/;
const TARGET = /^[\x21-\x7e]+$/;
// Field values: visible characters, obs-text, space and tab. Any other control byte is refused.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const SINGLE = new Set(['host', 'content-length']);

const LF = 0x0a;
const CR = 0x0d;

function fail(status: 400 | 413 | 414 | 501 | 505, reason: string): HeadResult {
  return { kind: 'error', status, reason };
}

/** One line without its terminator (LF, or CRLF), or undefined when the terminator has not arrived. */
function lineAt(buf: Buffer, start: number): { text: string; next: number } | undefined {
  const lf = buf.indexOf(LF, start);
  if (lf < 0) return undefined;
  const end = lf > start && buf[lf - 1] === CR ? lf - 1 : lf;
  // latin1 maps bytes 1:1 to code units, so the checks below see exactly what was sent.
  return { text: buf.toString('latin1', start, end), next: lf + 1 };
}

export function parseHead(buf: Buffer, limits: ParseLimits): HeadResult {
  // RFC 9112 §2.2: empty lines before a request-line are skipped (some clients send CRLF after a body).
  let pos = 0;
  while (pos < buf.length && (buf[pos] === CR || buf[pos] === LF)) pos++;
  if (pos > limits.maxRequestBytes) return fail(400, 'only empty lines');

  const first = lineAt(buf, pos);
  if (first === undefined) {
    const pending = buf.length - pos;
    if (pending > limits.maxUrlLength + 32) {
      // Still no end of line: tell a client with a runaway URL so, and anyone else that the head is too big.
      const space = buf.indexOf(0x20, pos);
      return space > pos && space - pos <= 32 ? fail(414, 'request-line too long') : fail(400, 'no request-line');
    }
    return { kind: 'incomplete' };
  }
  if (first.text.includes('\r')) return fail(400, 'bare CR in request-line');
  const m = REQUEST_LINE.exec(first.text);
  if (!m) return fail(400, 'malformed request-line');
  const [, method = '', target = '', major = '', minor = ''] = m;
  if (!TOKEN.test(method)) return fail(400, 'malformed method');
  if (target.length > limits.maxUrlLength) return fail(414, 'URL too long');
  if (!TARGET.test(target)) return fail(400, 'malformed request-target');
  if (major !== '1') return major === '0' ? fail(400, 'HTTP/0.x') : fail(505, `HTTP/${major}.${minor}`);

  const headers = new Map<string, string>();
  let next = first.next;
  for (;;) {
    if (next - pos > limits.maxRequestBytes) return fail(413, 'request head too large');
    const line = lineAt(buf, next);
    if (line === undefined) {
      return buf.length - pos > limits.maxRequestBytes ? fail(413, 'request head too large') : { kind: 'incomplete' };
    }
    next = line.next;
    if (line.text === '') break;
    if (line.text.startsWith(' ') || line.text.startsWith('\t')) return fail(400, 'obsolete line folding');
    const colon = line.text.indexOf(':');
    const name = colon > 0 ? line.text.slice(0, colon) : '';
    if (!TOKEN.test(name)) return fail(400, 'malformed header field');
    const value = line.text.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (!FIELD_VALUE.test(value)) return fail(400, `control character in ${name}`);
    const key = name.toLowerCase();
    const prev = headers.get(key);
    if (prev !== undefined && SINGLE.has(key)) return fail(400, `repeated ${name}`);
    headers.set(key, prev === undefined ? value : `${prev}, ${value}`);
  }
  if (next - pos > limits.maxRequestBytes) return fail(413, 'request head too large');

  const isMinor1 = minor !== '0';
  if (isMinor1 && !headers.has('host')) return fail(400, 'HTTP/1.1 request without Host');

  let bodyLength = 0;
  const te = headers.get('transfer-encoding');
  const cl = headers.get('content-length');
  if (te !== undefined) {
    if (cl !== undefined) return fail(400, 'both Transfer-Encoding and Content-Length');
    // A static server has no use for request bodies; without decoding them we cannot find the next request.
    return fail(501, 'request bodies with Transfer-Encoding are not supported');
  }
  if (cl !== undefined) {
    if (!/^\d{1,15}$/.test(cl)) return fail(400, 'malformed Content-Length');
    bodyLength = Number(cl);
    if (bodyLength > limits.maxRequestEntityBytes) return fail(413, 'request body too large');
  }
  return { kind: 'head', head: { method, target, minor: isMinor1 ? 1 : 0, headers }, headBytes: next, bodyLength };
}

/** Whether the client asked to keep the connection open, by the rules of its HTTP version. */
export function wantsKeepAlive(head: RequestHead): boolean {
  const tokens = (head.headers.get('connection') ?? '')
    .toLowerCase()
    .split(',')
    .map((t) => t.trim());
  if (tokens.includes('close')) return false;
  return head.minor === 1 || tokens.includes('keep-alive');
}
