/**
 * Shared machinery of the benchmarks (docs/performance.md): timing child processes, peak memory, medians,
 * and the result records that scripts/run-bench.mjs gathers into bench/results.json.
 *
 * Every figure is a ratio against a baseline measured in the same run on the same machine, so a
 * busy or slow machine moves both sides. Measured and baseline runs are interleaved (A B A B …)
 * for the same reason: load that comes and goes hits both.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** the unbundled CLI (compiled files and node_modules), as in a checkout */
export const servicepackBin = join(repoRoot, 'installer', 'bin', 'servicepack');
/**
 * The CLI as the .deb and the npm package install it (scripts/bundle.mjs's folder: servicepack.mjs,
 * lib/core.mjs and the lazy lib/ files): what an administrator runs, so what the benchmarks time.
 */
export const servicepackShipped = join(repoRoot, 'installer', 'dist', 'bundle', 'split', 'servicepack.mjs');

/** `--quick` (or BENCH_QUICK=1): small sizes, few runs, for CI smoke runs. */
export const quick = process.env['BENCH_QUICK'] === '1' || process.argv.includes('--quick');

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  baseline: string;
  baselineValue: number;
  ratio: number;
  better: 'lower' | 'higher';
  /** the bound it is judged against (docs/performance.md's table is generated from these) */
  target?: Target;
  /** every round's figure, measured and baseline, in the order they were taken */
  samples?: { value: number[]; baseline: number[] };
}

/** The target each result is judged against (docs/performance.md): the ratio's bound. */
export interface Target {
  max?: number;
  min?: number;
  /** a bound on the value itself (e.g. peak RSS ≤ 200 MiB), not on the ratio */
  valueMax?: number;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * Prints `name value unit` and the ratio to the baseline, and hands the record to the runner
 * (BENCH_RESULTS names a JSON-lines file it collects).
 */
export function report(
  r: Omit<BenchResult, 'ratio' | 'target' | 'samples'>,
  target?: Target,
  samples?: { value: readonly number[]; baseline: readonly number[] },
): BenchResult {
  const ratio = r.baselineValue === 0 ? (r.value === 0 ? 0 : Number.POSITIVE_INFINITY) : r.value / r.baselineValue;
  const rec: BenchResult = {
    ...r,
    value: round(r.value, 4),
    baselineValue: round(r.baselineValue, 4),
    ratio: round(ratio, 3),
    ...(target ? { target } : {}),
    ...(samples
      ? {
          samples: { value: samples.value.map((x) => round(x, 4)), baseline: samples.baseline.map((x) => round(x, 4)) },
        }
      : {}),
  };
  let verdict = '';
  if (target?.max !== undefined) verdict = `, target ≤ ${target.max}: ${ratio <= target.max ? 'met' : 'MISSED'}`;
  if (target?.min !== undefined) verdict = `, target ≥ ${target.min}: ${ratio >= target.min ? 'met' : 'MISSED'}`;
  if (target?.valueMax !== undefined)
    verdict = `, target ≤ ${target.valueMax} ${r.unit}: ${r.value <= target.valueMax ? 'met' : 'MISSED'}`;
  process.stdout.write(
    `${rec.name} ${fmt(rec.value)} ${rec.unit}  (baseline ${rec.baseline}: ${fmt(rec.baselineValue)} ${rec.unit}; ratio ${rec.ratio}, ${rec.better} is better${verdict})\n`,
  );
  if (samples)
    process.stdout.write(
      `  samples: ${samples.value.map(fmt).join(' ')} | baseline ${samples.baseline.map(fmt).join(' ')}\n`,
    );
  const out = process.env['BENCH_RESULTS'];
  if (out) appendFileSync(out, `${JSON.stringify(rec)}\n`);
  return rec;
}

export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Math.abs(x) >= 100) return x.toFixed(0);
  if (Math.abs(x) >= 10) return x.toFixed(1);
  return x.toFixed(3);
}

export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

// ---------------------------------------------------------------------------------------------
// Child processes

export interface Timed {
  seconds: number;
  /** peak resident set of the command, KiB; undefined when it could not be measured */
  maxRssKiB: number | undefined;
  code: number | null;
  stdout: string;
  stderr: string;
}

