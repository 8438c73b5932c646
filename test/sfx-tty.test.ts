/**
 * A one-file pack on a terminal (tmux): `./X.run` with no switches opens Setup on its pack, as NT's
 * sp6i386.exe opened its dialog, with no servicepack on PATH. Uses the .run `pnpm build` writes.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cleanup, ensureTmux, packsDir, rtmCopy, settled, tmux, waitScreen } from './wizard-tmux.js';

const run = join(packsDir, 'inetsrv-4.0-sp6-x86.run');
const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

before(() => {
  ensureTmux();
  if (!existsSync(run)) throw new Error(`build output missing (run pnpm build first): ${run}`);
});
after(cleanup);

describe('one-file pack on a terminal (tmux)', () => {
  test('./X.run with no switches opens Setup on its pack', async () => {
    const root = await rtmCopy();
    const path = `${dirname(process.execPath)}:/usr/bin:/bin`;
    const command = `cd ${quote(dirname(root))} && env -i TERM=xterm-256color HOME=${quote(dirname(root))} PATH=${quote(path)} SERVICEPACK_ROOT=${quote(root)} ${quote(run)}; echo "[exit $?]"; sleep 600`;
    tmux('-u', 'new-session', '-d', '-x', '100', '-y', '30', '-s', 'wizard', command);
    const s = await waitScreen(/\[exit \d+\]|Welcome to Service Pack Setup/, 30_000);
    assert.match(s, /Welcome to Service Pack Setup/, s);
    assert.match(s, /the pack you named, inetsrv-4\.0-sp6-x86\.run/, s);
    // Installation, then Update: the pack read out of the .run, verified by its signature
    tmux('send-keys', '-t', 'wizard', 'Enter');
    await waitScreen(/\[Installation\]/);
    tmux('send-keys', '-t', 'wizard', 'Enter');
    const update = await waitScreen(/\[Update\][\s\S]*Service Pack 6|\[exit \d+\]/);
    assert.doesNotMatch(update, /\[exit \d+\]/, update);
    assert.match(await settled(), /Service Pack 6/);
  });
});
