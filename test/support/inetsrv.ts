/**
 * Test harness for inetsrv: start a release tree (or the source package) in a child process with
 * an IPC channel, read its own counters and the kernel's view of its sockets, and stop it.
 *
 * Measurements follow docs/connection-leak.md §1: the server runs in its own process so fd
 * counts are the server's alone; waits are barriers on observable state, never bare sleeps.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where built release trees are looked up; INETSRV_RELEASES points elsewhere (e.g. at trees laid out by hand). */
export const releasesDir = process.env['INETSRV_RELEASES'] ?? join(repoRoot, 'dist', 'releases');
export const inetsrvSource = join(repoRoot, 'packages', 'inetsrv');
const tsxLoader = join(repoRoot, 'node_modules', 'tsx', 'dist', 'loader.mjs');

/** The IPC `stats` answer (docs/internal-contracts.md). */
export interface ServerStats {
  connections: number;
  ends: number;
  drops: number;
  accepted: number;
  requests: number;
}

export interface StartOptions {
  /** `--set Key=Value` overrides, applied after the tree's conf/inetsrv.conf. */
  set?: Record<string, string | number>;
  /** More command-line arguments after `start`. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Working folder of the server process; a fresh temp folder by default (the server must not care). */
  cwd?: string;
  /**
   * Keep the tree's own PidFile and LogDirectory. By default both go to a per-instance temp folder,
   * so parallel instances of one tree do not meet and a release tree is never written to.
   */
  useTreePaths?: boolean;
  startTimeoutMs?: number;
}

export interface RunningServer {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly host: string;
  readonly port: number;
  /** Temp folder of this instance (holds run/ and logs/ unless useTreePaths). */
  readonly runDir: string;
  readonly logDir: string;
  readonly pidFile: string;
  stdout(): string;
  stderr(): string;
  stats(timeoutMs?: number): Promise<ServerStats>;
  /** Open file descriptors of the server process; undefined without /proc. */
  fdCount(): number | undefined;
  /** Server-side sockets on the port in that TCP state; undefined when `ss` is not installed. */
  sockets(state: 'close-wait' | 'established'): Promise<number | undefined>;
  /** IPC stop; resolves with the server's own duration, or undefined if it did not report within timeoutMs. */
  stop(timeoutMs?: number): Promise<number | undefined>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL if still running, wait for the exit, remove the temp folder. Safe to call twice. */
  dispose(): Promise<void>;
}

/** A built release tree by name (e.g. "inetsrv-4.0-rtm-x86"); fails loudly when the build has not run. */
export function releaseTree(name: string): string {
  const dir = join(releasesDir, name);
  if (!existsSync(join(dir, 'bin', 'inetsrv')) || !existsSync(join(dir, 'BUILDINFO.json'))) {
    throw new Error(`release tree ${dir} is missing: run \`pnpm build\` (npx --yes pnpm@10.34.8 run build) first`);
  }
  return dir;
}

export interface TreeBuildInfo {
  level: number;
  arch: string;
  build: string;
  hotfixes: string[];
}

export function readBuildInfo(treeDir: string): TreeBuildInfo {
  return JSON.parse(readFileSync(join(treeDir, 'BUILDINFO.json'), 'utf8')) as TreeBuildInfo;
}

/** Every built release tree, by name. */
function builtTrees(): Array<{ name: string; dir: string; info: TreeBuildInfo }> {
  if (!existsSync(releasesDir))
    throw new Error(`${releasesDir} does not exist: run \`pnpm build\` (npx --yes pnpm@10.34.8 run build)`);
  return readdirSync(releasesDir)
    .filter((n) => n.startsWith('inetsrv-4.0-'))
    .sort()
    .map((name) => {
      const dir = releaseTree(name);
      return { name, dir, info: readBuildInfo(dir) };
    });
}

/**
 * The newest built release tree of an arch: the highest level, then the most hotfixes (a chain
 * prefix of post-SP6a hotfixes grows by one per tree). Looked up from BUILDINFO, never by name, so
 * callers follow the build wherever the newest level is.
 */
