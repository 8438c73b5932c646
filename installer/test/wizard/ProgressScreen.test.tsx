/** @jsxRuntime automatic @jsxImportSource react */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServicepackEvent } from '@servicepack/core/events';
import { render } from 'ink-testing-library';
import { ProgressScreen } from '../../src/wizard/components/ProgressScreen.js';
import { initialProgress, reduceProgress } from '../../src/wizard/progress.js';
import { waitFor } from './helpers.js';

const events: ServicepackEvent[] = [
  { type: 'step', step: 'lock', state: 'started' },
  { type: 'step', step: 'lock', state: 'done' },
  { type: 'step', step: 'recover', state: 'skipped' },
  { type: 'step', step: 'commit', state: 'started' },
  {
    type: 'progress',
    step: 'commit',
    files: 3,
    totalFiles: 5,
    bytes: 12_800,
    totalBytes: 25_600,
    path: 'lib/connection.js',
  },
  { type: 'warning', code: 'W_CONFIG_KEPT', message: 'conf/inetsrv.conf was changed here and is kept' },
];

test('progress: the transaction steps, files and bytes, the current file, warnings — all from events', async () => {
  const view = events.reduce(reduceProgress, initialProgress('inetsrv 4.0 Service Pack 6', '/opt/inetsrv'));
  const r = render(<ProgressScreen view={view} width={77} />);
  const f = await waitFor(r, 'Installing inetsrv 4.0 Service Pack 6 in /opt/inetsrv');
  assert.match(f, /✓ Take the lock/);
  assert.match(f, /– Check for an interrupted install/);
  assert.match(f, /▸ Replace the files/);
  assert.match(f, /· Record the new level/);
  assert.match(f, /Files .* 3\/5/);
  assert.match(f, /Bytes .* 12\.5 KiB \/ 25\.0 KiB/);
  assert.match(f, /lib\/connection\.js/);
  assert.match(f, /! conf\/inetsrv\.conf was changed here and is kept/);
  assert.match(f, /runs to its end/);
  assert.ok(f.split('\n').length <= 18, 'fits the body of an 80×24 frame');
  r.unmount();
});
