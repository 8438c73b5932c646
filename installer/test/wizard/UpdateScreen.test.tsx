/** @jsxRuntime automatic @jsxImportSource react */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { render } from 'ink-testing-library';
import { UpdateScreen } from '../../src/wizard/components/UpdateScreen.js';
import type { PackView, UpdateView } from '../../src/wizard/views.js';
import { frame, KEY, press, waitFor } from './helpers.js';

const pack = (n: number, over: Partial<PackView> = {}): PackView => ({
  path: `/p/${n}.tgz`,
  file: `${n}.tgz`,
  id: `inetsrv-4.0-sp${n}`,
  title: `inetsrv 4.0 Service Pack ${n}`,
  kind: 'Service pack',
  level: `Service Pack ${n}`,
  arch: 'x86',
  fixes: [{ id: 'Q236565', title: 'TCP connections not released' }],
  size: '10.3 KiB',
  payload: '5 files, 25.6 KiB',
  signers: [{ keyid: '7c19ec4ff5b9fb25…', status: 'trusted (vendor.pub)' }],
  restart: 'the server is stopped and started again',
  ...over,
});

const view: UpdateView = {
  installation: 'inetsrv 4.0.0 x86, RTM',
  offered: [pack(6), pack(5, { fixes: [{ id: 'Q100105', title: 'a fix' }], signers: [] })],
  refused: [
    {
      file: 'sp6-alpha.tgz',
      reason: 'for alpha; this installation is x86: use sp6-x86.tgz',
      line: 'sp6-alpha.tgz: for alpha; this installation is x86: use sp6-x86.tgz',
    },
  ],
  selected: '/p/6.tgz',
};

test('the update list: title, level, fixes, size, signer; refused packs shown with their reason, never offered', async () => {
  const r = render(<UpdateScreen view={view} active onChoose={() => {}} />);
  const f = await waitFor(r, 'Choose the update to install');
  assert.match(f, /› \(•\) inetsrv 4\.0 Service Pack 6 +Service Pack 6 · 10\.3 KiB/);
  assert.match(f, /Fixes +Q236565 +TCP connections not released/);
  assert.match(f, /Size +10\.3 KiB pack; 5 files, 25\.6 KiB/);
  assert.match(f, /Signed by +7c19ec4ff5b9fb25… trusted \(vendor\.pub\)/);
  assert.match(f, /Not applicable here \(not offered\):/);
  assert.match(f, /✗ sp6-alpha\.tgz: for alpha; this installation is x86/);
  assert.doesNotMatch(f, /\(.\) sp6-alpha/);
  r.unmount();
});

test('arrows and Tab move between the offered packs; Enter chooses (keys typed ahead count)', async () => {
  const got: string[] = [];
  const r = render(<UpdateScreen view={view} active onChoose={(p) => got.push(p)} />);
  await waitFor(r, 'Choose the update');
  await press(r, KEY.down);
  const f = await waitFor(r, '› (•) inetsrv 4.0 Service Pack 5');
  assert.match(f, /not signed/);
  // A burst of escape sequences arrives as separate keys (plain characters in one chunk would be a paste).
  r.stdin.write(`${KEY.up}${KEY.down}${KEY.up}${KEY.shiftTab}${KEY.enter}`);
  await waitFor(r, () => got.length > 0);
  assert.deepEqual(got, ['/p/5.tgz']);
  assert.match(frame(r), /Q100105/);
  r.unmount();
});

test('a long list of fixes is listed in full: the frame scrolls, no fix is dropped', async () => {
  const many = {
    ...view,
    refused: [],
    offered: [pack(6, { fixes: Array.from({ length: 30 }, (_, i) => ({ id: `Q${100 + i}`, title: `fix ${i}` })) })],
  };
  const r = render(<UpdateScreen view={many} active onChoose={() => {}} />);
  const f = await waitFor(r, /Q129/);
  for (let i = 0; i < 30; i++) assert.match(f, new RegExp(`Q${100 + i} +fix ${i}\\b`));
  assert.doesNotMatch(f, /more/);
  r.unmount();
});