export function newestReleaseTree(arch: string): string {
  const candidates = builtTrees().filter((t) => t.info.arch === arch);
  candidates.sort(
    (a, b) =>
      b.info.level - a.info.level ||
      b.info.hotfixes.length - a.info.hotfixes.length ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const newest = candidates[0];
  if (newest === undefined)
    throw new Error(`no ${arch} release tree in ${releasesDir}: run \`pnpm build\` (npx --yes pnpm@10.34.8 run build)`);
  return newest.dir;
}

/** A built release tree as a fix's regression test sees it. */
export interface FixTree {
  name: string;
  dir: string;
  level: number;
  arch: string;
  /** The hotfixes built into the tree (BUILDINFO.json). */
  hotfixes: string[];
  /** carries the fix: its level reached, or the hotfix installed */
  fixed: boolean;
}

/**
 * Every built release tree for the regression test of fix `id` (shipped at `level`). Both directions
 * or nothing: without the level before the fix and the fix's own, for each arch, the test proves
 * nothing, so a missing build fails here, never skips. `fixed` can override what counts as fixed
 * (an arch-only fix: the other arch never had the bug).
 */
export function fixTrees(
  id: string,
  level: number,
  fixed?: (info: TreeBuildInfo, carries: boolean) => boolean,
): FixTree[] {
  const trees = builtTrees().map(({ name, dir, info }) => {
    const carries = info.level >= level || info.hotfixes.includes(id);
    return {
      name,
      dir,
      level: info.level,
      arch: info.arch,
      hotfixes: info.hotfixes,
      fixed: fixed ? fixed(info, carries) : carries,
    };
  });
  for (const arch of ['x86', 'alpha']) {
    for (const l of [level - 1, level]) {
      if (!trees.some((t) => t.arch === arch && t.level === l))
        throw new Error(`no ${arch} release tree at level ${l} in ${releasesDir}: run \`pnpm build\``);
    }
  }
  return trees;
}

/** Service Pack 6a: the last level; every fix after it ships as a hotfix on it (docs/layout.md §2). */
const SP6A_LEVEL = 7;

/**
 * The release trees for the regression test of post-SP6a fix `id`, which no level ships: the fixes
 * after SP6a form a chain of hotfixes, each built on SP6a and the ones before it, so the trees are
 * SP6a and one per chain prefix (BUILDINFO level 7, hotfixes = the prefix), and a tree carries the
 * fix iff its hotfixes include it. Both directions or nothing: for each arch, the tree that first
 * carries the fix and the tree just before it (the chain prefix before `id`, SP6a for the first fix)
 * must be built, so a missing build fails here, never skips.
 */
export function chainTrees(id: string): FixTree[] {
  const chain = builtTrees()
    .filter((t) => t.info.level === SP6A_LEVEL)
    .map(({ name, dir, info }) => ({
      name,
      dir,
      level: info.level,
      arch: info.arch,
      hotfixes: info.hotfixes,
      fixed: info.hotfixes.includes(id),
    }));
  for (const arch of ['x86', 'alpha']) {
    const own = chain.filter((t) => t.arch === arch);
    const first = own.find((t) => t.hotfixes.at(-1) === id);
    if (first === undefined)
      throw new Error(
        `no ${arch} release tree ending its hotfix chain with ${id} in ${releasesDir}: run \`pnpm build\``,
      );
    const prefix = first.hotfixes.slice(0, -1);
    const before = own.find((t) => t.hotfixes.length === prefix.length && t.hotfixes.every((h, i) => h === prefix[i]));
    if (before === undefined || before.fixed) {
      throw new Error(
        `no ${arch} release tree with the chain before ${id} (SP6a${prefix.map((h) => ` + ${h}`).join('')}) in ${releasesDir}: run \`pnpm build\``,
      );
    }
  }
  return chain;
}

type Message = { type?: unknown; [k: string]: unknown };

function launch(command: string[], options: StartOptions): Promise<RunningServer> {
  const runDir = mkdtempSync(join(tmpdir(), 'inetsrv-run-'));
  const pidFile = join(runDir, 'run', 'inetsrv.pid');
  const logDir = join(runDir, 'logs');
  const sets: Record<string, string | number> = options.useTreePaths ? {} : { PidFile: pidFile, LogDirectory: logDir };
  Object.assign(sets, options.set ?? {});
  const args = [
    ...command,
    'start',
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    ...Object.entries(sets).flatMap(([k, v]) => ['--set', `${k}=${v}`]),
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: options.cwd ?? runDir,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => {
    child.once('exit', (code, signal) => r({ code, signal }));
  });
  const waiting: Array<{ type: string; resolve: (m: Message) => void }> = [];
  child.on('message', (m: Message) => {
    const i = waiting.findIndex((w) => w.type === m.type);
    if (i >= 0) waiting.splice(i, 1)[0]?.resolve(m);
  });
  const next = (type: string, timeoutMs: number): Promise<Message | undefined> =>
    new Promise((res) => {
      const entry = { type, resolve: (m: Message) => done(m) };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      const onExit = () => done(undefined);
      child.once('exit', onExit);
      function done(m: Message | undefined) {
        clearTimeout(timer);
        child.off('exit', onExit);
        const i = waiting.indexOf(entry);
        if (i >= 0) waiting.splice(i, 1);
        res(m);
      }
      waiting.push(entry);
    });

  let disposed = false;
  const dispose = async (): Promise<void> => {
    if (disposed) return;
    disposed = true;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    rmSync(runDir, { recursive: true, force: true });
  };

  return next('listening', options.startTimeoutMs ?? 15_000).then(async (m) => {
    if (m === undefined || typeof m['port'] !== 'number' || child.pid === undefined) {
      await dispose();
      throw new Error(`inetsrv did not report 'listening' (${args.join(' ')}):\n${err}${out}`);
    }
    const pid = child.pid;
    const port = m['port'];
    const server: RunningServer = {
      child,
      pid,
      host: String(m['host']),
      port,
      runDir,
      logDir,
      pidFile,
      stdout: () => out,
      stderr: () => err,
      async stats(timeoutMs = 2000) {
        const reply = next('stats', timeoutMs);
        child.send({ type: 'stats' });
        const s = await reply;
        if (s === undefined) throw new Error(`no stats from inetsrv within ${timeoutMs} ms\n${err}`);
        const num = (k: string) => Number(s[k]);
        return {
          connections: num('connections'),
          ends: num('ends'),
          drops: num('drops'),
          accepted: num('accepted'),
          requests: num('requests'),
        };
      },
      fdCount: () => fdCount(pid),
      sockets: (state) => socketCount(state, port),
      async stop(timeoutMs = 5000) {
        const reply = next('stopped', timeoutMs);
        child.send({ type: 'stop' });
        const s = await reply;
        return s === undefined ? undefined : Number(s['ms']);
      },
      exited,
      dispose,
    };
    return server;
  });
}

/** Runs `node <tree>/bin/inetsrv start --port 0 ...` from a release (or installed) tree. */
export function startTree(treeDir: string, options: StartOptions = {}): Promise<RunningServer> {
  return launch([join(treeDir, 'bin', 'inetsrv')], options);
}

/** Runs the RTM source through tsx: `node --import tsx packages/inetsrv/src/cli.ts start ...`. */
export function startFromSource(options: StartOptions = {}): Promise<RunningServer> {
  return launch(['--import', tsxLoader, join(inetsrvSource, 'src', 'cli.ts')], options);
}

/** Runs the inetsrv command line from a tree (or from source with tree = undefined) to completion. */
export function runCli(
  treeDir: string | undefined,
  args: string[],
  options: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const command =
    treeDir === undefined
      ? ['--import', tsxLoader, join(inetsrvSource, 'src', 'cli.ts')]
      : [join(treeDir, 'bin', 'inetsrv')];
  return new Promise((res) => {
    execFile(
      process.execPath,
      [...command, ...args],
      { cwd: options.cwd ?? tmpdir(), timeout: options.timeoutMs ?? 15_000, env: { ...process.env, ...options.env } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        res({ code, stdout, stderr });
      },
    );
  });
}

export function fdCount(pid: number): number | undefined {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

/** The I/O counters of /proc/PID/io; undefined without /proc. */
export interface ProcIo {
  /** Bytes the process asked read(2) and its kin for, files and sockets alike, page cache or not. */
  rchar: number;
  wchar: number;
  syscr: number;
  syscw: number;
}

export function procIo(pid: number): ProcIo | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/io`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string): number => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { rchar: field('rchar'), wchar: field('wchar'), syscr: field('syscr'), syscw: field('syscw') };
}

let ssMissing = false;

/** `ss -Htan state <state> '( sport = :PORT )'`: the server side of connections on that port. */
export function socketCount(state: 'close-wait' | 'established', port: number): Promise<number | undefined> {
  if (ssMissing) return Promise.resolve(undefined);
  return new Promise((res, rej) => {
    execFile('ss', ['-Htan', 'state', state, `( sport = :${port} )`], (error, stdout) => {
      if (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          ssMissing = true;
          res(undefined);
        } else rej(error);
        return;
      }
      res(stdout.split('\n').filter((l) => l.trim() !== '').length);
    });
  });
}

/** A MaxConnections no leak test reaches (T1 opens 200, T2 600): no limit, without the value 0. */
export const UNLIMITED_FOR_PROBE = 100_000;

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until `condition` holds; returns the milliseconds waited, or throws naming `what`. */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  { timeoutMs = 5000, stepMs = 20 }: { timeoutMs?: number; stepMs?: number } = {},
): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await condition()) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(stepMs);
  }
}

/** One parsed HTTP response. */
export interface RawResponse {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

/**
 * Splits a byte stream into responses. `methods` says which request each answers, since a HEAD
 * response announces a Content-Length it does not send.
 */
export function parseResponses(data: Buffer, methods: readonly string[]): { responses: RawResponse[]; rest: Buffer } {
  const responses: RawResponse[] = [];
  let buf = data;
  while (responses.length < methods.length) {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) break;
    const lines = buf.toString('latin1', 0, end).split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3}) /.exec(lines[0] ?? '')?.[1] ?? Number.NaN);
    if (Number.isNaN(status)) throw new Error(`not an HTTP response: ${JSON.stringify(lines[0])}`);
    const headers = new Map<string, string>();
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers.set(l.slice(0, i).toLowerCase(), l.slice(i + 1).trim());
    }
    const method = methods[responses.length];
    const hasBody = method !== 'HEAD' && status !== 304 && status !== 204;
    const length = hasBody ? Number(headers.get('content-length') ?? 0) : 0;
    if (buf.length < end + 4 + length) break;
    responses.push({ status, headers, body: buf.subarray(end + 4, end + 4 + length) });
    buf = buf.subarray(end + 4 + length);
  }
  return { responses, rest: buf };
}

export interface ExchangeResult {
  responses: RawResponse[];
  /** The server closed the connection (FIN) before the timeout. */
  closedByServer: boolean;
  /** Milliseconds from the first write to the server's FIN, if it came. */
  closedAfterMs: number | undefined;
}

/**
 * Sends raw bytes on one connection and collects responses. Resolves when `methods.length`
 * responses have arrived (and, with waitForClose, the server has closed), or at timeoutMs.
 */
export function exchange(
  port: number,
  request: string | Buffer,
  methods: readonly string[],
  {
    timeoutMs = 3000,
    waitForClose = false,
    host = '127.0.0.1',
  }: { timeoutMs?: number; waitForClose?: boolean; host?: string } = {},
): Promise<ExchangeResult> {
  return new Promise((res, rej) => {
    const socket: Socket = connect({ port, host });
    let data = Buffer.alloc(0);
    let t0 = 0;
    let closedAfterMs: number | undefined;
    let settled = false;
    const finish = (closedByServer: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      try {
        res({ responses: parseResponses(data, methods).responses, closedByServer, closedAfterMs });
      } catch (e) {
        rej(e);
      }
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('connect', () => {
      t0 = performance.now();
      socket.write(request);
    });
    socket.on('data', (d: Buffer) => {
      data = Buffer.concat([data, d]);
      if (!waitForClose && parseResponses(data, methods).responses.length >= methods.length) finish(false);
    });
    socket.on('end', () => {
      closedAfterMs = performance.now() - t0;
      finish(true);
    });
    socket.on('error', () => finish(true));
  });
}

/**
 * One T1 cycle: connect, `GET / HTTP/1.1`, read the whole response, then destroy() — a FIN, not a
 * reset, since nothing is left unread. Resolves with the status, or 'no-response' if the server
 * closed (or stayed silent for timeoutMs) first.
 */
export function requestCycle(
  port: number,
  { timeoutMs = 1000, path = '/' }: { timeoutMs?: number; path?: string } = {},
): Promise<number | 'no-response'> {
  return new Promise((res) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let data = Buffer.alloc(0);
    let settled = false;
    const finish = (r: number | 'no-response') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      res(r);
    };
    const timer = setTimeout(() => finish('no-response'), timeoutMs);
    socket.on('connect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`));
    socket.on('data', (d: Buffer) => {
      data = Buffer.concat([data, d]);
      const [r] = parseResponses(data, ['GET']).responses;
      if (r !== undefined) finish(r.status);
    });
    socket.on('close', () => finish('no-response'));
    socket.on('error', () => finish('no-response'));
  });
}

