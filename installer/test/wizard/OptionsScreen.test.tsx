/** @jsxRuntime automatic @jsxImportSource react */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { render } from 'ink-testing-library';
import { OptionsScreen } from '../../src/wizard/components/OptionsScreen.js';
import type { InstallChoices } from '../../src/wizard/context.js';
import { optionsView, removalOptionsView } from '../../src/wizard/views.js';
import { KEY, press, request, waitFor } from './helpers.js';

const choices = { backup: true, restart: true, modified: 'stop' as const };
const view = optionsView({ request: request(), cwd: '/work', choices }, undefined, '/r', '/work/sp6.tgz');

test('each option shows its command-line switch; the defaults give the plain command', async () => {
  const r = render(<OptionsScreen view={view} active onConfirm={() => {}} />);
  const f = await waitFor(r, 'Options for sp6.tgz');
  assert.match(f, /› \[x\] Back up the replaced files \(for uninstall\) +off: -n/);
  assert.match(f, /\[x\] Stop and restart the server if it runs +off: -z/);
  assert.match(f, /Changed files: \(•\) stop +\( \) overwrite +\( \) keep +-o · --keep-modified/);
  assert.match(f, /The files the update replaces are kept in \.servicepack\/backup\//);
  assert.match(f, /servicepack install --root \/r -u -- sp6\.tgz\n/);
  assert.match(f, /Nothing has been changed yet/);
  r.unmount();
});

test('Space toggles, arrows and Tab move, ←→ pick the policy; Enter installs with the choices', async () => {
  const got: InstallChoices[] = [];
  const r = render(<OptionsScreen view={view} active onConfirm={(c) => got.push(c)} />);
  await waitFor(r, 'Options for');
  await press(r, KEY.space, KEY.tab, KEY.space, KEY.down, KEY.left);
  const f = await waitFor(r, '(•) keep');
  assert.match(f, /\[ \] Back up/);
  assert.match(f, /\[ \] Stop and restart/);
  assert.match(f, /servicepack install --root \/r -u -n -z --keep-modified -- sp6\.tgz/);
  assert.match(f, /overwrite \(-o\) replaces it/);
  await press(r, KEY.enter);
  assert.deepEqual(got, [{ backup: false, restart: false, modified: 'keep' }]);
  r.unmount();
});

test('no backup with overwrite is never offered (install -n -o is refused): choosing overwrite turns the backup on and says so', async () => {
  const got: InstallChoices[] = [];
  const r = render(<OptionsScreen view={view} active onConfirm={(c) => got.push(c)} />);
  await waitFor(r, 'Options for');
  await press(r, KEY.space);
  await waitFor(r, '[ ] Back up');
  await press(r, KEY.down, KEY.down, KEY.right);
  const f = await waitFor(r, '(•) overwrite');
  assert.match(f, /\[x\] Back up/);
  assert.match(f, /the backup was turned on/);
  assert.match(f, /servicepack install --root \/r -u -o -- sp6\.tgz/);
  await press(r, KEY.enter);
  assert.deepEqual(got, [{ backup: true, restart: true, modified: 'overwrite' }]);
  r.unmount();
});

test('turning the backup off while overwrite is chosen sets changed files back to stop and says so', async () => {
  const got: InstallChoices[] = [];
  const r = render(<OptionsScreen view={view} active onConfirm={(c) => got.push(c)} />);
  await waitFor(r, 'Options for');
  await press(r, KEY.down, KEY.down, KEY.right);
  await waitFor(r, '-u -o --');
  await press(r, KEY.up, KEY.up, KEY.space);
  const f = await waitFor(r, '[ ] Back up');
  assert.match(f, /\(•\) stop/);
  assert.match(f, /changed files were set back to stop/);
  assert.match(f, /servicepack install --root \/r -u -n -- sp6\.tgz/);
  await press(r, KEY.enter);
  assert.deepEqual(got, [{ backup: false, restart: true, modified: 'stop' }]);
  r.unmount();
});

test('choices the install would refuse, handed in, do not go past Enter', async () => {
  const got: InstallChoices[] = [];
  const refused = optionsView(
    { request: request(), cwd: '/work', choices: { backup: false, restart: true, modified: 'overwrite' } },
    undefined,
    '/r',
    '/work/sp6.tgz',
  );
  const r = render(<OptionsScreen view={refused} active onConfirm={(c) => got.push(c)} />);
  await waitFor(r, 'Options for');
  await press(r, KEY.enter);
  await waitFor(r, 'Overwrite needs the backup');
  assert.deepEqual(got, []);
  r.unmount();
});

test('keys typed ahead in one burst act on the option they reach (no stale focus)', async () => {
  const got: InstallChoices[] = [];
  const r = render(<OptionsScreen view={view} active onConfirm={(c) => got.push(c)} />);
  await waitFor(r, 'Options for');
  r.stdin.write(`${KEY.down}${KEY.down}${KEY.left}${KEY.enter}`);
  await waitFor(r, () => got.length > 0);
  assert.deepEqual(got, [{ backup: true, restart: true, modified: 'keep' }]);
  r.unmount();
});

test('removal options: restart and modified files (stop/overwrite) only, as `uninstall` takes them', async () => {
  const got: InstallChoices[] = [];
  const r = render(
    <OptionsScreen
      view={removalOptionsView({ choices }, 'inetsrv-4.0-sp6', '/r')}
      active
      onConfirm={(c) => got.push(c)}
    />,
  );
  const f = await waitFor(r, 'Remove inetsrv-4.0-sp6');
  assert.doesNotMatch(f, /Back up/);
  assert.match(f, /› \[x\] Start the server again afterwards +off: -z/);
  assert.match(f, /Changed files: \(•\) stop +\( \) overwrite +-o/);
  assert.match(f, /servicepack uninstall --root \/r -u -- inetsrv-4\.0-sp6\n/);
  await press(r, KEY.space, KEY.down, KEY.right);
  await waitFor(r, '-u -z -o');
  await press(r, KEY.right);
  await waitFor(r, '(•) stop');
  await press(r, KEY.enter);
  assert.deepEqual(got, [{ backup: true, restart: false, modified: 'stop' }]);
  r.unmount();
});
