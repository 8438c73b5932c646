import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { jsonPieces } from '../../src/support/json-pieces.js';

const joined = (parts: Buffer[]): string => Buffer.concat(parts).toString('utf8');

const SAMPLES: [string, unknown][] = [
  ['scalars', [null, true, false, 0, -0, 1.5, 1e21, Number.NaN, Number.POSITIVE_INFINITY, '', 'ä\u0000"\\\n\u2028😀']],
  ['empty containers', { a: {}, b: [], c: [[], {}], d: { e: { f: [] } } }],
  [
    'left out and null',
    { u: undefined, f: () => 1, s: Symbol('x'), keep: 1, arr: [undefined, () => 1, Symbol('y'), 2] },
  ],
  ['toJSON', { when: new Date(0), custom: { toJSON: (k: string) => `key ${k}` }, list: [new Date(1)] }],
  ['keys', { '': 1, 'a"b': 2, ü: 3, 10: 4, 2: 5 }],
  [
    'a record of many files',
    {
      format: 1,
      files: Object.fromEntries(
        Array.from({ length: 5000 }, (_, i) => [
          `lib/m${i % 50}/f${i}.js`,
          { sha256: 'ab'.repeat(32), size: i, mode: 0o644 },
        ]),
      ),
      history: [],
    },
  ],
];

describe('jsonPieces', () => {
  for (const indent of [0, 2]) {
    test(`is JSON.stringify byte for byte (indent ${indent})`, () => {
      for (const [name, value] of SAMPLES) {
        const { segments, at } = jsonPieces(value, indent);
        assert.deepEqual(at, []);
        assert.equal(segments.length, 1);
        assert.equal(joined(segments[0]!), JSON.stringify(value, null, indent), name);
      }
    });
  }

  test('makes no piece much larger than its bound, however large the value', () => {
    const big = SAMPLES.at(-1)![1];
    const { segments } = jsonPieces(big, 2);
    assert.ok(segments[0]!.length > 10, `${segments[0]!.length} pieces`);
    for (const piece of segments[0]!) assert.ok(piece.length < 64 * 1024, `a piece of ${piece.length} bytes`);
  });

  test('cuts where a given value would be, in the order met, and the rest is unchanged', () => {
    const hole = {};
    const inner = { x: [1, 2] };
    const value = { a: 1, phase: hole, b: { inner, c: 'd' }, e: [inner] };
    const { segments, at } = jsonPieces(value, 0, new Set([hole, inner]));
    assert.deepEqual(at, [hole, inner, inner]);
    const filled = segments
      .map((seg, i) => joined(seg) + (i < at.length ? (at[i] === hole ? '"committed"' : JSON.stringify(inner)) : ''))
      .join('');
    assert.equal(filled, JSON.stringify({ ...value, phase: 'committed' }));
  });
});
