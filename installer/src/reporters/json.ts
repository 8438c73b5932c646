import type { ServicepackEvent } from '@servicepack/core/events';
import type { ErrorDocument } from '../exit.js';
import type { Output } from './plain.js';
import { safe } from './printable.js';

/**
 * `--json`: exactly one JSON document on stdout, whatever happens, so a script can always parse
 * it. Warnings are collected into the document (and echoed to stderr, where logs belong).
 */
export class JsonReporter {
  readonly warnings: { code: string; message: string; path?: string }[] = [];
  private written = false;

  constructor(
    private readonly out: Output,
    private readonly err: Output,
    private readonly quiet: boolean,
  ) {}

  readonly sink = (ev: ServicepackEvent): void => {
    if (ev.type !== 'warning') return;
    this.warnings.push({ code: ev.code, message: ev.message, ...(ev.path !== undefined ? { path: ev.path } : {}) });
    if (!this.quiet) this.err.write(`${safe`warning: ${ev.message}`.text}\n`);
  };

  result(doc: Record<string, unknown>): void {
    this.emit({ ok: true, ...doc, ...(this.warnings.length > 0 ? { warnings: this.warnings } : {}) });
  }

  /** `doc` may carry more fields (query --require puts the query itself beside the error). */
  error(doc: ErrorDocument & Record<string, unknown>): void {
    this.emit({ ...doc, ...(this.warnings.length > 0 ? { warnings: this.warnings } : {}) });
  }

  get done(): boolean {
    return this.written;
  }

  private emit(doc: Record<string, unknown>): void {
    if (this.written) return;
    this.written = true;
    this.out.write(`${JSON.stringify(doc, null, 2)}\n`);
  }
}
