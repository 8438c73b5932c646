/**
 * The post-SP6a timeouts side by side with nginx (issue 17: "checked ... by a comparison with nginx
 * for the timeouts"). nginx (test/support/nginx.ts), the newest inetsrv release tree and SP6a serve
 * the same folder on loopback, all with the same short timeouts, and get the same hostile clients at
 * once:
 *
 * - body-silent: "POST /index.html" announcing Content-Length 60000, three bytes of it, then silence;
 * - body-drip: the same head, then one body byte every 250 ms (every byte restarts a timer between
 *   reads, so only a bound on the whole body ends it);
 * - unread: "GET /big.bin" of a file far larger than loopback's socket buffers, never read.
 *
 * The settings compared: inetsrv's RequestBodyTimeout (Q247318: the request is answered at once, the
 * whole body must arrive within it) and SendTimeout (Q248395: no progress while the client does not
 * read). nginx serves a static file without reading the body either: it answers 405 and discards
 * the body, bounded by lingering_time (the whole discard) and lingering_timeout (between reads);
 * client_body_timeout bounds bodies nginx reads itself, set too so that nothing of nginx's runs on a
 * default. send_timeout is nginx's SendTimeout (between two successful writes).
 *
 * The server's close is read from the kernel (`ss`): the server's side of the connection leaves
 * ESTABLISHED (FIN-WAIT-1 even while unsent data is still queued, as for the unread response). The
 * newest tree must close every connection within the timeout plus a margin, as nginx does, and answer
 * the POST before its body (like nginx); SP6a must still hold each connection after the window and
 * leave the POST unanswered (the defects). Trees before the fixes ignore the new keys with a warning.
 *
 * For the unread response both servers count the timeout from the last bytes that left for the
 * client. inetsrv looks at a pending response every quarter of SendTimeout, so it may close up to a
 * quarter later than nginx; that is within the margin, and the bound is the same for both. (It was
 * not while SendTimeout was the socket's inactivity timer: Node's net.Socket._onTimeout lets an
 * expiry pass when the pending write has shrunk since it started, so a stall was cut only at
 * 2 × SendTimeout.)
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  delay,
  newestReleaseTree,
  parseResponses,
  releaseTree,
  type RunningServer,
  startTree,
} from './support/inetsrv.js';
import { type Nginx, startNginx } from './support/nginx.js';

const TIMEOUT_S = 2;
/** Closed within the timeout plus this; a server still holding the connection then has no such timeout. */
const MARGIN_MS = 1500;
/** By when every server must have closed every connection, whatever the scenario. */
const WINDOW_MS = TIMEOUT_S * 1000 + MARGIN_MS;
/** How long every connection is watched: past the window, so that "still open" is seen, not guessed. */
const OBSERVE_MS = WINDOW_MS + 1000;
const POLL_MS = 100;
const DRIP_EVERY_MS = 250;
/** Far above what loopback's send and receive buffers hold together (a few MB each). */
const BIG = 48 * 1024 * 1024;
const BODY_HEAD = 'POST /index.html HTTP/1.1\r\nHost: localhost\r\nContent-Length: 60000\r\n\r\n';

type Scenario = 'body-silent' | 'body-drip' | 'unread';
const SCENARIOS: readonly Scenario[] = ['body-silent', 'body-drip', 'unread'];

interface Observed {
  /** From the request's write to the first complete response head; undefined if none came. */
  answeredAfterMs: number | undefined;
  status: number | undefined;
  /** From the request's write until the server's side left ESTABLISHED; undefined while still open. */
  closedAfterMs: number | undefined;
}

