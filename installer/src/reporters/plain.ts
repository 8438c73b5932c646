import type { ServicepackEvent } from '@servicepack/core/events';
import type { ErrorDocument } from '../exit.js';
import type { FrontEnd, Output, Paint, RunOutcome, Streams, TargetView, TextOutput, UiEvent } from '../front-end.js';
import { type Printable, safe } from './printable.js';
import { stepPlain } from './steps.js';
import { colorEnabled, paint, summaryLines } from './text.js';

export type { Output, Paint } from '../front-end.js';
export { colorEnabled, paint } from './text.js';

export interface PlainOptions extends Streams {
  quiet: boolean;
}

/**
 * The commands' renderer without --json: core events as plain lines on stderr, results on stdout.
 * Lines are Printable (printable.ts): every name in them has been escaped on the way in.
 */
export class PlainReporter implements FrontEnd, TextOutput {
  readonly kind = 'plain';
  readonly err: Output;
  readonly out: Output;
  readonly quiet: boolean;
  readonly e: Paint;
  readonly o: Paint;
  private progressShown = false;

  constructor(opts: PlainOptions) {
    this.err = opts.err;
    this.out = opts.out;
    this.quiet = opts.quiet;
    this.e = paint(colorEnabled(opts.err, opts.env));
    this.o = paint(colorEnabled(opts.out, opts.env));
  }

  readonly sink = (ev: UiEvent): void => {
    if (ev.type === 'phase') return;
    this.event(ev);
  };

  private event(ev: ServicepackEvent): void {
    switch (ev.type) {
      case 'step':
        if (this.quiet || ev.state === 'started') return;
        this.clearProgress();
        if (ev.state === 'done') this.log(safe`${this.e.green('ok')}   ${stepPlain(ev.step)}`);
        else if (ev.state === 'skipped')
          this.log(safe`${this.e.dim('--')}   ${this.e.dim(`${stepPlain(ev.step)} (nothing to do)`)}`);
        else this.log(safe`${this.e.red('FAIL')} ${stepPlain(ev.step)}`);
        return;
      case 'progress':
        // A redrawn line is useful on a terminal and noise in a log file.
        if (this.quiet || this.err.isTTY !== true || ev.totalFiles === 0) return;
        this.err.write(`\r\x1b[K     ${stepPlain(ev.step)}: ${ev.files}/${ev.totalFiles} files`);
        this.progressShown = true;
        return;
      case 'warning':
        this.clearProgress();
        this.log(safe`${this.e.yellow('warning:')} ${ev.message}`);
        return;
      case 'info':
        if (this.quiet) return;
        this.clearProgress();
        this.log(safe`     ${ev.message}`);
        return;
    }
  }

  log(line: Printable): void {
    this.err.write(`${line.text}\n`);
  }

  print(line: Printable): void {
    this.out.write(`${line.text}\n`);
  }

  target(): TargetView {
    return { sink: this.sink, finish: async () => {} };
  }

  result(_doc: Record<string, unknown>, text: (t: TextOutput) => void): void {
    text(this);
  }

  summary(run: RunOutcome): void {
    for (const l of summaryLines(run)) this.print(l);
  }

  failure(doc: ErrorDocument, text?: (t: TextOutput) => void): void {
    text?.(this);
    this.error(doc.message);
  }

  /** `message` is the engine's (it names things from outside): escaped whole, on one line. */
  error(message: string): void {
    this.clearProgress();
    this.log(safe`${this.e.red('servicepack: error:')} ${message}`);
  }

  private clearProgress(): void {
    if (this.progressShown) {
      this.err.write('\r\x1b[K');
      this.progressShown = false;
    }
  }
}
