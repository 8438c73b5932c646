/**
 * A small, seeded mutation fuzzer: the same seed gives the same inputs in every run, so a failure
 * names an iteration that reproduces it. No corpus on disk, no coverage feedback: bounded in count
 * and time, it runs as part of the tests.
 */
import { BLOCK, setChecksum } from './hostile.js';

/** mulberry32: tiny, fast, good enough to pick mutations. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

// ---------------------------------------------------------------------------------------------
// JSON values

/** Values that have broken parsers before: boundaries, path tricks, Unicode twins, prototype keys. */
export const INTERESTING_VALUES: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  0o4755,
  0o777,
  2 ** 31,
  2 ** 40,
  2 ** 40 + 1,
  2 ** 53,
  Number.MAX_SAFE_INTEGER + 2,
  1e308,
  -0,
  '',
  ' ',
  '../x',
  'lib/../../x',
  '/etc/passwd',
  'a\\b',
  'C:x',
  'c:/x',
  'CON',
  'lib/aux.js',
  'x.',
  'x ',
  'a//b',
  './a',
  'a/./b',
  '\u0000',
  'lib/a\u0000.js',
  '\u202e',
  'caf\u00e9.js',
  'cafe\u0301.js',
  'stra\u00dfe',
  'STRASSE',
  'lib/a.js',
  'LIB/A.JS',
  'payload/x',
  'a'.repeat(241),
  `${'a/'.repeat(33)}x`,
  '0'.repeat(64),
  'g'.repeat(64),
  'A'.repeat(64),
  '2026-13-45T99:99:99Z',
  '1999-11-22T00:00:00Z',
  'not a date',
  '>=4.0.0 <4.1.0',
  '*',
  'x86',
  'alpha',
  'mips',
  'hotfix',
  'service-pack',
  'add',
  'replace',
  'delete',
  '__proto__',
  'constructor',
  [],
  {},
  [1],
  ['a'],
  { a: 1 },
];

const INTERESTING_STRINGS = INTERESTING_VALUES.filter((v): v is string => typeof v === 'string');

export const INTERESTING_KEYS: readonly string[] = [
  '__proto__',
  'constructor',
  'toString',
  'postInstall',
  'script',
  'owner',
  'uid',
  'linkname',
  'symlink',
  'x',
  '',
];

const RANDOM_KEYS = [...INTERESTING_KEYS, 'format', 'id', 'files', 'path', 'size', 'sha256'];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** A random JSON value of bounded depth and size. */
export function randomJson(rng: Rng, depth = 0): Json {
  const k = rng.int(depth > 3 ? 5 : 8);
  switch (k) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, 1, -1, rng.int(1000), 2 ** 40, 0.5]);
    case 3:
      return rng.pick(INTERESTING_STRINGS);
    case 4:
      return rng.bytes(rng.int(12)).toString('latin1');
    case 5:
      return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth + 1));
    default: {
      const o: Record<string, Json> = {};
      for (let i = rng.int(5); i > 0; i--) o[rng.pick(RANDOM_KEYS)] = randomJson(rng, depth + 1);
      return o;
    }
  }
}

interface Slot {
  parent: Json[] | { [k: string]: Json };
  key: string | number;
}

function slots(v: Json, out: Slot[] = []): Slot[] {
  if (Array.isArray(v)) {
    v.forEach((c, i) => {
      out.push({ parent: v, key: i });
      slots(c, out);
    });
  } else if (v !== null && typeof v === 'object') {
    for (const [k, c] of Object.entries(v)) {
      out.push({ parent: v, key: k });
      slots(c, out);
    }
  }
  return out;
}

