import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type ApplicabilityCandidate,
  type ApplicabilityTarget,
  applicablePacks,
  checkApplicable,
  includedInLevel,
  levelAfter,
  rollupsAfter,
} from '../../src/rules/applicability.js';
import { ServicepackError } from '../../src/support/errors.js';
import type { Manifest } from '../../src/pack/manifest.js';

const x86rtm: ApplicabilityTarget = { product: 'inetsrv', version: '4.0.0', arch: 'x86', level: 0, hotfixes: [] };

function sp(level: number, extra: Partial<Manifest> = {}): Manifest {
  return {
    format: 1,
    id: `inetsrv-4.0-sp${level}`,
    kind: 'service-pack',
    product: 'inetsrv',
    title: `inetsrv 4.0 Service Pack ${level}`,
    level,
    arch: 'x86',
    appliesTo: { version: '>=4.0.0 <4.1.0', levels: Array.from({ length: level }, (_, i) => i) },
    supersedes: [],
    fixes: [{ id: `Q${level}`, title: 'fix', summary: 'fix', level }],
    files: [],
    restart: true,
    created: '2026-01-01T00:00:00.000Z',
    ...extra,
  };
}

function hotfix(id: string, baseLevel: number, fixLevel: number, extra: Partial<Manifest> = {}): Manifest {
  return {
    ...sp(baseLevel),
    id,
    kind: 'hotfix',
    title: `Hotfix ${id}`,
    level: baseLevel,
    baseLevel,
    appliesTo: { version: '>=4.0.0 <4.1.0', levels: [baseLevel] },
    fixes: [{ id, title: 'TCP connections not released', summary: 'leak', level: fixLevel }],
    ...extra,
  };
}

