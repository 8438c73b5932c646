/**
 * The level model: levels are stored as numbers (state records, manifests, feeds, BUILDINFO.json);
 * level 7 is Service Pack 6a, named and tagged through one table, so SP6 < SP6a in every comparison
 * and records written before SP6a existed read as before.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { baseLevelName, levelName, levelTag, parseLevel, rollupName, rollupsOf } from '../../src/rules/level.js';

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

describe('levelName with a rollup (issue 17: "Service Pack 6a + Security Rollup 1")', () => {
  const srp1 = { id: 'SRP1', fixes: ['Q248017', 'Q248395', 'Q247318', 'Q247602'] };
  const rest = ['Q248901', 'Q249212'];

  test('a rollup whose hotfixes are all installed is named instead of them; the others are listed after it', () => {
    assert.equal(levelName(7, srp1.fixes, [srp1]), 'Service Pack 6a + Security Rollup 1');
    assert.equal(
      levelName(7, [...srp1.fixes, rest[0]!], [srp1]),
      'Service Pack 6a + Security Rollup 1, hotfix Q248901',
    );
    assert.equal(
      levelName(7, [...srp1.fixes, ...rest], [srp1]),
      'Service Pack 6a + Security Rollup 1, hotfixes Q248901, Q249212',
    );
    // the order of the installation's list does not matter, only that every one is there
    assert.equal(levelName(7, [...srp1.fixes].reverse(), [srp1]), 'Service Pack 6a + Security Rollup 1');
  });

  test('only while every hotfix it carries is installed: otherwise each is listed as it is', () => {
    const three = srp1.fixes.slice(0, 3);
    assert.equal(levelName(7, three, [srp1]), `Service Pack 6a, hotfixes ${three.join(', ')}`);
    assert.equal(levelName(7, [], [srp1]), 'Service Pack 6a');
    // a rollup that carries nothing is never named
    assert.equal(levelName(7, ['Q248901'], [{ id: 'SRP2', fixes: [] }]), 'Service Pack 6a, hotfix Q248901');
    // without the record's rollups the same hotfixes are just hotfixes
    assert.equal(levelName(7, srp1.fixes), `Service Pack 6a, hotfixes ${srp1.fixes.join(', ')}`);
  });

  test('rollupName: SRPn is "Security Rollup n"; any other id is named as it is', () => {
    assert.equal(rollupName('SRP1'), 'Security Rollup 1');
    assert.equal(rollupName('srp12'), 'Security Rollup 12');
    assert.equal(rollupName('SRP01'), 'Security Rollup 1');
    assert.equal(rollupName('SRP123'), 'rollup SRP123');
    assert.equal(rollupName('Q248017'), 'rollup Q248017');
  });

  test('rollupsOf: the installed entries of kind rollup that list their fixes; nothing else', () => {
    assert.deepEqual(rollupsOf(undefined), []);
    assert.deepEqual(
      rollupsOf({
        installed: [
          { packId: 'inetsrv-4.0-sp6a', kind: 'service-pack' },
          { packId: 'SRP1', kind: 'rollup', fixes: srp1.fixes },
          { packId: 'Q248901', kind: 'hotfix', fixes: ['Q248901'] },
          { packId: 'SRP9', kind: 'rollup' },
        ],
      }),
      [srp1],
    );
  });
});
