import { resolve } from 'node:path';
import type { ServicepackEvent } from '@servicepack/core/events';
import type { JsonLinesFile, LogOutcome, PhaseEvent } from '@servicepack/core/log';
import { errorDocument } from './exit.js';
import type { FrontEnd, UiEvent } from './front-end.js';

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

/**
 * One transaction on the command's one root (install PACK, uninstall), with its log, drawn by `fe`
 * as its only target: the same front ends as a run over targets (a task list on a terminal, lines
 * off one, --json), each with the same result block.
 */
export async function withTargetView<R>(
  fe: FrontEnd,
  opts: Omit<TransactionLogOptions<UiEvent>, 'next'>,
  run: (tx: LoggedTransaction<UiEvent>) => Promise<{ value: R; result: LogOutcome }>,
): Promise<R> {
  const root = resolve(opts.root);
  const view = fe.target({ root, index: 0, count: 1, fromFeed: false, alone: true });
  let transactionId = '';
  let logs: string[] = [];
  let outcome: LogOutcome | undefined;
  try {
    const value = await withTransactionLog({ ...opts, next: (ev) => view.sink(ev) }, async (tx) => {
      transactionId = tx.transactionId;
      const r = await run(tx);
      logs = tx.files;
      outcome = r.result;
      return r;
    });
    await view.finish({ root, ok: true, exitCode: outcome?.exitCode ?? 0, transactionId, logs, packs: [] });
    return value;
  } catch (e) {
    const error = errorDocument(e);
    await view.finish({ root, ok: false, exitCode: error.exitCode, transactionId, logs, packs: [], error });
    throw e;
  }
}
