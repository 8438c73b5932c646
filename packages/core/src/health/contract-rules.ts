import { servicePathReason } from '../installation/record-paths.js';

/**
 * The rules of BUILDINFO.json's `health` block beyond its shape, without zod: the schema
 * (installation/buildinfo.ts) and the schema-free check `query` uses (record-check.ts) apply the
 * same ones.
 */

/** a configuration key, as the product spells them (inetsrv config.ts: ListenAddress, Port) */
export const HEALTH_KEY = /^[A-Za-z][A-Za-z0-9]{0,63}$/;
/** the request path: an absolute URL path of plain characters, nothing a request line could be split on */
export const HEALTH_PATH = /^\/[A-Za-z0-9._~/-]{0,255}$/;
export const HEALTH_LIMITS = { timeoutSeconds: 300, runningSeconds: 300 } as const;

export interface HealthBlock {
  http: {
    conf: string;
    addressKey: string;
    portKey: string;
    defaultAddress: string;
    defaultPort: number;
    path: string;
  };
  timeoutSeconds: number;
  runningSeconds: number;
}

/**
 * node's own grammar of a dotted-quad IPv4 address (lib/internal/net.js), which `isIP` answers 4 for.
 * Every query reads BUILDINFO.json's health block, and node:net costs a query a few ms to load (its
 * stream modules with it): the usual address is told by this, anything else by `isIP` itself, so the
 * answer is isIP's either way (contract-rules.test.ts compares them).
 */
const PLAIN_IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)$/;

/** `isIP(a) !== 0`, loading node:net only for what is not a plain IPv4 address. */
export function isIPAddress(a: string): boolean {
  return PLAIN_IPV4.test(a) || process.getBuiltinModule('node:net').isIP(a) !== 0;
}

/** Why a health block that has the right shape is still not one to believe, or undefined. */
export function healthBlockReason(h: HealthBlock): string | undefined {
  const why = servicePathReason(h.http.conf);
  if (why !== undefined)
    return `health.http.conf ${JSON.stringify(h.http.conf)} is not a path inside the installation (${why})`;
  if (!isIPAddress(h.http.defaultAddress))
    return `health.http.defaultAddress ${JSON.stringify(h.http.defaultAddress)} is not an IP address`;
  return undefined;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const exactly = (o: Record<string, unknown>, keys: readonly string[]): boolean =>
  Object.keys(o).length === keys.length && keys.every((k) => Object.hasOwn(o, k));
const intIn = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
const matches = (v: unknown, re: RegExp): v is string => typeof v === 'string' && re.test(v);

/** The schema-free mirror of HealthContractSchema: true only for a block the schema accepts. */
export function healthBlockOk(v: unknown): v is HealthBlock {
  if (!isObj(v) || !exactly(v, ['http', 'timeoutSeconds', 'runningSeconds'])) return false;
  const h = v['http'];
  if (!isObj(h) || !exactly(h, ['conf', 'addressKey', 'portKey', 'defaultAddress', 'defaultPort', 'path']))
    return false;
  const shape =
    typeof h['conf'] === 'string' &&
    h['conf'].length > 0 &&
    matches(h['addressKey'], HEALTH_KEY) &&
    matches(h['portKey'], HEALTH_KEY) &&
    typeof h['defaultAddress'] === 'string' &&
    intIn(h['defaultPort'], 1, 65_535) &&
    matches(h['path'], HEALTH_PATH) &&
    intIn(v['timeoutSeconds'], 1, HEALTH_LIMITS.timeoutSeconds) &&
    intIn(v['runningSeconds'], 0, HEALTH_LIMITS.runningSeconds);
  return shape && healthBlockReason(v as unknown as HealthBlock) === undefined;
}
