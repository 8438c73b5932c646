import type { Step } from '@servicepack/core/events';

/**
 * The one table of what each front end calls the engine's steps (plain lines, log lines, listr
 * tasks, the wizard's Progress screen). The words differ by audience (an operator's log, a task
 * list, an end user's screen), so they are columns of one row per step, never separate lists.
 */

/** The engine's steps, and the download of the packs from a feed that comes before them. */
export type StepId = Step | 'download';

/** A listr task: several engine steps may be drawn as one line of the task list. */
export type TaskKey = 'download' | 'prepare' | 'verify' | 'plan' | 'stage' | 'stop' | 'commit' | 'record' | 'restart';

interface StepWords {
  /** log lines and plain output */
  line: string;
  /** the plain reporter of `install PACK...`, where it words it otherwise */
  plain?: string;
  /** the listr task the step is drawn under */
  task: TaskKey;
  /** the wizard's Progress screen; absent: not a step of the wizard's transaction */
  screen?: string;
  /** the wizard's uninstall flow, where it differs; null: not a step of an uninstall */
  screenUninstall?: string | null;
}

/** Every step has its row (a step added to the engine does not compile without one), in the order the engine runs them. */
const STEP_WORDS: Readonly<Record<StepId, StepWords>> = {
  download: { line: 'download and verify the packs', task: 'download' },
  lock: { line: 'take the lock', task: 'prepare', screen: 'Take the lock' },
  recover: {
    line: 'check for an interrupted transaction',
    task: 'prepare',
    screen: 'Check for an interrupted install',
  },
  detect: { line: 'detect the installation', task: 'prepare', screen: 'Detect the installation' },
  verify: {
    line: 'verify the packs',
    plain: 'verify the pack',
    task: 'verify',
    screen: 'Verify the signature',
    screenUninstall: null,
  },
  plan: { line: 'plan the changes', task: 'plan', screen: 'Plan the changes' },
  stage: {
    line: 'stage the payload',
    task: 'stage',
    screen: 'Unpack and check files',
    screenUninstall: 'Check the uninstall data',
  },
  journal: { line: 'write the journal', task: 'stage', screen: 'Write the journal' },
  'stop-service': { line: 'stop the service', task: 'stop', screen: 'Stop the server' },
  commit: {
    line: 'commit the files',
    task: 'commit',
    screen: 'Replace the files',
    screenUninstall: 'Put back the files',
  },
  // drawn under the commit's task: the commit is not final until the trial passed
  trial: {
    line: 'check that the server serves',
    task: 'commit',
    screen: 'Check the server',
    screenUninstall: null,
  },
  record: { line: 'record the new state', task: 'record', screen: 'Record the new level' },
  restart: { line: 'restart the service', task: 'restart', screen: 'Start the server' },
  cleanup: { line: 'clean up', task: 'restart', screen: 'Clean up' },
};

const ROWS = Object.entries(STEP_WORDS) as [StepId, StepWords][];

/** The only task not named after its first step: it gathers three. */
const TASK_TITLES: Partial<Record<TaskKey, string>> = { prepare: 'Check the installation' };

const byStep = new Map<string, StepWords>(ROWS);

/** Log lines; a step this table does not know yet is shown by its name. */
export function stepLine(step: string): string {
  return byStep.get(step)?.line ?? step;
}

/** The plain reporter's words for a step. */
export function stepPlain(step: Step): string {
  const w = byStep.get(step);
  return w?.plain ?? w?.line ?? step;
}

/** The listr tasks in order, each with its title and the steps it waits for. */
export function stepTasks(): { key: TaskKey; title: string; steps: string[] }[] {
  const tasks: { key: TaskKey; title: string; steps: string[] }[] = [];
  for (const [step, w] of ROWS) {
    const last = tasks[tasks.length - 1];
    if (last?.key === w.task) last.steps.push(step);
    else
      tasks.push({
        key: w.task,
        title: TASK_TITLES[w.task] ?? w.line.charAt(0).toUpperCase() + w.line.slice(1),
        steps: [step],
      });
  }
  return tasks;
}

/** The wizard's Progress screen: its steps in order, with their labels. */
export function stepScreenLabels(action: 'install' | 'uninstall'): { step: string; label: string }[] {
  const rows: { step: string; label: string }[] = [];
  for (const [step, w] of ROWS) {
    const label = action === 'uninstall' && w.screenUninstall !== undefined ? w.screenUninstall : w.screen;
    if (label !== undefined && label !== null) rows.push({ step, label });
  }
  return rows;
}
