import type { ServicepackEvent } from '@servicepack/core/events';
import { stepScreenLabels } from '../reporters/steps.js';

/**
 * The Progress screen's model, a pure fold over the core's events (the same stream the plain and
 * JSON reporters render): the screen draws it and holds no state of its own.
 */

export type StepState = 'pending' | 'running' | 'done' | 'skipped' | 'failed';

export interface ProgressView {
  action: 'install' | 'uninstall';
  title: string;
  root: string;
  steps: { step: string; label: string; state: StepState }[];
  files: number;
  totalFiles: number;
  bytes: number;
  totalBytes: number;
  /** the file being committed */
  path?: string;
  /** the most recent warnings, newest last */
  warnings: string[];
  /** the commit step has started: from here on the transaction runs to its end */
  committing: boolean;
  /** the engine returned (or threw) */
  finished: boolean;
  /**
   * What the trial is doing (docs/transactions.md §7 "Health check"), in the engine's words while it
   * runs ("starting … and checking the server…"), then the rollback when its check failed.
   */
  trial?: string;
}

/** Shown between a failed health check and the engine's return: the rollback and the old level's check take seconds. */
export const TRIAL_ROLLING_BACK = 'the health check failed: putting the previous level back and checking it again…';

const KEEP_WARNINGS = 3;

export function initialProgress(title: string, root: string, action: ProgressView['action'] = 'install'): ProgressView {
  return {
    action,
    title,
    root,
    steps: stepScreenLabels(action).map(({ step, label }) => ({ step, label, state: 'pending' as const })),
    files: 0,
    totalFiles: 0,
    bytes: 0,
    totalBytes: 0,
    warnings: [],
    committing: false,
    finished: false,
  };
}

export function reduceProgress(view: ProgressView, ev: ServicepackEvent): ProgressView {
  switch (ev.type) {
    case 'step': {
      const state: StepState = ev.state === 'started' ? 'running' : ev.state;
      const known = view.steps.some((s) => s.step === ev.step);
      const steps = known ? view.steps : [...view.steps, { step: ev.step, label: ev.step, state }];
      const next = {
        ...view,
        steps: steps.map((s) => (s.step === ev.step ? { ...s, state } : s)),
        committing: view.committing || (ev.step === 'commit' && ev.state === 'started'),
      };
      if (ev.step === 'trial') {
        const { trial: _last, ...rest } = next;
        return ev.state === 'failed' ? { ...rest, trial: TRIAL_ROLLING_BACK } : rest;
      }
      if (ev.step !== 'commit' || ev.state === 'started') return next;
      const { path: _done, ...rest } = next;
      return rest;
    }
    case 'progress': {
      const { path: _old, ...rest } = view;
      return {
        ...rest,
        files: ev.files,
        totalFiles: ev.totalFiles,
        bytes: ev.bytes,
        totalBytes: ev.totalBytes,
        ...(ev.path !== undefined ? { path: ev.path } : {}),
      };
    }
    case 'warning':
      return { ...view, warnings: [...view.warnings, ev.message].slice(-KEEP_WARNINGS) };
    case 'info':
      // the trial step's own words: the engine says what it starts and checks
      return view.steps.some((s) => s.step === 'trial' && s.state === 'running')
        ? { ...view, trial: ev.message }
        : view;
  }
}

/** The engine returned: steps it never announced were not part of this transaction. */
export function finishProgress(view: ProgressView): ProgressView {
  const { path: _path, trial: _trial, ...rest } = view;
  return { ...rest, steps: view.steps.filter((s) => s.state !== 'pending'), finished: true };
}
