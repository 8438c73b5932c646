/** @jsxRuntime automatic @jsxImportSource react */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { render } from 'ink-testing-library';
import { LicenseScreen } from '../../src/wizard/components/LicenseScreen.js';
import { EULA, frame, KEY, press, waitFor } from './helpers.js';

const view = { title: 'inetsrv 4.0 Service Pack 6', document: 'EULA.txt', text: EULA, accepted: false };

test('Enter does nothing until the agreement is accepted with Space', async () => {
  let accepted = 0;
  const r = render(<LicenseScreen view={view} width={77} height={18} active onAccept={() => accepted++} />);
  await waitFor(r, 'License agreement: inetsrv 4.0 Service Pack 6 (EULA.txt)');
  assert.match(frame(r), /\[ \] I accept the agreement/);
  await press(r, KEY.enter);
  await waitFor(r, 'Accept with Space to continue, or q to quit');
  assert.equal(accepted, 0);
  await press(r, KEY.space);
  await waitFor(r, '[x] I accept the agreement');
  await press(r, KEY.enter);
  assert.equal(accepted, 1);
  r.unmount();
});

test('the text scrolls by line, page and to either end', async () => {
  const r = render(<LicenseScreen view={view} width={77} height={18} active onAccept={() => {}} />);
  await waitFor(r, 'lines 1–14 of 65');
  await press(r, KEY.down);
  await waitFor(r, 'lines 2–15 of 65');
  await press(r, KEY.pageDown);
  await waitFor(r, 'lines 15–28 of 65');
  await press(r, KEY.end);
  const f = await waitFor(r, 'lines 52–65 of 65');
  assert.match(f, /END OF AGREEMENT/);
  await press(r, KEY.pageUp, KEY.home);
  await waitFor(r, 'lines 1–14 of 65');
  r.unmount();
});

test('an earlier acceptance is remembered when the screen is shown again', async () => {
  let accepted = 0;
  const r = render(
    <LicenseScreen view={{ ...view, accepted: true }} width={77} height={18} active onAccept={() => accepted++} />,
  );
  await waitFor(r, '[x] I accept');
  r.stdin.write(KEY.enter);
  await waitFor(r, () => accepted === 1);
  r.unmount();
});
