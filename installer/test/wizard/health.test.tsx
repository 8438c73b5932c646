/** @jsxRuntime automatic @jsxImportSource react */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServicepackEvent } from '@servicepack/core/events';
import type { InstallResult } from '@servicepack/core/install';
import { ServicepackError } from '../../../packages/core/src/support/errors.js';
import { render } from 'ink-testing-library';
import { ErrorScreen } from '../../src/wizard/components/ErrorScreen.js';
import { FinishScreen } from '../../src/wizard/components/FinishScreen.js';
import { ProgressScreen } from '../../src/wizard/components/ProgressScreen.js';
import { finishProgress, initialProgress, reduceProgress } from '../../src/wizard/progress.js';
import { errorView, finishView } from '../../src/wizard/views.js';
import { waitFor } from './helpers.js';

/** The health check on the wizard's screens (issue 18 item 3; docs/transactions.md §7 "Health check"). */

type HealthCheck = NonNullable<InstallResult['health']>;

const CHECKING = 'starting inetsrv at Service Pack 6 and checking the server…';

const toTrial: ServicepackEvent[] = [
  { type: 'step', step: 'commit', state: 'started' },
  { type: 'progress', step: 'commit', files: 5, totalFiles: 5, bytes: 100, totalBytes: 100, path: 'lib/http.js' },
  { type: 'step', step: 'commit', state: 'done' },
  { type: 'step', step: 'trial', state: 'started' },
  { type: 'info', message: CHECKING },
];

const fold = (evs: ServicepackEvent[]) =>
  evs.reduce(reduceProgress, initialProgress('inetsrv 4.0 Service Pack 6', '/opt/inetsrv'));

test('the Install screen says "checking the server…" while the new level is on trial, and no more once it passed', async () => {
  const r = render(<ProgressScreen view={fold(toTrial)} width={100} />);
  const f = await waitFor(r, CHECKING);
  assert.match(f, /▸ Check the server/);
  r.rerender(
    <ProgressScreen
      view={fold([
        ...toTrial,
        { type: 'info', message: 'health check passed: GET http://127.0.0.1:8080/ answered' },
        { type: 'step', step: 'trial', state: 'done' },
      ])}
      width={100}
    />,
  );
  const after = await waitFor(r, '✓ Check the server');
  assert.doesNotMatch(after, /checking the server…/);
  r.unmount();
  // an info that is not the trial's does not take the line
  assert.equal(fold([{ type: 'info', message: 'resolved 1 pack' }]).trial, undefined);
  assert.equal(finishProgress(fold(toTrial)).trial, undefined);
});

test('a failed check says, until the engine returns, that the previous level is being put back', async () => {
  const view = fold([...toTrial, { type: 'step', step: 'trial', state: 'failed', message: 'the health check failed' }]);
  const r = render(<ProgressScreen view={view} width={100} />);
  const f = await waitFor(r, 'putting the previous level back');
  assert.match(f, /✗ Check the server/);
  assert.doesNotMatch(f, /checking the server…/);
  r.unmount();
});

const failed: HealthCheck = {
  passed: false,
  summary: 'GET http://127.0.0.1:8080/ failed: the server closed the connection without an answer',
  level: 6,
  started: { pid: 4242 },
  target: { host: '127.0.0.1', port: 8080, from: 'conf/inetsrv.conf:9, :10' },
  probe: {
    host: '127.0.0.1',
    port: 8080,
    path: '/',
    passed: false,
    reason: 'the server closed the connection without an answer',
    attempts: 1,
    exchanges: [
      { request: 'GET / HTTP/1.1', sameConnection: true, bytes: 0, ms: 12, error: 'closed without an answer' },
    ],
    ms: 14,
    timeoutMs: 30_000,
  },
  ms: 40,
};

const afterRollback: HealthCheck = {
  passed: true,
  summary:
    'GET http://127.0.0.1:8080/ answered twice on one connection (200, 200) in 5 ms, and inetsrv still ran after 2 s',
  level: 5,
  ms: 2100,
};

