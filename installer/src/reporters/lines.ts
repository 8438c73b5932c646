import type { ErrorDocument } from '../exit.js';
import type { Io } from '../io.js';
import type { FrontEnd, RunOutcome, TargetOutcome, TargetView, UiEvent } from '../front-end.js';
import { JsonReporter } from './json.js';
import { joinShown, type Printable, safe } from './printable.js';
import { stepLine } from './steps.js';

/**
 * The front ends of unattended runs without a terminal: timestamped plain lines (logs on stderr,
 * results on stdout) and `--json` (one document on stdout at the end). Neither writes an escape
 * code or reads stdin: their readers are log files, CI consoles and configuration tools.
 */

export function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function progressText(ev: Extract<UiEvent, { type: 'progress' }>): string {
  const what = ev.step === 'verify' ? 'packs' : 'files';
  return `${ev.files}/${ev.totalFiles} ${what}, ${humanBytes(ev.bytes)} of ${humanBytes(ev.totalBytes)}`;
}

/** One line per target for the end of a run, e.g. "/opt/a: done (exit 0): RTM -> Service Pack 6". */
export function outcomeLine(o: TargetOutcome): Printable {
  if (o.error)
    return safe`${o.root}: ${o.exitCode === 3 ? 'not applicable' : 'failed'} (exit ${o.exitCode}, ${o.error.code}): ${o.error.message}`;
  const r = o.result!;
  const names = joinShown(
    r.packs.map((p) => p.id),
    ', ',
  );
  const verb = r.dryRun ? 'would install' : 'installed';
  const restart =
    o.exitCode === 10 ? safe`; restart required: ${r.restartMessage ?? 'restart the service to finish'}` : '';
  return safe`${o.root}: ${verb} ${names} (exit ${o.exitCode}): ${r.before.levelName} -> ${r.after.levelName}${restart}`;
}

export function summaryLines(run: RunOutcome): Printable[] {
  const lines = run.targets.map(outcomeLine);
  if (run.targets.length > 1) {
    const count = (f: (t: TargetOutcome) => boolean) => run.targets.filter(f).length;
    const done = count((t) => t.exitCode === 0);
    const restart = count((t) => t.exitCode === 10);
    const na = count((t) => t.exitCode === 3);
    const failed = run.targets.length - done - restart - na;
    lines.push(
      safe`${run.targets.length} targets: ${done} done, ${restart} need a restart, ${na} not applicable, ${failed} failed; exit ${run.exitCode}`,
    );
  }
  return lines;
}

export class LinesFrontEnd implements FrontEnd {
  readonly kind = 'lines';
  constructor(
    private readonly io: Io,
    private readonly quiet: boolean,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  private line(root: string | undefined, text: Printable): void {
    this.io.err.write(
      `${safe`${this.clock().toISOString()} ${root !== undefined ? safe`${root}: ` : ''}${text}`.text}\n`,
    );
  }

  target(info: { root: string; index: number; count: number; fromFeed: boolean }): TargetView {
    const { root } = info;
    if (!this.quiet) this.line(root, safe`target ${info.index + 1} of ${info.count}`);
    // Progress comes per file; a log wants where a step ended, not every file in between.
    let lastProgress = this.clock().getTime();
    let downloading = false;
    return {
      sink: (ev) => {
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
      },
      finish: async (o) => {
        if (o.error) this.line(root, safe`error: ${o.error.message}`);
        this.line(root, safe`exit ${o.exitCode}`);
      },
    };
  }

  summary(run: RunOutcome): void {
    for (const l of summaryLines(run)) this.io.out.write(`${l.text}\n`);
  }

  failure(doc: ErrorDocument): void {
    this.line(undefined, safe`servicepack: error: ${doc.message}`);
  }
}

/** `--json`: the one JSON renderer (json.ts) with each warning under its target; progress never. */
export class JsonFrontEnd implements FrontEnd {
  readonly kind = 'json';
  private readonly doc: JsonReporter;
  constructor(io: Io, quiet: boolean) {
    this.doc = new JsonReporter(io.out, io.err, quiet);
  }

  target(info: { root: string }): TargetView {
    return {
      sink: (ev) => this.doc.event(ev, info.root),
      finish: async () => {},
    };
  }

  summary(run: RunOutcome): void {
    this.doc.document({ ...run });
  }

  /** A failure before any target ran, so before any warning. */
  failure(doc: ErrorDocument, answerFile?: string): void {
    this.doc.document({ ...doc, ...(answerFile !== undefined ? { answerFile } : {}), targets: [] });
  }
}
