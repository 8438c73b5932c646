import { closeSync, constants, existsSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ServicepackEvent } from '../support/events.js';
import { BUILDINFO_FILE, LOG_DIR, SERVICEPACK_DIR } from '../installation/names.js';
import { isRealFolder, notFollowed, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../installation/servicepack-dir.js';

/**
 * The transaction log (docs/fleet.md "Logs"): one JSON object per line, one line per core event, with
 * the time, the target and the step it belongs to, then a final line with the result and the exit
 * code. It is written as things happen, not at the end, so a log cut short by a crash still says
 * how far the run got; JSON lines because `jq`, `grep` and log shippers read them without a parser
 * for our format (unattended-upgrades' and dnf's text logs have to be scraped).
 *
 * Lines go out with synchronous appends: there are a few dozen per transaction, and a line that
 * sits in a buffer when the process is killed is exactly the line an administrator needs.
 */

export { LOG_DIR } from '../installation/names.js';

/**
 * Appends JSON lines to one file; opened once, so a line never interleaves with another writer's.
 * Created private (0600): a log says what is installed where. `fresh`: the file must not exist
 * yet and is never opened through a link (an installation's own log, named after a new transaction).
 */
export class JsonLinesFile {
  private fd: number | undefined;
  constructor(
    readonly path: string,
    opts: { fresh?: boolean } = {},
  ) {
    mkdirSync(dirname(path), { recursive: true });
    const flags = opts.fresh
      ? constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW
      : 'a';
    this.fd = openSync(path, flags, PRIVATE_FILE_MODE);
  }
  write(record: Record<string, unknown>): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, `${JSON.stringify(record)}\n`);
  }
  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}

/** `<root>/.servicepack/log/<txid>.jsonl` */
export function transactionLogPath(root: string, transactionId: string): string {
  return join(root, SERVICEPACK_DIR, LOG_DIR, `${transactionId}.jsonl`);
}

export interface TransactionLogOptions {
  /** installation root; its own log is written only when it holds an installation */
  root: string;
  transactionId: string;
  /** further files that get the same lines (an answer file's `log`), already open */
  shared?: readonly JsonLinesFile[];
  /** receives a warning when the installation's own log cannot be written */
  onWarning?: (message: string) => void;
  now?: () => Date;
}

/** A step of the installer's own that happens outside a transaction, e.g. downloading from a feed. */
export interface PhaseEvent {
  type: 'phase';
  phase: string;
  state: 'started' | 'done' | 'skipped' | 'failed';
  message?: string;
}

export interface LogOutcome {
  exitCode: number;
  ok: boolean;
  /** the error code (E_...) of a failed run */
  code?: string;
  message?: string;
  [field: string]: unknown;
}

/**
 * Steps from which on a transaction changes the installation (the journal is written, the service
 * stopped, files committed): its own log starts with them. Everything before, staging included,
 * is undone without a trace when the pack is refused.
 */
const CHANGING_STEPS: ReadonlySet<string> = new Set([
  'journal',
  'stop-service',
  'commit',
  'trial',
  'record',
  'restart',
  'cleanup',
]);

/**
 * One transaction's log: `sink` records core events (and the installer's own phases), `begin`
 * what was asked for, `end` the outcome. Every line carries `time`, `target`, `transactionId` and
 * `event`; the lines between `begin` and the result also carry the `step` they belong to.
 *
 * The installation's own file is created only once the transaction starts changing the
 * installation (the journal), with every line from the beginning: a refused install (also one
 * refused while staging, e.g. a payload hash mismatch) or a dry run leaves no trace in the tree,
 * as before. Shared files (an answer file's log) get every line.
 */
export class TransactionLog {
  private own: JsonLinesFile | undefined;
  private readonly ownPath: string | undefined;
  private readonly pending: Record<string, unknown>[] = [];
  private readonly shared: readonly JsonLinesFile[];
  private readonly now: () => Date;
  private step: string | undefined;
  private ended = false;

  constructor(private readonly opts: TransactionLogOptions) {
    this.now = opts.now ?? (() => new Date());
    this.shared = opts.shared ?? [];
    // Never create .servicepack/ in a folder that is not an installation (a mistyped root).
    const isInstallation = existsSync(join(opts.root, BUILDINFO_FILE)) || existsSync(join(opts.root, SERVICEPACK_DIR));
    this.ownPath = isInstallation ? transactionLogPath(opts.root, opts.transactionId) : undefined;
  }

  /** The files written so far (the installation's own one only once it exists). */
  get files(): string[] {
    return [...(this.own ? [this.own.path] : []), ...this.shared.map((f) => f.path)];
  }

  private openOwn(): void {
    if (this.own || this.ownPath === undefined) return;
    try {
      mkdirSync(dirname(this.ownPath), { recursive: true, mode: PRIVATE_DIR_MODE });
      if (!isRealFolder(this.opts.root, `${SERVICEPACK_DIR}/${LOG_DIR}`)) throw notFollowed(dirname(this.ownPath));
      this.own = new JsonLinesFile(this.ownPath, { fresh: true });
    } catch (e) {
      this.opts.onWarning?.(`cannot write the transaction log ${this.ownPath}: ${(e as Error).message}`);
      this.pending.length = 0;
      return;
    }
    for (const line of this.pending.splice(0)) this.own.write(line);
  }

  private write(record: Record<string, unknown>, withStep = true): void {
    const step = withStep && this.step !== undefined ? { step: this.step } : {};
    const line = {
      time: this.now().toISOString(),
      target: this.opts.root,
      transactionId: this.opts.transactionId,
      ...step,
      ...record,
    };
    if (this.own) this.own.write(line);
    else if (this.ownPath !== undefined) this.pending.push(line);
    for (const f of this.shared) {
      try {
        f.write(line);
      } catch {
        // a full disk must not turn a finished install into a failure; the other copies still get it
      }
    }
  }

  begin(request: Record<string, unknown>): void {
    this.write({ event: 'begin', ...request }, false);
  }

  /** Core events; `phase` is the installer's own steps that happen outside a transaction (download). */
  readonly sink = (ev: ServicepackEvent | PhaseEvent): void => {
    if (ev.type === 'step') {
      this.step = ev.step;
      if (ev.state === 'started' && CHANGING_STEPS.has(ev.step)) this.openOwn();
      this.write({ event: 'step', state: ev.state, ...(ev.message !== undefined ? { message: ev.message } : {}) });
      return;
    }
    if (ev.type === 'phase') {
      this.step = ev.phase;
      this.write({ event: 'phase', state: ev.state, ...(ev.message !== undefined ? { message: ev.message } : {}) });
      return;
    }
    const { type, ...rest } = ev;
    this.write({ event: type, ...rest });
  };

  end(outcome: LogOutcome): void {
    if (this.ended) return;
    this.ended = true;
    // the step the run ended in is the last step line before this one
    this.write({ event: 'result', ...outcome }, false);
  }

  /** Closes the installation's own log; shared files belong to whoever opened them. */
  close(): void {
    this.own?.close();
  }
}
