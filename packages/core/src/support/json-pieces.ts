/**
 * JSON.stringify(value, null, indent), byte for byte, as buffers of a few dozen KiB: for the
 * records an install writes (journal, state, backup record), which run to megabytes. One string of
 * more than the young generation (1 MiB with the CLI's flag, docs/performance.md item 18) is made
 * in the old generation's large-object space and stays there, garbage, until a full collection;
 * pieces this small die young. Only what JSON.stringify makes of plain data is reproduced: objects,
 * arrays, strings, numbers, booleans, null, `toJSON`; properties that are undefined, functions or
 * symbols are left out, and array slots holding them are null.
 */

const PIECE_CHARS = 32 * 1024;
/** keys serialized by one native call at most: their text stays well under the young generation */
const RUN_KEYS = 256;

export interface JsonPieces {
  /** the text between the values of `cut`, in order: one more than `at` */
  segments: Buffer[][];
  /** the values of `cut` where the text was cut, in the order they were met */
  at: unknown[];
}

/** The serialization of `value`, cut where one of the objects in `cut` (compared by identity) would be. */
export function jsonPieces(value: unknown, indent = 0, cut: ReadonlySet<object> = new Set()): JsonPieces {
  const segments: Buffer[][] = [[]];
  const at: unknown[] = [];
  let text = '';
  const flush = (): void => {
    if (text !== '') segments.at(-1)!.push(Buffer.from(text, 'utf8'));
    text = '';
  };
  const put = (s: string): void => {
    text += s;
    if (text.length >= PIECE_CHARS) flush();
  };
  const gap = (depth: number): string => (indent > 0 ? `\n${' '.repeat(indent * depth)}` : '');
  const skipped = (v: unknown): boolean => v === undefined || typeof v === 'function' || typeof v === 'symbol';
  const flat = (v: object): boolean => {
    let n = 0;
    for (const k in v) {
      const x = (v as Record<string, unknown>)[k];
      if ((x !== null && typeof x === 'object') || ++n > 16) return false;
    }
    return !cut.has(v) && typeof (v as { toJSON?: unknown }).toJSON !== 'function';
  };

  const write = (key: string, holder: unknown, depth: number): void => {
    let v = (holder as Record<string, unknown>)[key];
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function')
      v = (v as { toJSON: (k: string) => unknown }).toJSON(key);
    if (v !== null && typeof v === 'object' && cut.has(v)) {
      flush();
      at.push(v);
      segments.push([]);
      return;
    }
    if (v === null || typeof v !== 'object') {
      put(JSON.stringify(v) ?? 'null');
      return;
    }
    // a small object of plain values (a file's entry: most of any record) in one native call
    if (flat(v)) {
      const one = JSON.stringify(v, null, indent);
      put(indent > 0 && depth > 0 ? one.replaceAll('\n', gap(depth)) : one);
      return;
    }
    if (Array.isArray(v)) {
      if (v.length === 0) {
        put('[]');
        return;
      }
      put('[');
      for (let i = 0; i < v.length; i++) {
        if (i > 0) put(',');
        put(gap(depth + 1));
        if (skipped(v[i])) put('null');
        else write(String(i), v, depth + 1);
      }
      put(`${gap(depth)}]`);
      return;
    }
    let first = true;
    const keys = Object.keys(v);
    for (let i = 0; i < keys.length; ) {
      // a run of keys with plain or flat values (the files of a record) in one native call per run
      const run: Record<string, unknown> = {};
      let n = 0;
      for (; i < keys.length && n < RUN_KEYS; i++, n++) {
        const item = (v as Record<string, unknown>)[keys[i]!];
        if (item !== null && typeof item === 'object' && !flat(item)) break;
        run[keys[i]!] = item;
      }
      const text = n > 0 ? JSON.stringify(run, null, indent) : '{}';
      if (text !== '{}') {
        // the run's own braces off, its lines moved in to this depth
        const inner = indent > 0 ? text.slice(1, -2).replaceAll('\n', gap(depth)) : text.slice(1, -1);
        put(`${first ? '{' : ','}${inner}`);
        first = false;
      }
      if (n > 0 || i >= keys.length) continue;
      const k = keys[i++]!;
      put(`${first ? '{' : ','}${gap(depth + 1)}${JSON.stringify(k)}:${indent > 0 ? ' ' : ''}`);
      first = false;
      write(k, v, depth + 1);
    }
    put(first ? '{}' : `${gap(depth)}}`);
  };

  write('', { '': value }, 0);
  flush();
  return { segments, at };
}
