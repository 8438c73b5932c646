/** @jsxRuntime automatic @jsxImportSource react */
/**
 * The whole wizard in ink-testing-library at 80×24: the real app, the real steps and the real
 * engine over synthetic installations and packs, driven by the keys an administrator presses.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { InstallResult } from '@servicepack/core/install';
import { render } from 'ink-testing-library';
import { detectInstallation } from '../../../packages/core/src/installation/detect.js';
import { ServicepackError } from '../../../packages/core/src/support/errors.js';
import { installPacks } from '../../../packages/core/src/operations/install/install.js';
import {
  makeInstallation,
  makePack,
  makeVendor,
  snapshot,
  tempDir,
} from '../../../packages/core/test/install-fixtures.js';
import { WizardApp } from '../../src/wizard/components/WizardApp.js';
import { coreServices, createContext, type Outcome, type WizardServices } from '../../src/wizard/context.js';
import type { WizardRequest } from '../../src/wizard/route.js';
import { runWizardSteps } from '../../src/wizard/steps/index.js';
import { UiController } from '../../src/wizard/ui.js';
import { frame, KEY, makePackWithEula, press, request, waitFor } from './helpers.js';

const vendor = makeVendor();
const dirs: string[] = [];
let packs = '';
let sp1 = '';
let sp1alpha = '';
let sp1plain = '';

before(async () => {
  packs = await tempDir('sp-wizapp-packs-');
  const plain = await tempDir('sp-wizapp-plain-');
  dirs.push(packs, plain);
  sp1 = await makePackWithEula(vendor, { level: 1, fromLevels: [0] }, packs);
  sp1alpha = (await makePack(vendor, { level: 1, fromLevels: [0], arch: 'alpha' }, packs)).path;
  sp1plain = (await makePack(vendor, { level: 1, fromLevels: [0] }, plain)).path;
});
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function root(level = 0): Promise<string> {
  const r = await makeInstallation(level, vendor);
  dirs.push(r);
  return r;
}

function wizard(over: Partial<WizardRequest>, services: Partial<WizardServices> = {}) {
  const controller = new UiController();
  const r = render(<WizardApp controller={controller} size={{ columns: 80, rows: 24 }} />);
  const ctx = createContext(request(over), { ...coreServices(), ...services }, controller, '/');
  const done: Promise<Outcome> = runWizardSteps(ctx).finally(() => r.unmount());
  return { r, done, ctx };
}

/** Welcome → Installation → Update, the part every install flow shares. */
async function toUpdate(r: Parameters<typeof frame>[0]): Promise<string> {
  await waitFor(r, 'Welcome to Service Pack Setup.');
  await press(r, KEY.enter);
  await waitFor(r, 'inetsrv was found in');
  await press(r, KEY.enter);
  return waitFor(r, 'Choose the update to install');
}

