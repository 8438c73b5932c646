import type { Socket } from 'node:net';
import type { AccessEntry } from './access-log.js';
import type { Config } from './config.js';
import { parseHead, type RequestHead, wantsKeepAlive } from './request-parser.js';
import { errorResponse, httpDate, type Response, sendsBody, serializeHead } from './response.js';
import type { Counters } from './status.js';

/** What a connection needs from the server that owns it. */
export interface ConnectionHost {
  readonly config: Config;
  readonly serverHeader: string;
  readonly ioChunkSize: number;
  readonly counters: Counters;
  handle(head: RequestHead, remoteAddress: string | undefined): Promise<Response>;
  log(entry: AccessEntry): void;
}

interface PendingRequest {
  head: RequestHead;
  bodyRemaining: number;
}

const EMPTY = Buffer.alloc(0);

/**
 * One client connection: reads requests, answers them one at a time and in order (so pipelined
 * requests need no bookkeeping), and decides when the connection ends.
 *
 * The socket is half-open capable (see server.ts): after the client's FIN we may still owe it
 * answers, so closing our side is our job, never Node's.
 */
export class Connection {
  readonly socket: Socket;
  readonly #host: ConnectionHost;
  /** Received bytes not yet consumed: the rest of a head, a body being skipped, pipelined requests. */
  #input: Buffer = EMPTY;
  /** A parsed head whose body is still arriving. */
  #pending: PendingRequest | undefined;
  /** A request has been dispatched and its response is not yet fully written. */
  #busy = false;
  /** The response being written is the connection's last (Connection: close, or an unframeable request). */
  #lastResponse = false;
  /** Close once the requests already received are answered (the peer is done, or the server is stopping). */
  #closeAfterResponse = false;
  #requestStart = 0;