test('a rolled-back update is its own screen: failed its health check, what was asked and came back, the old level serving again, what to do', async () => {
  const e = new ServicepackError(
    'E_HEALTH_CHECK_FAILED',
    'the health check of Service Pack 6 failed: GET http://127.0.0.1:8080/ failed: the server closed the connection without an answer. The update was rolled back: the installation is at Service Pack 5 again and inetsrv runs again and passes its health check. Nothing was installed: find out why the new level does not serve here (the evidence is in the --json output, details.health), then install again, or install with --no-health-check to keep it regardless',
    { health: failed, afterRollback, rolledBackTo: 'Service Pack 5' },
  );
  const view = errorView(e);
  const r = render(<ErrorScreen view={view} />);
  const f = (await waitFor(r, 'Exit code 1')).replace(/\s+/g, ' ');
  assert.match(f, /✗ The update failed its health check and was rolled back/);
  assert.match(
    f,
    /asked: GET \/ HTTP\/1\.1 at 127\.0\.0\.1:8080 \(address from conf\/inetsrv\.conf:9, :10\), within 30 s/,
  );
  assert.match(
    f,
    /came back: closed without an answer \(the server closed the connection without an answer\), after 14 ms/,
  );
  assert.match(f, /Service Pack 5 again: serving: GET http:\/\/127\.0\.0\.1:8080\/ answered twice/);
  assert.match(f, /The installation is at Service Pack 5 again, serving\./);
  assert.match(f, /--no-health-check/);
  assert.doesNotMatch(f, /Nothing was changed\./);
  r.unmount();

  // the old level that does not serve either is not called serving
  const down = errorView(
    new ServicepackError('E_HEALTH_CHECK_FAILED', 'x', {
      health: failed,
      afterRollback: { ...afterRollback, passed: false, summary: 'inetsrv did not start' },
      rolledBackTo: 'Service Pack 5',
    }),
  );
  assert.equal(down.outcome, 'The installation is at Service Pack 5 again.');
  // the probe's reason is not said twice when it is what came back
  const reason = failed.probe?.reason ?? '';
  const once = errorView(
    new ServicepackError('E_HEALTH_CHECK_FAILED', 'x', {
      health: { ...failed, probe: { ...failed.probe, exchanges: [{ ...failed.probe?.exchanges[0], error: reason }] } },
    }),
  );
  assert.ok(once.details.includes(`came back: ${reason}, after 14 ms`), once.details.join('\n'));
  assert.ok(down.details.includes('Service Pack 5 again: NOT serving: inetsrv did not start'));
});

test('the Finish screen says the server was checked: "health check passed: …"', async () => {
  const res = {
    root: '/opt/inetsrv',
    before: { levelName: 'Service Pack 5' },
    after: { levelName: 'Service Pack 6a' },
    packs: [{ title: 'inetsrv 4.0 Service Pack 6a', id: 'inetsrv-4.0-sp6a', backup: '.servicepack/backup/sp6a' }],
    changed: { added: [], replaced: ['a'], deleted: [], spnew: [], kept: [] },
    restartRequired: false,
    service: { wasRunning: true, stopped: true, restarted: true },
    health: { ...afterRollback, level: 7 },
  } as unknown as InstallResult;
  const r = render(<FinishScreen view={finishView(res, undefined)} />);
  const f = (await waitFor(r, 'was installed')).replace(/\s+/g, ' ');
  assert.match(
    f,
    /Server check health check passed: GET http:\/\/127\.0\.0\.1:8080\/ answered twice on one connection/,
  );
  r.unmount();
  const unchecked = finishView({ ...res, health: undefined } as unknown as InstallResult, undefined);
  assert.ok(
    !unchecked.rows.some(([label]) => label === 'Server check'),
    'no trial, no claim that the server was checked',
  );
});
