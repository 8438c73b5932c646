/**
 * The level model: levels are stored as numbers (state records, manifests, feeds, BUILDINFO.json);
 * level 7 is Service Pack 6a, named and tagged through one table, so SP6 < SP6a in every comparison
 * and records written before SP6a existed read as before.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { baseLevelName, levelName, levelTag, parseLevel } from '../../src/rules/level.js';

describe('levels: SP6a is level 7, after SP6', () => {
  test('names and tags of every level a release carries', () => {
    const all = [0, 1, 2, 3, 4, 5, 6, 7];
    assert.deepEqual(all.map(levelTag), ['rtm', 'sp1', 'sp2', 'sp3', 'sp4', 'sp5', 'sp6', 'sp6a']);
    assert.deepEqual(
      all.map((l) => baseLevelName(l)),
      ['RTM', ...[1, 2, 3, 4, 5, 6].map((n) => `Service Pack ${n}`), 'Service Pack 6a'],
    );
    assert.equal(levelName(7, ['Q1']), 'Service Pack 6a, hotfix Q1');
  });

  test('parseLevel reads every name it prints back to the same level', () => {
    for (let l = 0; l <= 7; l++) {
      assert.equal(parseLevel(levelTag(l)), l, levelTag(l));
      assert.equal(parseLevel(baseLevelName(l)), l, baseLevelName(l));
      assert.equal(parseLevel(levelTag(l).toUpperCase()), l);
    }
    assert.equal(parseLevel('6a'), 7);
    assert.equal(parseLevel(' SP6a '), 7);
    assert.equal(parseLevel('6'), 6);
    assert.equal(parseLevel('sp06a'), 7);
  });

  test('a name no level carries is refused, never read as a neighbour', () => {
    // There is no SP7: level 7 is SP6a, so "sp7" must not silently mean it.
    for (const t of ['sp7', '7', '6b', 'sp6aa', 'sp5a', 'a', 'sp', '', '-1', '6 a', 'sp07', '100']) {
      assert.equal(parseLevel(t), undefined, JSON.stringify(t));
    }
  });
});
