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
  scratch,
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

describe('keys typed ahead, and packs checked before the wizard opens (tmux)', () => {
  test('Enters typed in one chunk while screens load walk on to the License screen; none is lost', async () => {
    const root = await rtmCopy();
    try {
      start(['install', '--root', root, sp6], SIZE);
      await waitScreen('Welcome to Service Pack Setup.');
      await settled();
      // Welcome, Installation (loading after the first), Update (loading after the second)
      await chunk('\r\r\r');
      const s = await waitScreen(/License agreement:|\[exit \d+\]/, 30_000);
      assert.match(s, /License agreement: inetsrv 4\.0 Service Pack 6/);
      await keys('q', 'y');
      await waitScreen('[exit 1]');
    } finally {
      stop();
    }
  });

  test('a pack that does not exist, or a --packs folder without packs, is a plain error (exit 2) before any screen', async () => {
    const root = await rtmCopy();
    const empty = await scratch();
    const cases: [string[], RegExp][] = [
      [
        ['install', '--root', root, '/nonexistent-sp/sp6\x1b[2J.tgz'],
        /servicepack: error: \/nonexistent-sp\/sp6\\e\[2J\.tgz: no such pack/,
      ],
      [
        ['install', '--root', root, '--packs', empty],
        /servicepack: error: --packs \S+: no update packs \(\*\.tgz\) in that folder/,
      ],
      [['install', '--root', root, '--packs', join(empty, 'nope')], /servicepack: error: --packs \S+: no such folder/],
    ];
    for (const [args, want] of cases) {
      try {
        // wide, so that the message is not wrapped by the terminal
        start(args, { columns: 250, rows: 24 });
        const s = await waitScreen(/\[exit \d+\]|Welcome to Service Pack Setup/, 30_000);
        assert.doesNotMatch(
          s,
          /Welcome to Service Pack Setup/,
          'no wizard for a command line that names nothing there',
        );
        assert.match(s, want);
        assert.match(s, /\[exit 2\]/);
      } finally {
        stop();
      }
    }
  });

  test('"No update packs" in the current folder asks for another folder, and goes on with its packs', async () => {
    const root = await rtmCopy();
    try {
      // the repository's top folder holds no *.tgz
      start(['--root', root], SIZE);
      await waitScreen('Welcome to Service Pack Setup.');
      await settled();
      await keys('Enter');
      await waitScreen('inetsrv was found in');
      await settled();
      await keys('Enter');
      const s = await waitScreen(
        /Where are the update packs\?|\[exit \d+\]|Setup cannot continue|No update packs found/,
      );
      assert.match(s, /Where are the update packs\?/);
      assert.match(s, /No update packs \(\*\.tgz\) in /);
      await chunk(`${packsDir}\r`);
      const u = await waitScreen('Choose the update to install');
      assert.match(u, /› \(•\) inetsrv 4\.0 Service Pack 6/);
      await keys('q', 'y');
      await waitScreen('[exit 1]');
    } finally {
      stop();
    }
  });
});
