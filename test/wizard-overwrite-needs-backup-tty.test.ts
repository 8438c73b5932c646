/**
 * `install -n -o` is refused by the install (no backup and overwrite modified: a changed file would
 * be replaced with no copy anywhere). On a terminal that command line opened the wizard, whose
 * Options screen showed the doomed choices and walked into the refusal after the license. It is a
 * plain usage error (exit 2) on the normal screen before any wizard screen, with the install's
 * message, in either spelling and in either order (tmux: the real terminal).
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cleanup, ensureTmux, packsDir, rtmCopy, start, stop, waitScreen } from './wizard-tmux.js';

const sp6 = join(packsDir, 'inetsrv-4.0-sp6-x86.tgz');

before(ensureTmux);
after(cleanup);

describe('the wizard never opens into an install the engine refuses (tmux)', () => {
  test('install -n -o on a terminal: a usage error (exit 2) before the Welcome screen, nothing changed', async () => {
    const root = await rtmCopy();
    const was = (await readdir(root)).sort();
    for (const flags of [
      ['-n', '-o'],
      ['--overwrite-modified', '--no-backup'],
    ]) {
      try {
        // wide, so that the message is not wrapped by the terminal
        start(['install', ...flags, '--root', root, sp6], { columns: 400, rows: 24 });
        const s = await waitScreen(/\[exit \d+\]|Welcome to Service Pack Setup/, 30_000);
        assert.doesNotMatch(s, /Welcome to Service Pack Setup/, `no wizard for ${flags.join(' ')}`);
        assert.match(
          s,
          /servicepack: error: --no-backup \(-n\) and --overwrite-modified \(-o\) cannot be used together/,
        );
        assert.match(s, /\[exit 2\]/);
      } finally {
        stop();
      }
    }
    assert.deepEqual((await readdir(root)).sort(), was, 'nothing was created in the installation');
  });
});
