/** @jsxRuntime automatic @jsxImportSource react */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { render } from 'ink-testing-library';
import { RemoveScreen } from '../../src/wizard/components/RemoveScreen.js';
import { KEY, press, waitFor } from './helpers.js';

test('the newest update is offered for removal; older ones say what must come off first', async () => {
  const got: string[] = [];
  const view = {
    installation: 'inetsrv 4.0.0 x86, Service Pack 2',
    offered: [
      {
        packId: 'inetsrv-4.0-sp2',
        kind: 'Service pack',
        change: 'Service Pack 2, back to Service Pack 1',
        backup: '.servicepack/backup/inetsrv-4.0-sp2',
      },
    ],
    refused: [{ packId: 'inetsrv-4.0-sp1', reason: 'Service Pack 1, back to RTM; remove inetsrv-4.0-sp2 first' }],
    selected: 'inetsrv-4.0-sp2',
  };
  const r = render(<RemoveScreen view={view} active onChoose={(id) => got.push(id)} />);
  const f = await waitFor(r, 'The update to remove:');
  assert.match(f, /› \(•\) inetsrv-4\.0-sp2 +Service pack: Service Pack 2, back to Service Pack 1/);
  assert.match(f, /Uninstall data +\.servicepack\/backup\/inetsrv-4\.0-sp2/);
  assert.match(f, /✗ inetsrv-4\.0-sp1: Service Pack 1, back to RTM; remove inetsrv-4\.0-sp2 first/);
  await press(r, KEY.down, KEY.enter);
  assert.deepEqual(got, ['inetsrv-4.0-sp2']);
  r.unmount();
});
