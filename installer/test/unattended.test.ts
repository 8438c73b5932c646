/**
 * The unattended front ends and rules without real installations: the exit code of a fleet run,
 * the bridge from core events to listr2 tasks, and the plain timestamped lines.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import type { Io } from '../src/io.js';
import { LinesFrontEnd } from '../src/reporters/lines.js';
import { ListrFrontEnd, StepBridge } from '../src/reporters/listr.js';
import type { TargetOutcome, UiEvent } from '../src/front-end.js';
import { aggregateExitCode, interactiveGate, isCI } from '../src/unattended.js';
import { canRunWizard } from '../src/wizard/route.js';

function captureIo(
  interactive = false,
  env: Record<string, string | undefined> = {},
): { io: Io; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: {
      out: {
        write: (t) => {
          out += t;
        },
        isTTY: interactive,
      },
      err: {
        write: (t) => {
          err += t;
        },
        isTTY: interactive,
      },
      env,
      interactive,
    },
    out: () => out,
    err: () => err,
  };
}

/** The events a successful install of one pack sends, in order (as core's runSteps reports them). */
function installEvents(fail?: string): UiEvent[] {
  const ev: UiEvent[] = [];
  const steps = [
    'lock',
    'recover',
    'detect',
    'verify',
    'plan',
    'stage',
    'journal',
    'stop-service',
    'commit',
    'record',
    'restart',
    'cleanup',
  ] as const;
  for (const step of steps) {
    ev.push({ type: 'step', step, state: 'started' });
    if (step === fail) {
      ev.push({ type: 'step', step, state: 'failed', message: `${step} broke` });
      return ev;
    }
    if (step === 'commit') {
      ev.push({ type: 'progress', step, files: 1, totalFiles: 2, bytes: 10, totalBytes: 20, path: 'lib/a.js' });
      ev.push({ type: 'progress', step, files: 2, totalFiles: 2, bytes: 20, totalBytes: 20 });
    }
    if (step === 'detect') ev.push({ type: 'info', message: 'inetsrv 4.0.0 x86, RTM' });
    ev.push({
      type: 'step',
      step,
      state: step === 'recover' || step === 'stop-service' || step === 'restart' ? 'skipped' : 'done',
    });
  }
  return ev;
}

const okOutcome = (root: string): TargetOutcome => ({
  root,
  ok: true,
  exitCode: 0,
  transactionId: 'tx',
  logs: [],
  packs: ['p'],
});
const failedOutcome = (root: string, message: string, exitCode = 1): TargetOutcome => ({
  root,
  ok: false,
  exitCode,
  transactionId: 'tx',
  logs: [],
  packs: [],
  error: { ok: false, code: 'E_FAILED', exitCode, message, details: {} },
});

describe('exit code of a run over several targets', () => {
  test('any failure wins (the highest), then 10, then 0; 3 only when nothing applied anywhere', () => {
    assert.equal(aggregateExitCode([0, 0, 0]), 0);
    assert.equal(aggregateExitCode([0, 3]), 0);
    assert.equal(aggregateExitCode([3, 3]), 3);
    assert.equal(aggregateExitCode([0, 10, 3]), 10);
    assert.equal(aggregateExitCode([10, 1]), 1);
    assert.equal(aggregateExitCode([0, 4, 1]), 4);
    assert.equal(aggregateExitCode([5, 2, 10]), 5);
    assert.equal(aggregateExitCode([6, 4]), 6);
    // no installation at a target (7) is a failure: a mistyped root never passes as done
    assert.equal(aggregateExitCode([0, 7]), 7);
    assert.equal(aggregateExitCode([10, 3, 7]), 7);
    assert.equal(aggregateExitCode([]), 0);
  });
});

describe('the interactivity gate', () => {
  test('a terminal on stdin and stdout, and not CI', () => {
    assert.equal(interactiveGate(captureIo(true).io), true);
    assert.equal(interactiveGate(captureIo(false).io), false);
    assert.equal(interactiveGate(captureIo(true, { CI: 'true' }).io), false);
    assert.equal(interactiveGate(captureIo(true, { CI: 'false' }).io), true);
    assert.equal(interactiveGate(captureIo(true, { TERM: 'dumb' }).io), false);
    assert.equal(isCI({ CONTINUOUS_INTEGRATION: '1' }), true);
    assert.equal(isCI({ CI: '0' }), false);
  });
});