function refusal(fn: () => void, code: string): ServicepackError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ServicepackError, `expected ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code);
  assert.equal(caught.exitCode, code === 'E_INVALID_MANIFEST' ? 2 : 3);
  return caught;
}

describe('checkApplicable', () => {
  test('SP6 on RTM, SP1 … SP5 applies', () => {
    for (let level = 0; level <= 5; level++) checkApplicable({ ...x86rtm, level }, sp(6));
  });

  test('wrong product', () => {
    const e = refusal(() => checkApplicable(x86rtm, sp(6, { product: 'ftpsrv' })), 'E_WRONG_PRODUCT');
    assert.match(e.message, /is for ftpsrv; this installation is inetsrv/);
  });

  test('wrong arch names the pack that would apply', () => {
    const e = refusal(
      () => checkApplicable(x86rtm, sp(6, { arch: 'alpha' }), { packPath: '/packs/inetsrv-4.0-sp6-alpha.tgz' }),
      'E_WRONG_ARCH',
    );
    assert.equal(
      e.message,
      'inetsrv-4.0-sp6-alpha.tgz is for alpha; this installation is x86: use inetsrv-4.0-sp6-x86.tgz',
    );
    assert.equal(e.details['suggestion'], 'inetsrv-4.0-sp6-x86.tgz');
    // without a file name the suggestion is built from the pack id
    const e2 = refusal(() => checkApplicable({ ...x86rtm, arch: 'alpha' }, sp(6)), 'E_WRONG_ARCH');
    assert.match(e2.message, /use inetsrv-4\.0-sp6-alpha\.tgz$/);
  });

  test('version outside the semver range', () => {
    const e = refusal(() => checkApplicable({ ...x86rtm, version: '5.0.0' }, sp(6)), 'E_WRONG_VERSION');
    assert.match(e.message, /applies to inetsrv >=4\.0\.0 <4\.1\.0; this installation is inetsrv 5\.0\.0/);
    refusal(
      () => checkApplicable(x86rtm, sp(6, { appliesTo: { version: 'not a range!', levels: [0] } })),
      'E_INVALID_MANIFEST',
    );
  });

  test('the same service pack again: already installed', () => {
    const e = refusal(() => checkApplicable({ ...x86rtm, level: 6 }, sp(6)), 'E_ALREADY_INSTALLED');
    assert.equal(
      e.message,
      'inetsrv-4.0-sp6 is already installed: this installation is at Service Pack 6; nothing to do (servicepack verify checks its files) — only a service pack newer than Service Pack 6 adds fixes',
    );
  });

  test('an older service pack over a newer one: downgrade refused', () => {
    const e = refusal(() => checkApplicable({ ...x86rtm, level: 6 }, sp(5)), 'E_DOWNGRADE');
    assert.equal(
      e.message,
      'inetsrv-4.0-sp5 cannot be installed over Service Pack 6 (it would downgrade); this installation is already past it and has all its fixes — only a service pack newer than Service Pack 6 applies here; to go back to Service Pack 5, uninstall the newer service packs',
    );
  });

  test('a level the pack does not list (minimum level not reached)', () => {
    const e = refusal(
      () => checkApplicable(x86rtm, sp(6, { appliesTo: { version: '4.0.x', levels: [3, 4, 5] } })),
      'E_WRONG_LEVEL',
    );
    assert.equal(
      e.message,
      'inetsrv-4.0-sp6 installs on Service Pack 3, Service Pack 4 or Service Pack 5; this installation is at RTM: install Service Pack 3 first',
    );
  });

  test('an SP over a hotfix it does not include is refused; one it supersedes is fine', () => {
    const target = { ...x86rtm, level: 5, hotfixes: ['Q236565'] };
    const e = refusal(() => checkApplicable(target, sp(6)), 'E_WRONG_LEVEL');
    assert.match(
      e.message,
      /does not include hotfix Q236565 installed here and would undo it: uninstall Q236565 first/,
    );
    checkApplicable(target, sp(6, { supersedes: ['Q236565'] }));
  });

  test('hotfix on its base level applies; twice is already installed', () => {
    const q = hotfix('Q236565', 5, 6);
    checkApplicable({ ...x86rtm, level: 5 }, q);
    const e = refusal(() => checkApplicable({ ...x86rtm, level: 5, hotfixes: ['Q236565'] }, q), 'E_ALREADY_INSTALLED');
    assert.equal(
      e.message,
      'hotfix Q236565 is already installed: this installation is at Service Pack 5, hotfix Q236565; nothing to do (Service Pack 6 includes the fix and supersedes the hotfix)',
    );
  });

  test('hotfix on a level that already ships its fix: superseded', () => {
    const e = refusal(() => checkApplicable({ ...x86rtm, level: 6 }, hotfix('Q236565', 5, 6)), 'E_SUPERSEDED');
    assert.match(e.message, /superseded: Service Pack 6, installed here, already includes it/);
  });

  test('hotfix on a level below its base: install the service pack first', () => {
    const e = refusal(() => checkApplicable({ ...x86rtm, level: 3 }, hotfix('Q236565', 5, 6)), 'E_WRONG_LEVEL');
    assert.equal(
      e.message,
      'Q236565 is for Service Pack 5; this installation is at Service Pack 3: install Service Pack 5 first, or Service Pack 6, which includes the fix',
    );
    assert.equal(e.details['includedIn'], 6);
  });

  test('hotfix with an explicit companion list refuses other hotfixes', () => {
    const q = hotfix('Q2', 5, 6, { appliesTo: { version: '4.0.x', levels: [5], hotfixes: ['Q1'] } });
    checkApplicable({ ...x86rtm, level: 5, hotfixes: ['Q1'] }, q);
    refusal(() => checkApplicable({ ...x86rtm, level: 5, hotfixes: ['Q9'] }, q), 'E_WRONG_LEVEL');
  });

  test('hotfix on a newer level that does not ship its fix yet: the service pack that does', () => {
    // fix first ships in SP6a (level 7); on SP6 the SP5 hotfix would downgrade files
    const e = refusal(() => checkApplicable({ ...x86rtm, level: 6 }, hotfix('Q9', 5, 7)), 'E_WRONG_LEVEL');
    assert.equal(
      e.message,
      'Q9 is for Service Pack 5; this installation is at Service Pack 6: install Service Pack 6a, which includes the fix',
    );
    // a feed entry carries no fix levels: nothing is claimed about which service pack includes it
    const unknown = hotfix('Q9', 5, 7, { fixes: [{ id: 'Q9', title: 't', summary: 's' }] });
    assert.equal(includedInLevel(unknown), undefined);
    const e2 = refusal(() => checkApplicable({ ...x86rtm, level: 6 }, unknown), 'E_WRONG_LEVEL');
    assert.equal(
      e2.message,
      'Q9 is for Service Pack 5; this installation is at Service Pack 6: ask the vendor for a build of Q9 for Service Pack 6',
    );
    const e3 = refusal(() => checkApplicable({ ...x86rtm, level: 4 }, unknown), 'E_WRONG_LEVEL');
    assert.equal(
      e3.message,
      'Q9 is for Service Pack 5; this installation is at Service Pack 4: install Service Pack 5 first',
    );
  });

  test('the whole decision table for SP1 … SP6 and hotfix Q236565 on every released level', () => {
    const packs = [1, 2, 3, 4, 5, 6].map((n) => sp(n, n === 6 ? { supersedes: ['Q236565'] } : {}));
    const q = hotfix('Q236565', 5, 6);
    const targets: ApplicabilityTarget[] = [0, 1, 2, 3, 4, 5, 6].map((level) => ({ ...x86rtm, level }));
    targets.push({ ...x86rtm, level: 5, hotfixes: ['Q236565'] });
    const outcome = (t: ApplicabilityTarget, m: Manifest): string => {
      try {
        checkApplicable(t, m);
        return 'ok';
      } catch (e) {
        return (e as ServicepackError).code;
      }
    };
    for (const t of targets) {
      for (const m of packs) {
        const want = t.level < m.level ? 'ok' : t.level === m.level ? 'E_ALREADY_INSTALLED' : 'E_DOWNGRADE';
        assert.equal(outcome(t, m), want, `${m.id} on level ${t.level} [${t.hotfixes.join(',')}]`);
      }
      const wantQ = t.hotfixes.includes('Q236565')
        ? 'E_ALREADY_INSTALLED'
        : t.level === 5
          ? 'ok'
          : t.level === 6
            ? 'E_SUPERSEDED'
            : 'E_WRONG_LEVEL';
      assert.equal(outcome(t, q), wantQ, `Q236565 on level ${t.level} [${t.hotfixes.join(',')}]`);
    }
  });

  describe('with the other packs known, a refusal names the newest one that applies', () => {
    const all: ApplicabilityCandidate[] = [
      ...[1, 2, 3, 4, 5, 6].map((n) => ({
        ...sp(n, n === 6 ? { supersedes: ['Q236565'] } : {}),
        file: `/packs/inetsrv-4.0-sp${n}-x86.tgz`,
      })),
      { ...sp(6, { arch: 'alpha', supersedes: ['Q236565'] }), file: '/packs/inetsrv-4.0-sp6-alpha.tgz' },
      { ...hotfix('Q236565', 5, 6), file: '/packs/inetsrv-4.0-sp5-q236565-x86.tgz' },
    ];

    test('applicablePacks: newest service pack first, then hotfixes, never another arch', () => {
      assert.deepEqual(
        applicablePacks({ ...x86rtm, level: 4 }, all).map((p) => p.id),
        ['inetsrv-4.0-sp6', 'inetsrv-4.0-sp5'],
      );
      assert.deepEqual(
        applicablePacks({ ...x86rtm, level: 5 }, all).map((p) => p.id),
        ['inetsrv-4.0-sp6', 'Q236565'],
      );
      assert.deepEqual(applicablePacks({ ...x86rtm, level: 6 }, all), []);
    });

    test('an older service pack: the newest that applies instead', () => {
      const e = refusal(() => checkApplicable({ ...x86rtm, level: 5 }, sp(3), { alternatives: all }), 'E_DOWNGRADE');
      assert.equal(
        e.message,
        'inetsrv-4.0-sp3 cannot be installed over Service Pack 5 (it would downgrade); this installation is already past it and has all its fixes — the newest pack that applies is Service Pack 6 (inetsrv-4.0-sp6-x86.tgz); to go back to Service Pack 3, uninstall the newer service packs',
      );
      assert.deepEqual(e.details['instead'], { id: 'inetsrv-4.0-sp6', file: '/packs/inetsrv-4.0-sp6-x86.tgz' });
    });

    test('a hotfix below its level, and a service pack already installed', () => {
      const e = refusal(
        () => checkApplicable({ ...x86rtm, level: 4 }, hotfix('Q236565', 5, 6), { alternatives: all }),
        'E_WRONG_LEVEL',
      );
      assert.equal(
        e.message,
        'Q236565 is for Service Pack 5; this installation is at Service Pack 4: install Service Pack 5 first, or Service Pack 6, which includes the fix — the newest pack that applies is Service Pack 6 (inetsrv-4.0-sp6-x86.tgz)',
      );
      const e2 = refusal(
        () => checkApplicable({ ...x86rtm, level: 5, hotfixes: ['Q236565'] }, sp(5), { alternatives: all }),
        'E_ALREADY_INSTALLED',
      );
      assert.match(
        e2.message,
        /at Service Pack 5, hotfix Q236565; nothing to do .* — the newest pack that applies is Service Pack 6 \(inetsrv-4\.0-sp6-x86\.tgz\)$/,
      );
      // nothing newer known: the manifest's own knowledge is all there is
      const e3 = refusal(
        () => checkApplicable({ ...x86rtm, level: 6 }, sp(6), { alternatives: all }),
        'E_ALREADY_INSTALLED',
      );
      assert.match(e3.message, /only a service pack newer than Service Pack 6 adds fixes$/);
      assert.equal(e3.details['instead'], undefined);
    });
  });
});

describe('the post-SP6a hotfix chain and Security Rollup 1 (issue 17)', () => {
  const CHAIN = ['Q248017', 'Q248395', 'Q247318', 'Q247602', 'Q248901', 'Q249212'];
  const SRP1_FIXES = CHAIN.slice(0, 4);
  const sp6a: ApplicabilityTarget = { ...x86rtm, level: 7 };
  const fileOf = (id: string) => `/packs/inetsrv-4.0-sp6a-${id.toLowerCase()}-x86.tgz`;
  /** hotfix k of the chain: on SP6a, no service pack ships it, built on (and requiring) the ones before it */
  function chained(id: string): Manifest {
    const before = CHAIN.slice(0, CHAIN.indexOf(id));
    return hotfix(id, 7, 7, {
      appliesTo: { version: '>=4.0.0 <4.1.0', levels: [7], ...(before.length > 0 ? { requires: before } : {}) },
      fixes: [{ id, title: id, summary: id }],
    });
  }
  const srp1: Manifest = {
    ...hotfix('SRP1', 7, 7),
    kind: 'rollup',
    title: 'Security Rollup 1',
    appliesTo: { version: '>=4.0.0 <4.1.0', levels: [7], hotfixes: SRP1_FIXES },
    supersedes: SRP1_FIXES,
    fixes: SRP1_FIXES.map((id) => ({ id, title: id, summary: id, security: true })),
  };
  const at = (n: number, rollups?: ApplicabilityTarget['rollups']): ApplicabilityTarget => ({
    ...sp6a,
    hotfixes: CHAIN.slice(0, n),
    ...(rollups ? { rollups } : {}),
  });
  const withSrp1 = (n: number) => at(n, [{ id: 'SRP1', fixes: SRP1_FIXES }]);

  test('checkRequired: a chain hotfix without the ones before it is E_WRONG_LEVEL naming them (details.requires)', () => {
    const e = refusal(() => checkApplicable(sp6a, chained('Q248395')), 'E_WRONG_LEVEL');
    assert.equal(
      e.message,
      'hotfix Q248395 is built on hotfix Q248017, which this installation (Service Pack 6a) does not have: install it first',
    );
    assert.deepEqual(e.details['requires'], ['Q248017']);
    const two = refusal(() => checkApplicable(sp6a, chained('Q247318')), 'E_WRONG_LEVEL');
    assert.deepEqual(two.details['requires'], ['Q248017', 'Q248395']);
    assert.match(two.message, /built on hotfix Q248017, Q248395, .*: install them first$/);
    // one short: only the missing one is named
    const one = refusal(() => checkApplicable(at(1), chained('Q247318')), 'E_WRONG_LEVEL');
    assert.deepEqual(one.details['requires'], ['Q248395']);
    assert.match(one.message, /\(Service Pack 6a, hotfix Q248017\) does not have/);
    // with the whole chain before it, it applies; so does the first on SP6a itself
    for (let k = 0; k < CHAIN.length; k++) checkApplicable(at(k), chained(CHAIN[k]!));
  });

  test('checkRequired: a pack later in the command that brings the missing hotfix is named: put it before', () => {
    const later = [{ ...chained('Q248017'), file: fileOf('Q248017') }];
    const e = refusal(
      () => checkApplicable(sp6a, chained('Q248395'), { packPath: fileOf('Q248395'), later }),
      'E_WRONG_LEVEL',
    );
    assert.equal(
      e.message,
      'inetsrv-4.0-sp6a-q248395-x86.tgz is built on Q248017, which inetsrv-4.0-sp6a-q248017-x86.tgz later in this command brings: put inetsrv-4.0-sp6a-q248017-x86.tgz before inetsrv-4.0-sp6a-q248395-x86.tgz and run again',
    );
    assert.deepEqual([e.details['requires'], e.details['putBefore']], [['Q248017'], 'Q248017']);
    // the rollup carries what Q248901 is built on
    const r = refusal(
      () =>
        checkApplicable(sp6a, chained('Q248901'), {
          packPath: fileOf('Q248901'),
          later: [{ ...srp1, file: fileOf('SRP1') }],
        }),
      'E_WRONG_LEVEL',
    );
    assert.equal(r.details['putBefore'], 'SRP1');
    assert.match(r.message, /put inetsrv-4\.0-sp6a-srp1-x86\.tgz before inetsrv-4\.0-sp6a-q248901-x86\.tgz/);
    // a later pack that brings something else is no reason
    refusal(
      () =>
        checkApplicable(sp6a, chained('Q247318'), {
          later: [{ ...chained('Q248901'), file: fileOf('Q248901') }],
        }),
      'E_WRONG_LEVEL',
    );
  });

  test('the rollup installs on SP6a and on SP6a with any prefix of what it carries; not where all of it is, not on SP6', () => {
    for (let n = 0; n < 4; n++) checkApplicable(at(n), srp1);
    refusal(() => checkApplicable(at(4), srp1), 'E_ALREADY_INSTALLED');
    refusal(() => checkApplicable(at(6), srp1), 'E_ALREADY_INSTALLED');
    refusal(() => checkApplicable({ ...x86rtm, level: 6 }, srp1), 'E_WRONG_LEVEL');
    // beside a hotfix it does not list it would undo that hotfix's changes: refused
    const beside = refusal(() => checkApplicable({ ...sp6a, hotfixes: ['Q248901'] }, srp1), 'E_WRONG_LEVEL');
    assert.deepEqual(beside.details['hotfixes'], ['Q248901']);
  });

  test('after the rollup a hotfix it carries is superseded by it (named), one it does not carry applies', () => {
    for (const id of SRP1_FIXES) {
      const e = refusal(() => checkApplicable(withSrp1(4), chained(id)), 'E_SUPERSEDED');
      assert.equal(
        e.message,
        `hotfix ${id} is superseded: Security Rollup 1, installed here (Service Pack 6a + Security Rollup 1), includes it; nothing to do`,
      );
      assert.equal(e.details['supersededBy'], 'SRP1');
      // the same hotfixes without the rollup's record: installed one by one, so simply already installed
      refusal(() => checkApplicable(at(4), chained(id)), 'E_ALREADY_INSTALLED');
    }
    checkApplicable(withSrp1(4), chained('Q248901'));
    const twice = refusal(() => checkApplicable(withSrp1(5), chained('Q248901')), 'E_ALREADY_INSTALLED');
    assert.match(twice.message, /at Service Pack 6a \+ Security Rollup 1, hotfix Q248901; nothing to do$/);
    // a rollup no longer whole (a hotfix of it gone) supersedes nothing
    const partial: ApplicabilityTarget = { ...withSrp1(4), hotfixes: CHAIN.slice(0, 3) };
    refusal(() => checkApplicable(partial, chained('Q248017')), 'E_ALREADY_INSTALLED');
  });

  test('levelAfter and rollupsAfter: the rollup adds its hotfixes and its record; a hotfix after it keeps it', () => {
    const after1 = levelAfter(at(1), srp1);
    assert.deepEqual(after1, { level: 7, hotfixes: SRP1_FIXES });
    assert.deepEqual(rollupsAfter(at(1), srp1), [{ id: 'SRP1', fixes: SRP1_FIXES }]);
    assert.deepEqual(rollupsAfter(withSrp1(4), chained('Q248901')), [{ id: 'SRP1', fixes: SRP1_FIXES }]);
    assert.deepEqual(rollupsAfter(at(0), chained('Q248017')), []);
  });

  test('applicablePacks (KIND_RANK): service packs, then rollups, then hotfixes; from SP6a + Q248017 the rollup still first', () => {
    const all: ApplicabilityCandidate[] = [chained('Q248395'), chained('Q248017'), srp1, chained('Q248901')];
    assert.deepEqual(
      applicablePacks(sp6a, all).map((p) => p.id),
      ['SRP1', 'Q248017'],
    );
    assert.deepEqual(
      applicablePacks(at(1), all).map((p) => p.id),
      ['SRP1', 'Q248395'],
    );
    assert.deepEqual(
      applicablePacks(withSrp1(4), all).map((p) => p.id),
      ['Q248901'],
    );
    // a service pack outranks a rollup: SP6a on SP6, with an SP7-level rollup offered beside it
    const sp6aPack = sp(7);
    const rollupOn6: Manifest = {
      ...srp1,
      id: 'SRP0',
      level: 6,
      baseLevel: 6,
      appliesTo: { ...srp1.appliesTo, levels: [6] },
    };
    assert.deepEqual(
      applicablePacks({ ...x86rtm, level: 6 }, [rollupOn6, sp6aPack]).map((p) => p.id),
      ['inetsrv-4.0-sp7', 'SRP0'],
    );
  });
});
