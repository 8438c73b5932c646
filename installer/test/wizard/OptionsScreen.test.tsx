/** @jsxRuntime automatic @jsxImportSource react */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { render } from 'ink-testing-library';
import { OptionsScreen } from '../../src/wizard/components/OptionsScreen.js';
import type { InstallChoices } from '../../src/wizard/context.js';
import { frame, KEY, press, waitFor } from './helpers.js';

const view = { packTitle: 'inetsrv 4.0 Service Pack 6', baseCommand: 'servicepack install sp6.tgz --root /r -u', choices: { backup: true, restart: true, modified: 'stop' as const } };

test('each option shows its command-line switch; the defaults give the plain command', async () => {
  const r = render(<OptionsScreen view={view} active onInstall={() => {}} />);
  const f = await waitFor(r, 'Options for inetsrv 4.0 Service Pack 6');
  assert.match(f, /› \[x\] Back up the replaced files \(for uninstall\) +off: -n/);
  assert.match(f, /\[x\] Stop and restart the server if it runs +off: -z/);
  assert.match(f, /Changed files: \(•\) stop +\( \) overwrite +\( \) keep +-o · --keep-modified/);
  assert.match(f, /servicepack install sp6\.tgz --root \/r -u\n/);
  assert.match(f, /Nothing has been changed yet/);
  r.unmount();
});

test('Space toggles, arrows and Tab move, ←→ pick the policy; Enter installs with the choices', async () => {
  const got: InstallChoices[] = [];
  const r = render(<OptionsScreen view={view} active onInstall={(c) => got.push(c)} />);
  await waitFor(r, 'Options for');
  await press(r, KEY.space, KEY.tab, KEY.space, KEY.down, KEY.right);
  const f = await waitFor(r, '(•) overwrite');
  assert.match(f, /\[ \] Back up/);
  assert.match(f, /\[ \] Stop and restart/);
  assert.match(f, /servicepack install sp6\.tgz --root \/r -u -n -z -o/);
  assert.match(f, /overwrite \(-o\) replaces it/);
  await press(r, KEY.right);
  await waitFor(r, '(•) keep');
  assert.match(frame(r), /-u -n -z --keep-modified/);
  await press(r, KEY.enter);
  assert.deepEqual(got, [{ backup: false, restart: false, modified: 'keep' }]);
  r.unmount();
});

test('keys typed ahead in one burst act on the option they reach (no stale focus)', async () => {
  const got: InstallChoices[] = [];
  const r = render(<OptionsScreen view={view} active onInstall={(c) => got.push(c)} />);
  await waitFor(r, 'Options for');
  r.stdin.write(`${KEY.down}${KEY.down}${KEY.left}${KEY.enter}`);
  await waitFor(r, () => got.length > 0);
  assert.deepEqual(got, [{ backup: true, restart: true, modified: 'keep' }]);
  r.unmount();
});