  constructor(socket: Socket, host: ConnectionHost) {
    this.socket = socket;
    this.#host = host;
    // Responses leave in one or few writes; Nagle would only hold the last segment back for an ACK.
    socket.setNoDelay(true);
    socket.setTimeout(host.config.connectionTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#onEnd());
    socket.on('timeout', () => this.#onTimeout());
    // Resets and broken pipes are routine on the Internet; Node destroys the socket and 'close' follows.
    socket.on('error', () => {});
  }

  /** Nothing received that is not yet answered, and nothing being written. */
  get idle(): boolean {
    return !this.#busy && this.#pending === undefined && this.#input.length === 0;
  }

  #onData(chunk: Buffer): void {
    // After our FIN nothing more will be answered; reading on only lets the peer's FIN arrive.
    if (this.socket.writableEnded) return;
    if (this.idle) {
      this.#requestStart = Date.now();
      // ConnectionTimeout bounds how long a client may take to deliver a request.
      this.socket.setTimeout(this.#host.config.connectionTimeoutMs);
    }
    this.#input = this.#input.length === 0 ? chunk : Buffer.concat([this.#input, chunk]);
    if (this.#busy) {
      // Pipelined requests wait for their turn; once a full head's worth is queued, stop reading.
      if (this.#input.length > this.#host.config.maxRequestBytes) this.socket.pause();
      return;
    }
    this.#processInput();
  }

  #onEnd(): void {
    this.#host.counters.ends++;
    // The client may have half-closed right after its last request and still expect the answers
    // (HTTP/1.0 tools do): let those finish; the final write callback then closes our side.
    this.#closeAfterResponse = true;
    if (!this.#busy && !this.idle) this.#processInput();
  }

  #onTimeout(): void {
    if (!this.#busy && !this.idle) {
      this.#reject(408);
      return;
    }
    // setTimeout() only reports; a connection that is not closed here stays open.
    this.socket.destroy();
  }

  /** Parses what has arrived; dispatches at most one request (the next waits for its response). */
  #processInput(): void {
    const limits = this.#host.config;
    while (!this.#busy && !this.socket.destroyed && !this.socket.writableEnded) {
      const pending = this.#pending;
      if (pending !== undefined) {
        const take = Math.min(pending.bodyRemaining, this.#input.length);
        pending.bodyRemaining -= take;
        this.#input = this.#input.subarray(take);
        if (pending.bodyRemaining > 0) {
          if (this.socket.readableEnded) this.#reject(400);
          return;
        }
        this.#pending = undefined;
        this.#dispatch(pending.head);
        return;
      }
      if (this.#input.length === 0) return;
      const r = parseHead(this.#input, limits);
      if (r.kind === 'incomplete') {
        if (this.socket.readableEnded) this.#reject(400);
        return;
      }
      if (r.kind === 'error') {
        this.#reject(r.status);
        return;
      }
      this.#input = this.#input.subarray(r.headBytes);
      this.#pending = { head: r.head, bodyRemaining: r.bodyLength };
    }
  }

  #dispatch(head: RequestHead): void {
    this.#busy = true;
    this.#host.counters.requests++;
    if (!wantsKeepAlive(head)) this.#lastResponse = true;
    this.#host.handle(head, this.socket.remoteAddress).then(
      (res) => this.#respond(res, head),
      (err: unknown) => {
        process.stderr.write(`inetsrv: ${head.method} ${head.target}: ${err instanceof Error ? err.message : String(err)}\n`);
        this.#respond(errorResponse(500), head);
      },
    );
  }

  /** A request that cannot be framed or completed: answer it, then close, since the stream is lost. */
  #reject(status: number): void {
    this.#busy = true;
    this.#input = EMPTY;
    this.#pending = undefined;
    this.#lastResponse = true;
    this.#respond(errorResponse(status), undefined);
  }

  #respond(res: Response, head: RequestHead | undefined): void {
    this.#send(res, head).catch((err: unknown) => {
      // Head already sent, body unreadable (an I/O error mid-file): the client cannot be told, only cut off.
      process.stderr.write(`inetsrv: sending response: ${err instanceof Error ? err.message : String(err)}\n`);
      this.socket.destroy();
    });
  }

  async #send(res: Response, head: RequestHead | undefined): Promise<void> {
    const socket = this.socket;
    if (res.close) this.#lastResponse = true;
    const closing = this.#lastResponse || this.#closeAfterResponse;
    const headers: Array<[string, string]> = [
      ['Date', httpDate(Date.now())],
      ['Server', this.#host.serverHeader],
      ...res.headers,
      ['Content-Length', String(res.bodyLength)],
    ];
    if (closing) headers.push(['Connection', 'close']);
    else if (head?.minor === 0) headers.push(['Connection', 'keep-alive']);
    const headBuf = serializeHead(res.status, headers);
    const withBody = sendsBody(head?.method, res.status) && res.bodyLength > 0;
    const total = headBuf.length + (withBody ? res.bodyLength : 0);
    const done = (err?: Error | null) => {
      if (err) return;
      this.#log(res.status, total, head);
      this.#responseDone();
    };
    try {
      if (socket.destroyed) return;
      if (!withBody) socket.write(headBuf, done);
      else if (res.body !== undefined) socket.write(Buffer.concat([headBuf, res.body]), done);
      else if (res.file !== undefined) await this.#sendFile(res, headBuf, done);
    } finally {
      await res.file?.close().catch(() => {});
    }
  }

  async #sendFile(res: Response, headBuf: Buffer, done: (err?: Error | null) => void): Promise<void> {
    const file = res.file;
    if (file === undefined) return;
    const socket = this.socket;
    let offset = 0;
    let prefix: Buffer | undefined = headBuf;
    while (offset < res.bodyLength) {
      const want = Math.min(this.#host.ioChunkSize, res.bodyLength - offset);
      const { bytesRead, buffer } = await file.read(Buffer.allocUnsafe(want), 0, want, offset);
      if (socket.destroyed) return;
      if (bytesRead === 0) {
        // The file shrank after we announced its length: the client cannot frame the rest, so end it.
        socket.destroy();
        return;
      }
      offset += bytesRead;
      const chunk = prefix ? Buffer.concat([prefix, buffer.subarray(0, bytesRead)]) : buffer.subarray(0, bytesRead);
      prefix = undefined;
      const last = offset >= res.bodyLength;
      const flushed = socket.write(chunk, last ? done : undefined);
      if (!last && !flushed) await drainedOrClosed(socket);
    }
  }

  /** The write callback of a response's last byte: decides what the connection does next. */
  #responseDone(): void {
    this.#busy = false;
    if (this.socket.destroyed) return;
    if (this.#lastResponse) {
      // Unanswered pipelined bytes are dropped, but reading resumes so the peer's FIN can arrive:
      // a paused socket would never see it and never finish closing.
      this.#input = EMPTY;
      this.#pending = undefined;
      this.socket.resume();
      this.socket.end();
      return;
    }
    if (!this.idle) {
      // Pipelined requests already received are answered before anything else happens.
      this.#requestStart = Date.now();
      this.socket.resume();
      this.#processInput();
      return;
    }
    if (this.#closeAfterResponse) {
      this.socket.end();
      return;
    }
    // The request is over; ConnectionTimeout is armed again when the next one starts.
    this.socket.setTimeout(0);
    this.socket.resume();
  }

  #log(status: number, bytesSent: number, head: RequestHead | undefined): void {
    const target = head?.target ?? '';
    const q = target.indexOf('?');
    this.#host.log({
      time: new Date(),
      clientIp: this.socket.remoteAddress,
      method: head?.method,
      uriStem: q < 0 ? target : target.slice(0, q),
      uriQuery: q < 0 ? undefined : target.slice(q + 1),
      status,
      bytesSent,
      timeTakenMs: Date.now() - this.#requestStart,
      version: head ? `HTTP/1.${head.minor}` : undefined,
      userAgent: head?.headers.get('user-agent'),
      referer: head?.headers.get('referer'),
    });
  }

  /** Graceful stop: idle connections close now, busy ones after the response in progress. */
  shutdown(): void {
    // Already closing: the write callback of its last response ends it.
    if (this.#closeAfterResponse) return;
    this.#closeAfterResponse = true;
    if (this.idle) this.socket.end();
  }
}

function drainedOrClosed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const finish = () => {
      socket.off('drain', finish);
      socket.off('close', finish);
      resolve();
    };
    socket.on('drain', finish);
    socket.on('close', finish);
  });
}
