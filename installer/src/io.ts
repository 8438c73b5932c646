import type { RootOrigin } from '@servicepack/core/root';
import { EXIT, errorDocument, UsageError } from './exit.js';
import type { FrontEnd, Output, Streams } from './front-end.js';
import { escapeControls } from './reporters/printable.js';

/** Where a run reads its environment and writes its output: the process, or a test's buffers. */
export interface Io extends Streams {
  /** stdin and stdout are terminals (the wizard's precondition) */
  interactive: boolean;
}

/**
 * stdout or stderr as an Output that a failed write only silences. A reader that went away (`| head`),
 * a closed or revoked descriptor, a full disk: output ends there, quietly, like coreutils, and the
 * transaction goes on to its end with its own exit code. Without this, node turns the stream's EPIPE
 * into an uncaught 'error' event: a stack trace and exit 1 between two steps, the journal left open.
 *
 * The listener is on the process's stream, so it also covers what writes there directly (listr2,
 * ink). The transaction log (.servicepack/log/*.jsonl) is a file of its own and keeps being written.
 */
const silenced = new WeakMap<NodeJS.WriteStream, { open: boolean }>();

function guarded(stream: NodeJS.WriteStream): Output & { write(t: string | Uint8Array): void } {
  let state = silenced.get(stream);
  if (state === undefined) {
    const s = { open: true };
    stream.on('error', () => {
      s.open = false;
    });
    silenced.set(stream, s);
    state = s;
  }
  const s = state;
  return {
    write: (t) => {
      if (!s.open) return;
      try {
        stream.write(t);
      } catch {
        s.open = false;
      }
    },
    isTTY: stream.isTTY === true,
  };
}

/**
 * stdout or stderr written with `writeSync` on its descriptor, for the command lines that start
 * without commander (cli.ts): process.stdout would load node's net and stream modules as it is
 * created, several milliseconds of a query (docs/performance.md, item 20). The same bytes in the same
 * order: on Linux the stream's own writes to files, pipes and terminals are synchronous too. A
 * character device (a terminal, /dev/null) gets the stream itself, which alone can say whether it
 * is a terminal; a descriptor that would block (O_NONBLOCK set by whoever passed it) hands what is
 * left, and every later write, to the stream; any other failure silences the output as guarded() does.
 */
function descriptorOutput(fd: 1 | 2, stream: () => NodeJS.WriteStream): Output {
  const fs = process.getBuiltinModule('node:fs');
  let open = true;
  let via: ReturnType<typeof guarded> | undefined;
  const viaStream = (): ReturnType<typeof guarded> => {
    via ??= guarded(stream());
    return via;
  };
  try {
    if (fs.fstatSync(fd).isCharacterDevice()) viaStream();
  } catch {
    viaStream();
  }
  return {
    write: (t) => {
      if (via !== undefined) return via.write(t);
      if (!open) return;
      const bytes = Buffer.from(t, 'utf8');
      let done = 0;
      try {
        while (done < bytes.length) done += fs.writeSync(fd, bytes, done);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') viaStream().write(bytes.subarray(done));
        else open = false;
      }
    },
    get isTTY() {
      return via?.isTTY === true;
    },
  };
}

/** processIo for `query` and `verify` (cli.ts): stdout and stderr without their streams (descriptorOutput). */
export function quickIo(): Io {
  return {
    out: descriptorOutput(1, () => process.stdout),
    err: descriptorOutput(2, () => process.stderr),
    env: process.env,
    get interactive() {
      return process.stdin.isTTY === true && process.stdout.isTTY === true;
    },
  };
}

export function processIo(): Io {
  return {
    out: guarded(process.stdout),
    err: guarded(process.stderr),
    env: process.env,
    // Asked only by the command lines that may open the wizard: looking at process.stdin sets up
    // a stream (and loads its modules), which `query` and `verify` have no use for.
    get interactive() {
      return process.stdin.isTTY === true && process.stdout.isTTY === true;
    },
  };
}

/** The value an action hands back to `run` (commander's actions return nothing useful). */
export interface RunState {
  exitCode: number;
}

export function resolveRoot(flag: string | undefined, env: Io['env']): string {
  if (flag === '') throw new UsageError('--root is empty: give the folder inetsrv is installed in');
  const root = flag ?? env['SERVICEPACK_ROOT'];
  if (root === undefined || root === '')
    throw new UsageError('no installation root: pass --root DIR or set SERVICEPACK_ROOT');
  return root;
}

