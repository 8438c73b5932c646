#!/usr/bin/env node
// `pnpm bench [--quick] [name...]`: runs bench/<name>.ts (all of them by default), each in its own
// node process, and writes bench/results.json (docs/performance.md). Benchmarks are not tests: a missed
// target is reported, not failed; only a benchmark that could not run makes the exit code non-zero.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const benchDir = join(root, 'bench');
/** The order they run in: pack-build first, since it also builds the pack everything else uses. */
const ORDER = ['pack-build', 'apply', 'verify', 'query', 'peers', 'pack-codec', 'startup', 'inetsrv'];

const args = process.argv.slice(2);
const quick = args.includes('--quick') || process.env.BENCH_QUICK === '1';
const unknownFlag = args.find((a) => a.startsWith('-') && a !== '--quick');
if (unknownFlag) {
  console.error(`run-bench: unknown option ${unknownFlag}\nusage: pnpm bench [--quick] [name...]`);
  process.exit(2);
}
const available = readdirSync(benchDir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .sort((a, b) => (ORDER.indexOf(a) + 1 || 99) - (ORDER.indexOf(b) + 1 || 99) || (a < b ? -1 : 1));
const wanted = args.filter((a) => !a.startsWith('-'));
for (const w of wanted) {
  if (!available.includes(w)) {
    console.error(`run-bench: no benchmark ${w} (have: ${available.join(', ')})`);
    process.exit(2);
  }
}
const selected = wanted.length > 0 ? available.filter((a) => wanted.includes(a)) : available;

if (!existsSync(join(root, 'installer', 'dist', 'cli.js')) || !existsSync(join(root, 'dist', 'releases'))) {
  console.error(
    'run-bench: build first (pnpm build): the benchmarks run the compiled servicepack and the release trees',
  );
  process.exit(2);
}

// The synthetic installation needs ~1.5 GiB (~150 MiB with --quick) while it exists; the peers' .deb, .rpm
// and install roots (bench/peers.ts) ~2.5 GiB more.
const needBytes = (quick ? 0.5 : 4) * 1024 ** 3;
const fs = statfsSync(tmpdir());
const freeBytes = fs.bavail * fs.bsize;
if (freeBytes < needBytes) {
  console.error(
    `run-bench: ${tmpdir()} has ${(freeBytes / 1024 ** 3).toFixed(1)} GiB free, the benchmarks need ${(needBytes / 1024 ** 3).toFixed(1)} GiB`,
  );
  process.exit(2);
}

function cmdOut(cmd, argv) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function machine() {
  const df = cmdOut('df', ['-hT', tmpdir()])?.split('\n')[1]?.split(/\s+/);
  return {
    nproc: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    freeMemoryGiB: Math.round((freemem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: cmdOut('uname', ['-sr']) ?? process.platform,
    disk: df ? `${df[0]} (${df[1]}, ${df[2]}) at ${tmpdir()}` : tmpdir(),
    loadavgStart: loadavg().map((x) => Math.round(x * 100) / 100),
    mode: quick ? 'quick' : 'full',
  };
}

const info = machine();
const work = mkdtempSync(join(tmpdir(), 'servicepack-bench-'));
const resultsFile = join(work, 'results.jsonl');
const started = Date.now();
const failed = [];
console.log(
  `bench: ${selected.join(', ')} (${info.mode}) on ${info.nproc} × ${info.cpu}, node ${info.node}, load ${info.loadavgStart.join(' ')}`,
);
try {
  for (const name of selected) {
    console.log(`\n== ${name}`);
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(benchDir, `${name}.ts`)], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, BENCH_QUICK: quick ? '1' : '0', BENCH_RESULTS: resultsFile, BENCH_WORK: work },
    });
    if (r.status !== 0) failed.push(name);
    console.log(
      `== ${name}: ${r.status === 0 ? 'done' : `FAILED (exit ${r.status ?? r.signal})`} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  }
  const results = existsSync(resultsFile)
    ? readFileSync(resultsFile, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l))
    : [];
  const doc = {
    date: new Date().toISOString(),
    machine: { ...info, loadavgEnd: loadavg().map((x) => Math.round(x * 100) / 100) },
    results,
  };
  writeFileSync(join(benchDir, 'results.json'), `${JSON.stringify(doc, null, 2)}\n`);
  console.log(
    `\n${'name'.padEnd(28)} ${'value'.padStart(10)} ${'unit'.padEnd(6)} ${'baseline'.padStart(10)}  ${'ratio'.padStart(7)}  better`,
  );
  for (const x of results) {
    console.log(
      `${x.name.padEnd(28)} ${String(x.value).padStart(10)} ${x.unit.padEnd(6)} ${String(x.baselineValue).padStart(10)}  ${String(x.ratio).padStart(7)}  ${x.better}  (${x.baseline})`,
    );
  }
  console.log(
    `\nbench/results.json written; ${((Date.now() - started) / 1000).toFixed(0)} s in all, load ${doc.machine.loadavgEnd.join(' ')}`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (failed.length > 0) {
  console.error(`run-bench: failed: ${failed.join(', ')}`);
  process.exit(1);
}
