/**
 * Keys in the wizard's real terminal (tmux, 80×24): a question about a running install does not
 * outlive it, and keys typed while a screen loads reach the screen that follows.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  chunk,
  cleanup,
  ensureTmux,
  keys,
  packsDir,
  rtmCopy,
  settled,
  start,
  stop,
  waitScreen,
} from './wizard-tmux.js';

const SIZE = { columns: 80, rows: 24 };
const sp6 = join(packsDir, 'inetsrv-4.0-sp6-x86.tgz');

before(ensureTmux);
after(cleanup);

describe('keys in the wizard (tmux)', () => {
  test('Esc during the install: "Close Setup when done?" is gone when it ends, and Setup closes', async () => {
    const root = await rtmCopy();
    try {
      start(['install', '--root', root, sp6], SIZE);
      await waitScreen('Welcome to Service Pack Setup.');
      await settled();
      await keys('Enter');
      await waitScreen('inetsrv was found in');
      await settled();
      await keys('Enter');
      await waitScreen('Choose the update to install');
      await settled();
      await keys('Enter');
      await waitScreen('License agreement:');
      await settled();
      await keys('Space', 'Enter');
      await waitScreen('Options for');
      await settled();
      // Enter starts the install, Esc follows in the same write: it reaches the progress screen
      await chunk('\r\x1b');
      const s = await waitScreen(/was installed in|\[exit \d+\]/, 120_000);
      if (s.includes('was installed in')) {
        const f = await settled();
        assert.doesNotMatch(f, /Close Setup when done\?/, `no question left over the finish screen:\n${f}`);
        assert.match(f, /Enter Close/);
        await keys('y');
        await keys('Enter');
      }
      const end = await waitScreen(/\[exit \d+\]/);
      assert.match(end, /Installed inetsrv 4\.0 Service Pack 6 [\s\S]*\n\[exit 0\]/);
    } finally {
      stop();
    }
  });
});
