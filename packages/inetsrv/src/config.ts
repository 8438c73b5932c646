import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';

/** Settings in effect. Durations are milliseconds; relative paths were resolved against the tree root. */
export interface Config {
  listenAddress: string;
  port: number;
  wwwRoot: string;
  /** null: access logging is off. */
  logDirectory: string | null;
  pidFile: string;
  /** 0: no limit. */
  maxConnections: number;
  connectionTimeoutMs: number;
  defaultDocuments: string[];
  maxRequestBytes: number;
  maxUrlLength: number;
  maxRequestEntityBytes: number;
  /** null: no status page. */
  statusPage: string | null;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function defaultConfig(root: string): Config {
  return {
    listenAddress: '127.0.0.1',
    port: 8080,
    wwwRoot: resolve(root, 'wwwroot'),
    logDirectory: resolve(root, 'logs'),
    pidFile: resolve(root, 'run/inetsrv.pid'),
    maxConnections: 1000,
    // IIS 4.0's metabase default: generous, because dial-up clients were slow.
    connectionTimeoutMs: 900_000,
    defaultDocuments: ['index.html', 'default.htm'],
    maxRequestBytes: 16_384,
    maxUrlLength: 4096,
    maxRequestEntityBytes: 65_536,
    statusPage: '/server-status',
  };
}

function integer(value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value)) throw new Error(`"${value}" is not a whole number`);
  const n = Number(value);
  if (n < min || n > max) throw new Error(`${n} is outside ${min}..${max}`);
  return n;
}

/** Seconds unless suffixed with "ms", e.g. "900", "1.5s", "250ms". */
export function duration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s)?$/.exec(value);
  if (!m) throw new Error(`"${value}" is not a duration (seconds, or e.g. 500ms)`);
  const ms = m[2] === 'ms' ? Number(m[1]) : Number(m[1]) * 1000;
  // Node's timers take at most 2^31-1 ms; beyond that they fire at once, the opposite of what was asked.
  if (ms < 1 || ms > 2_147_483_647) throw new Error(`${value} is outside 1ms..24 days`);
  return Math.round(ms);
}

type Setter = (c: Config, value: string, root: string) => void;

/** Every key the server understands. Key names are matched without regard to case, as in IIS. */
const KEYS: Record<string, Setter> = {
  ListenAddress: (c, v) => {
    if (isIP(v) === 0) throw new Error(`"${v}" is not an IPv4 or IPv6 address`);
    c.listenAddress = v;
  },
  Port: (c, v) => {
    c.port = integer(v, 0, 65_535);
  },
  WwwRoot: (c, v, root) => {
    if (v === '') throw new Error('must name a folder');
    c.wwwRoot = resolve(root, v);
  },
  LogDirectory: (c, v, root) => {
    c.logDirectory = v === '' ? null : resolve(root, v);
  },
  PidFile: (c, v, root) => {
    if (v === '') throw new Error('must name a file');
    c.pidFile = resolve(root, v);
  },
  MaxConnections: (c, v) => {
    c.maxConnections = integer(v, 0, 1_000_000);
  },
  ConnectionTimeout: (c, v) => {
    c.connectionTimeoutMs = duration(v);
  },
  DefaultDocument: (c, v) => {
    const names = v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    // A default document is looked up inside the requested folder; a path here would reach outside it.
    for (const n of names) if (/[/\\\0]/.test(n) || n === '.' || n === '..') throw new Error(`"${n}" is not a file name`);
    c.defaultDocuments = names;
  },
  MaxRequestBytes: (c, v) => {
    c.maxRequestBytes = integer(v, 256, 1_048_576);
  },
  MaxUrlLength: (c, v) => {
    c.maxUrlLength = integer(v, 16, 65_536);
  },
  MaxRequestEntityBytes: (c, v) => {
    c.maxRequestEntityBytes = integer(v, 0, 1_073_741_824);
  },
  StatusPage: (c, v) => {
    if (v !== '' && !/^\/[A-Za-z0-9._~/-]*$/.test(v)) throw new Error(`"${v}" is not a URL path`);
    c.statusPage = v === '' ? null : v;
  },
};

const KEY_BY_LOWER = new Map(Object.keys(KEYS).map((k) => [k.toLowerCase(), k]));

export interface Setting {
  key: string;
  value: string;
  /** Where it came from, for messages: "conf/inetsrv.conf:12" or "--set". */
  origin: string;
}

/** `Key = Value` lines; `#` starts a comment at the start of a line or after white space. */
export function parseConfText(text: string, fileLabel: string): Setting[] {
  const out: Setting[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') return;
    const origin = `${fileLabel}:${i + 1}`;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new ConfigError(`${origin}: expected "Key = Value", found "${line}"`);
    out.push({ key: line.slice(0, eq).trim(), value: unquote(line.slice(eq + 1).trim()), origin });
  });
  return out;
}

function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

/** "Key=Value" from the command line. */
export function parseSetArg(arg: string): Setting {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new ConfigError(`--set ${arg}: expected Key=Value`);
  return { key: arg.slice(0, eq).trim(), value: unquote(arg.slice(eq + 1).trim()), origin: '--set' };
}

export interface LoadedConfig {
  config: Config;
  /** Things worth telling the operator that do not stop the server. */
  warnings: string[];
}

/**
 * Later settings win, so command-line overrides go last. An unknown key is a warning, not an error:
 * a configuration written for a later service pack must not keep an older server from starting.
 */
export function applySettings(root: string, settings: readonly Setting[]): LoadedConfig {
  const config = defaultConfig(root);
  const warnings: string[] = [];
  for (const s of settings) {
    const key = KEY_BY_LOWER.get(s.key.toLowerCase());
    const setter = key === undefined ? undefined : KEYS[key];
    if (key === undefined || setter === undefined) {
      warnings.push(`${s.origin}: unknown key "${s.key}" ignored`);
      continue;
    }
    try {
      setter(config, s.value, root);
    } catch (e) {
      throw new ConfigError(`${s.origin}: ${key}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return { config, warnings };
}

export interface LoadOptions {
  root: string;
  /** An explicit --config file must exist; the tree's own conf/inetsrv.conf may be absent. */
  file?: string;
  overrides?: readonly Setting[];
}

export function loadConfig(options: LoadOptions): LoadedConfig {
  const path = options.file ?? resolve(options.root, 'conf/inetsrv.conf');
  let settings: Setting[] = [];
  const notes: string[] = [];
  try {
    settings = parseConfText(readFileSync(path, 'utf8'), path);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    if (options.file !== undefined || (e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError(`${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
    notes.push(`${path} not found; using built-in defaults`);
  }
  const loaded = applySettings(options.root, [...settings, ...(options.overrides ?? [])]);
  loaded.warnings.unshift(...notes);
  return loaded;
}