describe('one interactivity gate for the wizard and the unattended front ends', () => {
  test('CI set but empty is CI on both paths (is-in-ci, as ink reads it): no listr2 and no wizard', () => {
    for (const env of [{ CI: '' }, { CONTINUOUS_INTEGRATION: '' }, { CI: 'woodpecker' }]) {
      assert.equal(interactiveGate(captureIo(true, env).io), false, JSON.stringify(env));
      assert.equal(canRunWizard({ interactive: true, env }), false, JSON.stringify(env));
    }
    for (const env of [{}, { CI: 'false' }, { CI: '0' }, { CONTINUOUS_INTEGRATION: 'false' }]) {
      assert.equal(interactiveGate(captureIo(true, env).io), true, JSON.stringify(env));
      assert.equal(canRunWizard({ interactive: true, env }), true, JSON.stringify(env));
    }
  });
});

describe('StepBridge: core events to listr tasks', () => {
  test('a successful install settles every task in order, skipped steps as skipped', async () => {
    const b = new StepBridge({ download: false });
    const outputs: string[] = [];
    b.onOutput('commit', (t) => outputs.push(t));
    for (const e of installEvents()) b.push(e);
    b.end({ ok: true });
    const got = await Promise.all(b.tasks.map(async (t) => [t.key, (await b.wait(t.key)).state]));
    assert.deepEqual(got, [
      ['prepare', 'done'],
      ['verify', 'done'],
      ['plan', 'done'],
      ['stage', 'done'],
      ['stop', 'skipped'],
      ['commit', 'done'],
      ['record', 'done'],
      ['restart', 'done'],
    ]);
    assert.deepEqual(outputs, ['1/2 files, 10 B of 20 B', '2/2 files, 20 B of 20 B']);
  });

  test('a failing step fails its task at once; later tasks are not run', async () => {
    const b = new StepBridge({ download: true });
    b.push({ type: 'phase', phase: 'download', state: 'started' });
    b.push({ type: 'phase', phase: 'download', state: 'done' });
    for (const e of installEvents('stage')) b.push(e);
    assert.deepEqual(await b.wait('stage'), { state: 'failed', message: 'stage broke' });
    b.end({ ok: false, message: 'stage broke' });
    assert.equal((await b.wait('download')).state, 'done');
    assert.equal((await b.wait('plan')).state, 'done');
    assert.deepEqual(await b.wait('commit'), { state: 'skipped', message: 'not run' });
  });

  test('a run that fails outside any step fails the first task not yet settled', async () => {
    const b = new StepBridge({ download: true });
    b.push({ type: 'phase', phase: 'download', state: 'started' });
    b.end({ ok: false, message: 'expired' });
    assert.deepEqual(await b.wait('download'), { state: 'failed', message: 'expired' });
    assert.equal((await b.wait('prepare')).state, 'skipped');
  });
});

class Collect extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

