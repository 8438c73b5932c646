import type { ErrorDocument } from '../exit.js';
import type { FrontEnd, Output, RunOutcome, TargetInfo, TargetView, UiEvent } from '../front-end.js';
import { safe } from './printable.js';
import { traceLine } from './text.js';

/** A warning as the document lists it; `root` names the target in a run over several. */
export interface JsonWarning {
  root?: string;
  code: string;
  message: string;
  path?: string;
}

/**
 * `--json`, for every command and every unattended run (the one JSON renderer): exactly one JSON
 * document on stdout, whatever happens, so a script can always parse it. Warnings are collected
 * into the document (and echoed to stderr, where logs belong); progress never appears.
 */
export class JsonReporter implements FrontEnd {
  readonly kind = 'json';
  readonly warnings: JsonWarning[] = [];
  private written = false;

  constructor(
    private readonly out: Output,
    private readonly err: Output,
    private readonly quiet: boolean,
    /** --verbose: each file staged and committed on stderr, as plain lines like the warnings' */
    private readonly verbose = false,
  ) {}

  readonly sink = (ev: UiEvent): void => this.event(ev);

  /** `root`: the target the event belongs to, in a run over targets */
  event(ev: UiEvent, root?: string): void {
    const trace = this.verbose ? traceLine(ev) : undefined;
    if (trace !== undefined) this.err.write(`${root !== undefined ? safe`${root}: ${trace}`.text : trace.text}\n`);
    if (ev.type !== 'warning') return;
    this.warnings.push({
      ...(root !== undefined ? { root } : {}),
      code: ev.code,
      message: ev.message,
      ...(ev.path !== undefined ? { path: ev.path } : {}),
    });
    if (!this.quiet)
      this.err.write(`${safe`warning: ${root !== undefined ? safe`${root}: ` : ''}${ev.message}`.text}\n`);
  }

  /** Logs are for people: the document says it all. */
  log(): void {}

  target(info: TargetInfo): TargetView {
    return {
      sink: info.alone ? this.sink : (ev) => this.event(ev, info.root),
      finish: async () => {},
    };
  }

  result(doc: Record<string, unknown>): void {
    this.emit({ ok: true, ...doc, ...(this.warnings.length > 0 ? { warnings: this.warnings } : {}) });
  }

  /** A run's document says itself whether it went well. */
  summary(run: RunOutcome): void {
    this.document({ ...run });
  }

  /** `doc` may carry more fields (query --require puts the query itself beside the error). */
  failure(doc: ErrorDocument & Record<string, unknown>): void {
    this.document(doc);
  }

  private document(doc: Record<string, unknown>): void {
    this.emit({ ...doc, ...(this.warnings.length > 0 ? { warnings: this.warnings } : {}) });
  }

  private emit(doc: Record<string, unknown>): void {
    if (this.written) return;
    this.written = true;
    this.out.write(`${JSON.stringify(doc, null, 2)}\n`);
  }
}
