import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ApplicabilityTarget, checkApplicable } from '../src/applicability.js';
import { ServicepackError } from '../src/errors.js';
import type { Manifest } from '../src/manifest.js';

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
    const e = refusal(() => checkApplicable(x86rtm, sp(6, { arch: 'alpha' }), { packPath: '/packs/inetsrv-4.0-sp6-alpha.tgz' }), 'E_WRONG_ARCH');
    assert.equal(e.message, 'inetsrv-4.0-sp6-alpha.tgz is for alpha; this installation is x86: use inetsrv-4.0-sp6-x86.tgz');
    assert.equal(e.details['suggestion'], 'inetsrv-4.0-sp6-x86.tgz');
    // without a file name the suggestion is built from the pack id
    const e2 = refusal(() => checkApplicable({ ...x86rtm, arch: 'alpha' }, sp(6)), 'E_WRONG_ARCH');
    assert.match(e2.message, /use inetsrv-4\.0-sp6-alpha\.tgz$/);
  });

  test('version outside the semver range', () => {
    const e = refusal(() => checkApplicable({ ...x86rtm, version: '5.0.0' }, sp(6)), 'E_WRONG_VERSION');
    assert.match(e.message, /applies to inetsrv >=4\.0\.0 <4\.1\.0; this installation is inetsrv 5\.0\.0/);
    refusal(() => checkApplicable(x86rtm, sp(6, { appliesTo: { version: 'not a range!', levels: [0] } })), 'E_INVALID_MANIFEST');
  });

  test('the same service pack again: already installed', () => {
    const e = refusal(() => checkApplicable({ ...x86rtm, level: 6 }, sp(6)), 'E_ALREADY_INSTALLED');
    assert.match(e.message, /Service Pack 6 is already installed/);
  });

  test('an older service pack over a newer one: downgrade refused', () => {
    const e = refusal(() => checkApplicable({ ...x86rtm, level: 6 }, sp(5)), 'E_DOWNGRADE');
    assert.match(e.message, /installs Service Pack 5, older than Service Pack 6 installed here/);
  });

  test('a level the pack does not list (minimum level not reached)', () => {
    const e = refusal(() => checkApplicable(x86rtm, sp(6, { appliesTo: { version: '4.0.x', levels: [3, 4, 5] } })), 'E_WRONG_LEVEL');
    assert.match(e.message, /installs on Service Pack 3, Service Pack 4, Service Pack 5; this installation is at RTM: install Service Pack 3 first/);
  });

  test('an SP over a hotfix it does not include is refused; one it supersedes is fine', () => {
    const target = { ...x86rtm, level: 5, hotfixes: ['Q236565'] };
    const e = refusal(() => checkApplicable(target, sp(6)), 'E_WRONG_LEVEL');
    assert.match(e.message, /does not include hotfix Q236565 installed here and would undo it: uninstall Q236565 first/);
    checkApplicable(target, sp(6, { supersedes: ['Q236565'] }));
  });

  test('hotfix on its base level applies; twice is already installed', () => {
    const q = hotfix('Q236565', 5, 6);
    checkApplicable({ ...x86rtm, level: 5 }, q);
    const e = refusal(() => checkApplicable({ ...x86rtm, level: 5, hotfixes: ['Q236565'] }, q), 'E_ALREADY_INSTALLED');
    assert.match(e.message, /hotfix Q236565 is already installed/);
  });

  test('hotfix on a level that already ships its fix: superseded', () => {
    const e = refusal(() => checkApplicable({ ...x86rtm, level: 6 }, hotfix('Q236565', 5, 6)), 'E_SUPERSEDED');
    assert.match(e.message, /superseded: Service Pack 6, installed here, already includes it/);
  });

  test('hotfix on a level below its base: install the service pack first', () => {
    const e = refusal(() => checkApplicable({ ...x86rtm, level: 3 }, hotfix('Q236565', 5, 6)), 'E_WRONG_LEVEL');
    assert.match(e.message, /built for Service Pack 5; this installation is at Service Pack 3: install Service Pack 5 first/);
  });

  test('hotfix with an explicit companion list refuses other hotfixes', () => {
    const q = hotfix('Q2', 5, 6, { appliesTo: { version: '4.0.x', levels: [5], hotfixes: ['Q1'] } });
    checkApplicable({ ...x86rtm, level: 5, hotfixes: ['Q1'] }, q);
    refusal(() => checkApplicable({ ...x86rtm, level: 5, hotfixes: ['Q9'] }, q), 'E_WRONG_LEVEL');
  });
});
