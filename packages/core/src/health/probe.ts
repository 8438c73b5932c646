import { connect, isIP, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * The HTTP health probe (docs/transactions.md §7 "Health check"): `GET <path>` on one connection to
 * the configured address, answered with a status line, then a second `GET` on the same connection,
 * answered too, all within a hard deadline. It speaks HTTP/1.1 itself over a socket so that nothing
 * is out of its hands: it connects to that address only (one of this machine's), never follows a
 * redirect (it records the Location and opens no other connection), keeps no more of an answer than
 * its head, and resets the connection at the end (a server that keeps half-closed connections, as
 * inetsrv before Q236565 did, is not left holding one). What it asked, what came back and how long
 * it took are returned as data, never thrown.
 */

export interface ProbeExchange {
  /** the request line sent */
  request: string;
  /** sent on the connection that carried the first answer (always true for the first) */
  sameConnection: boolean;
  /** the status line received, printable, cut to 200 characters */
  statusLine?: string;
  status?: number;
  /** a redirect's target, recorded, never followed */
  location?: string;
  /** bytes of the answer received */
  bytes: number;
  ms: number;
  error?: string;
}

export interface ProbeEvidence {
  host: string;
  port: number;
  path: string;
  passed: boolean;
  /** why it failed, one sentence */
  reason?: string;
  /** connection attempts: a refused one is tried again (the server may not listen yet) until the deadline */
  attempts: number;
  exchanges: ProbeExchange[];
  ms: number;
  timeoutMs: number;
}

export interface ProbeOptions {
  host: string;
  port: number;
  path: string;
  timeoutMs: number;
}

const HEAD_MAX_BYTES = 16 * 1024;
const LINE_MAX_BYTES = 1024;
const RETRY_MS = 100;

/** Loopback, or an address of one of this machine's interfaces: the only places the probe connects to. */
export function isLocalAddress(host: string): boolean {
  const v4 = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(host)?.[1];
  if (v4 !== undefined && isIP(v4) === 4 && v4.startsWith('127.')) return true;
  if (host === '::1') return true;
  const wanted = host.toLowerCase();
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.address.toLowerCase() === wanted) return true;
  return false;
}

const printable = (s: string, max = 200): string =>
  s.slice(0, max).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

interface Answer {
  status: number;
  statusLine: string;
  location?: string;
  /** the connection can carry another request */
  keepAlive: boolean;
}

/**
 * Reads one HTTP/1.x answer off a byte stream: the head (interim 1xx answers skipped), then the body
 * by Content-Length or chunked framing, counted and dropped. `push` says whether more is needed.
 */
class AnswerReader {
  bytes = 0;
  #buf: Buffer = Buffer.alloc(0);
  #answer?: Answer;
  #left = 0;
  #body: 'length' | 'chunk-size' | 'chunk-data' | 'trailer' | 'close' = 'length';
  statusLine?: string;

  push(data: Buffer): { answer: Answer } | { error: string } | undefined {
    this.bytes += data.length;
    this.#buf = this.#buf.length === 0 ? data : Buffer.concat([this.#buf, data]);
    for (;;) {
      if (this.#answer === undefined) {
        const end = this.#buf.indexOf('\r\n\r\n');
        if (end < 0) return this.#buf.length > HEAD_MAX_BYTES ? { error: 'the answer head is too long' } : undefined;
        const head = this.#buf.subarray(0, end).toString('latin1');
        this.#buf = this.#buf.subarray(end + 4);
        const parsed = this.#head(head);
        if ('error' in parsed) return parsed;
        if (parsed.answer === undefined) continue; // an interim 1xx answer
        this.#answer = parsed.answer;
        if (this.#body === 'close') return { answer: this.#answer };
      }
      const done = this.#consumeBody();
      if (done !== undefined) return done;
      return undefined;
    }
  }

  #head(head: string): { answer?: Answer } | { error: string } {
    const [line = '', ...fields] = head.split('\r\n');
    this.statusLine = printable(line);
    const m = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(line);
    if (!m) return { error: 'the answer does not start with an HTTP/1.x status line' };
    const status = Number(m[2]);
    if (status >= 100 && status < 200) return {};
    const headers = new Map<string, string>();
    for (const f of fields) {
      const colon = f.indexOf(':');
      if (colon > 0) headers.set(f.slice(0, colon).trim().toLowerCase(), f.slice(colon + 1).trim());
    }
    const connection = (headers.get('connection') ?? '').toLowerCase();
    let keepAlive = m[1] === '1' ? !/\bclose\b/.test(connection) : /\bkeep-alive\b/.test(connection);
    const te = headers.get('transfer-encoding');
    const cl = headers.get('content-length');
    if (status === 204 || status === 304) this.#left = 0;
    else if (te !== undefined && /(^|,)\s*chunked\s*$/i.test(te)) this.#body = 'chunk-size';
    else if (cl !== undefined) {
      if (!/^\d{1,15}$/.test(cl))
        return { error: `the answer's Content-Length ${JSON.stringify(printable(cl, 40))} is not a number` };
      this.#left = Number(cl);
    } else {
      // no framing: the body ends when the connection does, so it cannot carry a second request
      this.#body = 'close';
      keepAlive = false;
    }
    const location = headers.get('location');
    return {
      answer: {
        status,
        statusLine: this.statusLine,
        keepAlive,
        ...(location !== undefined ? { location: printable(location) } : {}),
      },
    };
  }

  /** the answer once its body is complete */
  #consumeBody(): { answer: Answer } | { error: string } | undefined {
    const answer = this.#answer;
    if (answer === undefined) return undefined;
    for (;;) {
      if (this.#body === 'length' || this.#body === 'chunk-data') {
        const take = Math.min(this.#left, this.#buf.length);
        this.#left -= take;
        this.#buf = this.#buf.subarray(take);
        if (this.#left > 0) return undefined;
        if (this.#body === 'length') return { answer };
        this.#body = 'chunk-size';
        continue;
      }
      const end = this.#buf.indexOf('\r\n');
      if (end < 0) return this.#buf.length > LINE_MAX_BYTES ? { error: 'a chunk line is too long' } : undefined;
      const line = this.#buf.subarray(0, end).toString('latin1');
      this.#buf = this.#buf.subarray(end + 2);
      if (this.#body === 'trailer') {
        if (line === '') return { answer };
        continue;
      }
      const size = /^([0-9a-fA-F]{1,12})(;.*)?$/.exec(line)?.[1];
      if (size === undefined) return { error: 'a chunk size is not hexadecimal' };
      const n = Number.parseInt(size, 16);
      if (n === 0) this.#body = 'trailer';
      else {
        // the data and the line end after it
        this.#left = n + 2;
        this.#body = 'chunk-data';
      }
    }
  }
}

type Attempt = { evidence: Omit<ProbeEvidence, 'attempts' | 'ms' | 'timeoutMs'>; refused: boolean };

/** One connection: the two exchanges, or as far as they got before `deadline`. */
function attempt(o: ProbeOptions, deadline: number): Promise<Attempt> {
  const hostHeader = isIP(o.host) === 6 ? `[${o.host}]:${o.port}` : `${o.host}:${o.port}`;
  const requestLine = `GET ${o.path} HTTP/1.1`;
  const request = `${requestLine}\r\nHost: ${hostHeader}\r\nUser-Agent: servicepack-health-check\r\nAccept: */*\r\n\r\n`;
  const exchanges: ProbeExchange[] = [];
  const base = { host: o.host, port: o.port, path: o.path };
  return new Promise((res) => {
    let socket: Socket | undefined;
    let settled = false;
    let reader = new AnswerReader();
    let sentAt = Date.now();
    const current = (): ProbeExchange | undefined => exchanges[exchanges.length - 1];
    const finish = (passed: boolean, reason?: string, refused = false): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const ex = current();
      if (ex !== undefined && ex.status === undefined) {
        ex.bytes = reader.bytes;
        ex.ms = Date.now() - sentAt;
        if (reader.statusLine !== undefined) ex.statusLine = reader.statusLine;
        if (reason !== undefined) ex.error = reason;
      }
      // a reset, not a FIN: the server drops the connection at once, whatever it does with half-closed ones
      if (socket !== undefined && !socket.destroyed) socket.resetAndDestroy();
      res({ evidence: { ...base, passed, ...(reason !== undefined ? { reason } : {}), exchanges }, refused });
    };
    const timer = setTimeout(
      () => {
        const ex = current();
        const what =
          ex === undefined
            ? 'the connection was not accepted'
            : reader.bytes === 0
              ? 'no answer came'
              : 'the answer did not end';
        finish(false, `${what} within ${o.timeoutMs} ms`);
      },
      Math.max(0, deadline - Date.now()),
    );
    const send = (sameConnection: boolean): void => {
      reader = new AnswerReader();
      sentAt = Date.now();
      exchanges.push({ request: requestLine, sameConnection, bytes: 0, ms: 0 });
      socket?.write(request);
    };
    socket = connect({ host: o.host, port: o.port });
    socket.setNoDelay(true);
    socket.once('connect', () => send(true));
    socket.on('data', (data: Buffer) => {
      if (settled) return;
      const got = reader.push(data);
      if (got === undefined) return;
      if ('error' in got) return finish(false, got.error);
      const ex = current();
      if (ex === undefined) return finish(false, 'an answer came before a request was sent');
      Object.assign(ex, {
        status: got.answer.status,
        statusLine: got.answer.statusLine,
        bytes: reader.bytes,
        ms: Date.now() - sentAt,
        ...(got.answer.location !== undefined ? { location: got.answer.location } : {}),
      });
      if (got.answer.status >= 500)
        return finish(false, `the server answered ${JSON.stringify(got.answer.statusLine)}`);
      if (exchanges.length >= 2) return finish(true);
      if (!got.answer.keepAlive)
        return finish(
          false,
          'the server closes the connection after one answer, so a second request cannot be asked on it',
        );
      send(true);
    });
    socket.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED' && exchanges.length === 0) return finish(false, 'the connection was refused', true);
      // a server that closes at once while the request is still arriving resets instead of closing
      if ((e.code === 'ECONNRESET' || e.code === 'EPIPE') && exchanges.length > 0 && reader.bytes === 0)
        return finish(
          false,
          `the server reset the connection without an answer${exchanges.length > 1 ? ' to the second request' : ''}`,
        );
      finish(
        false,
        exchanges.length === 0
          ? `cannot connect (${e.code ?? e.message})`
          : `the connection failed (${e.code ?? e.message})`,
      );
    });
    socket.once('close', () =>
      finish(
        false,
        reader.bytes === 0
          ? `the server closed the connection without an answer${exchanges.length > 1 ? ' to the second request' : ''}`
          : 'the server closed the connection in the middle of an answer',
      ),
    );
  });
}

export async function httpProbe(o: ProbeOptions): Promise<ProbeEvidence> {
  const t0 = Date.now();
  const deadline = t0 + o.timeoutMs;
  const done = (e: Attempt['evidence'], attempts: number): ProbeEvidence => ({
    ...e,
    attempts,
    ms: Date.now() - t0,
    timeoutMs: o.timeoutMs,
  });
  if (isIP(o.host) === 0 || !isLocalAddress(o.host))
    return done(
      {
        host: o.host,
        port: o.port,
        path: o.path,
        passed: false,
        reason: `${o.host} is not an address of this machine: the probe connects to this machine only`,
        exchanges: [],
      },
      0,
    );
  // bounded: every attempt ends by the deadline, and a refused one is retried only while time is left
  for (let n = 1; ; n++) {
    const a = await attempt(o, deadline);
    if (!a.refused || Date.now() + RETRY_MS >= deadline) return done(a.evidence, n);
    await delay(RETRY_MS);
  }
}
