/**
 * inetsrv against nginx (issue 20): wrk, 200 keep-alive connections, one small static file.
 *
 * - inetsrv-vs-nginx: requests per second of the newest release tree (every post-SP6a fix, access
 *   log on as shipped) against nginx with `worker_processes 1` serving the same wwwroot (access log
 *   on, sendfile on, its defaults otherwise); both single-threaded servers.
 * - inetsrv-vs-node-http-wrk (information): the same run against the minimal node:http server of
 *   inetsrv-rps, so the gap to nginx can be split into node's own and inetsrv's.
 * - inetsrv-cpu-per-request-vs-nginx (information): the server process's CPU time (user + system,
 *   /proc/PID/stat) per request answered in those runs, inetsrv against nginx's worker. On a shared
 *   machine throughput also measures how much of a core each server got; CPU per request does not.
 *
 * wrk runs with one thread: on a 2-core machine the server gets one core and the client the other.
 * Rounds are interleaved (inetsrv, nginx, node:http, inetsrv, …) and the medians compared. wrk and
 * nginx are installed from the distribution's packages when missing (scripts/ensure-tools.sh,
 * scripts/ensure-nginx.sh through test/support/nginx.ts); a missing tool fails the benchmark.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { newestReleaseTree, startTree } from '../test/support/inetsrv.js';
import { startNginx } from '../test/support/nginx.js';
import { log, main, median, quick, repoRoot, report, run } from './support/lib.js';
import { minimalServer, stopChild } from './support/minimal-server.js';

const PATH = '/index.html';
const CONNECTIONS = 200;

function ensureWrk(): void {
  const script = join(repoRoot, 'scripts', 'ensure-tools.sh');
  const r = spawnSync('sh', [script, 'inetsrv-nginx bench', 'wrk:wrk'], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0)
    throw new Error(`wrk is required and could not be installed by ${script} (exit ${r.status}):\n${r.stderr}`);
}

interface WrkResult {
  rps: number;
  requests: number;
  /** socket errors (connect, read, write, timeout) and non-2xx/3xx answers together */
  errors: number;
}

/** Clock ticks per second of /proc/PID/stat's times. */
function clockTicks(): number {
  const n = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
}

/** CPU seconds (user + system, all threads) a process has used so far. */
function cpuSeconds(pid: number, hz: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the command name (field 2) may hold spaces: count the fields after its closing parenthesis
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / hz;
}

/** nginx's one worker: the master's only child. */
function nginxWorker(prefix: string): number {
  const master = Number(readFileSync(join(prefix, 'nginx.pid'), 'utf8').trim());
  const children = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/);
  if (children.length !== 1 || !/^\d+$/.test(children[0] ?? ''))
    throw new Error(`nginx (pid ${master}) should have one worker, has: ${children.join(' ') || 'none'}`);
  return Number(children[0]);
}

async function wrk(url: string, seconds: number): Promise<WrkResult> {
  const r = await run('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, url]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(r.stdout)?.[1]);
  if (!Number.isFinite(rps) || !Number.isFinite(requests)) throw new Error(`wrk printed no result:\n${r.stdout}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(r.stdout);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1] ?? 0);
  const errors = (socket ? socket.slice(1).reduce((n, x) => n + Number(x), 0) : 0) + non2xx;
  return { rps, requests, errors };
}

await main(async () => {
  ensureWrk();
  const tree = newestReleaseTree('x86');
  const seconds = quick ? 2 : 5;
  const rounds = quick ? 1 : 5;
  const inetsrv = await startTree(tree);
  const nginx = await startNginx(join(tree, 'wwwroot'), { workerConnections: CONNECTIONS + 56 });
  const minimal = await minimalServer(join(tree, 'wwwroot', 'index.html'));
  try {
    const urls = {
      inetsrv: `http://127.0.0.1:${inetsrv.port}${PATH}`,
      nginx: `http://127.0.0.1:${nginx.port}${PATH}`,
      node: `http://127.0.0.1:${minimal.port}${PATH}`,
    };
    const hz = clockTicks();
    const pids = { inetsrv: inetsrv.pid, nginx: nginxWorker(nginx.prefix), node: minimal.child.pid ?? 0 };
    const cpu = { inetsrv: [] as number[], nginx: [] as number[], node: [] as number[] };
    // every server's code paths warm (and node's JIT done) before anything is counted
    for (const url of Object.values(urls)) await wrk(url, 1);
    const samples = { inetsrv: [] as number[], nginx: [] as number[], node: [] as number[] };
    for (let i = 0; i < rounds; i++) {
      const got: string[] = [];
      for (const name of ['inetsrv', 'nginx', 'node'] as const) {
        const cpu0 = cpuSeconds(pids[name], hz);
        const r = await wrk(urls[name], seconds);
        const usPerRequest = ((cpuSeconds(pids[name], hz) - cpu0) * 1e6) / r.requests;
        if (r.errors > 0) throw new Error(`${name}: ${r.errors} errors or non-2xx answers under load`);
        samples[name].push(r.rps);
        cpu[name].push(usPerRequest);
        got.push(`${name} ${r.rps.toFixed(0)} (${usPerRequest.toFixed(1)} µs CPU each)`);
      }
      log(`round ${i + 1}/${rounds} (${seconds} s, ${CONNECTIONS} connections): ${got.join(', ')} req/s`);
    }
    log(`inetsrv tree: ${basename(tree)}`);
    report(
      {
        name: 'inetsrv-vs-nginx',
        value: median(samples.inetsrv),
        unit: 'req/s',
        baseline: `nginx, 1 worker, same file (wrk -c${CONNECTIONS})`,
        baselineValue: median(samples.nginx),
        better: 'higher',
      },
      { min: 1.0 },
      { value: samples.inetsrv, baseline: samples.nginx },
    );
    report(
      {
        name: 'inetsrv-vs-node-http-wrk',
        value: median(samples.inetsrv),
        unit: 'req/s',
        baseline: `minimal node:http server, same bytes (wrk -c${CONNECTIONS})`,
        baselineValue: median(samples.node),
        better: 'higher',
      },
      undefined,
      { value: samples.inetsrv, baseline: samples.node },
    );
    report(
      {
        name: 'inetsrv-cpu-per-request-vs-nginx',
        value: median(cpu.inetsrv),
        unit: 'µs',
        baseline: "nginx's worker, CPU time (user + system) per request in the same rounds",
        baselineValue: median(cpu.nginx),
        better: 'lower',
      },
      undefined,
      { value: cpu.inetsrv, baseline: cpu.nginx },
    );
    log(`node:http CPU per request: ${cpu.node.map((x) => x.toFixed(1)).join(' ')} µs`);
  } finally {
    await stopChild(minimal.child);
    await nginx.stop();
    await inetsrv.dispose();
  }
});
