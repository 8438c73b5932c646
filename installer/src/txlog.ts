import { resolve } from 'node:path';
import type { ServicepackEvent } from '@servicepack/core/events';
import type { JsonLinesFile, LogOutcome, PhaseEvent } from '@servicepack/core/log';
import { errorDocument } from './exit.js';
import type { Output } from './reporters/plain.js';
import { escapeControls } from './reporters/printable.js';

/**
 * The JSON-lines transaction log (`<root>/.servicepack/log/<txid>.jsonl`, core log.ts), split off
 * the event stream in this one place for every front end (plain commands, unattended runs, the
 * wizard), so that every transaction leaves the same lines whichever front end ran it.
 */
export interface LoggedTransaction<E> {
  readonly transactionId: string;
  /** logs the event, then hands it to the front end */
  readonly sink: (ev: E) => void;
  /** the log files written so far */
  readonly files: string[];
}

export interface TransactionLogOptions<E> {
  root: string;
  /** what was asked for: the log's first line */
  request: Record<string, unknown>;
  /** the front end's sink; it also gets a warning when the log cannot be written */
  next: (ev: E) => void;
  /** more files every line is appended to (an answer file's log) */
  shared?: JsonLinesFile[];
  /** `--verbose`: a line per file as it is staged and committed (stderr); here, so every front end gets the same */
  trace?: Output;
}

/** The --verbose line of a per-file event, or undefined: the engine names each file in its progress events. */
export function traceLine(ev: ServicepackEvent | PhaseEvent): string | undefined {
  if (ev.type !== 'progress' || ev.path === undefined) return undefined;
  return `     ${ev.step.padEnd(6)} ${escapeControls(ev.path)}\n`;
}

/**
 * Runs one transaction with its log: the request first, every event, then the result line `run`
 * returns beside its value, or, when `run` throws, the error (then rethrown).
 */
export async function withTransactionLog<E extends ServicepackEvent | PhaseEvent, R>(
  opts: TransactionLogOptions<E>,
  run: (tx: LoggedTransaction<E>) => Promise<{ value: R; result: LogOutcome }>,
): Promise<R> {
  const [{ newTransactionId }, { TransactionLog }] = await Promise.all([
    import('@servicepack/core/transaction'),
    import('@servicepack/core/log'),
  ]);
  const transactionId = newTransactionId();
  // Every front end's event type includes the engine's warnings.
  const warning = (message: string) => ({ type: 'warning', code: 'W_LOG', message }) as ServicepackEvent as E;
  const log = new TransactionLog({
    root: resolve(opts.root),
    transactionId,
    ...(opts.shared ? { shared: opts.shared } : {}),
    onWarning: (message) => opts.next(warning(message)),
  });
  log.begin(opts.request);
  const tx: LoggedTransaction<E> = {
    transactionId,
    sink: (ev) => {
      log.sink(ev);
      const line = opts.trace ? traceLine(ev) : undefined;
      // on a terminal, over the redrawn progress line, which the front end then draws again below
      if (line !== undefined) opts.trace!.write(opts.trace!.isTTY ? `\r\x1b[K${line}` : line);
      opts.next(ev);
    },
    get files() {
      return log.files;
    },
  };
  try {
    const { value, result } = await run(tx);
    log.end(result);
    return value;
  } catch (e) {
    const doc = errorDocument(e);
    log.end({ exitCode: doc.exitCode, ok: false, code: doc.code, message: doc.message });
    throw e;
  } finally {
    log.close();
  }
}
