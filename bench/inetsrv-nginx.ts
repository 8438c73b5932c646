/**
 * inetsrv against nginx (issue 20): wrk, 200 keep-alive connections, one small static file.
 *
 * - inetsrv-vs-nginx: requests per second of the newest release tree (every post-SP6a fix, access
 *   log on as shipped) against nginx with `worker_processes 1` serving the same wwwroot (access log
 *   on, sendfile on, its defaults otherwise); both single-threaded servers.
 * - inetsrv-vs-node-http-wrk (information): the same run against the minimal node:http server of
 *   inetsrv-rps, so the gap to nginx can be split into node's own and inetsrv's.
 *
 * wrk runs with one thread: on a 2-core machine the server gets one core and the client the other.
 * Rounds are interleaved (inetsrv, nginx, node:http, inetsrv, …) and the medians compared. wrk and
 * nginx are installed from the distribution's packages when missing (scripts/ensure-tools.sh,
 * scripts/ensure-nginx.sh through test/support/nginx.ts); a missing tool fails the benchmark.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { newestReleaseTree, startTree } from '../test/support/inetsrv.js';
import { startNginx } from '../test/support/nginx.js';
import { log, main, median, quick, repoRoot, report, run } from './support/lib.js';

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

async function minimalServer(file: string): Promise<{ child: ChildProcess; port: number }> {
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

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
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
    // every server's code paths warm (and node's JIT done) before anything is counted
    for (const url of Object.values(urls)) await wrk(url, 1);
    const samples = { inetsrv: [] as number[], nginx: [] as number[], node: [] as number[] };
    for (let i = 0; i < rounds; i++) {
      const got: string[] = [];
      for (const name of ['inetsrv', 'nginx', 'node'] as const) {
        const r = await wrk(urls[name], seconds);
        if (r.errors > 0) throw new Error(`${name}: ${r.errors} errors or non-2xx answers under load`);
        samples[name].push(r.rps);
        got.push(`${name} ${r.rps.toFixed(0)}`);
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
  } finally {
    await stopChild(minimal.child);
    await nginx.stop();
    await inetsrv.dispose();
  }
});
