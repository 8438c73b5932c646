import { resolve } from 'node:path';
import type { EventSink } from '@servicepack/core/events';
import { errorDocument } from './exit.js';

/**
 * The JSON-lines transaction log (`<root>/.servicepack/log/<txid>.jsonl`, core log.ts) for the
 * plain `install PACK...` and `uninstall` paths, so that every transaction leaves one, whichever
 * front end ran it.
 */
export interface CliTransactionLog {
  readonly transactionId: string;
  /** logs the event, then hands it to the front end's sink */
  readonly sink: EventSink;
  /** `summary`: what the result line of the log says besides the exit code */
  done(exitCode: number, summary: Record<string, unknown>): void;
  failed(e: unknown): void;
}

export async function openCliTransactionLog(root: string, request: Record<string, unknown>, next: EventSink): Promise<CliTransactionLog> {
  const [{ newTransactionId }, { TransactionLog }] = await Promise.all([import('@servicepack/core/transaction'), import('@servicepack/core/log')]);
  const transactionId = newTransactionId();
  const log = new TransactionLog({ root: resolve(root), transactionId, onWarning: (message) => next({ type: 'warning', code: 'W_LOG', message }) });
  log.begin(request);
  return {
    transactionId,
    sink: (ev) => {
      log.sink(ev);
      next(ev);
    },
    done: (exitCode, summary) => {
      log.end({ exitCode, ok: true, ...summary });
      log.close();
    },
    failed: (e) => {
      const doc = errorDocument(e);
      log.end({ exitCode: doc.exitCode, ok: false, code: doc.code, message: doc.message });
      log.close();
    },
  };
}
