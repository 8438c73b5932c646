/**
 * The folder field in a real terminal (tmux, 80×24): keys that arrive in one chunk (a paste, an ssh
 * connection, typing while the app is busy) are applied in order, Backspace and the readline keys
 * among them, and what the field shows is what Enter submits; an empty field says it is empty
 * (NO_COLOR: no dimming to tell an example from a value); Tab completes a path.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
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

/** The field's text as drawn (the cursor cell at the end is a blank). */
async function field(): Promise<string> {
  const s = await settled();
  const m = /^ Folder:(?: (.*))?$/m.exec(s);
  assert.ok(m, `the folder field is on the screen:\n${s}`);
  return (m[1] ?? '').trimEnd();
}

async function toFolderField(root: string): Promise<void> {
  start(['install', sp6], SIZE, { NO_COLOR: '1', SERVICEPACK_ROOT: '' });
  await waitScreen('Welcome to Service Pack Setup.');
  await settled();
  await keys('Enter');
  await waitScreen('Where is inetsrv installed?');
  assert.ok(root.length < 60, 'the path fits on one row');
}

before(ensureTmux);
after(cleanup);

describe('the folder field (tmux)', () => {
  test('a chunk with Backspaces in it shows and submits the same text', async () => {
    const root = await rtmCopy();
    try {
      await toFolderField(root);
      await chunk(`${root.slice(0, -2)}xyz\x7f\x7f\x7fr`);
      assert.equal(await field(), root.slice(0, -1));
      await chunk(`v\r`);
      const s = await waitScreen('inetsrv was found in');
      assert.ok(s.replace(/\s+/g, '').includes(`inetsrvwasfoundin${root}:`), s);
    } finally {
      stop();
    }
  });

  test('Ctrl-W, Ctrl-A, Ctrl-E, Home, End, Ctrl-U work as in readline; empty says so, not a path', async () => {
    const root = await rtmCopy();
    try {
      await toFolderField(root);
      await chunk('abc def');
      await keys('C-w');
      assert.equal(await field(), 'abc');
      await keys('C-a');
      await chunk('/');
      await keys('End');
      await chunk('x');
      assert.equal(await field(), '/abc x');
      await keys('Home');
      await chunk('~');
      await keys('C-e');
      await chunk('!');
      assert.equal(await field(), '~/abc x!');
      await chunk('\x01\x06\x7f\x05q');
      assert.equal(await field(), '/abc x!q', 'Ctrl-A, Ctrl-F, Backspace, Ctrl-E in one chunk');
      await keys('C-u');
      assert.equal(await field(), '');
      const s = await settled();
      assert.match(s, /\(empty; for example \/opt\/inetsrv\)/);
      assert.doesNotMatch(s, /^ Folder: \S/m, 'no example in the field, where it would read as a value');
      await chunk(`${root}\r`);
      await waitScreen('inetsrv was found in');
    } finally {
      stop();
    }
  });

  test('Tab completes a folder: the only match in full, several to what they share', async () => {
    const root = await rtmCopy();
    const other = await scratch();
    await mkdir(join(other, 'alpha1'));
    await mkdir(join(other, 'alpha2'));
    try {
      await toFolderField(root);
      await chunk(`${root.slice(0, -4)}`);
      await keys('Tab');
      assert.equal(await field(), `${root}/`);
      await keys('C-u');
      await chunk(`${other}/al`);
      await keys('Tab');
      assert.equal(await field(), `${other}/alpha`);
      await keys('C-u');
      await chunk(`${root.slice(0, -4)}\t\r`);
      await waitScreen('inetsrv was found in');
    } finally {
      stop();
    }
  });
});
