import { isIPv4 } from 'node:net';
import type { Response } from './response.js';

/** Live numbers the server keeps; also what the IPC `stats` message reports. */
export interface Counters {
  accepted: number;
  requests: number;
  /** Connections whose peer finished sending (FIN received, `'end'` emitted). */
  ends: number;
  /** Connections refused because MaxConnections were open. */
  drops: number;
}

export interface StatusSnapshot extends Counters {
  server: string;
  version: string;
  level: number;
  arch: string;
  platform: { name: string; pageSize: number; ioChunkSize: number };
  pid: number;
  uptimeSeconds: number;
  connections: number;
  maxConnections: number;
}

/**
 * The status page shows internals (pid, counts) that are nobody's business off the machine, so it
 * answers only clients on a loopback address, including IPv4 loopback reached through a v6 socket.
 */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.toLowerCase().startsWith('::ffff:') ? address.slice(7) : address;
  if (isIPv4(v4)) return v4.startsWith('127.');
  return address === '::1';
}

export function statusResponse(snapshot: StatusSnapshot): Response {
  const body = Buffer.from(`${JSON.stringify(snapshot, null, 2)}\n`);
  return {
    status: 200,
    headers: [
      ['Content-Type', 'application/json; charset=utf-8'],
      ['Cache-Control', 'no-store'],
    ],
    bodyLength: body.length,
    body,
  };
}
