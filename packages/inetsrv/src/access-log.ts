import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';

/** One line of the log: a request and what was sent for it. */
export interface AccessEntry {
  time: Date;
  clientIp: string | undefined;
  method: string | undefined;
  uriStem: string | undefined;
  uriQuery: string | undefined;
  status: number;
  bytesSent: number;
  timeTakenMs: number;
  version: string | undefined;
  userAgent: string | undefined;
  referer: string | undefined;
}

export const FIELDS = 'date time c-ip cs-method cs-uri-stem cs-uri-query sc-status sc-bytes time-taken cs-version cs(User-Agent) cs(Referer)';

/**
 * W3C Extended Log File Format: fields are separated by single spaces, so a value may contain no
 * white space (IIS writes "+" for a space) and no line break: a client must not be able to forge a
 * line. Everything outside printable ASCII is escaped.
 */
export function field(value: string | undefined): string {
  if (value === undefined || value === '') return '-';
  return value.replace(/[^\x21-\x7e]/g, (c) => (c === ' ' ? '+' : `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

export function formatEntry(e: AccessEntry): string {
  const iso = e.time.toISOString();
  return [
    iso.slice(0, 10),
    iso.slice(11, 19),
    field(e.clientIp),
    field(e.method),
    field(e.uriStem),
    field(e.uriQuery),
    String(e.status),
    String(e.bytesSent),
    String(Math.max(0, Math.round(e.timeTakenMs))),
    field(e.version),
    field(e.userAgent),
    field(e.referer),
  ].join(' ');
}

/** One file per UTC day, named as IIS names them (exYYMMDD.log), appended to across restarts. */
export function logFileName(d: Date): string {
  const iso = d.toISOString();
  return `ex${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}.log`;
}

export class AccessLog {
  readonly #dir: string | null;
  readonly #software: string;
  #stream: WriteStream | undefined;
  #fileName = '';

  private constructor(dir: string | null, software: string) {
    this.#dir = dir;
    this.#software = software;
  }

  /**
   * Opens today's file before the server accepts anything, so a log folder that cannot be written
   * stops the start instead of failing on the first request (and the fd count stays flat while serving).
   */
  static async open(dir: string | null, software: string, now = new Date()): Promise<AccessLog> {
    const log = new AccessLog(dir, software);
    if (dir !== null) {
      mkdirSync(dir, { recursive: true });
      await log.#rotate(now);
    }
    return log;
  }

  async #rotate(now: Date): Promise<void> {
    const dir = this.#dir;
    if (dir === null) return;
    const old = this.#stream;
    this.#fileName = logFileName(now);
    const stream = createWriteStream(join(dir, this.#fileName), { flags: 'a', mode: 0o640 });
    this.#stream = stream;
    old?.end();
    // A write error must not crash the server; logging stops being reliable, serving does not.
    stream.on('error', (e) => process.stderr.write(`inetsrv: access log: ${e.message}\n`));
    stream.write(
      `#Software: ${this.#software}\n#Version: 1.0\n#Date: ${now.toISOString().slice(0, 19).replace('T', ' ')}\n#Fields: ${FIELDS}\n`,
    );
    await new Promise<void>((resolve, reject) => {
      stream.once('ready', () => resolve());
      stream.once('error', reject);
    });
  }

  write(entry: AccessEntry): void {
    if (this.#dir === null || this.#stream === undefined) return;
    if (logFileName(entry.time) !== this.#fileName) {
      this.#rotate(entry.time).catch(() => {
        // Reported by the stream's error handler; the line below goes to the new stream's buffer.
      });
    }
    this.#stream.write(`${formatEntry(entry)}\n`);
  }

  close(): Promise<void> {
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream === undefined) return Promise.resolve();
    return new Promise((resolve) => stream.end(resolve));
  }
}
