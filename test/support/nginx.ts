/**
 * A real web server for the feed tests: nginx, started by the test on a free loopback port with its
 * own prefix, config, logs and pid file in a temp folder, in the foreground, and stopped in the
 * test's finally. When nginx is missing it is installed by scripts/ensure-nginx.sh (CI runs the
 * suite as root on a fresh machine); if that fails the test fails with the reason, never skips.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { repoRoot } from './inetsrv.js';

const CANDIDATES = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx', '/usr/bin/nginx'];

function findNginx(): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, 'nginx'))) return join(dir, 'nginx');
  }
  return CANDIDATES.find((p) => existsSync(p));
}

let cached: string | undefined;

/** The nginx binary; installs it with scripts/ensure-nginx.sh when missing, or throws saying why not. */
export function ensureNginx(): string {
  if (cached) return cached;
  let bin = findNginx();
  if (!bin) {
    const script = join(repoRoot, 'scripts', 'ensure-nginx.sh');
    const r = spawnSync('sh', [script], { encoding: 'utf8', timeout: 600_000 });
    bin = findNginx();
    if (!bin) {
      throw new Error(
        `nginx is required for the feed-over-HTTP tests and could not be installed by ${script} (exit ${r.status}${r.error ? `, ${r.error.message}` : ''}):\n${r.stderr.slice(-2000)}\n` +
          'Install it (apt-get install -y nginx-light, or nginx) or run the tests as root so the script can.',
      );
    }
  }
  cached = bin;
  return bin;
}

/** A port nobody listens on right now (the kernel's choice); nginx retries on the rare collision. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface Nginx {
  /** http://127.0.0.1:PORT/ */
  readonly url: string;
  readonly port: number;
  /** the document root it serves */
  readonly docRoot: string;
  /** the temp prefix: nginx.conf, logs, pid, temp folders */
  readonly prefix: string;
  errorLog(): string;
  accessLog(): string;
  stop(): Promise<void>;
}

/** Modules whose temp-path directive exists only when the module was compiled in. */
function tempPathDirectives(bin: string, prefix: string): string[] {
  // `nginx -V` prints the configure arguments on stderr
  const r = spawnSync(bin, ['-V'], { encoding: 'utf8' });
  const configure = `${r.stderr ?? ''}${r.stdout ?? ''}`;
  const lines = [`client_body_temp_path ${prefix}/tmp/body;`];
  for (const m of ['proxy', 'fastcgi', 'uwsgi', 'scgi']) {
    if (!configure.includes(`--without-http_${m}_module`)) lines.push(`${m}_temp_path ${prefix}/tmp/${m};`);
  }
  return lines;
}

function config(
  prefix: string,
  docRoot: string,
  port: number,
  bin: string,
  http: readonly string[],
  workerConnections: number,
): string {
  const asRoot = process.getuid?.() === 0;
  return [
    // As root the workers would switch to "nobody" and could not read a 0700 temp folder.
    ...(asRoot ? ['user root;'] : []),
    'worker_processes 1;',
    `error_log ${prefix}/error.log info;`,
    `pid ${prefix}/nginx.pid;`,
    `events { worker_connections ${workerConnections}; }`,
    'http {',
    `  access_log ${prefix}/access.log;`,
    ...tempPathDirectives(bin, prefix).map((l) => `  ${l}`),
    '  types { application/json json; application/gzip tgz; application/octet-stream sig; text/html html; }',
    '  default_type application/octet-stream;',
    '  sendfile on;',
    ...http.map((l) => `  ${l}`),
    '  server {',
    `    listen 127.0.0.1:${port};`,
    '    server_name localhost;',
    `    root ${docRoot};`,
    '    location / { try_files $uri =404; }',
    '  }',
    '}',
    '',
  ].join('\n');
}

function waitReady(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        reject(new Error(`nginx exited (${child.exitCode ?? child.signalCode})`));
        return;
      }
      const req = httpRequest({ host: '127.0.0.1', port, path: '/', method: 'HEAD', timeout: 500 }, (res) => {
        res.resume();
        resolve();
      });
      req.on('error', () => {
        if (Date.now() > deadline)
          reject(new Error(`nginx did not answer on 127.0.0.1:${port} within ${timeoutMs} ms`));
        else setTimeout(attempt, 50);
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end();
    };
    attempt();
  });
}