const GNU_TIME = '/usr/bin/time';
const hasGnuTime = existsSync(GNU_TIME);
/** Fallback without GNU time: a preload that writes the process's own peak RSS at exit (node commands only). */
const rssPreload = join(repoRoot, 'bench', 'support', 'rss-preload.mjs');

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** measure peak RSS (GNU time -f %M, else the preload for node commands) */
  rss?: boolean;
  /** a non-zero exit is an error unless listed */
  okCodes?: number[];
  /** a shell pipeline instead of an argv */
  shell?: boolean;
}

/** Runs a command to completion and times it from spawn to exit. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<Timed> {
  const dir = opts.rss ? mkdtempSync(join(tmpdir(), 'bench-rss-')) : undefined;
  const rssFile = dir ? join(dir, 'rss') : undefined;
  let file = cmd;
  let argv = [...args];
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  if (rssFile && hasGnuTime) {
    argv = ['-f', '%M', '-o', rssFile, cmd, ...args];
    file = GNU_TIME;
  } else if (rssFile) {
    env['NODE_OPTIONS'] = `${env['NODE_OPTIONS'] ?? ''} --import ${rssPreload}`.trim();
    env['BENCH_RSS_FILE'] = rssFile;
  }
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const child = spawn(file, argv, {
      cwd: opts.cwd ?? repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: opts.shell === true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      if (stdout.length < 1 << 20) stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 1 << 20) stderr += d.toString();
    });
    child.on('error', rej);
    child.on('close', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      let maxRssKiB: number | undefined;
      if (rssFile && existsSync(rssFile)) {
        const n = Number.parseInt(readFileSync(rssFile, 'utf8').trim().split('\n').pop() ?? '', 10);
        if (Number.isFinite(n)) maxRssKiB = n;
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
      const ok = code === 0 || (code !== null && (opts.okCodes ?? []).includes(code));
      if (!ok) {
        rej(new Error(`${cmd} ${args.join(' ')} exited ${code}\n${stderr.slice(-4000)}${stdout.slice(-2000)}`));
        return;
      }
      res({ seconds, maxRssKiB, code, stdout, stderr });
    });
  });
}

/**
 * Before a timed step: flush what earlier steps wrote, then give the file system a moment. Right
 * after deleting 200 MiB (the previous step's output) ext4 is still busy with it (journal commits,
 * discards on a `discard` mount) and creating files is several times slower; the step after a
 * deletion would pay for it.
 */
export async function settle(): Promise<void> {
  await run('sync', []);
  await new Promise((r) => setTimeout(r, quick ? 500 : 3000));
}

export function sh(script: string, opts: RunOptions = {}): Promise<Timed> {
  return run('bash', ['-c', `set -o pipefail; ${script}`], opts);
}

/**
 * The node flags of the CLI's first line (`#!/usr/bin/env -S node --max-semi-space-size=1`): a user
 * runs it by its path, so node gets them; they are passed here too, with this very node binary.
 */
export const servicepackNodeFlags: readonly string[] = (() => {
  const m = /^#!\/usr\/bin\/env -S node( .*)?$/.exec(readFileSync(servicepackBin, 'utf8').split('\n', 1)[0] ?? '');
  return m?.[1] ? m[1].trim().split(/\s+/) : [];
})();

/** `servicepack …` as a user runs it: the shipped bundle folder, a fresh node process, with its shebang's flags. */
export function servicepack(args: readonly string[], opts: RunOptions = {}): Promise<Timed> {
  if (!existsSync(servicepackShipped)) throw new Error(`${servicepackShipped} is missing: run pnpm build first`);
  return run(process.execPath, [...servicepackNodeFlags, servicepackShipped, ...args], {
    ...opts,
    env: { CI: 'true', ...opts.env },
  });
}

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

// ---------------------------------------------------------------------------------------------
// Where a benchmark keeps its trees

/**
 * The runner passes BENCH_WORK (one folder for the whole run, so benchmarks share the synthetic
 * installation and remove it together); a benchmark started on its own makes and removes its own.
 */
export function workDir(): { dir: string; owned: boolean } {
  const given = process.env['BENCH_WORK'];
  if (given) return { dir: given, owned: false };
  return { dir: mkdtempSync(join(tmpdir(), 'servicepack-bench-')), owned: true };
}

/** Runs `body` and removes a work folder the benchmark made itself, whatever happens. */
export async function main(body: (work: string) => Promise<void>): Promise<void> {
  const w = workDir();
  try {
    await body(w.dir);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  } finally {
    if (w.owned) rmSync(w.dir, { recursive: true, force: true });
  }
}
