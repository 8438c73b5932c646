import type { ErrorDocument } from '../exit.js';
import type { FrontEnd, RunOutcome, Streams, TargetInfo, TargetView, TextOutput, UiEvent } from '../front-end.js';
import { type Printable, safe } from './printable.js';
import { stepLine } from './steps.js';
import { progressText, summaryLines, textOutput, traceLine } from './text.js';

export { humanBytes, outcomeLine, progressText, summaryLines } from './text.js';

/**
 * The front end of unattended runs without a terminal: timestamped plain lines (logs on stderr,
 * results on stdout). It writes no escape code and reads no stdin: its readers are log files, CI
 * consoles and configuration tools. `--json` is json.ts.
 */

export class LinesFrontEnd implements FrontEnd {
  readonly kind = 'lines';
  constructor(
    private readonly io: Streams,
    private readonly quiet: boolean,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  private line(root: string | undefined, text: Printable): void {
    this.io.err.write(
      `${safe`${this.clock().toISOString()} ${root !== undefined ? safe`${root}: ` : ''}${text}`.text}\n`,
    );
  }

  private untargeted: ((ev: UiEvent) => void) | undefined;

  /** the events of a command that names no target */
  get sink(): (ev: UiEvent) => void {
    this.untargeted ??= this.view(undefined);
    return this.untargeted;
  }

  log(line: Printable): void {
    this.line(undefined, line);
  }

  target(info: TargetInfo): TargetView {
    const { root } = info;
    if (!this.quiet && !info.alone) this.line(root, safe`target ${info.index + 1} of ${info.count}`);
    return {
      sink: this.view(root),
      finish: async (o) => {
        // the command's one root: its failure line follows (failure), once is enough
        if (o.error && !info.alone) this.line(root, safe`error: ${o.error.message}`);
        this.line(root, safe`exit ${o.exitCode}`);
      },
    };
  }

  private view(root: string | undefined): (ev: UiEvent) => void {
    // Progress comes per file; a log wants where a step ended, not every file in between.
    let lastProgress = this.clock().getTime();
    let downloading = false;
    return (ev) => {
      switch (ev.type) {
        case 'step':
        case 'phase': {
          if (ev.type === 'phase') downloading = ev.state === 'started';
          if (this.quiet && ev.state !== 'failed') return;
          const name = ev.type === 'step' ? ev.step : ev.phase;
          const mark =
            ev.state === 'started'
              ? 'start'
              : ev.state === 'done'
                ? 'ok   '
                : ev.state === 'skipped'
                  ? '--   '
                  : 'FAIL ';
          if (ev.state === 'started') return;
          this.line(
            root,
            safe`${mark}${stepLine(name)}${ev.state === 'skipped' ? ' (nothing to do)' : ''}${ev.state === 'failed' && ev.message ? safe`: ${ev.message}` : ''}`,
          );
          return;
        }
        case 'progress': {
          // --verbose: every file, whatever the throttle below (and -q) leaves out
          const trace = this.io.verbose === true ? traceLine(ev) : undefined;
          if (trace !== undefined) this.line(root, trace);
          if (this.quiet) return;
          const now = this.clock().getTime();
          if (ev.files < ev.totalFiles && now - lastProgress < 1000) return;
          lastProgress = now;
          this.line(root, safe`     ${stepLine(downloading ? 'download' : ev.step)}: ${progressText(ev)}`);
          return;
        }
        case 'warning':
          this.line(root, safe`warning: ${ev.message}`);
          return;
        case 'info':
          if (!this.quiet) this.line(root, safe`     ${ev.message}`);
          return;
      }
    };
  }

  result(_doc: Record<string, unknown>, text: (t: TextOutput) => void): void {
    text(textOutput(this.io, (l) => this.log(l), false));
  }

  summary(run: RunOutcome): void {
    for (const l of summaryLines(run)) this.io.out.write(`${l.text}\n`);
  }

  failure(doc: ErrorDocument, text?: (t: TextOutput) => void): void {
    if (text) text(textOutput(this.io, (l) => this.log(l), false));
    this.line(undefined, safe`servicepack: error: ${doc.message}`);
  }
}