describe('the wizard, end to end in a test terminal', () => {
  test('happy path: RTM → Service Pack 1, with license, options and progress', async () => {
    const rt = await root();
    const { r, done } = wizard({ root: rt, packsDir: packs });
    const upd = await toUpdate(r);
    assert.match(upd, /› \(•\) inetsrv 4\.0 Service Pack 1/);
    assert.match(upd, /Q101 +a fix/);
    assert.match(upd, /inetsrv-4\.0-sp1-alpha\.tgz is for alpha/);
    await press(r, KEY.enter);
    await waitFor(r, 'License agreement: inetsrv 4.0 Service Pack 1 (EULA.txt)');
    await press(r, KEY.pageDown, KEY.space, KEY.enter);
    await waitFor(r, 'Options for inetsrv 4.0 Service Pack 1');
    await press(r, KEY.enter);
    const fin = await waitFor(r, 'was installed in', 20_000);
    assert.match(fin, /\[Finish\]/);
    assert.match(fin, /Level +RTM -> Service Pack 1/);
    assert.match(fin, /Uninstall +\.servicepack\/backup\/inetsrv-4\.0-sp1/);
    assert.match(fin, /Log +\.servicepack\/log\//);
    assert.match(fin, /exit code 0/);
    await press(r, KEY.enter);
    const out = await done;
    assert.equal(out.code, 0);
    assert.match(
      out.lines[0] ?? '',
      /^Installed inetsrv 4\.0 Service Pack 1 \(inetsrv-4\.0-sp1\) in .*: RTM -> Service Pack 1$/,
    );
    assert.equal((await detectInstallation(rt)).level, 1);
    assert.ok((await readdir(join(rt, '.servicepack', 'log'))).some((f) => f.endsWith('.jsonl')));
  });

  test('EULA declined: Enter does not pass the license; quitting there changes nothing (exit 1)', async () => {
    const rt = await root();
    const before = await snapshot(rt);
    const { r, done } = wizard({ root: rt, packs: [sp1] });
    await toUpdate(r);
    await press(r, KEY.enter);
    await waitFor(r, 'License agreement');
    await press(r, KEY.enter);
    await waitFor(r, 'Accept with Space to continue, or q to quit');
    await press(r, 'q');
    await waitFor(r, 'Cancel Setup?');
    await press(r, 'y');
    assert.deepEqual(await done, { code: 1, lines: ['Setup was cancelled: nothing was changed.'] });
    assert.deepEqual(await snapshot(rt), before);
  });

  type Reach = (r: Parameters<typeof frame>[0]) => Promise<unknown>;
  const toLicense: Reach = async (r) => {
    await toUpdate(r);
    await press(r, KEY.enter);
    return waitFor(r, 'License agreement');
  };
  const screens: [string, Reach][] = [
    ['Welcome', (r) => waitFor(r, 'Welcome to Service Pack Setup.')],
    [
      'Installation',
      async (r) => {
        await waitFor(r, 'Welcome');
        await press(r, KEY.enter);
        return waitFor(r, 'inetsrv was found in');
      },
    ],
    ['Update', (r) => toUpdate(r)],
    ['License', toLicense],
    [
      'Options',
      async (r) => {
        await toLicense(r);
        await press(r, KEY.space, KEY.enter);
        return waitFor(r, 'Options for');
      },
    ],
  ];
  for (const [name, reach] of screens) {
    test(`cancel on ${name}: asked first, then exit 1 and not a byte changed`, async () => {
      const rt = await root();
      const before = await snapshot(rt);
      const { r, done } = wizard({ root: rt, packs: [sp1, sp1alpha] });
      await reach(r);
      await press(r, name === 'Welcome' ? KEY.esc : 'q');
      await waitFor(r, 'Cancel Setup?');
      await press(r, 'y');
      assert.equal((await done).code, 1);
      assert.deepEqual(await snapshot(rt), before);
    });
  }

  test('Ctrl-C twice cancels too', async () => {
    const rt = await root();
    const { r, done } = wizard({ root: rt, packs: [sp1plain] });
    await toUpdate(r);
    await press(r, KEY.ctrlC);
    await waitFor(r, 'Cancel Setup?');
    await press(r, KEY.ctrlC);
    assert.equal((await done).code, 1);
  });

  test('wrong arch: an error screen, not a stack trace; exit 3', async () => {
    const rt = await root();
    const before = await snapshot(rt);
    const { r, done } = wizard({ root: rt, packs: [sp1alpha] });
    await waitFor(r, 'Welcome');
    await press(r, KEY.enter);
    await waitFor(r, 'inetsrv was found in');
    await press(r, KEY.enter);
    const f = await waitFor(r, '✗ This update is for another processor architecture');
    assert.match(
      f,
      /inetsrv-4\.0-sp1-alpha\.tgz is for alpha; this installation is x86: use\s+inetsrv-4\.0-sp1-x86\.tgz/,
    );
    assert.match(f, /\[Update\]/);
    assert.match(f, /Exit code 3 \(not applicable\)/);
    await press(r, KEY.enter);
    assert.equal((await done).code, 3);
    assert.deepEqual(await snapshot(rt), before);
  });

  test('nothing applicable: every pack with its reason; exit 3', async () => {
    const rt = await root(2);
    const { r, done } = wizard({ root: rt, packs: [sp1plain, sp1alpha] });
    await waitFor(r, 'Welcome');
    await press(r, KEY.enter);
    await waitFor(r, 'Service Pack 2');
    await press(r, KEY.enter);
    const f = await waitFor(r, '✗ No update applies to this installation');
    assert.match(f, /None of the 2 packs can be installed here:/);
    assert.match(f, /inetsrv-4\.0-sp1-alpha\.tgz is for alpha/);
    await press(r, KEY.enter);
    assert.equal((await done).code, 3);
  });

  test('an interrupted install found: an error screen offering recover; closing it exits 6', async () => {
    const rt = await root();
    await writeFile(join(rt, '.servicepack', 'journal.json'), '{}\n');
    const before = await snapshot(rt);
    const { r, done } = wizard({ root: rt, packs: [sp1plain] });
    await waitFor(r, 'Welcome');
    await press(r, KEY.enter);
    const f = await waitFor(r, '✗ An interrupted installation was found');
    assert.match(f, /servicepack recover --root/);
    assert.match(f, /R Recover now · Enter Close/);
    await press(r, KEY.enter);
    assert.equal((await done).code, 6);
    assert.deepEqual(await snapshot(rt), before);
  });

  test('another install running (the lock is held): exit 5, with the way back to Options', async () => {
    const rt = await root();
    const holder: ChildProcess = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      await writeFile(join(rt, '.servicepack', 'lock'), `${holder.pid}\n`);
      const { r, done } = wizard({ root: rt, packs: [sp1plain] });
      await toUpdate(r);
      await press(r, KEY.enter);
      await waitFor(r, 'Options for');
      await press(r, KEY.enter);
      const f = await waitFor(r, '✗ Another installation is running', 20_000);
      assert.match(f, /Esc goes back to the options/);
      await press(r, KEY.esc);
      await waitFor(r, 'Options for');
      await press(r, KEY.enter);
      await waitFor(r, '✗ Another installation is running', 20_000);
      await press(r, KEY.enter);
      assert.equal((await done).code, 5);
      assert.equal((await detectInstallation(rt)).level, 0);
    } finally {
      holder.kill();
    }
  });

  test('Esc while the transaction runs asks, and it still ends whole; the wizard then closes', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((res) => {
      release = res;
    });
    const rt = await root();
    const install: WizardServices['install'] = async (opts) => {
      opts.sink?.({ type: 'step', step: 'commit', state: 'started' });
      opts.sink?.({
        type: 'progress',
        step: 'commit',
        files: 1,
        totalFiles: 5,
        bytes: 100,
        totalBytes: 500,
        path: 'lib/a.js',
      });
      await gate;
      opts.sink?.({ type: 'step', step: 'commit', state: 'done' });
      return {
        result: {
          root: rt,
          restartRequired: false,
          packs: [{ id: 'inetsrv-4.0-sp1', title: 'SP1' }],
          before: { levelName: 'RTM' },
          after: { levelName: 'Service Pack 1' },
        } as unknown as InstallResult,
      };
    };
    const { r, done } = wizard({ root: rt, packs: [sp1plain] }, { install });
    await toUpdate(r);
    await press(r, KEY.enter);
    await waitFor(r, 'Options for');
    await press(r, KEY.enter);
    await waitFor(r, 'The files are being replaced');
    await press(r, KEY.esc);
    await waitFor(r, 'Close Setup when done?');
    await press(r, 'y');
    await waitFor(r, 'Closing when the installation has ended…');
    assert.match(frame(r), /1\/5/);
    release();
    const out = await done;
    assert.equal(out.code, 0);
    assert.match(out.lines[0] ?? '', /^Installed SP1/);
  });

  test('--no-health-check and --health-timeout reach the engine; a rolled-back update ends on its own screen, exit 1', async () => {
    const rt = await root();
    const asked: Parameters<WizardServices['install']>[0][] = [];
    const install: WizardServices['install'] = async (opts) => {
      asked.push(opts);
      opts.sink?.({ type: 'step', step: 'trial', state: 'started' });
      opts.sink?.({ type: 'info', message: 'starting inetsrv at Service Pack 1 and checking the server…' });
      opts.sink?.({ type: 'step', step: 'trial', state: 'failed', message: 'the health check failed' });
      throw new ServicepackError(
        'E_HEALTH_CHECK_FAILED',
        'the health check of Service Pack 1 failed: GET http://127.0.0.1:8080/ failed: timed out. The update was rolled back: the installation is at RTM again and inetsrv runs again and passes its health check. Nothing was installed: install with --no-health-check to keep it regardless',
        {
          health: { passed: false, summary: 'GET http://127.0.0.1:8080/ failed: timed out', level: 1, ms: 5 },
          afterRollback: { passed: true, summary: 'answered', level: 0, ms: 5 },
          rolledBackTo: 'RTM',
        },
      );
    };
    const { r, done } = wizard({ root: rt, packs: [sp1plain], healthTimeoutSeconds: 7 }, { install });
    await toUpdate(r);
    await press(r, KEY.enter);
    await waitFor(r, 'Options for');
    await press(r, KEY.enter);
    const f = await waitFor(r, 'The update failed its health check and was rolled back', 20_000);
    assert.match(f.replace(/\s+/g, ' '), /The installation is at RTM again, serving\./);
    await press(r, KEY.enter);
    const out = await done;
    assert.equal(out.code, 1);
    assert.deepEqual([asked[0]?.healthCheck, asked[0]?.healthTimeoutSeconds], [true, 7]);

    const { r: r2, done: done2 } = wizard({ root: rt, packs: [sp1plain], healthCheck: false }, { install });
    await toUpdate(r2);
    await press(r2, KEY.enter);
    await waitFor(r2, 'Options for');
    await press(r2, KEY.enter);
    await waitFor(r2, 'failed its health check', 20_000);
    await press(r2, KEY.enter);
    await done2;
    assert.equal(asked[1]?.healthCheck, false, '--no-health-check is not dropped on the way to the engine');
  });

  test('no root given: the folder is asked for, and asked again when it is not an installation', async () => {
    const rt = await root();
    const { r, done } = wizard({ packs: [sp1plain] });
    await waitFor(r, 'Welcome');
    await press(r, KEY.enter);
    await waitFor(r, 'Where is inetsrv installed?');
    await press(r, ...'/nope');
    await press(r, KEY.enter);
    await waitFor(r, 'No inetsrv installation in /nope');
    await press(r, ...Array.from({ length: 5 }, () => '\u007F'), ...rt, KEY.enter);
    await waitFor(r, `inetsrv was found in ${rt}`);
    await press(r, 'q', 'y');
    assert.equal((await done).code, 1);
    assert.equal(existsSync(join('/nope')), false);
  });

  test('uninstall: the newest update comes off, the level goes back', async () => {
    const rt = await root();
    await installPacks({
      root: rt,
      packs: [sp1plain],
      backup: true,
      modified: 'stop',
      restart: 'never',
      dryRun: false,
    });
    const { r, done } = wizard({ flow: 'uninstall', root: rt });
    await waitFor(r, 'removing an update');
    assert.match(frame(r), /\[Welcome\] › Installation › Update › Options › Remove › Finish/);
    await press(r, KEY.enter);
    await waitFor(r, 'inetsrv was found in');
    await press(r, KEY.enter);
    await waitFor(r, '› (•) inetsrv-4.0-sp1');
    await press(r, KEY.enter);
    await waitFor(r, 'Remove inetsrv-4.0-sp1');
    assert.match(frame(r), /Enter Remove/);
    await press(r, KEY.enter);
    const f = await waitFor(r, 'inetsrv-4.0-sp1 was removed from', 20_000);
    assert.match(f, /Level +Service Pack 1 -> RTM/);
    await press(r, KEY.enter);
    assert.equal((await done).code, 0);
    assert.equal((await detectInstallation(rt)).level, 0);
  });
});
