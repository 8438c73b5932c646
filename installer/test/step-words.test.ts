/**
 * One step-wording table (reporters/steps.ts) for every front end: the plain reporter, the log
 * lines, the listr task list and the wizard's Progress screen all say what the table says, so a
 * second copy of the words (the four that drifted apart before issue 14) shows up here.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Step } from '@servicepack/core/events';
import { LinesFrontEnd } from '../src/reporters/lines.js';
import { StepBridge } from '../src/reporters/listr.js';
import { PlainReporter } from '../src/reporters/plain.js';
import { stepLine, stepPlain, stepScreenLabels, stepTasks } from '../src/reporters/steps.js';
import { initialProgress } from '../src/wizard/progress.js';
import { captureIo } from './capture-io.js';

const ENGINE_STEPS: Step[] = [
  'lock',
  'recover',
  'detect',
  'verify',
  'plan',
  'stage',
  'journal',
  'stop-service',
  'commit',
  'trial',
  'record',
  'restart',
  'cleanup',
];

describe('step wording: one table for every front end', () => {
  test('plain reporter and log lines word each step as the table does', () => {
    for (const step of ENGINE_STEPS) {
      const plain = captureIo({});
      new PlainReporter({ err: plain.io.err, out: plain.io.out, quiet: false, env: {} }).sink({
        type: 'step',
        step,
        state: 'done',
      });
      assert.equal(plain.output().err, `ok   ${stepPlain(step)}\n`);
      const lines = captureIo({});
      const view = new LinesFrontEnd(lines.io, true, () => new Date(0)).target({
        root: '/r',
        index: 0,
        count: 1,
        fromFeed: false,
      });
      view.sink({ type: 'step', step, state: 'failed' });
      assert.equal(lines.output().err, `1970-01-01T00:00:00.000Z /r: FAIL ${stepLine(step)}\n`);
    }
  });

  test('the listr tasks cover every step once, in the engine order, titled from the table', () => {
    const tasks = stepTasks();
    assert.deepEqual(
      tasks.flatMap((t) => t.steps),
      ['download', ...ENGINE_STEPS],
    );
    for (const t of tasks) {
      if (t.key !== 'prepare') assert.equal(t.title.toLowerCase(), stepLine(t.steps[0]!));
    }
    assert.deepEqual(
      new StepBridge({ download: true }).tasks.map((t) => t.title),
      tasks.map((t) => t.title),
    );
  });

  test('the wizard lists the table steps in engine order; uninstall verifies no pack', () => {
    const install = initialProgress('SP6', '/r').steps.map(({ step, label }) => ({ step, label }));
    assert.deepEqual(install, stepScreenLabels('install'));
    assert.deepEqual(
      install.map((s) => s.step),
      ENGINE_STEPS,
    );
    const uninstall = initialProgress('SP6', '/r', 'uninstall').steps;
    assert.deepEqual(
      uninstall.map((s) => s.step),
      // an uninstall verifies no pack and puts nothing on trial
      ENGINE_STEPS.filter((s) => s !== 'verify' && s !== 'trial'),
    );
    assert.deepEqual(
      uninstall.map((s) => s.label),
      stepScreenLabels('uninstall').map((s) => s.label),
    );
  });
});
