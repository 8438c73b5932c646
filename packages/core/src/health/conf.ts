import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import type { HealthBlock } from './contract-rules.js';

/**
 * Where the health probe connects: the address and port the installation's own configuration file
 * sets, read as the product reads it (inetsrv config.ts: `Key = Value` lines, `#` comments at the
 * start of a line or after white space, keys without regard to case, the last one wins, a value in
 * double quotes unquoted, the product's defaults for a key not set or a file not there). The file is
 * hostile input like every other: never read through a link, only a plain file, only so many bytes.
 */

export interface ProbeTarget {
  host: string;
  port: number;
  /** where the address and port came from, for the evidence: "conf/inetsrv.conf:9, :10", or "defaults" */
  from: string;
}

export type TargetRead = { target: ProbeTarget } | { problem: string };

/** Far above any real configuration file; a file larger than this is not read at all. */
export const CONF_MAX_BYTES = 256 * 1024;

async function readConf(path: string): Promise<{ text?: string; problem?: string }> {
  let fh: FileHandle;
  try {
    // O_NONBLOCK: a FIFO put there must not hang the installer
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return {};
    if (code === 'ELOOP') return { problem: 'is a symbolic link, which servicepack does not follow' };
    return { problem: `cannot be read (${code ?? (e as Error).message})` };
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return { problem: 'is not a regular file' };
    if (st.size > CONF_MAX_BYTES) return { problem: `is larger than ${CONF_MAX_BYTES} bytes` };
    const buf = Buffer.alloc(CONF_MAX_BYTES + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead > CONF_MAX_BYTES) return { problem: `is larger than ${CONF_MAX_BYTES} bytes` };
    return { text: buf.toString('utf8', 0, bytesRead) };
  } finally {
    await fh.close();
  }
}

const unquote = (v: string): string => (v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v);

/** The last value of each of `keys` (lower case) in the file, with its line; a line the product refuses is a problem. */
function settings(
  text: string,
  label: string,
  keys: readonly string[],
): { values: Map<string, { value: string; line: number }> } | { problem: string } {
  const values = new Map<string, { value: string; line: number }>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').replace(/(^|\s)#.*$/, '').trim();
    if (line === '') continue;
    const eq = line.indexOf('=');
    // the product refuses to start on such a line: nothing it would listen on can be named
    if (eq <= 0) return { problem: `${label}:${i + 1} is not "Key = Value"` };
    const key = line.slice(0, eq).trim().toLowerCase();
    if (keys.includes(key)) values.set(key, { value: unquote(line.slice(eq + 1).trim()), line: i + 1 });
  }
  return { values };
}

/** The address to connect to for one the server listens on: the unspecified address means every local one. */
function connectAddress(listen: string): string {
  if (listen === '0.0.0.0') return '127.0.0.1';
  if (listen === '::' || /^(0{0,4}:){2,7}0{0,4}$/.test(listen)) return '::1';
  return listen;
}

export async function probeTarget(root: string, http: HealthBlock['http']): Promise<TargetRead> {
  const label = http.conf;
  const read = await readConf(resolve(root, ...http.conf.split('/')));
  if (read.problem !== undefined) return { problem: `${label} ${read.problem}` };
  const addressKey = http.addressKey.toLowerCase();
  const portKey = http.portKey.toLowerCase();
  const found = read.text === undefined ? { values: new Map() } : settings(read.text, label, [addressKey, portKey]);
  if ('problem' in found) return found;
  const address = found.values.get(addressKey);
  const port = found.values.get(portKey);
  const host = address?.value ?? http.defaultAddress;
  if (isIP(host) === 0)
    return {
      problem: `${label}:${address?.line ?? '?'}: ${http.addressKey} ${JSON.stringify(host.slice(0, 64))} is not an IP address`,
    };
  let portNumber = http.defaultPort;
  if (port !== undefined) {
    if (!/^\d{1,5}$/.test(port.value) || Number(port.value) > 65_535)
      return {
        problem: `${label}:${port.line}: ${http.portKey} ${JSON.stringify(port.value.slice(0, 64))} is not a port number`,
      };
    portNumber = Number(port.value);
    if (portNumber === 0)
      return {
        problem: `${label}:${port.line}: ${http.portKey} is 0 (a port chosen at random), which cannot be probed`,
      };
  }
  const lines = [address?.line, port?.line].filter((l) => l !== undefined);
  return {
    target: {
      host: connectAddress(host),
      port: portNumber,
      from:
        lines.length > 0
          ? `${label}:${lines.join(', :')}`
          : read.text === undefined
            ? 'defaults (no configuration file)'
            : 'defaults',
    },
  };
}
