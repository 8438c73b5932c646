import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Installation } from '@servicepack/core/detect';
import type { InstallResult } from '@servicepack/core/install';
import type { PackInspection } from '@servicepack/core/pack-read';
import { ServicepackError } from '../../../packages/core/src/support/errors.js';
import { reflowText, wrapText } from '../../src/wizard/components/text.js';
import type { PackCandidate } from '../../src/wizard/context.js';
import {
  errorView,
  finishView,
  flagsFor,
  formatBytes,
  installationView,
  nothingApplicable,
  optionsView,
  updateView,
  WizardError,
} from '../../src/wizard/views.js';
import { request } from './helpers.js';

function installation(over: Partial<Installation> = {}): Installation {
  return {
    root: '/opt/inetsrv',
    product: 'inetsrv',
    version: '4.0.0',
    arch: 'x86',
    level: 0,
    levelName: 'RTM',
    hotfixes: [],
    consistent: true,
    problems: [],
    buildInfo: {
      product: 'inetsrv',
      displayName: 'inetsrv 4.0 Web Server',
      version: '4.0.0',
      level: 0,
      arch: 'x86',
      build: '1381.0',
      hotfixes: [],
      service: { pidFile: 'run/inetsrv.pid', start: ['bin/inetsrv'] },
    },
    files: new Map(),
    ...over,
  } as Installation;
}

function candidate(
  path: string,
  over: { arch?: 'x86' | 'alpha'; refusal?: PackCandidate['refusal']; fixes?: number } = {},
): PackCandidate {
  const inspection = {
    path,
    size: 10_547,
    manifestBytes: Buffer.from(''),
    signatures: [{ keyid: 'a'.repeat(64), status: 'valid', source: '/opt/inetsrv/.servicepack/trust/vendor.pub' }],
    manifest: {
      format: 1,
      id: 'inetsrv-4.0-sp6',
      kind: 'service-pack',
      product: 'inetsrv',
      title: 'inetsrv 4.0 Service Pack 6',
      level: 6,
      arch: over.arch ?? 'x86',
      appliesTo: { version: '>=4.0.0 <4.1.0', levels: [0] },
      supersedes: [],
      fixes: Array.from({ length: over.fixes ?? 1 }, (_, i) => ({
        id: i === 0 ? 'Q236565' : `Q${i}`,
        title: i === 0 ? 'TCP connections not released' : `fix ${i}`,
        summary: '',
      })),
      files: [
        { path: 'lib/a.js', action: 'replace', sha256: 'b'.repeat(64), size: 2048, from: [] },
        { path: 'lib/old.js', action: 'delete', from: [] },
      ],
      restart: true,
      created: '1999-11-22T00:00:00.000Z',
    },
  } as PackInspection;
  return { path, inspection, ...(over.refusal ? { refusal: over.refusal } : {}) };
}