/** Where the root came from, in words that say what to correct: the flag, or the environment. */
export function rootOrigin(flag: string | undefined): RootOrigin {
  return flag !== undefined
    ? { source: 'given with --root', fix: 'give --root the folder inetsrv is installed in' }
    : {
        source: 'from SERVICEPACK_ROOT',
        fix: 'set SERVICEPACK_ROOT to the folder inetsrv is installed in, or pass --root DIR',
      };
}

/**
 * resolveRoot, then the root judged before anything else is done (core's checkInstallationRoot):
 * a root that does not exist, is not a folder or holds no installation exits 7 with advice that
 * fits where it came from.
 */
export async function checkedRoot(flag: string | undefined, env: Io['env']): Promise<string> {
  const root = resolveRoot(flag, env);
  const { checkInstallationRoot } = await import('@servicepack/core/root');
  checkInstallationRoot(root, rootOrigin(flag));
  return root;
}

export interface FrontEndChoice {
  json: boolean;
  quiet: boolean;
  /**
   * the command draws a task list per target on a terminal (listr2, loaded only then) and writes
   * timestamped lines without one; otherwise plain lines
   */
  taskList?: boolean;
}

/** The one chooser of a command's front end (docs/cli.md "Front ends"). */
export async function chooseFrontEnd(io: Io, opts: FrontEndChoice): Promise<FrontEnd> {
  // Each renderer loads when it is chosen: a query loads only the one it writes with (docs/performance.md, item 20).
  if (opts.json)
    return new (await import('./reporters/json.js')).JsonReporter(io.out, io.err, opts.quiet, io.verbose === true);
  if (opts.taskList !== true)
    return new (await import('./reporters/plain.js')).PlainReporter({
      err: io.err,
      out: io.out,
      quiet: opts.quiet,
      env: io.env,
    });
  const { mayAskOperator } = await import('./interactive.js');
  // --verbose writes a line per file, which would tear the redrawn task list: lines instead
  if (mayAskOperator(io) && io.verbose !== true) {
    const { ListrFrontEnd } = await import('./reporters/listr.js');
    return new ListrFrontEnd(io, { quiet: opts.quiet });
  }
  const { LinesFrontEnd } = await import('./reporters/lines.js');
  return new LinesFrontEnd(io, opts.quiet);
}

/** Every failure of a command leaves through here: one JSON document or one error line, and its exit code. */
export function reportFailure(fe: FrontEnd, io: Io, e: unknown): number {
  const doc = errorDocument(e);
  fe.failure(doc);
  if (doc.code === 'E_UNEXPECTED' && wantsStack(io) && e instanceof Error && e.stack) io.err.write(stackLines(e.stack));
  else if (doc.code === 'E_UNEXPECTED' && fe.kind === 'plain')
    io.err.write('(run with --verbose, or set DEBUG=1, for the stack trace)\n');
  return doc.exitCode ?? EXIT.failed;
}

/** `--verbose` or DEBUG: the stack of an unexpected error goes to stderr. */
export function wantsStack(io: Io): boolean {
  return io.verbose === true || (io.env['DEBUG'] !== undefined && io.env['DEBUG'] !== '');
}

/** A command that would change something and was not confirmed (interactive.ts) is refused here: its exit code, or undefined to go on. */
export async function refuseUnconfirmed(
  command: 'install' | 'uninstall',
  flags: { unattended?: true; yes?: true; dryRun?: true; json?: true; quiet?: true },
  io: Io,
): Promise<number | undefined> {
  const { unconfirmed } = await import('./interactive.js');
  const message = unconfirmed(command, flags);
  if (message === undefined) return undefined;
  const { ServicepackError } = await import('@servicepack/core/errors');
  const fe = await chooseFrontEnd(io, { json: flags.json === true, quiet: flags.quiet === true });
  return reportFailure(fe, io, new ServicepackError('E_CONFIRMATION_REQUIRED', message));
}

/** A stack trace (--verbose, DEBUG) line by line: its first line is the message, names and all. */
export function stackLines(stack: string): string {
  return stack
    .split('\n')
    .map((l) => `${escapeControls(l)}\n`)
    .join('');
}
