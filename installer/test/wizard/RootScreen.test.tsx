/** @jsxRuntime automatic @jsxImportSource react */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { render } from 'ink-testing-library';
import { RootScreen } from '../../src/wizard/components/RootScreen.js';
import { frame, KEY, press, waitFor } from './helpers.js';

test('the folder prompt takes typing (q included) and submits on Enter', async () => {
  const got: string[] = [];
  const r = render(
    <RootScreen
      view={{ defaultRoot: '', message: 'No inetsrv installation in /nope.' }}
      active
      onSubmit={(v) => got.push(v)}
    />,
  );
  await waitFor(r, 'Where is inetsrv installed?');
  await waitFor(r, 'No inetsrv installation in /nope.');
  await press(r, '/', 'o', 'p', 't', '/', 'q');
  await waitFor(r, 'Folder: /opt/q');
  await press(r, KEY.enter);
  assert.deepEqual(got, ['/opt/q']);
  r.unmount();
});

test('the default is offered for editing', async () => {
  const got: string[] = [];
  const r = render(<RootScreen view={{ defaultRoot: '/srv/inetsrv' }} active onSubmit={(v) => got.push(v)} />);
  await waitFor(r, 'Folder: /srv/inetsrv');
  await press(r, KEY.enter);
  assert.deepEqual(got, ['/srv/inetsrv']);
  r.unmount();
});

test('keys in one chunk (a paste): Backspace and Ctrl-U among them; the field shows what Enter submits', async () => {
  const got: string[] = [];
  const r = render(<RootScreen view={{ defaultRoot: '' }} active onSubmit={(v) => got.push(v)} />);
  await waitFor(r, 'Where is inetsrv installed?');
  assert.match(frame(r), /\(empty; for example \/opt\/inetsrv\)/);
  assert.doesNotMatch(frame(r), /Folder: \//, 'the example is not in the field');
  r.stdin.write('junk\x15/tmp/x/m1xabc\x7f\x7fcy');
  await waitFor(r, 'Folder: /tmp/x/m1xacy');
  r.stdin.write('\r');
  assert.deepEqual(got, ['/tmp/x/m1xacy']);
  r.unmount();
});
