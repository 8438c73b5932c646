/** @jsxRuntime automatic @jsxImportSource react */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { render } from 'ink-testing-library';
import { WelcomeScreen } from '../../src/wizard/components/WelcomeScreen.js';
import { frame, KEY, press, waitFor } from './helpers.js';

test('welcome says what the wizard will do and where the updates come from; Enter goes on', async () => {
  let nexts = 0;
  const r = render(<WelcomeScreen view={{ source: 'the pack you named, sp6.tgz' }} active onNext={() => nexts++} />);
  await waitFor(r, 'Welcome to Service Pack Setup.');
  assert.match(frame(r), /Updates on offer: the pack you named, sp6\.tgz\./);
  assert.match(frame(r), /Nothing is changed until you press Enter on the Options screen/);
  await press(r, 'x', KEY.enter);
  assert.equal(nexts, 1);
  r.unmount();
});

test('an inactive screen (a dialog is open) ignores keys', async () => {
  let nexts = 0;
  const r = render(<WelcomeScreen view={{ source: 'x' }} active={false} onNext={() => nexts++} />);
  await waitFor(r, 'Welcome');
  await press(r, KEY.enter);
  assert.equal(nexts, 0);
  r.unmount();
});
