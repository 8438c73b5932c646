import { Listr, ListrLogger, type ListrTask, ProcessOutput } from 'listr2';
import type { ErrorDocument } from '../exit.js';
import type {
  FrontEnd,
  RunOutcome,
  Streams,
  TargetInfo,
  TargetOutcome,
  TargetView,
  TextOutput,
  UiEvent,
} from '../front-end.js';
import { type Printable, printable, safe } from './printable.js';
import { stepTasks, type TaskKey } from './steps.js';
import { progressText, summaryLines, textOutput } from './text.js';

/**
 * `-u` on a terminal: a listr2 task list per target (download → check → verify → plan → stage →
 * stop service → commit → record → restart) drawn from the same core events every front end gets.
 *
 * The engine runs its steps itself and only reports them, while listr wants to run the tasks. The
 * bridge reconciles the two: each listr task awaits "its" steps' outcome from the event stream,
 * so listr draws what the engine does and never drives it (the core stays UI-free).
 */

const TASKS = stepTasks();

export interface TaskOutcome {
  state: 'done' | 'skipped' | 'failed';
  message?: string;
}

interface Slot {
  done: boolean;
  skipped: boolean;
  failed?: string;
  settled?: TaskOutcome;
  resolve: (o: TaskOutcome) => void;
  promise: Promise<TaskOutcome>;
  output?: (text: string) => void;
  lastOutput?: string;
}

/**
 * Turns the event stream into one outcome per task. A task is settled when one of its steps fails,
 * when a later task's step starts, or when the run ends (then tasks never reached count as
 * skipped, except that a failed run fails the first unsettled task with the run's error).
 */
export class StepBridge {
  readonly tasks: readonly (typeof TASKS)[number][];
  private readonly slots = new Map<TaskKey, Slot>();
  private current = -1;
  private readonly byStep = new Map<string, TaskKey>();

  constructor(opts: { download: boolean }) {
    this.tasks = TASKS.filter((t) => opts.download || t.key !== 'download');
    for (const t of this.tasks) {
      let resolve!: (o: TaskOutcome) => void;
      const promise = new Promise<TaskOutcome>((r) => {
        resolve = r;
      });
      this.slots.set(t.key, { done: false, skipped: false, resolve, promise });
      for (const s of t.steps) this.byStep.set(s, t.key);
    }
  }

  /** What the task gets from the stream: its outcome, once known. */
  wait(key: TaskKey): Promise<TaskOutcome> {
    return this.slots.get(key)!.promise;
  }

  /** Where a task's live output (file counts, messages) goes while it runs. */
  onOutput(key: TaskKey, f: (text: string) => void): void {
    const slot = this.slots.get(key)!;
    slot.output = f;
    if (slot.lastOutput !== undefined) f(slot.lastOutput);
  }

  private settle(key: TaskKey, outcome?: TaskOutcome): TaskOutcome {
    const slot = this.slots.get(key)!;
    if (slot.settled) return slot.settled;
    const o: TaskOutcome =
      outcome ??
      (slot.failed !== undefined
        ? { state: 'failed', message: slot.failed }
        : slot.done
          ? { state: 'done' }
          : { state: 'skipped', message: slot.skipped ? 'nothing to do' : 'not needed' });
    slot.settled = o;
    slot.resolve(o);
    return o;
  }

  private indexOf(key: TaskKey): number {
    return this.tasks.findIndex((t) => t.key === key);
  }

  /** Settles every task before `index`; later events belong to the task at `index`. */
  private advance(index: number): void {
    for (let i = Math.max(0, this.current); i < index; i++) this.settle(this.tasks[i]!.key);
    if (index > this.current) this.current = index;
  }

  /** Listr takes bare strings: this and the task titles and errors below are where they are escaped. */
  private output(key: TaskKey | undefined, text: Printable): void {
    const k = key ?? this.tasks[this.current]?.key;
    if (k === undefined) return;
    const slot = this.slots.get(k)!;
    slot.lastOutput = text.text;
    slot.output?.(text.text);
  }

  push(ev: UiEvent): void {
    if (ev.type === 'step' || ev.type === 'phase') {
      const key = this.byStep.get(ev.type === 'step' ? ev.step : ev.phase);
      if (key === undefined) return;
      const i = this.indexOf(key);
      this.advance(i);
      const slot = this.slots.get(key)!;
      if (ev.state === 'done') slot.done = true;
      else if (ev.state === 'skipped') slot.skipped = true;
      else if (ev.state === 'failed') {
        slot.failed = ev.message ?? 'failed';
        this.settle(key);
      }
      return;
    }
    if (ev.type === 'progress') {
      this.output(
        ev.step === 'verify' && this.slots.has('download') && this.tasks[this.current]?.key === 'download'
          ? 'download'
          : this.byStep.get(ev.step),
        printable(progressText(ev)),
      );
      return;
    }
    this.output(undefined, ev.type === 'warning' ? safe`warning: ${ev.message}` : printable(ev.message));
  }