/**
 * Starts nginx in the foreground serving `docRoot` on a free loopback port. `http` adds directives
 * to the http block (e.g. timeouts), after the defaults; `workerConnections` (default 64) bounds the
 * one worker's connections, listening socket included.
 */
export async function startNginx(
  docRoot: string,
  { http = [], workerConnections = 64 }: { http?: readonly string[]; workerConnections?: number } = {},
): Promise<Nginx> {
  const bin = ensureNginx();
  const prefix = await mkdtemp(join(tmpdir(), 'sp-nginx-'));
  mkdirSync(join(prefix, 'tmp'), { recursive: true });
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    writeFileSync(join(prefix, 'nginx.conf'), config(prefix, docRoot, port, bin, http, workerConnections));
    // detached: its own process group, so the worker goes down with the master whatever happens
    const child = spawn(
      bin,
      ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'error.log'), '-g', 'daemon off;'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        detached: true,
      },
    );
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      await waitReady(port, child, 5000);
    } catch (e) {
      killGroup(child, 'SIGKILL');
      await exited;
      const log = existsSync(join(prefix, 'error.log')) ? readFileSync(join(prefix, 'error.log'), 'utf8') : '';
      lastError = `${(e as Error).message}\n${stderr}\n${log.slice(-2000)}`;
      if (/Address already in use/.test(lastError)) continue;
      break;
    }
    const stop = async (): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) {
        killGroup(child, 'SIGTERM');
        const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      await rm(prefix, { recursive: true, force: true });
    };
    return {
      url: `http://127.0.0.1:${port}/`,
      port,
      docRoot,
      prefix,
      errorLog: () => (existsSync(join(prefix, 'error.log')) ? readFileSync(join(prefix, 'error.log'), 'utf8') : ''),
      accessLog: () => (existsSync(join(prefix, 'access.log')) ? readFileSync(join(prefix, 'access.log'), 'utf8') : ''),
      stop,
    };
  }
  await rm(prefix, { recursive: true, force: true });
  throw new Error(`could not start nginx (${bin}) on a loopback port:\n${lastError}`);
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

export interface ProxiedRequest {
  url: string;
  range: string | undefined;
  status: number;
  /** body bytes passed on to the client */
  sent: number;
  cut: boolean;
}

export interface CuttingProxy {
  readonly url: string;
  readonly requests: ProxiedRequest[];
  close(): Promise<void>;
}

/**
 * A loopback proxy in front of nginx that breaks the first download of `path` after `cutAfter`
 * body bytes (the connection is destroyed, as a dropped network would), and passes every other
 * request, Range included, through unchanged. It records what each request asked for.
 */
export async function startCuttingProxy(
  upstreamPort: number,
  opts: { path: string; cutAfter: number },
): Promise<CuttingProxy> {
  const requests: ProxiedRequest[] = [];
  let cutDone = false;
  const server = createServer((req, res) => {
    const entry: ProxiedRequest = { url: req.url ?? '', range: req.headers.range, status: 0, sent: 0, cut: false };
    requests.push(entry);
    const headers: IncomingHttpHeaders = { ...req.headers, host: `127.0.0.1:${upstreamPort}` };
    const up = httpRequest(
      { host: '127.0.0.1', port: upstreamPort, path: req.url, method: req.method, headers },
      (upRes) => {
        entry.status = upRes.statusCode ?? 0;
        res.writeHead(entry.status, upRes.headers);
        const cutHere = !cutDone && req.url === opts.path && entry.status === 200;
        if (cutHere) cutDone = true;
        upRes.on('data', (chunk: Buffer) => {
          if (entry.cut) return;
          if (cutHere && entry.sent + chunk.length >= opts.cutAfter) {
            const part = chunk.subarray(0, opts.cutAfter - entry.sent);
            entry.sent += part.length;
            entry.cut = true;
            res.write(part, () => {
              // give the bytes a moment to leave, then drop the connection mid-body
              setTimeout(() => res.socket?.destroy(), 20);
            });
            upRes.destroy();
            return;
          }
          entry.sent += chunk.length;
          res.write(chunk);
        });
        upRes.on('end', () => {
          if (!entry.cut) res.end();
        });
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