/** One to three structural changes to a copy of `value`: delete, replace, add, duplicate, retype. */
export function mutateJson(value: unknown, rng: Rng): unknown {
  const root = clone(value) as Json;
  const rounds = 1 + rng.int(3);
  for (let r = 0; r < rounds; r++) {
    const all = slots(root);
    if (all.length === 0) return randomJson(rng);
    const s = rng.pick(all);
    const get = (): Json =>
      Array.isArray(s.parent) ? s.parent[s.key as number]! : (s.parent as Record<string, Json>)[s.key as string]!;
    const set = (v: Json): void => {
      if (Array.isArray(s.parent)) s.parent[s.key as number] = v;
      else (s.parent as Record<string, Json>)[s.key as string] = v;
    };
    switch (rng.int(9)) {
      case 0:
        if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 1);
        else delete (s.parent as Record<string, Json>)[s.key as string];
        break;
      case 1:
      case 2:
        set(clone(rng.pick(INTERESTING_VALUES)) as Json);
        break;
      case 3:
        if (Array.isArray(s.parent)) s.parent.push(clone(get()));
        else (s.parent as Record<string, Json>)[rng.pick(INTERESTING_KEYS)] = randomJson(rng, 2);
        break;
      case 4: {
        const v = get();
        set(typeof v === 'number' ? String(v) : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : [v]);
        break;
      }
      case 5: {
        const v = get();
        if (typeof v === 'string')
          set(
            rng.pick([
              v.toUpperCase(),
              v.normalize('NFD'),
              `${v}.`,
              `${v}/`,
              `../${v}`,
              `${v}\u0000`,
              v.repeat(20),
              v.slice(1),
            ]),
          );
        else if (typeof v === 'number') set(rng.pick([v + 1, v - 1, -v, v * 1024, v + 0.5]));
        else set(randomJson(rng, 2));
        break;
      }
      case 6:
        set(randomJson(rng, 1));
        break;
      case 7: {
        // copy a sibling over another: the kind of edit that makes twins and duplicates
        const siblings = all.filter((o) => o.parent === s.parent);
        const other = rng.pick(siblings);
        set(
          clone(
            Array.isArray(other.parent)
              ? other.parent[other.key as number]!
              : (other.parent as Record<string, Json>)[other.key as string]!,
          ),
        );
        break;
      }
      default:
        set(clone(get()));
    }
  }
  return root;
}

/** Byte-level damage to text or binary: flips, insertions, deletions, truncation. */
export function mutateBytes(input: Buffer, rng: Rng): Buffer {
  let b = Buffer.from(input);
  const rounds = 1 + rng.int(3);
  for (let r = 0; r < rounds; r++) {
    if (b.length === 0) return rng.bytes(rng.int(16));
    const at = rng.int(b.length);
    switch (rng.int(6)) {
      case 0:
        b[at] = b[at]! ^ (1 << rng.int(8));
        break;
      case 1:
        b[at] = rng.pick([
          0x00, 0xff, 0x7f, 0x80, 0x22, 0x5c, 0x2f, 0x2e, 0x7b, 0x5b, 0x0a, 0x20, 0x3a, 0x2d, 0x23, 0x26, 0x2a,
        ]);
        break;
      case 2:
        b = Buffer.concat([b.subarray(0, at), rng.bytes(1 + rng.int(8)), b.subarray(at)]);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + rng.int(32)))]);
        break;
      case 4:
        b = b.subarray(0, at);
        break;
      default: {
        const from = rng.int(b.length);
        const len = rng.int(64);
        b = Buffer.concat([b.subarray(0, at), b.subarray(from, from + len), b.subarray(at)]);
      }
    }
  }
  return b;
}

