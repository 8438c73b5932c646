import { ServicepackError } from '../support/errors.js';

/**
 * A deliberately small ustar + PAX codec. Packs only ever contain regular files (and, tolerated on
 * read, directories), so the reader understands exactly that and refuses everything else instead of
 * interpreting it: links, devices, FIFOs, GNU long-name records, global PAX headers, base-256
 * numbers. Owning the parser means the deny-by-default rules (docs/formats.md "Pack") are checked on the very
 * header fields we act on, not on another library's interpretation of them.
 */

export const BLOCK = 512;
/** GNU tar pads archives to 20 blocks; doing the same keeps old tools from warning. */
export const RECORD = 20 * BLOCK;
/** ustar's size field holds 11 octal digits. */
const MAX_OCTAL_SIZE = 0o77777777777;
const PAX_MAX_BYTES = 8 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export type TarEntryType = 'file' | 'directory';

export interface TarHeaderInput {
  path: string;
  type: TarEntryType;
  size: number;
  mode: number;
  /** seconds since the epoch */
  mtime: number;
}

function writeString(block: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new RangeError(`tar field overflow: ${value}`);
  bytes.copy(block, offset);
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  const digits = value.toString(8).padStart(length - 1, '0');
  if (digits.length > length - 1) throw new RangeError(`tar numeric field overflow: ${value}`);
  block.write(`${digits}\0`, offset, 'ascii');
}

function checksum(block: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum;
}

