/**
 * What install and uninstall share (operations/change.ts): one lock step, one detect, one start and
 * one runner tail; and steps that say what they read, so that one placed before what it reads is
 * there does not compile (`pnpm typecheck` runs these `@ts-expect-error`s: each must still be an
 * error, or the typecheck fails).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { lockStep, startChange } from '../../src/operations/change.js';
import type { Detected, InstallOptions } from '../../src/operations/install/context.js';
import { installPacks } from '../../src/operations/install/install.js';
import { planStep, stageStep, verifyStep } from '../../src/operations/install/steps.js';
import type { Detected as UninstallDetected } from '../../src/operations/uninstall/context.js';
import {
  planStep as uninstallPlanStep,
  stageStep as uninstallStageStep,
} from '../../src/operations/uninstall/steps.js';
import { uninstallUpdate } from '../../src/operations/uninstall/uninstall.js';
import { ServicepackError } from '../../src/support/errors.js';
import { runStep } from '../../src/transaction/transaction.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('install and uninstall refuse a folder that is no installation alike, creating nothing (one lock step)', async () => {
  const root = await mkdtemp(join(tmpdir(), 'sp-change-'));
  dirs.push(root);
  const opts: InstallOptions = {
    root,
    packs: [join(root, 'none.sp')],
    backup: true,
    modified: 'stop',
    restart: 'auto',
    dryRun: false,
  };
  const refusals: ServicepackError[] = [];
  for (const run of [() => installPacks(opts), () => uninstallUpdate({ root, restart: 'auto' })]) {
    try {
      await run();
      assert.fail('refused');
    } catch (e) {
      assert.ok(e instanceof ServicepackError, String(e));
      refusals.push(e);
    }
  }
  assert.deepEqual(
    refusals.map((e) => [e.code, e.message]),
    [0, 1].map(() => [
      'E_NOT_INSTALLED',
      `no inetsrv installation found in ${root}: pass --root or set SERVICEPACK_ROOT`,
    ]),
  );
  assert.ok(!existsSync(join(root, '.servicepack')), 'no .servicepack/ made in a folder that is not an installation');
});

test('a change starts in phase none, with a transaction id of its own, and a chosen one checked', () => {
  const a = startChange({ root: '/opt/x' });
  const b = startChange({ root: '/opt/x', transactionId: 'log-42' });
  assert.equal(a.phase, 'none');
  assert.equal(b.txid, 'log-42');
  assert.equal(b.stagingRoot, join('/opt/x', '.servicepack', 'staging', 'log-42'));
  assert.throws(() => startChange({ root: '/opt/x', transactionId: '../x' }), { code: 'E_USAGE' });
});

test('a step placed before what it reads is there does not compile', () => {
  // Never called: the point is what the compiler accepts.
  const wiring = async (start: ReturnType<typeof startChange<InstallOptions>>, detected: Detected) => {
    const locked = await runStep(start, lockStep);
    // @ts-expect-error verify reads the installation, which only detect adds
    await runStep(locked, verifyStep);
    // @ts-expect-error plan reads the verified packs, which only verify adds
    await runStep(detected, planStep);
    const verified = await runStep(detected, verifyStep);
    // @ts-expect-error stage reads the planned packs, which only plan adds
    await runStep(verified, stageStep);
    await runStep(await runStep(verified, planStep), stageStep);
  };
  const uninstallWiring = async (detected: UninstallDetected) => {
    // @ts-expect-error stage reads the backup to restore, which only plan adds
    await runStep(detected, uninstallStageStep);
    await runStep(await runStep(detected, uninstallPlanStep), uninstallStageStep);
  };
  assert.equal(typeof wiring, 'function');
  assert.equal(typeof uninstallWiring, 'function');
});
