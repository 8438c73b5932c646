/**
 * A product installation that runs its own server, as the service and health-check tests use one:
 * a free loopback port for its conf, the server's answer, and its pid. Every pid read here is
 * remembered, so a suite's `after` (killSites) stops what a failing test left running: a server
 * outlives the test process otherwise.
 */
import { readFile } from 'node:fs/promises';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { isAlive } from '../../packages/core/src/installation/service.js';

const seen = new Set<number>();

/** A loopback port free at the time of asking (the kernel's choice, released at once). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** The Server header of `GET /` on 127.0.0.1:`port` (which level answers); rejects after 5 s without an answer. */
export function serverHeader(port: number): Promise<string | undefined> {
  return new Promise((res, rej) => {
    const req = get({ host: '127.0.0.1', port, path: '/', agent: false }, (r) => {
      r.resume();
      const h = r.headers['server'];
      r.on('end', () => res(Array.isArray(h) ? h.join(', ') : h));
    });
    req.on('error', rej);
    req.setTimeout(5000, () => req.destroy(new Error('no answer within 5 s')));
  });
}

/** The pid in the site's run/inetsrv.pid when that process is alive; every pid read is remembered for killSites. */
export async function sitePid(root: string): Promise<number | undefined> {
  const pid = Number((await readFile(join(root, 'run', 'inetsrv.pid'), 'utf8').catch(() => '')).trim());
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  seen.add(pid);
  return isAlive(pid) ? pid : undefined;
}

/** SIGKILL to every server pid read through sitePid (for a suite's `after`). */
export function killSites(): void {
  for (const pid of seen) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  seen.clear();
}