describe('views', () => {
  test('installation: what was found, and a blocking inconsistency unless --force', () => {
    const v = installationView(installation(), { canChangeRoot: true, force: false });
    assert.equal(v.level, 'RTM (build 1381.0)');
    assert.equal(v.hotfixes, 'none');
    assert.equal(v.history, 'none (as released by the vendor)');
    assert.equal(v.blocking, undefined);
    const bad = installation({
      consistent: false,
      problems: [{ path: 'BUILDINFO.json', kind: 'buildinfo', message: 'level differs' }],
    });
    assert.match(installationView(bad, { canChangeRoot: true, force: false }).blocking ?? '', /--force/);
    assert.equal(installationView(bad, { canChangeRoot: true, force: true }).blocking, undefined);
  });

  test('update: offered packs with fixes, size and signer; refused ones with their reason', () => {
    const ok = candidate('/p/sp6-x86.tgz');
    const alpha = candidate('/p/sp6-alpha.tgz', {
      arch: 'alpha',
      refusal: { code: 'E_WRONG_ARCH', exitCode: 3, message: 'sp6-alpha.tgz is for alpha; this installation is x86' },
    });
    const v = updateView(installation(), [ok, alpha], undefined);
    assert.equal(v.installation, 'inetsrv 4.0.0 x86, RTM');
    assert.equal(v.selected, '/p/sp6-x86.tgz');
    assert.deepEqual(v.offered[0]?.fixes, [{ id: 'Q236565', title: 'TCP connections not released' }]);
    assert.equal(v.offered[0]?.size, '10.3 KiB');
    assert.equal(v.offered[0]?.payload, '1 file, 2.0 KiB; 1 removed');
    assert.deepEqual(v.offered[0]?.signers, [{ keyid: `${'a'.repeat(16)}…`, status: 'trusted (vendor.pub)' }]);
    assert.deepEqual(v.refused, [
      {
        file: 'sp6-alpha.tgz',
        title: 'inetsrv 4.0 Service Pack 6',
        reason: 'sp6-alpha.tgz is for alpha; this installation is x86',
        line: 'sp6-alpha.tgz is for alpha; this installation is x86',
      },
    ]);
  });

  test('options: the unattended twin of the choices', () => {
    assert.deepEqual(flagsFor({ backup: true, restart: true, modified: 'stop' }), []);
    assert.deepEqual(flagsFor({ backup: false, restart: false, modified: 'overwrite' }), ['-n', '-z', '-o']);
    assert.deepEqual(flagsFor({ backup: true, restart: true, modified: 'keep' }), ['--keep-modified']);
    const v = optionsView(
      {
        request: request({ trustFiles: ['/k/v.pub'] }),
        cwd: '/work',
        choices: { backup: true, restart: true, modified: 'stop' },
      },
      undefined,
      '/opt/my inetsrv',
      '/work/dist/sp6.tgz',
    );
    assert.equal(v.baseCommand, "servicepack install --root '/opt/my inetsrv' -u --trust /k/v.pub");
    assert.equal(v.operands, '-- dist/sp6.tgz');
  });

  test('finish: level, files, restart, uninstall data and log', () => {
    const res = {
      root: '/r',
      transactionId: 't',
      dryRun: false,
      before: { levelName: 'RTM' },
      after: { levelName: 'Service Pack 6' },
      packs: [
        { title: 'inetsrv 4.0 Service Pack 6', id: 'inetsrv-4.0-sp6', backup: '.servicepack/backup/inetsrv-4.0-sp6' },
      ],
      changed: { added: [], replaced: ['a', 'b'], deleted: [], spnew: ['conf/inetsrv.conf'], kept: [] },
      restartRequired: true,
      restartMessage: 'restart inetsrv',
      service: { wasRunning: true, stopped: false, restarted: false },
    } as unknown as InstallResult;
    const v = finishView(res, '/r/.servicepack/log/t.jsonl');
    const rows = Object.fromEntries(v.rows);
    assert.equal(rows['Level'], 'RTM -> Service Pack 6');
    assert.equal(rows['Files'], '2 replaced, 0 added, 0 deleted');
    assert.equal(rows['New defaults'], 'conf/inetsrv.conf.spnew (merge them by hand)');
    assert.equal(rows['Server'], 'still running the old code');
    assert.equal(rows['Restart'], 'required: restart inetsrv');
    assert.equal(rows['Uninstall'], '.servicepack/backup/inetsrv-4.0-sp6 (servicepack uninstall)');
    assert.equal(rows['Log'], '.servicepack/log/t.jsonl');
    assert.equal(v.exitCode, 10);
  });

  test('errors: a title for people, the engine message, the exit code of docs/cli.md §5', () => {
    const v = errorView(new ServicepackError('E_WRONG_ARCH', 'x is for alpha; this installation is x86'));
    assert.deepEqual(
      [v.title, v.exitCode, v.exitMeaning, v.nothingChanged],
      ['This update is for another processor architecture', 3, 'not applicable', true],
    );
    assert.equal(errorView(new ServicepackError('E_BUSY', 'busy')).exitCode, 5);
    assert.equal(errorView(new ServicepackError('E_NEEDS_RECOVER', 'journal')).exitCode, 6);
    assert.equal(errorView(new ServicepackError('E_FAILED', 'x', { rollbackFailures: ['a'] })).nothingChanged, false);
    const bug = errorView(new TypeError('boom'));
    assert.deepEqual([bug.code, bug.exitCode, bug.title], ['E_UNEXPECTED', 1, 'Something unexpected went wrong']);
    assert.equal(errorView(new WizardError('E_NO_PACKS', 2, 'none')).exitCode, 2);
  });

  test('nothing applicable: one pack gives its own refusal; several give 3, or 4 when all are trust failures', () => {
    const r = (code: string, exitCode: number) => ({ refusal: { code, exitCode, message: code } });
    const one = nothingApplicable([{ path: '/a.tgz', ...r('E_WRONG_ARCH', 3) }]);
    assert.deepEqual([one.code, one.exitCode], ['E_WRONG_ARCH', 3]);
    const mixed = nothingApplicable([
      { path: '/a.tgz', ...r('E_WRONG_ARCH', 3) },
      { path: '/b.tgz', ...r('E_UNSIGNED', 4) },
    ]);
    assert.deepEqual(
      [mixed.code, mixed.exitCode, mixed.details],
      ['E_NOTHING_APPLICABLE', 3, ['a.tgz: E_WRONG_ARCH', 'b.tgz: E_UNSIGNED']],
    );
    const trust = nothingApplicable([
      { path: '/a.tgz', ...r('E_UNSIGNED', 4) },
      { path: '/b.tgz', ...r('E_UNTRUSTED_KEY', 4) },
    ]);
    assert.equal(trust.exitCode, 4);
  });

  test('text: sizes, hard wrapping, and reflowing a document written for 80 columns', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(10_547), '10.3 KiB');
    assert.deepEqual(wrapText('one two three four', 10), ['one two', 'three four']);
    const doc = [
      'TITLE',
      '',
      'This paragraph was wrapped by its author at seventy-nine columns, which is',
      'wider than the box it is shown in, so it is joined and wrapped again.',
      '1. A list item that the author also wrapped because it is quite a long one,',
      '   with a hanging indent.',
      '2. Short item.',
    ].join('\n');
    const lines = reflowText(doc, 40);
    assert.ok(
      lines.every((l) => l.length <= 40),
      lines.join('\n'),
    );
    assert.equal(lines[0], 'TITLE');
    assert.equal(lines[1], '');
    assert.ok(lines.includes('2. Short item.'));
    assert.ok(
      lines.some((l) => l.startsWith('   ') && !l.startsWith('    ')),
      'the list item keeps its hanging indent',
    );
    assert.deepEqual(reflowText('fits\nas is', 40), ['fits', 'as is']);
  });
});
