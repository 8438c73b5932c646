import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canRunWizard, isCI, wizardRequest } from '../../src/wizard/route.js';

const tty = { interactive: true, env: { TERM: 'xterm-256color' } };
const argv = (...args: string[]) => ['node', 'servicepack', ...args];

describe('which command lines open the wizard', () => {
  test('no arguments on a terminal: the wizard, with the root from SERVICEPACK_ROOT', () => {
    const r = wizardRequest(argv(), { interactive: true, env: { TERM: 'xterm', SERVICEPACK_ROOT: '/opt/inetsrv' } });
    assert.deepEqual(r, {
      flow: 'install',
      root: '/opt/inetsrv',
      packs: [],
      trustFiles: [],
      allowUnsigned: false,
      backup: true,
      restart: true,
      modified: 'stop',
      force: false,
    });
  });

  test('never without a terminal, under CI, or on a dumb terminal', () => {
    assert.equal(wizardRequest(argv(), { interactive: false, env: {} }), undefined);
    assert.equal(wizardRequest(argv(), { interactive: true, env: { CI: 'true' } }), undefined);
    assert.equal(
      wizardRequest(argv('install', 'a.tgz'), { interactive: true, env: { CONTINUOUS_INTEGRATION: '1' } }),
      undefined,
    );
    assert.equal(wizardRequest(argv(), { interactive: true, env: { TERM: 'dumb' } }), undefined);
    assert.equal(isCI({ CI: 'false' }), false);
    assert.equal(isCI({ CI: '0' }), false);
    assert.equal(canRunWizard({ interactive: true, env: { CI: '0' } }), true);
  });

  test('install PACK on a terminal: the wizard, flags preset its options', () => {
    const r = wizardRequest(
      argv(
        'install',
        '--root',
        '/r',
        '-n',
        '-z',
        '-o',
        '--trust',
        'a.pub',
        '--trust',
        'b.pub',
        '--allow-unsigned',
        '-f',
        '--',
        'sp6.tgz',
        'q.tgz',
      ),
      tty,
    );
    assert.deepEqual(r, {
      flow: 'install',
      root: '/r',
      packs: ['sp6.tgz', 'q.tgz'],
      trustFiles: ['a.pub', 'b.pub'],
      allowUnsigned: true,
      backup: false,
      restart: false,
      modified: 'overwrite',
      force: true,
    });
    assert.equal(wizardRequest(argv('install', '--keep-modified', 'sp6.tgz'), tty)?.modified, 'keep');
    assert.equal(wizardRequest(argv('install', '-nz', 'sp6.tgz'), tty)?.restart, false);
    assert.equal(wizardRequest(argv('install', '--packs', 'dist/packs'), tty)?.packsDir, 'dist/packs');
  });

  test('--no-health-check and --health-timeout open the wizard and are kept; a bad timeout goes to the install command', () => {
    const r = wizardRequest(argv('install', '--no-health-check', '--health-timeout', '12', 'sp6.tgz'), tty);
    assert.deepEqual([r?.flow, r?.healthCheck, r?.healthTimeoutSeconds], ['install', false, 12]);
    assert.equal(wizardRequest(argv('install', 'sp6.tgz'), tty)?.healthCheck, undefined);
    for (const bad of ['0', '1.5', 'soon', '100000'])
      assert.equal(wizardRequest(argv('install', '--health-timeout', bad, 'sp6.tgz'), tty), undefined, bad);
  });

  test('-u, --json, --dry-run and -q keep the unattended command', () => {
    for (const flag of ['-u', '--unattended', '--json', '--dry-run', '-q', '-nu']) {
      assert.equal(wizardRequest(argv('install', flag, 'sp6.tgz'), tty), undefined, flag);
    }
  });

  test('anything the wizard does not know goes to the ordinary command line, which reports it', () => {
    assert.equal(wizardRequest(argv('query'), tty), undefined);
    assert.equal(wizardRequest(argv('install'), tty), undefined);
    assert.equal(wizardRequest(argv('install', '--bogus', 'sp6.tgz'), tty), undefined);
    assert.equal(wizardRequest(argv('install', '-o', '--keep-modified', 'sp6.tgz'), tty), undefined);
    assert.equal(wizardRequest(argv('--help'), tty), undefined);
    assert.equal(wizardRequest(argv('--version'), tty), undefined);
    assert.equal(wizardRequest(argv('stray'), tty), undefined);
  });

  test('options without a command open the wizard too', () => {
    const r = wizardRequest(argv('--root', '/srv/inetsrv', '--packs', '/media/sp6'), tty);
    assert.equal(r?.root, '/srv/inetsrv');
    assert.equal(r?.packsDir, '/media/sp6');
  });
});

describe('uninstall on a terminal', () => {
  test('opens the removal flow, its switches preset', () => {
    assert.deepEqual(wizardRequest(argv('uninstall'), tty), {
      flow: 'uninstall',
      packs: [],
      trustFiles: [],
      allowUnsigned: false,
      backup: true,
      restart: true,
      modified: 'stop',
      force: false,
    });
    const r = wizardRequest(argv('uninstall', '--root', '/r', '-o', '-z', 'inetsrv-4.0-sp6'), tty);
    assert.deepEqual(
      [r?.flow, r?.id, r?.root, r?.modified, r?.restart],
      ['uninstall', 'inetsrv-4.0-sp6', '/r', 'overwrite', false],
    );
  });

  test('-u, --json and -q keep the unattended command; unknown switches go to it too', () => {
    for (const flag of ['-u', '--json', '-q', '--keep-modified', '-n'])
      assert.equal(wizardRequest(argv('uninstall', flag), tty), undefined, flag);
  });
});
