/**
 * Helpers for the unattended / fleet tests: installations copied from the built release trees,
 * the real `servicepack` executable run without a terminal, and tree snapshots to prove that a
 * refused run changed nothing.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { releaseTree, repoRoot } from './inetsrv.js';
import { type Run, run } from './process.js';

export const bin = join(repoRoot, 'installer', 'bin', 'servicepack');
export const distPacks = join(repoRoot, 'dist', 'packs');
export const distFeed = join(repoRoot, 'dist', 'feed');

/** Fails (never skips) when the build the tests rely on is missing. */
export function requireBuild(): void {
  for (const p of [
    join(repoRoot, 'installer', 'dist', 'cli.js'),
    join(distFeed, 'index.json'),
    join(distPacks, 'inetsrv-4.0-sp6-x86.tgz'),
    join(repoRoot, 'dist', 'keys', 'dev.key'),
  ]) {
    if (!existsSync(p)) throw new Error(`${p} is missing: run pnpm build (npx --yes pnpm@10.34.8 run build) first`);
  }
}

export class Temps {
  private readonly dirs: string[] = [];
  async dir(prefix = 'sp-fleet-'): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), prefix));
    this.dirs.push(d);
    return d;
  }
  /** A private copy of a built release tree, e.g. installation("sp5-q236565-x86"). */
  async installation(name: string): Promise<string> {
    const root = join(await this.dir('sp-root-'), name);
    await cp(releaseTree(`inetsrv-4.0-${name}`), root, { recursive: true, preserveTimestamps: true });
    return root;
  }
  async cleanup(): Promise<void> {
    for (const d of this.dirs.splice(0)) await rm(d, { recursive: true, force: true });
  }
}

/**
 * Runs bin/servicepack with stdin closed and no terminal, asynchronously (a test may serve HTTP
 * from its own process meanwhile), with a bounded time. Only PATH and `env` reach the child, so
 * a CI variable or a terminal type of the test runner cannot change the front end.
 */
export function servicepack(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Run> {
  return run(process.execPath, [bin, ...args], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
    timeoutMs,
  });
}

/** `--json` output: exactly one document. */
export function json(run: Pick<Run, 'out' | 'err'> & { code: number | null }): Record<string, unknown> {
  try {
    return JSON.parse(run.out) as Record<string, unknown>;
  } catch {
    throw new Error(`stdout is not one JSON document (exit ${run.code}):\n${run.out}\n--- stderr ---\n${run.err}`);
  }
}

/**
 * sha256 of every file under `dir` except the installer's logs (the one thing a refused run may add)
 * and `.servicepack/garbage/` (an earlier run's staging, deleted in the background: core garbage.ts).
 */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(rel: string): Promise<void> {
    for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (p === '.servicepack/log' || p === '.servicepack/garbage') continue;
      if (e.isDirectory()) {
        out[`${p}/`] = 'dir';
        await walk(p);
      } else
        out[p] = createHash('sha256')
          .update(await readFile(join(dir, p)))
          .digest('hex');
    }
  }
  await walk('');
  return out;
}

export async function readJsonLines(file: string): Promise<Record<string, unknown>[]> {
  return (await readFile(file, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export async function buildInfoOf(root: string): Promise<{ level: number; arch: string; hotfixes: string[] }> {
  return JSON.parse(await readFile(join(root, 'BUILDINFO.json'), 'utf8')) as {
    level: number;
    arch: string;
    hotfixes: string[];
  };
}
