import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The installation this process runs from. The same rule holds in a release tree (lib/..) and in the
 * source package (src/..), so the server never depends on the working folder it was started from.
 */
export const treeRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface BuildInfo {
  product: string;
  displayName: string;
  version: string;
  level: number;
  arch: string;
  build: string;
  hotfixes: string[];
}

const ARCH_RE = /^[a-z][a-z0-9]{0,15}$/;

function developmentBuild(): BuildInfo {
  const arch = process.env['INETSRV_ARCH'] ?? 'x86';
  return { product: 'inetsrv', displayName: 'inetsrv (development)', version: '4.0.0', level: 0, arch, build: 'dev', hotfixes: [] };
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/**
 * BUILDINFO.json says which level and architecture this tree is; without it we are running from
 * source. The arch later names a module to import, so it is checked here rather than trusted.
 */
export function loadBuildInfo(root: string = treeRoot): BuildInfo {
  let text: string;
  try {
    text = readFileSync(join(root, 'BUILDINFO.json'), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    const dev = developmentBuild();
    if (!ARCH_RE.test(dev.arch)) throw new Error(`INETSRV_ARCH: "${dev.arch}" is not an architecture name`);
    return dev;
  }
  const raw: unknown = JSON.parse(text);
  if (typeof raw !== 'object' || raw === null) throw new Error('BUILDINFO.json: not an object');
  const o = raw as Record<string, unknown>;
  const { product, displayName, version, level, arch, build, hotfixes } = o;
  if (
    typeof product !== 'string' ||
    typeof displayName !== 'string' ||
    typeof version !== 'string' ||
    typeof level !== 'number' ||
    !Number.isInteger(level) ||
    typeof arch !== 'string' ||
    !ARCH_RE.test(arch) ||
    typeof build !== 'string' ||
    !isStringArray(hotfixes)
  ) {
    throw new Error('BUILDINFO.json: missing or malformed product/version/level/arch/build/hotfixes');
  }
  return { product, displayName, version, level, arch, build, hotfixes };
}

export function levelName(info: BuildInfo): string {
  const base = info.level === 0 ? 'RTM' : `Service Pack ${info.level}`;
  if (info.hotfixes.length === 0) return base;
  return `${base}, ${info.hotfixes.length === 1 ? 'hotfix' : 'hotfixes'} ${info.hotfixes.join(', ')}`;
}

/** "inetsrv 4.0.0 Service Pack 6 (x86, build 1381.6)": what `--version` and the access log say. */
export function versionLine(info: BuildInfo): string {
  return `${info.product} ${info.version} ${levelName(info)} (${info.arch}, build ${info.build})`;
}

/**
 * The `Server:` header names the level so an administrator (or a scanner) can tell from outside
 * whether a machine has been serviced, e.g. "inetsrv/4.0 (SP6; x86)".
 */
export function serverHeader(info: BuildInfo): string {
  const [major = '4', minor = '0'] = info.version.split('.');
  const parts = [info.level === 0 ? 'RTM' : `SP${info.level}`, info.arch, ...info.hotfixes];
  return `${info.product}/${major}.${minor} (${parts.join('; ')})`;
}
