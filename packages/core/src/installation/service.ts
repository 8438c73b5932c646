import { spawn } from 'node:child_process';
import { constants, existsSync } from 'node:fs';
import { type FileHandle, open, readFile, readlink, realpath } from 'node:fs/promises';
import { endianness } from 'node:os';
import { basename, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { BuildInfo } from './buildinfo.js';
import { ServicepackError } from '../support/errors.js';
import type { WarningCode } from '../support/events.js';
import { errnoCode } from '../support/fsutil.js';
import { isAlive, ownerAlive, procStat } from '../transaction/open-transaction.js';
import { servicePathReason } from './record-paths.js';

export { isAlive } from '../transaction/open-transaction.js';

export interface ServiceStatus {
  running: boolean;
  pid?: number;
  pidFile: string;
  /** The server's start time (/proc/<pid>/stat field 22) when running: tells it from a later process with the same pid. */
  start?: string;
  /**
   * The pid file names a live process that could not be shown to be this installation's server,
   * or is not a file the server writes. Nothing is signalled or started because of it; callers
   * pass it on as a warning.
   */
  distrust?: PidFileDistrust;
}

export interface PidFileDistrust {
  /** W_FOREIGN_PID: a live process that is not (or cannot be shown to be) the server; W_PID_FILE: not a plain pid file. */
  code: Extract<WarningCode, 'W_FOREIGN_PID' | 'W_PID_FILE'>;
  message: string;
  pid?: number;
}

function insideRoot(root: string, rel: string, what: string): string {
  const why = servicePathReason(rel);
  if (why !== undefined) {
    throw new ServicepackError(
      'E_INVALID_BUILDINFO',
      `BUILDINFO.json: service.${what} ${JSON.stringify(rel)} points outside the installation (${why}): restore BUILDINFO.json from the release`,
      { [what]: rel },
    );
  }
  return resolve(root, rel);
}

/** The server writes `<pid>\n` (temp file + rename); the content rule is the product's own (inetsrv pidfile.ts readPid). */
const PID_FILE_MAX_BYTES = 64;
const PID_TEXT = /^\s*(\d{1,10})\s*$/;
/** Linux's PID_MAX_LIMIT. */
const PID_MAX = 4_194_304;

type PidFileRead = { pid: number; mtimeMs: number; uid: number } | { problem: string };

/**
 * The pid file, read as hostile input: never through a link, only a plain file, only a few bytes.
 * Undefined when it names no process (absent, or not a pid: the server then simply writes a new one).
 */
async function readPidFile(path: string): Promise<PidFileRead | undefined> {
  let fh: FileHandle;
  try {
    // O_NONBLOCK: a FIFO put there must not hang the installer on open
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if (code === 'ELOOP') return { problem: 'is a symbolic link' };
    throw e;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return { problem: 'is not a regular file' };
    // the server renames a fresh file into place: a second name means someone linked a file here
    if (st.nlink !== 1) return { problem: `has ${st.nlink} hard links` };
    const buf = Buffer.alloc(PID_FILE_MAX_BYTES + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const m = bytesRead <= PID_FILE_MAX_BYTES ? PID_TEXT.exec(buf.toString('latin1', 0, bytesRead)) : null;
    const pid = m ? Number(m[1]) : 0;
    return pid < 2 || pid > PID_MAX ? undefined : { pid, mtimeMs: st.mtimeMs, uid: st.uid };
  } finally {
    await fh.close();
  }
}

/** The title the server gives itself (inetsrv cli.ts, every level since RTM): `process.title = \`inetsrv ${treeRoot}\``. */
const TITLE_PREFIX = 'inetsrv ';
/** The entry points a server is started through (docs/internal-contracts.md): bin/inetsrv, or lib/cli.js as `start --detach` runs it. */
const ENTRY_POINTS = ['bin/inetsrv', 'lib/cli.js'];
/** node as distributions and version managers name it: node, nodejs, node20, node-20, node20.11. */
const NODE_EXE = /^node(js)?([-.]?\d+(\.\d+)*)?$/;
/**
 * Boot time (/proc/stat btime) has whole seconds and moves when the clock is stepped; the file's
 * mtime is the coarse clock. A pid file older than its process by more than this was not written
 * by it: the pid was reused after the server died.
 */
const START_SLACK_MS = 2000;
/** AT_CLKTCK in the auxiliary vector: the unit of /proc/<pid>/stat start times (sysconf(_SC_CLK_TCK)). */
const AT_CLKTCK = 17n;

let clockTicks: number | undefined;

async function ticksPerSecond(): Promise<number> {
  if (clockTicks !== undefined) return clockTicks;
  clockTicks = 100; // USER_HZ on every Linux architecture Node runs on, should auxv not tell
  try {
    const auxv = await readFile('/proc/self/auxv');
    const wide =
      auxv.length % 16 === 0 &&
      ['x64', 'arm64', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64el'].includes(process.arch);
    const size = wide ? 8 : 4;
    const word = (at: number): bigint =>
      wide
        ? endianness() === 'LE'
          ? auxv.readBigUInt64LE(at)
          : auxv.readBigUInt64BE(at)
        : BigInt(endianness() === 'LE' ? auxv.readUInt32LE(at) : auxv.readUInt32BE(at));
    for (let at = 0; at + 2 * size <= auxv.length; at += 2 * size) {
      if (word(at) === AT_CLKTCK) {
        const hz = Number(word(at + size));
        if (hz > 0) clockTicks = hz;
        break;
      }
    }
  } catch {
    // keep USER_HZ
  }
  return clockTicks;
}

/** When the process started, in ms since the epoch, from its start time in ticks since boot. */
async function startedAtMs(ticks: string): Promise<number | undefined> {
  const btime = /^btime (\d+)$/m.exec(await readFile('/proc/stat', 'utf8').catch(() => ''))?.[1];
  if (btime === undefined) return undefined;
  return (Number(btime) + Number(ticks) / (await ticksPerSecond())) * 1000;
}

/**
 * Whether a /proc/<pid>/cmdline is the server of this root: either node running the tree's entry
 * point (`node <root>/bin/inetsrv …`), or the title the server sets as soon as it listens, before
 * it writes the pid file. libuv writes a title over the original arguments, cut to fit and padded
 * with NULs, so that rendering is compared byte for byte; a cut title leaves the root unproven,
 * and then the working folder (the relative path the short command line used starts from inside
 * the tree; the server never changes folder) must be in the tree.
 */
async function commandLineIsServer(pid: number, cmdline: Buffer, roots: readonly string[]): Promise<boolean> {
  const end0 = cmdline.indexOf(0);
  const end1 = end0 < 0 ? -1 : cmdline.indexOf(0, end0 + 1);
  const script = end1 < 0 ? undefined : cmdline.subarray(end0 + 1, end1);
  for (const r of roots) {
    if (script && ENTRY_POINTS.some((e) => script.equals(Buffer.from(`${r}/${e}`)))) return true;
    const title = Buffer.from(`${TITLE_PREFIX}${r}`);
    const kept = Math.min(title.length, cmdline.length - 1);
    if (
      kept <= TITLE_PREFIX.length ||
      !cmdline.subarray(0, kept).equals(title.subarray(0, kept)) ||
      cmdline.subarray(kept).some((b) => b !== 0)
    )
      continue;
    if (kept === title.length) return true;
    const cwd = await realpath(`/proc/${pid}/cwd`).catch(() => undefined);
    if (cwd !== undefined && roots.some((root) => cwd === root || cwd.startsWith(`${root}/`))) return true;
  }
  return false;
}

/**
 * Why the live process `pid` named by the pid file is not this installation's server, or
 * undefined when it is. A pid file outlives crashes, pids get reused, and whoever can write the
 * file can name any process: signalling a stranger would be worse than not stopping the service.
 * So the process must run node (/proc/<pid>/exe), run this tree's server (its command line), have
 * started before the file was written, and run as the user who owns the file (the server writes
 * it itself). Its working folder proves nothing on its own: the server never depends on it.
 */
async function notOurServer(
  pid: number,
  start: string,
  root: string,
  file: { mtimeMs: number; uid: number },
): Promise<string | undefined> {
  const exe = await readlink(`/proc/${pid}/exe`).catch(() => undefined);
  if (exe === undefined) return 'its program cannot be read';
  if (!NODE_EXE.test(basename(exe.replace(/ \(deleted\)$/, '')))) return 'its program is not node';
  const real = await realpath(root).catch(() => root);
  const roots = [...new Set([resolve(root), real])];
  const cmdline = await readFile(`/proc/${pid}/cmdline`).catch(() => Buffer.alloc(0));
  if (!(await commandLineIsServer(pid, cmdline, roots))) return `its command line does not run ${roots[0]}/bin/inetsrv`;
  const uid = /^Uid:\s+\d+\s+\d+\s+\d+\s+(\d+)$/m.exec(
    await readFile(`/proc/${pid}/status`, 'utf8').catch(() => ''),
  )?.[1];
  if (uid === undefined || Number(uid) !== file.uid)
    return `the pid file belongs to uid ${file.uid}, the process runs as uid ${uid ?? 'unknown'}`;
  const started = await startedAtMs(start);
  if (started === undefined || file.mtimeMs < started - START_SLACK_MS)
    return 'it started after the pid file was written (the pid was reused)';
  return undefined;
}

/** What to call the process in a message: its command name, escaped (it chose the name itself). */
async function programName(pid: number): Promise<string> {
  const comm = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).replace(/\n$/, '');
  return comm === ''
    ? 'unknown program'
    : comm.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Whether a restart the state record notes as pending (`restartPending`) has happened. The note is
 * only made when servicepack had stopped the server and it was not started again, so this
 * installation's server running now (as serviceStatus identifies it: its pid file, its program,
 * its owner, its start time against the file's) was started after the note.
 */
export function restartDone(status: ServiceStatus): boolean {
  return status.running;
}

export async function serviceStatus(root: string, buildInfo: BuildInfo): Promise<ServiceStatus> {
  const pidFile = insideRoot(root, buildInfo.service.pidFile, 'pidFile');
  const product = buildInfo.product;
  const read = await readPidFile(pidFile);
  if (read === undefined) return { running: false, pidFile };
  if ('problem' in read) {
    const message = `the pid file ${pidFile} ${read.problem}, which ${product} never writes: nothing is stopped or started because of it; remove it (if ${product} is running, stop it yourself first: bin/inetsrv stop)`;
    return { running: false, pidFile, distrust: { code: 'W_PID_FILE', message } };
  }
  const { pid } = read;
  if (pid === process.pid || !isAlive(pid)) return { running: false, pidFile };
  if (!existsSync('/proc/self/stat')) {
    // Without /proc nothing can be shown: the running state is unknown, and nothing is signalled.
    const message = `the pid file ${pidFile} names pid ${pid}, a live process servicepack cannot identify without /proc: it is neither stopped nor started; if it is ${product}, stop it yourself (bin/inetsrv stop) and run again, otherwise remove ${pidFile}`;
    return { running: false, pidFile, distrust: { code: 'W_FOREIGN_PID', message, pid } };
  }
  const stat = await procStat(pid);
  // gone meanwhile, or a zombie: it has exited, only its parent has not collected it yet
  if (stat === undefined || stat.state === 'Z') return { running: false, pidFile };
  const why = await notOurServer(pid, stat.start, root, read);
  if (why === undefined) return { running: true, pid, pidFile, start: stat.start };
  const message = `the pid file ${pidFile} names pid ${pid} (${await programName(pid)}), not ${product} of this installation (${why}): it is neither stopped nor started; remove ${pidFile} if ${product} is not running, or stop ${product} yourself (bin/inetsrv stop)`;
  return { running: false, pidFile, distrust: { code: 'W_FOREIGN_PID', message, pid } };
}

export interface StopOptions {
  timeoutMs?: number;
}

/** SIGTERM lets the server drain (graceful stop); we wait for the process to be gone, bounded. */
export async function stopService(root: string, buildInfo: BuildInfo, opts: StopOptions = {}): Promise<ServiceStatus> {
  const status = await serviceStatus(root, buildInfo);
  if (!status.running || status.pid === undefined) return status;
  const pid = status.pid;
  const timeoutMs = opts.timeoutMs ?? 15_000;
  try {
    process.kill(pid, 'SIGTERM');
  } catch (e) {
    if (errnoCode(e) === 'ESRCH') return status;
    throw new ServicepackError(
      'E_FAILED',
      `cannot stop ${buildInfo.product} (pid ${pid}): ${(e as Error).message}: stop it yourself (bin/inetsrv stop) and run again`,
      { pid },
      { cause: e },
    );
  }
  const deadline = Date.now() + timeoutMs;
  // gone, or its pid already taken by a later process
  while (await ownerAlive({ pid, ...(status.start !== undefined ? { start: status.start } : {}) })) {
    if (Date.now() > deadline) {
      throw new ServicepackError(
        'E_FAILED',
        `${buildInfo.product} (pid ${pid}) did not stop within ${Math.round(timeoutMs / 1000)} s: nothing was changed; stop it yourself (bin/inetsrv stop) and run again`,
        { pid },
      );
    }
    await delay(50);
  }
  return status;
}

export interface StartOptions {
  timeoutMs?: number;
}

/**
 * Runs BUILDINFO.service.start from the root, detached so the server outlives us. Success means the
 * pid file then names a live process; anything else is reported, not thrown: the update itself is
 * already committed, only the restart is missing (exit 10).
 */
export async function startService(
  root: string,
  buildInfo: BuildInfo,
  opts: StartOptions = {},
): Promise<{ started: boolean; pid?: number; message?: string }> {
  const [cmd, ...args] = buildInfo.service.start;
  if (cmd === undefined) return { started: false, message: 'BUILDINFO.json names no start command' };
  const exe = cmd.includes('/') ? insideRoot(root, cmd, 'start') : cmd;
  // A stranger named by the pid file may be the server nobody can prove: never a second one beside it.
  const distrust = (await serviceStatus(root, buildInfo)).distrust;
  if (distrust !== undefined) return { started: false, message: distrust.message };
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  const exit = await new Promise<{ code: number | null; error?: Error }>((res) => {
    const child = spawn(exe, args, { cwd: root, detached: true, stdio: 'ignore' });
    let settled = false;
    const timer = setTimeout(() => {
      // A start command that does not return: it may be the server itself running in the
      // foreground, so it is left running and judged by the pid file below.
      if (!settled) {
        settled = true;
        child.unref();
        res({ code: 0 });
      }
    }, timeoutMs);
    child.once('error', (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      res({ code: null, error });
    });
    child.once('exit', (code) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      res({ code });
    });
  });
  if (exit.error)
    return { started: false, message: `cannot run ${buildInfo.service.start.join(' ')}: ${exit.error.message}` };
  if (exit.code !== 0)
    return { started: false, message: `${buildInfo.service.start.join(' ')} exited with ${exit.code}` };
  while (Date.now() <= deadline) {
    const s = await serviceStatus(root, buildInfo);
    if (s.running) return { started: true, ...(s.pid !== undefined ? { pid: s.pid } : {}) };
    await delay(100);
  }
  return {
    started: false,
    message: `${buildInfo.service.start.join(' ')} ran, but ${buildInfo.service.pidFile} names no running process`,
  };
}
