import type { FileHandle } from 'node:fs/promises';

/** What a handler answers; the connection adds Date, Server, Connection and Content-Length. */
export interface Response {
  status: number;
  headers: Array<[string, string]>;
  /** Bytes the body has (and would have, for HEAD and 304, which send none). */
  bodyLength: number;
  body?: Buffer;
  /** Streamed from offset 0; the connection closes it whether or not it is sent. */
  file?: FileHandle;
  /** After this response the connection cannot be trusted to carry another request. */
  close?: boolean;
}

export const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: 'OK',
  301: 'Moved Permanently',
  304: 'Not Modified',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  414: 'URI Too Long',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};

/** Statuses after which the rest of the byte stream cannot be framed, so the connection must go. */
const FATAL = new Set([400, 408, 413, 414, 501, 505]);

export function errorResponse(status: number, headers: Array<[string, string]> = []): Response {
  const text = STATUS_TEXT[status] ?? 'Error';
  // The page names the status only: echoing any part of the request would invite reflected markup.
  const body = Buffer.from(
    `<!DOCTYPE html>\n<html><head><title>${status} ${text}</title></head>\n<body><h1>${status} ${text}</h1></body></html>\n`,
  );
  return {
    status,
    headers: [['Content-Type', 'text/html; charset=utf-8'], ...headers],
    bodyLength: body.length,
    body,
    close: FATAL.has(status),
  };
}

/** RFC 9110 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT". */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

export function serializeHead(status: number, headers: ReadonlyArray<readonly [string, string]>): Buffer {
  let text = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Unknown'}\r\n`;
  for (const [name, value] of headers) text += `${name}: ${value}\r\n`;
  return Buffer.from(`${text}\r\n`, 'latin1');
}

/** Whether a response to this method and status carries the body bytes it describes. */
export function sendsBody(method: string | undefined, status: number): boolean {
  return method !== 'HEAD' && status !== 304 && status !== 204;
}