export interface HeldConnection {
  /** Status of the first response, if one arrived. */
  status: number | undefined;
  /** From the client's write to the end of the first response. */
  responseAfterMs: number | undefined;
  /** From the client's write to the server's FIN (or a reset); undefined while still open. */
  closedAfterMs: number | undefined;
}

/**
 * Opens n connections at once, each writing `payload`, and watches them: until every one has been
 * closed by the server, or until observeMs have passed. The clients never close first; whatever
 * is still open at the end is destroyed.
 */
export async function holdConnections(
  port: number,
  n: number,
  payload: string,
  {
    observeMs,
    whileHeld,
  }: {
    observeMs: number /** Runs before the clients let go (to read the server's state). */;
    whileHeld?: () => Promise<void>;
  },
): Promise<HeldConnection[]> {
  const sockets: Socket[] = [];
  const results: HeldConnection[] = [];
  let open = n;
  let allClosed: () => void = () => {};
  const allClosedP = new Promise<void>((r) => {
    allClosed = r;
  });
  await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<void>((connected, failed) => {
          const socket = connect({ port, host: '127.0.0.1' });
          const result: HeldConnection = { status: undefined, responseAfterMs: undefined, closedAfterMs: undefined };
          results.push(result);
          sockets.push(socket);
          let t0 = 0;
          let data = Buffer.alloc(0);
          const closed = () => {
            if (result.closedAfterMs !== undefined) return;
            result.closedAfterMs = performance.now() - t0;
            if (--open === 0) allClosed();
          };
          socket.once('connect', () => {
            t0 = performance.now();
            socket.write(payload, () => connected());
          });
          socket.once('error', (e) => (t0 === 0 ? failed(e) : closed()));
          socket.on('data', (d: Buffer) => {
            if (result.status !== undefined) return;
            data = Buffer.concat([data, d]);
            const [r] = parseResponses(data, ['GET']).responses;
            if (r !== undefined) {
              result.status = r.status;
              result.responseAfterMs = performance.now() - t0;
            }
          });
          socket.once('end', closed);
        }),
    ),
  );
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([new Promise<void>((r) => (timer = setTimeout(r, observeMs))), allClosedP]);
  clearTimeout(timer);
  try {
    await whileHeld?.();
  } finally {
    for (const s of sockets) s.destroy();
  }
  return results;
}

