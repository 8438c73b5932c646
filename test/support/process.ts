/**
 * One way for the tests to run a program to completion: stdin closed, stdout and stderr collected,
 * killed after a bounded time (a kill shows as `signal`, never as an exception).
 */
import { type ChildProcess, spawn } from 'node:child_process';

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
  ms: number;
}

export interface RunOptions {
  /** the child's whole environment (nothing of the test runner's is added) */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /**
   * The child leads its own process group and a timeout kills the group: for programs that fork
   * workers of their own (ansible's forks and ssh control masters).
   */
  group?: boolean;
  /** called with each stderr chunk as it arrives (a fault trace) and the child, e.g. to kill it */
  onStderr?: (text: string, child: ChildProcess) => void;
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<Run> {
  const t0 = performance.now();
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: opts.group === true,
    });
    let out = '';
    let err = '';
    const timer = setTimeout(
      () => (opts.group ? killGroup(child.pid) : child.kill('SIGKILL')),
      opts.timeoutMs ?? 60_000,
    );
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      opts.onStderr?.(d, child);
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      rej(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, out, err, ms: Math.round(performance.now() - t0) });
    });
  });
}

/** SIGKILL to process group `pid` (the process alone when it leads none). */
export function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
}
