import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { BuildInfo } from './buildinfo.js';
import { ServicepackError } from './errors.js';
import { errnoCode } from './fsutil.js';
import { isAlive } from './open-transaction.js';
import { servicePathReason } from './record-check.js';

export { isAlive } from './open-transaction.js';

export interface ServiceStatus {
  running: boolean;
  pid?: number;
  pidFile: string;
}

function insideRoot(root: string, rel: string, what: string): string {
  const why = servicePathReason(rel);
  if (why !== undefined) {
    throw new ServicepackError('E_INVALID_BUILDINFO', `BUILDINFO.json: service.${what} ${JSON.stringify(rel)} points outside the installation (${why}): restore BUILDINFO.json from the release`, { [what]: rel });
  }
  return resolve(root, rel);
}

/**
 * A pid file outlives crashes and pids get reused, so a live pid alone does not prove it is our
 * server. Where /proc exists, the process's command line must name this installation's folder
 * (the server runs as `node <root>/...`); signalling some other process because of a stale file
 * would be worse than not stopping the service.
 */
async function runsFromRoot(pid: number, root: string): Promise<boolean> {
  let args: string[];
  try {
    args = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
  } catch {
    return !existsSync('/proc/self');
  }
  const real = await realpath(root).catch(() => root);
  // The server may rename itself (process.title = "inetsrv <root>"), which rewrites the whole
  // command line into that one string: each space-separated word is judged as well.
  const words = args.flatMap((a) => [a, ...a.split(' ')]);
  return [root, real].some((r) => args.some((a) => a.endsWith(` ${r}`)) || words.some((a) => a === r || a.startsWith(`${r}/`)));
}

export async function serviceStatus(root: string, buildInfo: BuildInfo): Promise<ServiceStatus> {
  const pidFile = insideRoot(root, buildInfo.service.pidFile, 'pidFile');
  let text: string;
  try {
    text = await readFile(pidFile, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return { running: false, pidFile };
    throw e;
  }
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isSafeInteger(pid) || pid <= 1 || pid === process.pid) return { running: false, pidFile };
  if (!isAlive(pid) || !(await runsFromRoot(pid, root))) return { running: false, pidFile };
  return { running: true, pid, pidFile };
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
    throw new ServicepackError('E_FAILED', `cannot stop ${buildInfo.product} (pid ${pid}): ${(e as Error).message}: stop it yourself (bin/inetsrv stop) and run again`, { pid }, { cause: e });
  }
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
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
export async function startService(root: string, buildInfo: BuildInfo, opts: StartOptions = {}): Promise<{ started: boolean; pid?: number; message?: string }> {
  const [cmd, ...args] = buildInfo.service.start;
  if (cmd === undefined) return { started: false, message: 'BUILDINFO.json names no start command' };
  const exe = cmd.includes('/') ? insideRoot(root, cmd, 'start') : cmd;
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
  if (exit.error) return { started: false, message: `cannot run ${buildInfo.service.start.join(' ')}: ${exit.error.message}` };
  if (exit.code !== 0) return { started: false, message: `${buildInfo.service.start.join(' ')} exited with ${exit.code}` };
  while (Date.now() <= deadline) {
    const s = await serviceStatus(root, buildInfo);
    if (s.running) return { started: true, ...(s.pid !== undefined ? { pid: s.pid } : {}) };
    await delay(100);
  }
  return { started: false, message: `${buildInfo.service.start.join(' ')} ran, but ${buildInfo.service.pidFile} names no running process` };
}
