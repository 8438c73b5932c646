/** @jsxRuntime automatic @jsxImportSource react */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { render } from 'ink-testing-library';
import { InstallationScreen } from '../../src/wizard/components/InstallationScreen.js';
import type { InstallationView } from '../../src/wizard/views.js';
import { frame, KEY, press, waitFor } from './helpers.js';

const view: InstallationView = {
  root: '/opt/inetsrv',
  displayName: 'inetsrv 4.0 Web Server',
  product: 'inetsrv 4.0.0',
  arch: 'x86',
  level: 'Service Pack 5, hotfix Q236565 (build 1381.5.1)',
  hotfixes: 'Q236565',
  consistent: true,
  recorded: true,
  problems: [],
  moreProblems: 0,
  history: '2 changes, last: install Q236565 (1999-11-01)',
  canChangeRoot: true,
};

test('the installation: product, version, arch, level, hotfixes, consistency; Enter and R', async () => {
  const calls: string[] = [];
  const r = render(
    <InstallationScreen view={view} active onNext={() => calls.push('next')} onChangeRoot={() => calls.push('root')} />,
  );
  const f = await waitFor(r, 'inetsrv was found in /opt/inetsrv:');
  assert.match(f, /Product +inetsrv 4\.0 Web Server \(inetsrv 4\.0\.0\)/);
  assert.match(f, /Architecture +x86/);
  assert.match(f, /Level +Service Pack 5, hotfix Q236565 \(build 1381\.5\.1\)/);
  assert.match(f, /Hotfixes +Q236565/);
  assert.match(f, /Consistent +yes: state record, BUILDINFO\.json and files agree/);
  await press(r, 'r', KEY.enter);
  assert.deepEqual(calls, ['root', 'next']);
  r.unmount();
});

test('an inconsistent installation lists what differs and why it blocks', async () => {
  const r = render(
    <InstallationScreen
      view={{
        ...view,
        consistent: false,
        problems: ['lib/a.js differs from the recorded content'],
        moreProblems: 2,
        blocking: 'The state record and BUILDINFO.json disagree: … --force.',
      }}
      active
      onNext={() => {}}
      onChangeRoot={() => {}}
    />,
  );
  const f = await waitFor(r, 'Consistent');
  assert.match(f, /no: 3 differences/);
  assert.match(f, /lib\/a\.js differs from the recorded content/);
  assert.match(f, /… and 2 more/);
  assert.match(frame(r), /--force/);
  r.unmount();
});
