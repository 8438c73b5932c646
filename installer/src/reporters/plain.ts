import type { ServicepackEvent } from '@servicepack/core/events';
import { type Printable, type Shown, safe, sgr } from './printable.js';
import { stepPlain } from './steps.js';

export interface Output {
  write(text: string): void;
  isTTY?: boolean;
}

export interface PlainOptions {
  /** logs (events, warnings, errors) */
  err: Output;
  /** results */
  out: Output;
  quiet: boolean;
  env: Record<string, string | undefined>;
}

/** ANSI only for a terminal that wants it (NO_COLOR, https://no-color.org, and pipes get none). */
export function colorEnabled(stream: Output, env: Record<string, string | undefined>): boolean {
  return stream.isTTY === true && env['NO_COLOR'] === undefined && env['TERM'] !== 'dumb';
}

export interface Paint {
  red(s: Shown): Printable;
  green(s: Shown): Printable;
  yellow(s: Shown): Printable;
  dim(s: Shown): Printable;
  bold(s: Shown): Printable;
}

export function paint(on: boolean): Paint {
  return {
    red: sgr(on, 31, 39),
    green: sgr(on, 32, 39),
    yellow: sgr(on, 33, 39),
    dim: sgr(on, 2, 22),
    bold: sgr(on, 1, 22),
  };
}

/**
 * Renders core events as plain lines on stderr; results are printed by the commands on stdout.
 * Lines are Printable (printable.ts): every name in them has been escaped on the way in.
 */
export class PlainReporter {
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

  readonly sink = (ev: ServicepackEvent): void => {
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
  };

  log(line: Printable): void {
    this.err.write(`${line.text}\n`);
  }

  print(line: Printable): void {
    this.out.write(`${line.text}\n`);
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
