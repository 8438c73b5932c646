/**
 * Helpers for the end-to-end transaction tests (crash matrix, locks, full disk, round trips,
 * service handling): run the real `servicepack` executable, copy release trees into temp folders,
 * and compare trees the way docs/transactions.md states the guarantee (byte for byte and mode for mode,
 * outside .servicepack/, logs/ and run/).
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { levelTag } from '../../packages/core/src/rules/level.js';
import { hashTree } from '../../packages/core/src/support/hash.js';
import { type RunOptions as ProcessRunOptions, type Run, run } from './process.js';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const releases = join(repo, 'dist', 'releases');
export const packsDir = join(repo, 'dist', 'packs');
export const bin = join(repo, 'installer', 'bin', 'servicepack');
/** what the tree comparison leaves out: the installer's records and what a running server writes */
export const NOT_COMPARED = ['.servicepack', 'logs', 'run'];

const work: string[] = [];

let frozen: string | undefined;

/** A release tree by level tag (rtm-x86, sp6-alpha, sp5-q236565-x86): from the frozen copy when there is one. */
export const tree = (name: string): string => join(frozen ?? releases, `inetsrv-4.0-${name}`);
/** A pack by the name of the tree it reaches (sp6-x86, sp5-q236565-x86). */
export const pack = (name: string): string => join(frozen ?? packsDir, `inetsrv-4.0-${name}.tgz`);

/**
 * Copies the release trees and packs a suite uses into a temp folder and points tree()/pack() at
 * them, so a rebuild of dist/ while the suite runs (a long matrix, a parallel build) cannot make
 * the expected trees and the installed packs disagree halfway through.
 */
export async function freezeBuild(trees: readonly string[], packs: readonly string[]): Promise<void> {
  requireBuild([...trees.map(tree), ...packs.map(pack)]);
  const dir = await mkdtemp(join(tmpdir(), 'sp-frozen-'));
  work.push(dir);
  for (const t of trees) await cp(tree(t), join(dir, `inetsrv-4.0-${t}`), { recursive: true });
  for (const p of packs) await cp(pack(p), join(dir, `inetsrv-4.0-${p}.tgz`));
  frozen = dir;
}

/** Fails the suite early, with the command that fixes it, when the build output is missing. */
export function requireBuild(paths: string[]): void {
  const missing = [...paths, join(repo, 'installer', 'dist', 'cli.js')].filter((p) => !existsSync(p));
  if (missing.length > 0)
    throw new Error(
      `missing build output (${missing.join(', ')}): run pnpm build (npx --yes pnpm@10.34.8 run build) first`,
    );
}

export type { Run };

export type RunOptions = Pick<ProcessRunOptions, 'onStderr' | 'timeoutMs'> & { env?: Record<string, string> };

/** Runs `servicepack ARGS` to completion; a kill shows as signal, not as an exception. */
export function servicepack(args: string[], opts: RunOptions = {}): Promise<Run> {
  return run(process.execPath, [bin, ...args], {
    env: { PATH: process.env['PATH'] ?? '', ...opts.env },
    timeoutMs: opts.timeoutMs,
    onStderr: opts.onStderr,
  });
}

/** The checkpoints a run passed, from SERVICEPACK_FAULT=list output: [point, n] in order. */
export function traceOf(stderr: string): [string, number][] {
  return [...stderr.matchAll(/^servicepack-fault: (\S+) (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]);
}

/**
 * A RAM file system for suites that run hundreds of short transactions: a SIGKILL leaves the page
 * cache as it was, so the crash images are the same as on a disk, and fsync costs nothing there
 * (durability across a power cut is what fsync is for, and no kill can test it).
 */
const ramBase = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

export async function tempRoot(prefix = 'sp-e2e-', opts: { ram?: boolean } = {}): Promise<string> {
  const dir = await mkdtemp(join(opts.ram ? ramBase : tmpdir(), prefix));
  work.push(dir);
  return join(dir, 'inetsrv');
}

/** A fresh installation: a copy of a release tree (modes and all) in its own temp folder. */
export async function installationFrom(name: string, opts: { ram?: boolean } = {}): Promise<string> {
  const root = await tempRoot('sp-e2e-', opts);
  await cp(tree(name), root, { recursive: true });
  return root;
}

export function tempFolders(): string[] {
  return work;
}

export type Digest = Record<string, string>;

/** sha256, size and mode of every file outside .servicepack/, logs/ and run/. */
export async function digest(dir: string, exclude: readonly string[] = NOT_COMPARED): Promise<Digest> {
  const out: Digest = {};
  for (const [p, e] of await hashTree(dir, exclude)) out[p] = `${e.sha256} ${e.size} ${e.mode.toString(8)}`;
  return out;
}

export function sameDigest(a: Digest, b: Digest): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/** Which files differ between two digests (for failure messages). */
export function digestDiff(a: Digest, b: Digest): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => a[k] !== b[k]).sort();
}

/** `node <root>/bin/inetsrv --version`: the level line the product itself reports. */
export function productVersion(root: string): Promise<string> {
  return new Promise((res) => {
    execFile(
      process.execPath,
      [join(root, 'bin', 'inetsrv'), '--version'],
      { timeout: 15_000 },
      (error, stdout, stderr) => {
        res(error ? `error: ${error.message} ${stderr}` : (stdout.split('\n')[0] ?? ''));
      },
    );
  });
}

export interface TreeInfo {
  level: number;
  arch: string;
  hotfixes: string[];
}

export function buildInfoOf(dir: string): TreeInfo {
  return JSON.parse(readFileSync(join(dir, 'BUILDINFO.json'), 'utf8')) as TreeInfo;
}

/** The Server header a tree's build sends (inetsrv's own rule: level as in "SP6a", arch, hotfixes). */
export function expectedServerHeader(info: TreeInfo): string {
  const tag = levelTag(info.level);
  const level = tag === 'rtm' ? 'RTM' : `SP${tag.slice(2)}`;
  return `inetsrv/4.0 (${[level, info.arch, ...info.hotfixes].join('; ')})`;
}

/** Every pack in dist/packs. */
export function builtPacks(): string[] {
  return existsSync(packsDir)
    ? readdirSync(packsDir)
        .filter((n) => n.endsWith('.tgz'))
        .sort()
        .map((n) => join(packsDir, n))
    : [];
}

/** Runs `fn` over `items` with at most `limit` at a time, keeping the input order in the result. */
export async function pool<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** mulberry32: a small seeded generator, so a failing random crash can be replayed with its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