/** Server-side state of each connection on the given ports, keyed "serverPort/clientPort". */
function serverStates(ports: readonly number[]): Promise<Map<string, string>> {
  const filter = `( ${ports.map((p) => `sport = :${p}`).join(' or ')} )`;
  return new Promise((res, rej) => {
    execFile('ss', ['-Htan', filter], (error, stdout) => {
      // Without ss there is nothing to compare: fail, never skip.
      if (error) {
        rej(new Error(`ss -Htan failed (${error.message}); install iproute2`));
        return;
      }
      const states = new Map<string, string>();
      for (const line of stdout.split('\n')) {
        const [state, , , local, peer] = line.trim().split(/\s+/);
        if (state === undefined || local === undefined || peer === undefined) continue;
        states.set(`${local.slice(local.lastIndexOf(':') + 1)}/${peer.slice(peer.lastIndexOf(':') + 1)}`, state);
      }
      res(states);
    });
  });
}

/** One hostile client; the server is watched from the kernel's side until OBSERVE_MS. */
class Client {
  readonly socket: Socket;
  readonly result: Observed = { answeredAfterMs: undefined, status: undefined, closedAfterMs: undefined };
  t0 = 0;
  localPort = 0;
  #data = Buffer.alloc(0);

  constructor(
    readonly serverPort: number,
    readonly scenario: Scenario,
  ) {
    this.socket = connect({ port: serverPort, host: '127.0.0.1' });
    this.socket.on('error', () => {});
    if (scenario === 'unread') {
      // Never read: what arrives stays in the kernel until its buffers are full.
      this.socket.pause();
      return;
    }
    this.socket.on('data', (d: Buffer) => {
      if (this.result.status !== undefined) return;
      this.#data = Buffer.concat([this.#data, d]);
      const [r] = parseResponses(this.#data, ['POST']).responses;
      if (r !== undefined) {
        this.result.status = r.status;
        this.result.answeredAfterMs = performance.now() - this.t0;
      }
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((res, rej) => {
      this.socket.once('connect', res);
      this.socket.once('error', rej);
    });
    this.localPort = this.socket.localPort ?? 0;
    this.t0 = performance.now();
    this.socket.write(
      this.scenario === 'unread' ? 'GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n' : `${BODY_HEAD}abc`,
    );
  }

  /** body-drip: a byte of body every DRIP_EVERY_MS while the connection lasts, bounded by OBSERVE_MS. */
  async drip(): Promise<void> {
    if (this.scenario !== 'body-drip') return;
    for (let t = 0; t < OBSERVE_MS && this.result.closedAfterMs === undefined; t += DRIP_EVERY_MS) {
      await delay(DRIP_EVERY_MS);
      if (!this.socket.destroyed && this.socket.writable) this.socket.write('x');
    }
  }
}

interface Target {
  name: string;
  port: number;
}

/** Runs every scenario against every target at once and watches them until OBSERVE_MS. */
async function observe(targets: readonly Target[]): Promise<Map<string, Observed>> {
  const clients = targets.flatMap((t) => SCENARIOS.map((s) => ({ target: t.name, client: new Client(t.port, s) })));
  try {
    await Promise.all(clients.map((c) => c.client.start()));
    const drips = Promise.all(clients.map((c) => c.client.drip()));
    const t0 = Math.min(...clients.map((c) => c.client.t0));
    const ports = targets.map((t) => t.port);
    while (performance.now() - t0 < OBSERVE_MS) {
      const states = await serverStates(ports);
      const now = performance.now();
      for (const { client } of clients) {
        if (client.result.closedAfterMs !== undefined) continue;
        if (states.get(`${client.serverPort}/${client.localPort}`) !== 'ESTAB')
          client.result.closedAfterMs = now - client.t0;
      }
      if (clients.every((c) => c.client.result.closedAfterMs !== undefined)) break;
      await delay(POLL_MS);
    }
    await drips;
    return new Map(clients.map((c) => [`${c.target} ${c.client.scenario}`, c.client.result]));
  } finally {
    for (const c of clients) c.client.socket.destroy();
  }
}

function show(r: Observed | undefined): string {
  if (r === undefined) return 'not run';
  const ms = (x: number | undefined) => (x === undefined ? '-' : `${Math.round(x)} ms`);
  return `answered ${r.status ?? '-'} after ${ms(r.answeredAfterMs)}, closed after ${ms(r.closedAfterMs)}`;
}

describe('the post-SP6a timeouts against nginx (same short timeouts, same hostile clients)', () => {
  const www = mkdtempSync(join(tmpdir(), 'timeouts-nginx-'));
  writeFileSync(join(www, 'big.bin'), Buffer.alloc(BIG, 0x61));
  writeFileSync(join(www, 'index.html'), 'ok\n');
  const newestDir = newestReleaseTree('x86');
  const sp6aDir = releaseTree('inetsrv-4.0-sp6a-x86');
  const newest = basename(newestDir);
  const sp6a = basename(sp6aDir);
  const servers: RunningServer[] = [];
  let nginx: Nginx | undefined;
  let seen = new Map<string, Observed>();

  before(async () => {
    // Timers that must not end these connections are set far away, on both servers alike.
    const set = {
      WwwRoot: www,
      RequestBodyTimeout: TIMEOUT_S,
      SendTimeout: TIMEOUT_S,
      ConnectionTimeout: 60,
      KeepAliveTimeout: 60,
      HeaderWaitTimeout: 60,
    };
    const [a, b, n] = await Promise.all([
      startTree(newestDir, { set }),
      startTree(sp6aDir, { set }),
      startNginx(www, {
        http: [
          `client_body_timeout ${TIMEOUT_S}s;`,
          `lingering_time ${TIMEOUT_S}s;`,
          `lingering_timeout ${TIMEOUT_S}s;`,
          `send_timeout ${TIMEOUT_S}s;`,
          'client_header_timeout 60s;',
          'keepalive_timeout 60s;',
        ],
      }),
    ]);
    servers.push(a, b);
    nginx = n;
    seen = await observe([
      { name: 'nginx', port: n.port },
      { name: newest, port: a.port },
      { name: sp6a, port: b.port },
    ]);
  });

  after(async () => {
    await Promise.all([...servers.map((s) => s.dispose()), nginx?.stop()]);
    rmSync(www, { recursive: true, force: true });
  });

  for (const scenario of SCENARIOS) {
    test(`${scenario}: nginx and the newest tree close within their timeout + ${MARGIN_MS} ms, SP6a holds on`, (t) => {
      for (const name of ['nginx', newest, sp6a]) t.diagnostic(`${name}: ${show(seen.get(`${name} ${scenario}`))}`);
      for (const name of ['nginx', newest]) {
        const r = seen.get(`${name} ${scenario}`);
        assert.ok(r?.closedAfterMs !== undefined, `${name} still holds the connection after ${OBSERVE_MS} ms`);
        assert.ok(
          r.closedAfterMs <= WINDOW_MS,
          `${name} closed only after ${Math.round(r.closedAfterMs)} ms (allowed: ${WINDOW_MS} ms)`,
        );
        // Not a close for some other reason: the timeout has (nearly) run out. nginx counts lingering_time
        // in whole seconds, so up to one second early.
        assert.ok(
          r.closedAfterMs >= TIMEOUT_S * 1000 - 1000,
          `${name} closed after ${Math.round(r.closedAfterMs)} ms, before its timeout`,
        );
      }
      const old = seen.get(`${sp6a} ${scenario}`);
      assert.equal(old?.closedAfterMs, undefined, `${sp6a} closed after ${old?.closedAfterMs} ms`);
    });
  }

  test('a POST whose body never completes is answered 405 at once by nginx and the newest tree, not by SP6a', () => {
    for (const scenario of ['body-silent', 'body-drip'] as const) {
      for (const name of ['nginx', newest]) {
        const r = seen.get(`${name} ${scenario}`);
        assert.equal(r?.status, 405, `${name} ${scenario}: ${show(r)}`);
        assert.ok((r.answeredAfterMs ?? Number.POSITIVE_INFINITY) < 1000, `${name} ${scenario}: ${show(r)}`);
      }
      const old = seen.get(`${sp6a} ${scenario}`);
      assert.equal(old?.status, undefined, `${sp6a} ${scenario}: ${show(old)}`);
    }
  });
});