function rawHeader(name: string, typeflag: string, size: number, mode: number, mtime: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeString(block, 0, 100, name);
  writeOctal(block, 100, 8, mode);
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  writeOctal(block, 124, 12, size);
  writeOctal(block, 136, 12, mtime);
  block.write(typeflag, 156, 'ascii');
  block.write('ustar\x0000', 257, 'ascii');
  block.write(`${checksum(block).toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  // the length prefix counts its own digits, so grow until it is self-consistent
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

export function padding(size: number): Buffer {
  const rem = size % BLOCK;
  return Buffer.alloc(rem === 0 ? 0 : BLOCK - rem);
}

/**
 * The header block(s) for one entry: a plain ustar header when the name is short ASCII and the size
 * fits, otherwise a PAX 'x' header carrying `path` / `size` first. Fields that vary between machines
 * (uid, gid, user and group names, device numbers, atime/ctime) are always zero or empty.
 */
export function encodeHeader(h: TarHeaderInput): Buffer {
  const name = h.type === 'directory' && !h.path.endsWith('/') ? `${h.path}/` : h.path;
  const records: string[] = [];
  // ustar names are raw bytes every tool decodes differently; only plain ASCII goes there unwrapped
  if (Buffer.byteLength(name) > 100 || !/^[\x20-\x7e]*$/.test(name)) records.push(paxRecord('path', name));
  if (h.size > MAX_OCTAL_SIZE) records.push(paxRecord('size', String(h.size)));
  const typeflag = h.type === 'directory' ? '5' : '0';
  const main = rawHeader(
    records.length ? fallbackName(name) : name,
    typeflag,
    h.size > MAX_OCTAL_SIZE ? 0 : h.size,
    h.mode,
    h.mtime,
  );
  if (records.length === 0) return main;
  const pax = Buffer.from(records.join(''), 'utf8');
  const paxHeader = rawHeader(`PaxHeader/${fallbackName(name).slice(0, 80)}`, 'x', pax.length, 0o644, h.mtime);
  return Buffer.concat([paxHeader, pax, padding(pax.length), main]);
}

/** A deterministic ASCII stand-in for readers that ignore PAX. */
function fallbackName(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_');
  return ascii.length <= 100 ? ascii : ascii.slice(ascii.length - 100);
}

/** Two zero blocks end the archive; then pad to a whole record. */
export function endOfArchive(bytesSoFar: number): Buffer {
  const total = bytesSoFar + 2 * BLOCK;
  const rem = total % RECORD;
  return Buffer.alloc(2 * BLOCK + (rem === 0 ? 0 : RECORD - rem));
}

// ---------------------------------------------------------------------------------------------------
// Reading

export interface TarEntry {
  path: string;
  type: TarEntryType;
  size: number;
  /** permission bits as written in the header (including any setuid/setgid/sticky bits) */
  mode: number;
  mtime: number;
}

/** Raised for archive-level problems; callers map `kind` to E_CORRUPT_ARCHIVE or E_UNSAFE_ARCHIVE. */
function corrupt(message: string, details: Record<string, unknown> = {}): ServicepackError {
  return new ServicepackError('E_CORRUPT_ARCHIVE', `the pack is damaged: ${message}; download or copy it again`, {
    reason: message,
    ...details,
  });
}
function unsafe(message: string, details: Record<string, unknown> = {}): ServicepackError {
  return new ServicepackError(
    'E_UNSAFE_ARCHIVE',
    `the pack contains an entry the installer refuses: ${message}; do not use this pack`,
    { reason: message, ...details },
  );
}

function parseOctal(block: Buffer, offset: number, length: number, field: string): number {
  const raw = block.subarray(offset, offset + length);
  // base-256 (high bit set) is a GNU extension we never write: refusing it keeps sizes unambiguous
  if ((raw[0]! & 0x80) !== 0) throw unsafe(`base-256 ${field} field`);
  const text = raw
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw corrupt(`malformed ${field} field`);
  const value = Number.parseInt(text, 8);
  if (!Number.isSafeInteger(value)) throw unsafe(`${field} field out of range`);
  return value;
}

function parseString(block: Buffer, offset: number, length: number, field: string): string {
  const raw = block.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  const bytes = end === -1 ? raw : raw.subarray(0, end);
  try {
    return utf8.decode(bytes);
  } catch {
    throw unsafe(`${field} is not valid UTF-8`);
  }
}

function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

function parsePax(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let off = 0;
  while (off < data.length) {
    const space = data.indexOf(0x20, off);
    if (space === -1 || space - off > 8) throw corrupt('malformed PAX record');
    const lenText = data.toString('ascii', off, space);
    if (!/^[1-9][0-9]*$/.test(lenText)) throw corrupt('malformed PAX record length');
    const len = Number(lenText);
    const end = off + len;
    if (end > data.length || data[end - 1] !== 0x0a) throw corrupt('PAX record overruns its header');
    let text: string;
    try {
      text = utf8.decode(data.subarray(space + 1, end - 1));
    } catch {
      throw unsafe('PAX record is not valid UTF-8');
    }
    const eq = text.indexOf('=');
    if (eq <= 0) throw corrupt('malformed PAX record');
    const key = text.slice(0, eq);
    if (out.has(key)) throw unsafe(`PAX key ${key} given twice`);
    out.set(key, text.slice(eq + 1));
    off = end;
  }
  return out;
}

/** Keys we accept in a PAX header; anything else (e.g. linkpath, uid, GNU.sparse.*) is refused. */
const PAX_KEYS = new Set(['path', 'size', 'mtime']);

/**
 * Pull-based reader over a stream of decompressed tar bytes. It never holds more than one chunk of
 * the stream plus the block being parsed; entry bodies are handed out chunk by chunk.
 */
export class TarReader {
  private readonly source: AsyncIterator<Buffer>;
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  /** bytes of tar consumed so far, checked by callers against their budget */
  consumed = 0;
  private pendingBody = 0;
  private finished = false;

  constructor(
    source: AsyncIterable<Buffer>,
    private readonly onBytes: (total: number) => void = () => {},
  ) {
    this.source = source[Symbol.asyncIterator]();
  }

  private async fill(min: number): Promise<boolean> {
    while (this.buf.length < min && !this.ended) {
      const r = await this.source.next();
      if (r.done) this.ended = true;
      else this.buf = this.buf.length === 0 ? r.value : Buffer.concat([this.buf, r.value]);
    }
    return this.buf.length >= min;
  }

  private take(n: number): Buffer {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.consumed += n;
    this.onBytes(this.consumed);
    return out;
  }

  private async readExact(n: number, what: string): Promise<Buffer> {
    if (!(await this.fill(n))) throw corrupt(`archive ends inside ${what}`);
    return Buffer.from(this.take(n));
  }

  /** The next entry header, or null at a valid end of archive. The previous body must be consumed. */
  async next(): Promise<TarEntry | null> {
    if (this.pendingBody !== 0) throw new Error('TarReader: previous entry body not consumed');
    if (this.finished) return null;
    let pax: Map<string, string> | undefined;
    for (;;) {
      if (!(await this.fill(BLOCK))) {
        throw corrupt(
          this.buf.length === 0 ? 'archive ends without an end-of-archive marker' : 'archive ends inside a header',
        );
      }
      const block = this.take(BLOCK);
      if (isZeroBlock(block)) {
        if (pax) throw corrupt('PAX header not followed by an entry');
        const second = await this.readExact(BLOCK, 'the end-of-archive marker');
        if (!isZeroBlock(second)) throw corrupt('lone zero block inside the archive');
        this.finished = true;
        return null;
      }
      const stored = parseOctal(block, 148, 8, 'checksum');
      if (stored !== checksum(block)) throw corrupt('header checksum mismatch', { offset: this.consumed - BLOCK });
      if (block.toString('latin1', 257, 265) !== 'ustar\x0000') throw unsafe('not a POSIX ustar header');
      const typeflag = String.fromCharCode(block[156]!);
      const size = parseOctal(block, 124, 12, 'size');
      if (typeflag === 'x') {
        if (pax) throw unsafe('two PAX headers in a row');
        if (size > PAX_MAX_BYTES) throw unsafe('oversized PAX header');
        const data = await this.readExact(size, 'a PAX header');
        await this.readExact(padding(size).length, 'a PAX header');
        pax = parsePax(data);
        for (const key of pax.keys()) if (!PAX_KEYS.has(key)) throw unsafe(`unsupported PAX key ${key}`);
        continue;
      }
      let type: TarEntryType;
      if (typeflag === '0' || typeflag === '\0') type = 'file';
      else if (typeflag === '5') type = 'directory';
      else throw unsafe(`${describeType(typeflag)} entries are not allowed`, { typeflag });
      const name = parseString(block, 0, 100, 'name');
      const prefix = parseString(block, 345, 155, 'prefix');
      let path = prefix ? `${prefix}/${name}` : name;
      let realSize = size;
      if (pax) {
        const p = pax.get('path');
        if (p !== undefined) path = p;
        const s = pax.get('size');
        if (s !== undefined) {
          if (!/^[0-9]{1,15}$/.test(s)) throw unsafe('malformed PAX size');
          realSize = Number(s);
        }
      }
      if (type === 'directory') {
        if (realSize !== 0) throw unsafe('directory entry with content');
        if (path.endsWith('/')) path = path.slice(0, -1);
      }
      const mode = parseOctal(block, 100, 8, 'mode');
      const mtime = parseOctal(block, 136, 12, 'mtime');
      this.pendingBody = realSize;
      return { path, type, size: realSize, mode, mtime };
    }
  }

  /**
   * Yields the current entry's body in pieces (views into the read buffer: consume each before asking
   * for the next), then skips the entry's block padding.
   */
  async *body(): AsyncGenerator<Buffer> {
    const size = this.pendingBody;
    let left = size;
    while (left > 0) {
      if (!(await this.fill(1))) throw corrupt('archive ends inside a file');
      const n = Math.min(left, this.buf.length);
      const piece = this.take(n);
      left -= n;
      this.pendingBody = left;
      yield piece;
    }
    const pad = padding(size).length;
    if (pad > 0) await this.readExact(pad, 'entry padding');
  }

  /** Reads the current entry's body whole; only for small, already size-capped entries. */
  async readBody(): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const piece of this.body()) parts.push(Buffer.from(piece));
    return Buffer.concat(parts);
  }

  /** After the end-of-archive marker only zero padding may follow: hidden trailing entries are refused. */
  async expectOnlyPadding(): Promise<void> {
    for (;;) {
      if (!(await this.fill(1))) return;
      const piece = this.take(this.buf.length);
      if (!isZeroBlock(piece)) throw unsafe('data after the end-of-archive marker');
    }
  }
}

function describeType(flag: string): string {
  switch (flag) {
    case '1':
      return 'hard link';
    case '2':
      return 'symbolic link';
    case '3':
      return 'character device';
    case '4':
      return 'block device';
    case '6':
      return 'FIFO';
    case 'L':
    case 'K':
      return 'GNU long name';
    case 'g':
      return 'global PAX header';
    default:
      return `type "${flag.replace(/[^\x20-\x7e]/g, '?')}"`;
  }
}
