/** @jsxRuntime automatic @jsxImportSource react */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { render } from 'ink-testing-library';
import { WelcomeScreen } from '../../src/wizard/components/WelcomeScreen.js';
import { welcomeView } from '../../src/wizard/views.js';
import { frame, KEY, press, request, waitFor } from './helpers.js';

test('welcome says what the wizard will do and where the updates come from; Enter goes on', async () => {
  let nexts = 0;
  const view = welcomeView({ request: request({ packs: ['/media/sp6.tgz'] }), cwd: '/' });
  const r = render(<WelcomeScreen view={view} active onNext={() => nexts++} />);
  await waitFor(r, 'Welcome to Service Pack Setup.');
  assert.match(frame(r), /1\. find the installation and show its level, hotfixes and consistency;/);
  assert.match(frame(r), /3\. show the update's license agreement, which you must accept;/);
  assert.match(frame(r), /Updates on offer: the pack you named, sp6\.tgz\./);
  assert.match(frame(r), /Nothing is changed until you press Enter on the Options screen/);
  await press(r, 'x', KEY.enter);
  assert.equal(nexts, 1);
  r.unmount();
});

test('an inactive screen (a dialog is open) ignores keys', async () => {
  let nexts = 0;
  const r = render(
    <WelcomeScreen view={welcomeView({ request: request(), cwd: '/srv' })} active={false} onNext={() => nexts++} />,
  );
  await waitFor(r, 'Welcome');
  await press(r, KEY.enter);
  assert.equal(nexts, 0);
  r.unmount();
});

test('the removal flow has its own welcome, naming the update asked for', async () => {
  const view = welcomeView({ request: request({ flow: 'uninstall', id: 'inetsrv-4.0-sp6' }), cwd: '/' });
  const r = render(<WelcomeScreen view={view} active onNext={() => {}} />);
  const f = await waitFor(r, 'removing an update');
  assert.match(f, /removes the newest update/);
  assert.match(f, /Update to remove: inetsrv-4\.0-sp6\./);
  r.unmount();
});
