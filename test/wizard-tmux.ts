/**
 * The wizard in a real terminal, for the tmux tests: a private tmux server per test process, a
 * terminal of a given size running the real `servicepack` executable, keys sent as typed (or as one
 * chunk, as a paste or an ssh connection delivers them), the screen read back and polled.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const bin = join(repo, 'installer', 'bin', 'servicepack');
export const packsDir = join(repo, 'dist', 'packs');
const rtm = join(repo, 'dist', 'releases', 'inetsrv-4.0-rtm-x86');
const SOCKET = `sp-wizard-tmux-${process.pid}`;
const SESSION = 'wizard';
export const SCREEN_MS = 30_000;

export function tmux(...args: string[]): string {
  const r = spawnSync('tmux', ['-L', SOCKET, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** tmux and the build output, or a failure that says which is missing: never a skip. */
export function ensureTmux(): void {
  const ensure = spawnSync('sh', [join(repo, 'scripts', 'ensure-tmux.sh')], { encoding: 'utf8' });
  if (ensure.status !== 0)
    throw new Error(`tmux is needed and scripts/ensure-tmux.sh could not provide it:\n${ensure.stderr}`);
  const missing = [bin, join(repo, 'installer', 'dist', 'wizard', 'index.js'), rtm, packsDir].filter(
    (p) => !existsSync(p),
  );
  if (missing.length > 0) throw new Error(`build output missing (run pnpm build first): ${missing.join(', ')}`);
}

/** Starts servicepack in a fresh W×H terminal; the pane stays open after it exits to show `[exit N]`. */
export function start(args: string[], size: { columns: number; rows: number }, env: Record<string, string> = {}): void {
  const assignments = Object.entries(env).map(([k, v]) => `${k}=${quote(v)}`);
  const command = `cd ${quote(repo)} && env -u CI -u CONTINUOUS_INTEGRATION ${assignments.join(' ')} ${quote(process.execPath)} ${quote(bin)} ${args.map(quote).join(' ')}; echo "[exit $?]"; sleep 600`;
  for (let attempt = 1; ; attempt++) {
    try {
      tmux('-u', 'new-session', '-d', '-x', String(size.columns), '-y', String(size.rows), '-s', SESSION, command);
      return;
    } catch (e) {
      if (attempt >= 5 || !/server exited unexpectedly|no server running|error connecting/.test(String(e))) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200 * attempt);
    }
  }
}

export function screen(): string {
  return tmux('capture-pane', '-p', '-t', SESSION);
}

export async function waitScreen(
  want: string | RegExp | ((s: string) => boolean),
  timeoutMs = SCREEN_MS,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = screen();
    if (typeof want === 'string' ? s.includes(want) : typeof want === 'function' ? want(s) : want.test(s)) return s;
    if (Date.now() > deadline)
      throw new Error(`no ${String(want)} on the screen within ${timeoutMs} ms; the screen:\n${s}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The screen once it has stopped changing (ink draws a screen, then again once it has measured it). */
export async function settled(timeoutMs = SCREEN_MS): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = screen();
  for (;;) {
    await new Promise((r) => setTimeout(r, 300));
    const s = screen();
    if (s === last || Date.now() > deadline) return s;
    last = s;
  }
}

/** One key per send-keys, as typed. */
export async function keys(...names: string[]): Promise<void> {
  for (const k of names) {
    tmux('send-keys', '-t', SESSION, k);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** Bytes in one write to the terminal: the app reads them as one chunk, as a paste or ssh delivers them. */
export async function chunk(bytes: string): Promise<void> {
  tmux('send-keys', '-t', SESSION, '-l', bytes);
  await new Promise((r) => setTimeout(r, 300));
}

export function stop(): void {
  spawnSync('tmux', ['-L', SOCKET, '-f', '/dev/null', 'kill-server'], { stdio: 'ignore' });
}

const work: string[] = [];
/** A fresh copy of the RTM x86 release tree. */
export async function rtmCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sp-wizard-tmux-'));
  work.push(dir);
  const root = join(dir, 'inetsrv');
  await cp(rtm, root, { recursive: true });
  return root;
}
export async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sp-wizard-tmux-'));
  work.push(dir);
  return dir;
}
export async function cleanup(): Promise<void> {
  stop();
  for (const d of work.splice(0)) await rm(d, { recursive: true, force: true });
}