export interface LeakReading {
  /** Open fds minus the baseline taken 100 ms after 'listening'; undefined without /proc. */
  fdDelta: number | undefined;
  /** Server-side CLOSE_WAIT sockets on the port; undefined without `ss`. */
  closeWait: number | undefined;
  /** The server's own count of open connections (IPC stats). */
  connections: number;
}

export interface LeakProbeResult {
  n: number;
  /** Cycles answered 200. */
  served: number;
  /** Time from the last cycle until every FIN had reached the server (ends = n, no ESTABLISHED left). */
  barrierMs: number;
  /** Time after the barrier until the server had no connection left; undefined if not within 500 ms. */
  cleanMs: number | undefined;
  /** 1000 ms after the barrier. */
  first: LeakReading;
  /** 2000 ms after the barrier: a leak does not heal with time (CLOSE_WAIT has no kernel timer). */
  second: LeakReading;
  stats: ServerStats;
}

/**
 * T1 of docs/connection-leak.md §2, against any tree (a release or an installation): N sequential clients
 * each get one response and close while the connection is idle. Timers that could mask a leak are
 * set far away. A leaking server keeps all N; a fixed one keeps none.
 */
export async function runLeakProbe(
  treeDir: string,
  n: number,
  {
    holdMs = [1000, 1000] as readonly [number, number],
    start = startTree,
  }: { holdMs?: readonly [number, number]; start?: typeof startTree } = {},
): Promise<LeakProbeResult> {
  const server = await start(treeDir, {
    // RTM does not know the last two keys and ignores them (with a warning); the fix honours them.
    // MaxConnections far above what the probe opens, not 0 (no limit): SP6 refuses every connection
    // on 0 (Q246009), which is that fix's test, not this one.
    set: { MaxConnections: UNLIMITED_FOR_PROBE, ConnectionTimeout: 900, KeepAliveTimeout: 900, HeaderWaitTimeout: 900 },
  });
  try {
    await delay(100);
    const baseFds = server.fdCount();
    let served = 0;
    for (let i = 0; i < n; i++) if ((await requestCycle(server.port)) === 200) served++;
    const barrierMs = await waitFor(
      `${n} FINs to reach the server`,
      async () => (await server.stats()).ends >= n && ((await server.sockets('established')) ?? 0) === 0,
    );
    const tBarrier = performance.now();
    let cleanMs: number | undefined;
    try {
      cleanMs = await waitFor('no connections left', async () => (await server.stats()).connections === 0, {
        timeoutMs: 500,
        stepMs: 10,
      });
    } catch {
      cleanMs = undefined;
    }
    const read = async (): Promise<LeakReading> => {
      const fds = server.fdCount();
      return {
        fdDelta: fds === undefined || baseFds === undefined ? undefined : fds - baseFds,
        closeWait: await server.sockets('close-wait'),
        connections: (await server.stats()).connections,
      };
    };
    await delay(Math.max(0, tBarrier + holdMs[0] - performance.now()));
    const first = await read();
    await delay(Math.max(0, tBarrier + holdMs[0] + holdMs[1] - performance.now()));
    const second = await read();
    return { n, served, barrierMs, cleanMs, first, second, stats: await server.stats() };
  } finally {
    await server.dispose();
  }
}
