import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ServicepackEvent } from '@servicepack/core/events';
import { finishProgress, initialProgress, reduceProgress } from '../../src/wizard/progress.js';

const fold = (events: ServicepackEvent[]) => events.reduce(reduceProgress, initialProgress('SP6', '/r'));
const stateOf = (v: ReturnType<typeof fold>, step: string) => v.steps.find((s) => s.step === step)?.state;

describe('the progress model folds the core events', () => {
  test('steps move pending → running → done/skipped/failed', () => {
    const v = fold([
      { type: 'step', step: 'lock', state: 'started' },
      { type: 'step', step: 'lock', state: 'done' },
      { type: 'step', step: 'recover', state: 'started' },
      { type: 'step', step: 'recover', state: 'skipped' },
      { type: 'step', step: 'detect', state: 'started' },
    ]);
    assert.equal(stateOf(v, 'lock'), 'done');
    assert.equal(stateOf(v, 'recover'), 'skipped');
    assert.equal(stateOf(v, 'detect'), 'running');
    assert.equal(stateOf(v, 'verify'), 'pending');
    assert.equal(v.committing, false);
  });

  test('progress events set files and bytes; the commit marks the point of no return', () => {
    const v = fold([
      { type: 'step', step: 'commit', state: 'started' },
      { type: 'progress', step: 'commit', files: 3, totalFiles: 5, bytes: 1000, totalBytes: 4000, path: 'lib/a.js' },
    ]);
    assert.deepEqual(
      [v.files, v.totalFiles, v.bytes, v.totalBytes, v.path, v.committing],
      [3, 5, 1000, 4000, 'lib/a.js', true],
    );
    const done = reduceProgress(v, { type: 'step', step: 'commit', state: 'done' });
    assert.equal(done.path, undefined);
  });

  test('warnings keep the newest three; info changes nothing', () => {
    const warn = (n: number): ServicepackEvent => ({ type: 'warning', code: 'W_LOG', message: `w${n}` });
    const v = fold([warn(1), warn(2), warn(3), warn(4), { type: 'info', message: 'hello' }]);
    assert.deepEqual(v.warnings, ['w2', 'w3', 'w4']);
  });

  test('a step the wizard does not know is shown under its own name', () => {
    const v = fold([{ type: 'step', step: 'verify-feed' as never, state: 'started' }]);
    assert.equal(v.steps.at(-1)?.label, 'verify-feed');
    assert.equal(v.steps.at(-1)?.state, 'running');
  });

  test('when the engine returns, steps it never ran are dropped', () => {
    const v = finishProgress(fold([{ type: 'step', step: 'lock', state: 'done' }]));
    assert.deepEqual(
      v.steps.map((s) => s.step),
      ['lock'],
    );
    assert.equal(v.finished, true);
  });
});