/** Text mutations that speak YAML: its indicators, anchors, aliases, tags, odd indentation. */
export function mutateYaml(text: string, rng: Rng): string {
  const tokens = [
    ': ',
    '- ',
    '-',
    ':',
    '[',
    ']',
    '{',
    '}',
    ',',
    '&a ',
    '*a',
    '!!binary ',
    '!!str ',
    '!!int ',
    '!!map ',
    '!!seq ',
    '? ',
    '|',
    '>',
    '#',
    '"',
    "'",
    '\n',
    '\n  ',
    '\t',
    '~',
    'null',
    'true',
    '0x10',
    '1e400',
    '<<: *a',
    '%YAML 1.1\n',
    '---\n',
    '...\n',
    '\uFEFF',
    '\u0000',
  ];
  let t = text;
  const rounds = 1 + rng.int(3);
  for (let r = 0; r < rounds; r++) {
    const lines = t.split('\n');
    const at = rng.int(t.length + 1);
    switch (rng.int(8)) {
      case 0:
      case 1:
        t = t.slice(0, at) + rng.pick(tokens) + t.slice(at);
        break;
      case 2:
        t = t.slice(0, at) + t.slice(Math.min(t.length, at + 1 + rng.int(20)));
        break;
      case 3: {
        const i = rng.int(lines.length);
        lines.splice(i, 0, lines[i] ?? '');
        t = lines.join('\n');
        break;
      }
      case 4: {
        const i = rng.int(lines.length);
        lines.splice(i, 1);
        t = lines.join('\n');
        break;
      }
      case 5:
        t = `${t}\n${rng.pick(['allowUnsigned: true', 'allow-unsigned: yes', 'acceptEULA: true', 'trust: [../../etc/shadow]', 'a: &a [*a, *a, *a, *a]', 'b: &b [&c [*b]]', `deep: ${'['.repeat(200)}${']'.repeat(200)}`, 'targets: ', '__proto__: {root: x}', 'restart: sometimes', 'log: ""'])}\n`;
        break;
      case 6: {
        // a billion-laughs ladder
        const n = 2 + rng.int(8);
        let lol = 'l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
        for (let i = 1; i < n; i++)
          lol += `l${i}: &l${i} [${Array.from({ length: 9 }, () => `*l${i - 1}`).join(', ')}]\n`;
        t = `${lol}${t}`;
        break;
      }
      default: {
        const i = rng.int(lines.length);
        lines[i] = ' '.repeat(rng.int(5)) + (lines[i] ?? '').trimStart();
        t = lines.join('\n');
      }
    }
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// Raw tar

/** Header offsets of a raw tar, found by walking it the simple way (no PAX size overrides). */
export function headerOffsets(tar: Buffer): number[] {
  const out: number[] = [];
  let off = 0;
  while (off + BLOCK <= tar.length) {
    const block = tar.subarray(off, off + BLOCK);
    if (block.every((x) => x === 0)) break;
    out.push(off);
    const size = Number.parseInt(block.toString('latin1', 124, 136).replace(/[\0 ]+$/, ''), 8) || 0;
    off += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return out;
}

const FIELDS: readonly { at: number; len: number; kind: 'string' | 'octal' | 'flag' | 'magic' }[] = [
  { at: 0, len: 100, kind: 'string' },
  { at: 100, len: 8, kind: 'octal' },
  { at: 108, len: 8, kind: 'octal' },
  { at: 124, len: 12, kind: 'octal' },
  { at: 124, len: 12, kind: 'octal' },
  { at: 136, len: 12, kind: 'octal' },
  { at: 148, len: 8, kind: 'octal' },
  { at: 156, len: 1, kind: 'flag' },
  { at: 156, len: 1, kind: 'flag' },
  { at: 157, len: 100, kind: 'string' },
  { at: 257, len: 8, kind: 'magic' },
  { at: 345, len: 155, kind: 'string' },
];

const NAMES = [
  '../x',
  '/tmp/x',
  'payload/bin/tool',
  'payload/BIN/TOOL',
  'payload/bin/tool/',
  'payload/bin/tool.',
  'payload/',
  'payload',
  'payload/bin',
  'servicepack.json',
  'servicepack.sig',
  'EULA.txt',
  'eula.TXT',
  'payload/bin\\tool',
  'C:x',
  'payload/lib/caf\u00e9.js',
  'payload/lib/cafe\u0301.js',
  'payload/lib',
  '',
];

function fieldValue(rng: Rng, f: (typeof FIELDS)[number]): Buffer {
  switch (f.kind) {
    case 'string':
      return rng.chance(0.8) ? Buffer.from(rng.pick(NAMES)) : rng.bytes(rng.int(f.len));
    case 'octal': {
      const v = rng.pick([
        () =>
          `${rng
            .int(0o7777)
            .toString(8)
            .padStart(f.len - 1, '0')}\0`,
        () => `${(rng.int(2 ** 30) * 8).toString(8)}\0`,
        () => `${'7'.repeat(f.len - 1)}\0`,
        () => '\0'.repeat(f.len),
        () => ' '.repeat(f.len),
        () => 'zzzzzzzz',
        () => `-1${'\0'.repeat(f.len - 2)}`,
        () => `${'0'.repeat(f.len - 4)}4755\0`.slice(-f.len),
      ])();
      if (rng.chance(0.1)) {
        const b = Buffer.alloc(f.len);
        b[0] = 0x80 | rng.int(2);
        b.writeUInt32BE(rng.int(2 ** 32), f.len - 4);
        return b;
      }
      return Buffer.from(v, 'latin1');
    }
    case 'flag':
      return Buffer.from(
        rng.pick(['0', '1', '2', '3', '4', '5', '6', '7', 'x', 'g', 'L', 'K', 'A', 'D', 'M', 'S', 'V', '\0', ' ']),
        'latin1',
      );
    default:
      return Buffer.from(
        rng.pick(['ustar\x0000', 'ustar  \0', 'ustar\0\0\0', '\0\0\0\0\0\0\0\0', 'USTAR\x0000']),
        'latin1',
      );
  }
}

function paxBlock(rng: Rng): Buffer {
  const records = [
    ['path', rng.pick(NAMES)],
    ['size', rng.pick(['0', '1', '20', '99999999999999', '-1', 'x', '1e3', String(2 ** 40)])],
    ['linkpath', '/etc/passwd'],
    ['mtime', '1.5'],
    ['path', 'a'.repeat(300)],
    ['GNU.sparse.size', '1'],
  ];
  let body = '';
  for (let i = 1 + rng.int(3); i > 0; i--) {
    const [k, v] = rng.pick(records) as [string, string];
    const rec = ` ${k}=${v}\n`;
    let len = Buffer.byteLength(rec) + 1;
    while (String(len).length + Buffer.byteLength(rec) !== len) len = String(len).length + Buffer.byteLength(rec);
    body += rng.chance(0.1) ? `${len + rng.int(5) - 2}${rec}` : `${len}${rec}`;
  }
  const data = Buffer.from(body);
  const header = Buffer.alloc(BLOCK);
  header.write('PaxHeader/x', 0);
  header.write('0000644\0', 100, 'latin1');
  header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  header.write('x', 156, 'latin1');
  header.write('ustar\x0000', 257, 'latin1');
  setChecksum(header);
  return Buffer.concat([header, data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK)]);
}

/** One to three tar-aware changes: header fields (checksum usually fixed up), blocks, entries, PAX. */
export function mutateTar(input: Buffer, rng: Rng): { tar: Buffer; ops: string[] } {
  let tar = Buffer.from(input);
  const ops: string[] = [];
  const rounds = 1 + rng.int(3);
  for (let r = 0; r < rounds; r++) {
    const headers = headerOffsets(tar);
    const blocks = Math.floor(tar.length / BLOCK);
    switch (rng.int(10)) {
      case 0:
      case 1:
      case 2: {
        if (headers.length === 0) break;
        const h = rng.pick(headers);
        const f = rng.pick(FIELDS);
        const v = fieldValue(rng, f);
        tar.fill(0, h + f.at, h + f.at + f.len);
        v.copy(tar, h + f.at, 0, Math.min(v.length, f.len));
        const fix = rng.chance(0.85);
        if (fix) setChecksum(tar, h);
        ops.push(`field@${h}+${f.at}${fix ? '' : '(bad sum)'}`);
        break;
      }
      case 3: {
        const at = rng.int(blocks + 1) * BLOCK;
        const block = rng.pick([
          () => Buffer.alloc(BLOCK),
          () => rng.bytes(BLOCK),
          () =>
            Buffer.from(
              tar.subarray(headers.length ? rng.pick(headers) : 0, (headers.length ? rng.pick(headers) : 0) + BLOCK),
            ),
        ])();
        tar = Buffer.concat([tar.subarray(0, at), block, tar.subarray(at)]);
        ops.push(`insert-block@${at}`);
        break;
      }
      case 4: {
        const at = rng.int(Math.max(blocks, 1)) * BLOCK;
        const n = 1 + rng.int(2);
        tar = Buffer.concat([tar.subarray(0, at), tar.subarray(at + n * BLOCK)]);
        ops.push(`remove-blocks@${at}x${n}`);
        break;
      }
      case 5: {
        if (headers.length < 2) break;
        const i = rng.int(headers.length - 1);
        const entry = tar.subarray(headers[i]!, headers[i + 1]!);
        const at = rng.pick(headers);
        tar = Buffer.concat([tar.subarray(0, at), entry, tar.subarray(at)]);
        ops.push(`duplicate-entry@${headers[i]}`);
        break;
      }
      case 6: {
        const at = headers.length ? rng.pick(headers) : 0;
        tar = Buffer.concat([tar.subarray(0, at), paxBlock(rng), tar.subarray(at)]);
        ops.push(`pax@${at}`);
        break;
      }
      case 7: {
        const at = rng.int(tar.length);
        tar = tar.subarray(0, at);
        ops.push(`truncate@${at}`);
        break;
      }
      case 8: {
        const extra = rng.pick([
          () => Buffer.alloc(BLOCK * (1 + rng.int(40))),
          () => rng.bytes(1 + rng.int(2000)),
          () => Buffer.from(tar.subarray(0, Math.min(tar.length, 4 * BLOCK))),
        ])();
        tar = Buffer.concat([tar, extra]);
        ops.push('append');
        break;
      }
      default: {
        const at = rng.int(tar.length);
        tar[at] = tar[at]! ^ (1 << rng.int(8));
        ops.push(`flip@${at}`);
      }
    }
  }
  return { tar, ops };
}
