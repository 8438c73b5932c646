/**
 * The health probe and check (docs/transactions.md §7 "Health check"), against servers on loopback
 * that misbehave on purpose: one that accepts and never answers must not hold the probe past its
 * deadline, a redirect is recorded and never followed, a server that dies 2 s after its start is
 * caught by the still-running window, and the configuration file the probe reads is hostile input.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { HealthBlock } from '../../src/health/contract-rules.js';
import { healthBlockOk } from '../../src/health/contract-rules.js';
import { CONF_MAX_BYTES, probeTarget } from '../../src/health/conf.js';
import { httpProbe, isLocalAddress } from '../../src/health/probe.js';
import { checkService } from '../../src/health/trial.js';
import type { BuildInfo } from '../../src/installation/buildinfo.js';
import { BuildInfoSchema } from '../../src/installation/buildinfo.js';

const dirs: string[] = [];
const servers: Server[] = [];
const sockets = new Set<Socket>();
const pids: number[] = [];
after(async () => {
  for (const s of sockets) s.destroy();
  for (const s of servers) await new Promise((r) => s.close(r));
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A loopback server whose connections `onConnection` handles; resolves with its port. */
async function serve(onConnection: (s: Socket) => void, host = '127.0.0.1'): Promise<number> {
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    onConnection(s);
  });
  servers.push(server);
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(0, host, () => res());
  });
  return (server.address() as { port: number }).port;
}

/** Answers every request on a connection with `answer(n)` (n counts the requests of all connections). */
function answering(answer: (n: number) => string): (s: Socket) => void {
  let n = 0;
  return (s) => {
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        buf = buf.slice(end + 4);
        s.write(answer(++n));
      }
    });
  };
}

const ok = (body = 'hello') => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

describe('httpProbe', () => {
  test('a good server passes: two answers on one connection, the evidence says what was asked and what came', async () => {
    let connections = 0;
    const port = await serve((s) => {
      connections++;
      answering(() => ok())(s);
    });
    const e = await httpProbe({ host: '127.0.0.1', port, path: '/', timeoutMs: 3000 });
    assert.equal(e.passed, true, e.reason);
    assert.equal(connections, 1);
    assert.deepEqual(
      e.exchanges.map((x) => [x.request, x.sameConnection, x.status, x.statusLine]),
      [
        ['GET / HTTP/1.1', true, 200, 'HTTP/1.1 200 OK'],
        ['GET / HTTP/1.1', true, 200, 'HTTP/1.1 200 OK'],
      ],
    );
    assert.ok(e.exchanges.every((x) => x.bytes > 0 && x.ms >= 0));
  });

  test('chunked answers and an interim 100 are read to their end', async () => {
    const port = await serve(
      answering(
        () =>
          'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
      ),
    );
    const e = await httpProbe({ host: '127.0.0.1', port, path: '/', timeoutMs: 3000 });
    assert.equal(e.passed, true, e.reason);
  });

  test('a server that accepts and never answers: the probe ends within its timeout and says so', async () => {
    const port = await serve(() => {});
    const t0 = Date.now();
    const e = await httpProbe({ host: '127.0.0.1', port, path: '/', timeoutMs: 1000 });
    const took = Date.now() - t0;
    assert.equal(e.passed, false);
    assert.match(e.reason ?? '', /no answer came within 1000 ms/);
    assert.ok(took >= 950 && took < 2000, `ended after ${took} ms`);
    assert.equal(e.exchanges.length, 1);
  });

  test('a server that trickles an endless head is cut off at the deadline too', async () => {
    const port = await serve((s) => {
      s.write('HTTP/1.1 200 OK\r\n');
      const t = setInterval(() => s.write('X-Slow: 1\r\n'), 50);
      s.on('close', () => clearInterval(t));
    });
    const t0 = Date.now();
    const e = await httpProbe({ host: '127.0.0.1', port, path: '/', timeoutMs: 800 });
    assert.equal(e.passed, false);
    assert.ok(Date.now() - t0 < 1800);
    assert.match(e.reason ?? '', /answer did not end within 800 ms/);
  });

  test('a redirect to another host is recorded and not followed', async () => {
    let elsewhere = 0;
    const other = await serve(() => {
      elsewhere++;
    }, '127.0.0.2');
    const port = await serve(
      answering(() => `HTTP/1.1 302 Found\r\nLocation: http://127.0.0.2:${other}/\r\nContent-Length: 0\r\n\r\n`),
    );
    const e = await httpProbe({ host: '127.0.0.1', port, path: '/', timeoutMs: 2000 });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(elsewhere, 0, 'the probe never connected to where the redirect pointed');
    assert.equal(e.exchanges[0]?.location, `http://127.0.0.2:${other}/`);
    assert.equal(e.exchanges[0]?.status, 302);
    // an answer is an answer: the server works, wherever it sends browsers
    assert.equal(e.passed, true, e.reason);
  });

  test('a server that closes without an answer (the SP6 MaxConnections = 0 regression) fails at once', async () => {
    const port = await serve((s) => s.end());
    const t0 = Date.now();
    const e = await httpProbe({ host: '127.0.0.1', port, path: '/', timeoutMs: 5000 });
    assert.equal(e.passed, false);
    assert.match(e.reason ?? '', /(closed|reset) the connection without an answer/);
    assert.ok(Date.now() - t0 < 2000);
  });

  test('a server that answers once and closes fails: the second request has no connection', async () => {
    const port = await serve(answering(() => 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok'));
    const e = await httpProbe({ host: '127.0.0.1', port, path: '/', timeoutMs: 2000 });
    assert.equal(e.passed, false);
    assert.match(e.reason ?? '', /closes the connection after one answer/);
  });

  test('a 5xx answer fails; nothing listening is retried until the deadline, then fails', async () => {
    const port = await serve(answering(() => 'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n'));
    const e = await httpProbe({ host: '127.0.0.1', port, path: '/', timeoutMs: 2000 });
    assert.equal(e.passed, false);
    assert.match(e.reason ?? '', /503/);
    const closed = await serve(() => {});
    await new Promise((r) => servers.at(-1)?.close(r));
    const t0 = Date.now();
    const r = await httpProbe({ host: '127.0.0.1', port: closed, path: '/', timeoutMs: 600 });
    assert.equal(r.passed, false);
    assert.ok(r.attempts > 1, 'retried');
    assert.ok(Date.now() - t0 < 1500);
  });

  test('an address that is not this machine is refused without a connection', async () => {
    assert.equal(isLocalAddress('192.0.2.1'), false);
    assert.equal(isLocalAddress('127.0.0.1'), true);
    assert.equal(isLocalAddress('::1'), true);
    const e = await httpProbe({ host: '192.0.2.1', port: 80, path: '/', timeoutMs: 500 });
    assert.equal(e.passed, false);
    assert.equal(e.attempts, 0);
    assert.match(e.reason ?? '', /not an address of this machine/);
  });
});

const http: HealthBlock['http'] = {
  conf: 'conf/inetsrv.conf',
  addressKey: 'ListenAddress',
  portKey: 'Port',
  defaultAddress: '127.0.0.1',
  defaultPort: 8080,
  path: '/',
};

async function tree(conf?: string): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'sp-health-'));
  dirs.push(root);
  await mkdir(join(root, 'conf'), { recursive: true });
  if (conf !== undefined) await writeFile(join(root, 'conf', 'inetsrv.conf'), conf);
  return root;
}

