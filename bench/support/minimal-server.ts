/**
 * The baseline server of the inetsrv benchmarks: bench/support/minimal-http.mjs in its own process,
 * sending one file's bytes, so its CPU and file descriptors are its own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './lib.js';

/** Starts the minimal node:http server for `file`; resolves with the port it printed. */
export async function minimalServer(file: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [join(repoRoot, 'bench', 'support', 'minimal-http.mjs'), file, 'text/html'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((res, rej) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) res(Number(out.trim()));
    });
    child.once('exit', (code) => rej(new Error(`minimal server exited ${code}`)));
  });
  return { child, port };
}

/** SIGTERM, then waits for the exit (nothing when it has already gone). */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
}