  /** The run is over: settle what is left. */
  end(outcome: { ok: boolean; message?: string }): void {
    let failedOne = [...this.slots.values()].some((s) => s.settled?.state === 'failed');
    for (const [i, t] of this.tasks.entries()) {
      const slot = this.slots.get(t.key)!;
      if (slot.settled) continue;
      if (i <= this.current && (slot.done || slot.skipped || slot.failed !== undefined)) {
        if (this.settle(t.key).state === 'failed') failedOne = true;
        continue;
      }
      if (!outcome.ok && !failedOne) {
        failedOne = true;
        this.settle(t.key, { state: 'failed', message: outcome.message ?? 'failed' });
      } else this.settle(t.key, { state: 'skipped', message: outcome.ok ? 'not needed' : 'not run' });
    }
  }
}

export interface ListrFrontEndOptions {
  quiet: boolean;
  /** tests: a non-default renderer (e.g. 'verbose') and where it writes */
  renderer?: 'default' | 'simple' | 'verbose' | 'test' | 'silent';
  output?: NodeJS.WriteStream;
}

export class ListrFrontEnd implements FrontEnd {
  readonly kind = 'listr';
  constructor(
    private readonly io: Streams,
    private readonly opts: ListrFrontEndOptions,
  ) {}

  /** Outside a task list (no target): only what a person must see, on stderr. */
  readonly sink = (ev: UiEvent): void => {
    if (ev.type === 'warning') this.log(safe`warning: ${ev.message}`);
  };

  log(line: Printable): void {
    this.io.err.write(`${line.text}\n`);
  }

  target(info: TargetInfo): TargetView {
    const bridge = new StepBridge({ download: info.fromFeed });
    const subtasks: ListrTask[] = bridge.tasks.map((t) => ({
      title: t.title,
      task: async (_ctx, task) => {
        bridge.onOutput(t.key, (text) => {
          task.output = text;
        });
        const o = await bridge.wait(t.key);
        if (o.state === 'failed') throw new Error(printable(o.message ?? 'failed').text);
        if (o.state === 'skipped') task.skip(safe`${t.title} (${o.message ?? 'nothing to do'})`.text);
      },
    }));
    const title = (info.count > 1 ? safe`${info.root} (${info.index + 1} of ${info.count})` : printable(info.root))
      .text;
    const renderer = this.opts.renderer ?? (this.opts.quiet ? 'silent' : 'default');
    const list = new Listr(
      [{ title, task: (_ctx, task) => task.newListr(subtasks, { concurrent: false, exitOnError: true }) }],
      {
        concurrent: false,
        exitOnError: true,
        // Ctrl+C is the transaction's business (journal, rollback), not the renderer's.
        registerSignalListeners: false,
        renderer: renderer as 'default',
        fallbackRendererCondition: false,
        rendererOptions: {
          collapseSubtasks: false,
          showErrorMessage: true,
          collapseErrors: false,
          formatOutput: 'truncate',
          // stdout is for the result (docs/cli.md "Output"): the task list is drawn on stderr
          logger: new ListrLogger({
            useIcons: renderer === 'default',
            processOutput: new ProcessOutput(this.opts.output ?? process.stderr, this.opts.output ?? process.stderr),
          }),
        },
      },
    );
    const running = list.run().catch(() => {});
    return {
      sink: (ev) => bridge.push(ev),
      finish: async (o: TargetOutcome) => {
        bridge.end({ ok: !o.error, ...(o.error ? { message: o.error.message } : {}) });
        await running;
      },
    };
  }

  result(_doc: Record<string, unknown>, text: (t: TextOutput) => void): void {
    text(textOutput(this.io, (l) => this.log(l)));
  }

  summary(run: RunOutcome): void {
    for (const l of summaryLines(run)) this.io.out.write(`${l.text}\n`);
  }

  failure(doc: ErrorDocument, text?: (t: TextOutput) => void): void {
    if (text) text(textOutput(this.io, (l) => this.log(l)));
    this.log(safe`servicepack: error: ${doc.message}`);
  }
}
