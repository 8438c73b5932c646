import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../../packages/core/test/install-fixtures.js';
import { completePath } from '../../src/wizard/complete-path.js';
import { editLine, lineOf, textOf } from '../../src/wizard/components/line-edit.js';

const run = (start: string, ...events: string[]) => {
  let s = lineOf(start);
  let submitted: string | undefined;
  for (const e of events) {
    const r = editLine(s, e, (v) => `${v}<tab>`);
    s = r.state;
    submitted ??= r.submitted;
  }
  return { text: textOf(s), cursor: s.cursor, submitted };
};

test('a chunk is applied byte by byte: Backspace among letters, Enter submits what is shown', () => {
  assert.deepEqual(run('', '/tmp/x/m1xabc\x7fy'), { text: '/tmp/x/m1xaby', cursor: 13, submitted: undefined });
  assert.equal(run('', '/tmp/x/m1xab\x7f\x7fcy\rignored').submitted, '/tmp/x/m1xcy');
  assert.equal(run('', 'ab\b\nz').submitted, 'a', 'Ctrl-H and LF too');
});

test('readline keys: Ctrl-U, Ctrl-W (to a blank), Alt-Backspace (to a /), Ctrl-A/E/B/F/D/K, Home, End, Delete, arrows', () => {
  assert.equal(run('abc def', '\x17').text, 'abc ');
  assert.equal(run('abc def  ', '\x17').text, 'abc ');
  assert.equal(run('/opt/inetsrv', '\x1b\x7f').text, '/opt/');
  assert.equal(run('/opt/inetsrv', '\x01', '\x06', '\x0b').text, '/');
  assert.equal(run('/opt/inetsrv', '\x1b[D', '\x1b[D', '\x15').text, 'rv');
  assert.equal(run('abc', '\x1b[H', 'x', '\x1b[F', 'y', '\x1b[1~', '\x1b[3~').text, 'abcy');
  assert.equal(run('abc', '\x01\x04\x05z').text, 'bcz');
  assert.equal(run('abc', '\x1bOH', '-', '\x1b[4~', '+').text, '-abc+');
  assert.equal(run('abc', '\x02', '\x02', '_').text, 'a_bc');
});

test('control bytes, C1 controls and unknown escape sequences are never typed into the path', () => {
  assert.equal(run('', 'a\x00\x1a\x9b\u2028b', '\x1b[99~', '\x1bZ').text, 'ab');
  assert.equal(run('é', '\x7f').text, '', 'a character, not a UTF-16 half, is erased');
  assert.equal(run('/o', '\t').text, '/o<tab>');
});

test('Tab completes a path: the only match with its /, several to their common prefix, none unchanged', async () => {
  const dir = await tempDir();
  await mkdir(join(dir, 'inetsrv'));
  await mkdir(join(dir, 'alpha1'));
  await mkdir(join(dir, 'alpha2'));
  await writeFile(join(dir, 'notes.txt'), '');
  await mkdir(join(dir, '.hidden'));
  assert.equal(completePath(`${dir}/ine`, '/'), `${dir}/inetsrv/`);
  assert.equal(completePath(`${dir}/al`, '/'), `${dir}/alpha`);
  assert.equal(completePath(`${dir}/no`, '/'), `${dir}/notes.txt`);
  assert.equal(completePath(`${dir}/zz`, '/'), `${dir}/zz`);
  assert.equal(completePath(`${dir}/.h`, '/'), `${dir}/.hidden/`);
  assert.equal(completePath('ine', dir), 'inetsrv/', 'relative to the current folder');
  assert.equal(completePath('/nonexistent-sp/x', dir), '/nonexistent-sp/x');
});