describe('ListrFrontEnd', () => {
  test('draws the task list from the events (verbose renderer into a buffer)', async () => {
    const out = new Collect();
    const { io } = captureIo(true);
    const fe = new ListrFrontEnd(io, {
      quiet: false,
      renderer: 'verbose',
      output: out as unknown as NodeJS.WriteStream,
    });
    const view = fe.target({ root: '/opt/a', index: 0, count: 1, fromFeed: false });
    for (const e of installEvents()) view.sink(e);
    await view.finish(okOutcome('/opt/a'));
    const lines = out.text.split('\n').filter((l) => /\[(COMPLETED|SKIPPED|FAILED)\]/.test(l));
    assert.deepEqual(
      lines.map((l) => l.replace(/\x1b\[[0-9;]*m/g, '').trim()),
      [
        '[COMPLETED] Check the installation',
        '[COMPLETED] Verify the packs',
        '[COMPLETED] Plan the changes',
        '[COMPLETED] Stage the payload',
        '[SKIPPED] Stop the service (nothing to do)',
        '[COMPLETED] Commit the files',
        '[COMPLETED] Record the new state',
        '[COMPLETED] Restart the service',
        '[COMPLETED] /opt/a',
      ],
    );
    assert.match(out.text, /2\/2 files, 20 B of 20 B/);
  });

  test('a failure shows on its task and stops the list', async () => {
    const out = new Collect();
    const fe = new ListrFrontEnd(captureIo(true).io, {
      quiet: false,
      renderer: 'verbose',
      output: out as unknown as NodeJS.WriteStream,
    });
    const view = fe.target({ root: '/opt/b', index: 1, count: 2, fromFeed: true });
    view.sink({ type: 'phase', phase: 'download', state: 'started' });
    view.sink({ type: 'phase', phase: 'download', state: 'failed', message: 'the index expired' });
    await view.finish(failedOutcome('/opt/b', 'the index expired', 4));
    const plain = out.text.replace(/\x1b\[[0-9;]*m/g, '');
    assert.match(plain, /\[FAILED\] the index expired/);
    assert.doesNotMatch(plain, /Verify the packs/);
  });
});

describe('LinesFrontEnd', () => {
  test('timestamped lines on stderr, results on stdout, no ANSI, progress only when a step ends', async () => {
    const { io, out, err } = captureIo(false);
    const fe = new LinesFrontEnd(io, false, () => new Date('2026-01-01T00:00:00.000Z'));
    const view = fe.target({ root: '/opt/a', index: 0, count: 2, fromFeed: false });
    for (const e of installEvents()) view.sink(e);
    view.sink({ type: 'warning', code: 'W_LOG', message: 'careful' });
    await view.finish(okOutcome('/opt/a'));
    const v2 = fe.target({ root: '/opt/b', index: 1, count: 2, fromFeed: false });
    for (const e of installEvents('verify')) v2.sink(e);
    await v2.finish(failedOutcome('/opt/b', 'verify broke\nsecond line'));
    fe.summary({
      ok: false,
      exitCode: 1,
      dryRun: false,
      targets: [
        {
          ...okOutcome('/opt/a'),
          result: {
            root: '/opt/a',
            transactionId: 'tx',
            dryRun: false,
            before: { product: 'inetsrv', version: '4.0.0', arch: 'x86', level: 0, levelName: 'RTM', hotfixes: [] },
            after: {
              product: 'inetsrv',
              version: '4.0.0',
              arch: 'x86',
              level: 6,
              levelName: 'Service Pack 6',
              hotfixes: [],
            },
            packs: [],
            changed: { added: [], replaced: [], deleted: [], spnew: [], kept: [] },
            restartRequired: false,
            service: { wasRunning: false, stopped: false, restarted: false },
          },
        },
        failedOutcome('/opt/b', 'verify broke\nsecond line'),
      ],
    });
    const lines = err().trimEnd().split('\n');
    assert.ok(
      lines.every((l) => /^2026-01-01T00:00:00\.000Z /.test(l)),
      err(),
    );
    assert.ok(lines.includes('2026-01-01T00:00:00.000Z /opt/a: ok   commit the files'));
    assert.ok(lines.includes('2026-01-01T00:00:00.000Z /opt/a:      commit the files: 2/2 files, 20 B of 20 B'));
    assert.ok(!lines.some((l) => l.includes('1/2 files')), 'intermediate progress within a second is not logged');
    assert.ok(lines.includes('2026-01-01T00:00:00.000Z /opt/b: FAIL verify the packs: verify broke'));
    // an engine message is one line, its line breaks escaped (a name in it must never start a line)
    assert.ok(lines.includes('2026-01-01T00:00:00.000Z /opt/b: error: verify broke\\nsecond line'));
    assert.ok(lines.includes('2026-01-01T00:00:00.000Z /opt/a: warning: careful'));
    assert.doesNotMatch(err() + out(), /\x1b/);
    assert.deepEqual(out().trimEnd().split('\n'), [
      '/opt/a: installed  (exit 0): RTM -> Service Pack 6',
      '/opt/b: failed (exit 1, E_FAILED): verify broke\\nsecond line',
      '2 targets: 1 done, 0 need a restart, 0 not applicable, 1 failed; exit 1',
    ]);
  });
});