describe('probeTarget: the installation configuration, read as the product reads it', () => {
  test('keys without regard to case, the last one wins, quotes and comments as inetsrv reads them', async () => {
    const root = await tree('# c\nport = 1\nLISTENADDRESS = "127.0.0.3"  # here\nPort = 8123\n');
    assert.deepEqual(await probeTarget(root, http), {
      target: { host: '127.0.0.3', port: 8123, from: 'conf/inetsrv.conf:3, :4' },
    });
  });

  test('no file: the product defaults; the unspecified address is probed on loopback', async () => {
    assert.deepEqual(await probeTarget(await tree(), http), {
      target: { host: '127.0.0.1', port: 8080, from: 'defaults (no configuration file)' },
    });
    const r = await probeTarget(await tree('ListenAddress = ::\n'), http);
    assert.ok('target' in r && r.target.host === '::1');
  });

  test('hostile files: a link, a FIFO, a huge file, a line the product refuses, a bad address or port', async () => {
    const linked = await tree();
    await symlink('/etc/passwd', join(linked, 'conf', 'inetsrv.conf'));
    const problem = async (root: string): Promise<string> => {
      const r = await probeTarget(root, http);
      assert.ok('problem' in r, JSON.stringify(r));
      return r.problem;
    };
    assert.match(await problem(linked), /symbolic link/);
    const fifo = await tree();
    execFileSync('mkfifo', [join(fifo, 'conf', 'inetsrv.conf')]);
    assert.match(await problem(fifo), /not a regular file/);
    const huge = await tree(`# ${'x'.repeat(CONF_MAX_BYTES)}\n`);
    assert.match(await problem(huge), /larger than/);
    assert.match(await problem(await tree('Port 80\n')), /:1 is not "Key = Value"/);
    assert.match(await problem(await tree('ListenAddress = evil.example\n')), /not an IP/);
    assert.match(await problem(await tree('Port = 99999\n')), /not a port number/);
    assert.match(await problem(await tree('Port = 0\n')), /cannot be probed/);
  });

  test('the health block: the schema and the schema-free check agree on hostile blocks', () => {
    const good = { http, timeoutSeconds: 10, runningSeconds: 3 };
    const bad = [
      { ...good, http: { ...http, conf: '../etc/passwd' } },
      { ...good, http: { ...http, conf: '/etc/inetsrv.conf' } },
      { ...good, http: { ...http, path: '/ HTTP/1.1\r\nHost: x' } },
      { ...good, http: { ...http, defaultAddress: 'localhost' } },
      { ...good, timeoutSeconds: 1e9 },
      { ...good, extra: 1 },
    ];
    assert.equal(healthBlockOk(good), true);
    const bi = JSON.parse(JSON.stringify(buildInfo(1)));
    assert.equal(BuildInfoSchema.safeParse({ ...bi, health: good }).success, true);
    for (const b of bad) {
      assert.equal(healthBlockOk(b), false, JSON.stringify(b));
      assert.equal(BuildInfoSchema.safeParse({ ...bi, health: b }).success, false, JSON.stringify(b));
    }
  });
});

