import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { AccessLog, type AccessEntry } from './access-log.js';
import { type BuildInfo, serverHeader, versionLine } from './buildinfo.js';
import type { Config } from './config.js';
import { Connection, type ConnectionHost } from './connection.js';
import { Site } from './handler.js';
import type { Platform } from './platform.js';
import type { RequestHead } from './request-parser.js';
import type { Response } from './response.js';
import { StaticFiles } from './static-files.js';
import type { Counters, StatusSnapshot } from './status.js';

/** The numbers the IPC `stats` message reports (docs/internal-contracts.md). */
export interface ServerStats extends Counters {
  connections: number;
}

export class InetServer implements ConnectionHost {
  readonly config: Config;
  readonly serverHeader: string;
  readonly ioChunkSize: number;
  readonly counters: Counters = { accepted: 0, requests: 0, ends: 0, drops: 0 };
  readonly #info: BuildInfo;
  readonly #platform: Platform;
  readonly #site: Site;
  readonly #log: AccessLog;
  readonly #server: Server;
  /** Open connections; an entry leaves only on 'close', which every way of ending a socket emits. */
  readonly #connections = new Set<Connection>();
  readonly #started = Date.now();
  #stopping: Promise<number> | undefined;

  private constructor(config: Config, info: BuildInfo, platform: Platform, files: StaticFiles, log: AccessLog) {
    this.config = config;
    this.#info = info;
    this.#platform = platform;
    this.serverHeader = serverHeader(info);
    this.ioChunkSize = platform.ioChunkSize;
    this.#log = log;
    this.#site = new Site({ files, statusPage: config.statusPage, snapshot: () => this.snapshot() });
    // allowHalfOpen, as Node's own http.Server: a client that shuts down its sending side right after
    // the request (HTTP/1.0 tools, `nc -N`) still gets its answer instead of a silently closed socket.
    this.#server = createServer({ allowHalfOpen: true }, (socket) => this.#accept(socket));
    if (config.maxConnections > 0) this.#server.maxConnections = config.maxConnections;
    this.#server.on('drop', () => {
      this.counters.drops++;
    });
  }

  /** Everything that can fail on a bad configuration fails here, before a port is taken. */
  static async create(config: Config, info: BuildInfo, platform: Platform): Promise<InetServer> {
    const files = await StaticFiles.open(config.wwwRoot, config.defaultDocuments);
    const log = await AccessLog.open(config.logDirectory, versionLine(info));
    return new InetServer(config, info, platform, files, log);
  }

  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen({ host: this.config.listenAddress, port: this.config.port }, () => {
        this.#server.off('error', reject);
        const addr = this.#server.address();
        if (addr === null || typeof addr === 'string') reject(new Error('not listening on TCP'));
        else resolve({ host: addr.address, port: addr.port });
      });
    });
  }

  #accept(socket: Socket): void {
    this.counters.accepted++;
    const conn = new Connection(socket, this);
    this.#connections.add(conn);
    socket.once('close', () => this.#connections.delete(conn));
  }

  handle(head: RequestHead, remoteAddress: string | undefined): Promise<Response> {
    return this.#site.handle(head, remoteAddress);
  }

  log(entry: AccessEntry): void {
    this.#log.write(entry);
  }

  stats(): ServerStats {
    return { ...this.counters, connections: this.#connections.size };
  }

  snapshot(): StatusSnapshot {
    const { name, pageSize, ioChunkSize } = this.#platform;
    return {
      server: this.serverHeader,
      version: versionLine(this.#info),
      level: this.#info.level,
      arch: this.#info.arch,
      platform: { name, pageSize, ioChunkSize },
      pid: process.pid,
      uptimeSeconds: Math.floor((Date.now() - this.#started) / 1000),
      ...this.stats(),
      maxConnections: this.config.maxConnections,
    };
  }

  /**
   * Graceful stop: no new connections, idle ones closed now, busy ones after their response.
   * Resolves with the milliseconds it took, once the last connection has closed.
   */
  stop(): Promise<number> {
    if (this.#stopping) return this.#stopping;
    const t0 = performance.now();
    this.#stopping = new Promise<number>((resolve) => {
      this.#server.close(() => resolve(performance.now() - t0));
      for (const conn of this.#connections) conn.shutdown();
    }).then(async (ms) => {
      await this.#log.close();
      return ms;
    });
    return this.#stopping;
  }
}
