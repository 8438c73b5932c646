/** @jsxRuntime automatic @jsxImportSource react */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { render } from 'ink-testing-library';
import { FinishScreen } from '../../src/wizard/components/FinishScreen.js';
import { waitFor } from './helpers.js';

test('finish: what changed, the new level, restart, backup and log, the exit code', async () => {
  const view = {
    headline: 'inetsrv 4.0 Service Pack 6 was installed in /opt/inetsrv.',
    rows: [
      ['Level', 'RTM -> Service Pack 6'],
      ['Restart', 'required: start it with bin/inetsrv start'],
      ['Uninstall', '.servicepack/backup/inetsrv-4.0-sp6 (servicepack uninstall)'],
      ['Log', '.servicepack/log/t.jsonl'],
    ] as [string, string][],
    restartRequired: true,
    exitCode: 10,
  };
  const r = render(<FinishScreen view={view} />);
  const f = await waitFor(r, '✓ inetsrv 4.0 Service Pack 6 was installed in /opt/inetsrv.');
  assert.match(f, /Level +RTM -> Service Pack 6/);
  assert.match(f, /Restart +required: start it/);
  assert.match(f, /Uninstall +\.servicepack\/backup\/inetsrv-4\.0-sp6/);
  assert.match(f, /Log +\.servicepack\/log\/t\.jsonl/);
  assert.match(f, /exit code 10/);
  r.unmount();
});