/**
 * A stand-in for the product that serviceStatus accepts as this tree's server: node running
 * `<root>/bin/inetsrv`, its pid file written after it listens. `start` detaches it; with
 * `ExitAfter = <ms>` in its conf it exits that long after its start.
 */
const FAKE_SERVER = `#!${process.execPath}
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const root = path.resolve(__dirname, '..');
if (process.argv[2] === 'start') {
  spawn(process.execPath, [__filename, 'serve'], { cwd: root, detached: true, stdio: 'ignore' }).unref();
  process.exit(0);
}
const conf = fs.readFileSync(path.join(root, 'conf', 'inetsrv.conf'), 'utf8');
const port = Number(/^Port = (\\d+)$/m.exec(conf)[1]);
const exitAfter = /^ExitAfter = (\\d+)$/m.exec(conf);
net.createServer((s) => {
  s.on('error', () => {});
  s.on('data', () => s.write('HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok'));
}).listen(port, '127.0.0.1', () => {
  fs.mkdirSync(path.join(root, 'run'), { recursive: true });
  fs.writeFileSync(path.join(root, 'run', 'inetsrv.pid.tmp'), process.pid + '\\n');
  fs.renameSync(path.join(root, 'run', 'inetsrv.pid.tmp'), path.join(root, 'run', 'inetsrv.pid'));
  if (exitAfter) setTimeout(() => process.exit(0), Number(exitAfter[1]));
});
`;

function buildInfo(runningSeconds: number): BuildInfo {
  return {
    product: 'inetsrv',
    displayName: 'inetsrv',
    version: '4.0.0',
    level: 6,
    arch: 'x86',
    build: '1381.6',
    hotfixes: [],
    service: { pidFile: 'run/inetsrv.pid', start: ['bin/inetsrv', 'start'] },
    health: { http, timeoutSeconds: 5, runningSeconds },
  };
}

async function fakeProduct(extra = ''): Promise<string> {
  const port = await serve(() => {});
  await new Promise((r) => servers.at(-1)?.close(r));
  const root = await tree(`Port = ${port}\n${extra}`);
  await mkdir(join(root, 'bin'));
  await writeFile(join(root, 'bin', 'inetsrv'), FAKE_SERVER);
  await chmod(join(root, 'bin', 'inetsrv'), 0o755);
  return root;
}

async function pidIn(root: string): Promise<number | undefined> {
  const pid = Number((await readFile(join(root, 'run', 'inetsrv.pid'), 'utf8').catch(() => '')).trim());
  if (pid > 0) pids.push(pid);
  return pid > 0 ? pid : undefined;
}

describe('checkService: started, probed, still running', () => {
  test('a good server passes after the still-running window', async () => {
    const root = await fakeProduct();
    const bi = buildInfo(2);
    const r = await checkService(root, bi, bi.health as HealthBlock);
    await pidIn(root);
    assert.equal(r.passed, true, r.summary);
    assert.equal(r.stillRunning?.running, true);
    assert.ok((r.stillRunning?.afterSeconds ?? 0) >= 2);
    assert.equal(r.probe?.exchanges.length, 2);
  });

  test('a server that answers and exits 2 s after its start is caught by the still-running window', async () => {
    const root = await fakeProduct('ExitAfter = 2000\n');
    // the window outlasts the 2 s with room for a slow start of node on a busy machine
    const bi = buildInfo(5);
    const r = await checkService(root, bi, bi.health as HealthBlock);
    await pidIn(root);
    assert.equal(r.probe?.passed, true, 'it did answer the probe');
    assert.equal(r.passed, false);
    assert.equal(r.stillRunning?.running, false);
    assert.match(r.summary, /no longer running 5(\.\d)? s after its start/);
  });
});
