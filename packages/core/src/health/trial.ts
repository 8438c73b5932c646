import { createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { BuildInfo } from '../installation/buildinfo.js';
import { serviceStatus, startService } from '../installation/service.js';
import type { HealthBlock } from './contract-rules.js';
import { probeTarget } from './conf.js';
import { httpProbe, type ProbeEvidence } from './probe.js';

/**
 * The health check of a service (docs/transactions.md §7 "Health check"): started (or found
 * running), probed over HTTP at the address its own configuration names, and found still running
 * `runningSeconds` after its start. The verdict and the evidence are data; the transaction decides
 * what they mean.
 */

export interface HealthCheckResult {
  passed: boolean;
  /** one sentence: what was found */
  summary: string;
  /** the BUILDINFO level checked */
  level: number;
  /**
   * `portTaken`: the start failed while another process held the address and port the
   * configuration names, a cause outside the new level (the old one could not start either)
   */
  started?: { pid?: number; message?: string; portTaken?: boolean };
  /** where the probe connected, and where the configuration said so */
  target?: { host: string; port: number; from: string };
  probe?: ProbeEvidence;
  /** the still-running check: after how many seconds from the start, which pid, alive or not */
  stillRunning?: { afterSeconds: number; pid?: number; running: boolean };
  ms: number;
}

export interface HealthCheckOptions {
  /** the probe's deadline instead of the contract's timeoutSeconds (--health-timeout) */
  timeoutSeconds?: number;
  /** told when the service was started, before the probe (a checkpoint of the transaction) */
  onStarted?: () => void | Promise<void>;
}

/** Whether another process listens on `target`: a bind test on the address the probe would use, released at once. */
function portTaken(target: { host: string; port: number }): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) => res(e.code === 'EADDRINUSE'));
    s.listen({ host: target.host, port: target.port, exclusive: true }, () => s.close(() => res(false)));
  });
}

/** The contract to check `bi` by: its own, or for a release that declares none, the other's (the same product). */
export function healthContract(bi: BuildInfo, fallback?: BuildInfo): HealthBlock | undefined {
  return bi.health ?? fallback?.health;
}

/**
 * Starts the service of `bi` (unless it runs already) and checks it. `contract` says how; the
 * still-running window counts from the moment the start was asked for.
 */
export async function checkService(
  root: string,
  bi: BuildInfo,
  contract: HealthBlock,
  opts: HealthCheckOptions = {},
): Promise<HealthCheckResult> {
  const t0 = Date.now();
  const result = (r: Omit<HealthCheckResult, 'ms' | 'level'>): HealthCheckResult => ({
    ...r,
    level: bi.level,
    ms: Date.now() - t0,
  });
  const before = await serviceStatus(root, bi);
  let pid = before.pid;
  if (!before.running) {
    const started = await startService(root, bi);
    if (!started.started) {
      const read = await probeTarget(root, contract.http);
      const taken = 'target' in read && (await portTaken(read.target));
      return result({
        passed: false,
        summary: `${bi.product} did not start (${started.message ?? 'no reason given'})${
          taken && 'target' in read ? `; another process holds ${read.target.host}:${read.target.port}` : ''
        }`,
        started: { ...(started.message !== undefined ? { message: started.message } : {}), portTaken: taken },
        ...('target' in read ? { target: read.target } : {}),
      });
    }
    pid = started.pid;
  }
  const started = pid !== undefined ? { pid } : {};
  await opts.onStarted?.();
  const read = await probeTarget(root, contract.http);
  if ('problem' in read)
    return result({ passed: false, summary: `the address to probe is unknown: ${read.problem}`, started });
  const target = read.target;
  const timeoutMs = (opts.timeoutSeconds ?? contract.timeoutSeconds) * 1000;
  const probe = await httpProbe({ host: target.host, port: target.port, path: contract.http.path, timeoutMs });
  const where = `http://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}${contract.http.path}`;
  if (!probe.passed)
    return result({
      passed: false,
      summary: `GET ${where} failed: ${probe.reason ?? 'no reason given'}`,
      started,
      target,
      probe,
    });
  // bounded by the contract (at most 300 s), and nothing to wait for once the window has passed
  const waitMs = t0 + contract.runningSeconds * 1000 - Date.now();
  if (waitMs > 0) await delay(waitMs);
  const now = await serviceStatus(root, bi);
  const running = now.running && (pid === undefined || now.pid === pid);
  const stillRunning = { afterSeconds: Math.round((Date.now() - t0) / 100) / 10, ...started, running };
  if (!running)
    return result({
      passed: false,
      summary: `${bi.product}${pid !== undefined ? ` (pid ${pid})` : ''} answered, but was no longer running ${stillRunning.afterSeconds} s after its start`,
      started,
      target,
      probe,
      stillRunning,
    });
  return result({
    passed: true,
    summary: `GET ${where} answered twice on one connection (${probe.exchanges.map((e) => e.status).join(', ')}) in ${probe.ms} ms, and ${bi.product} still ran after ${stillRunning.afterSeconds} s`,
    started,
    target,
    probe,
    stillRunning,
  });
}
