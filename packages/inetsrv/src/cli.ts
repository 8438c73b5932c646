import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Command, parseArgs, USAGE, UsageError } from './args.js';
import { loadBuildInfo, treeRoot, versionLine } from './buildinfo.js';
import { type Config, ConfigError, type LoadedConfig, loadConfig } from './config.js';
import { describePlatform, loadPlatform } from './platform.js';
import { isRunning, readPid, removePidFile, removeStalePidFile, writePidFile } from './pidfile.js';
import { InetServer } from './server.js';

type IpcMessage = { type: 'listening'; host: string; port: number } | { type: 'error'; message: string } | { type: string };

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function err(line: string): void {
  process.stderr.write(`inetsrv: ${line}\n`);
}

function url(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
}

function loadFor(cmd: Extract<Command, { settings: unknown }>): LoadedConfig {
  const loaded = loadConfig({
    root: treeRoot,
    ...(cmd.configFile === undefined ? {} : { file: resolve(cmd.configFile) }),
    overrides: cmd.settings,
  });
  for (const w of loaded.warnings) err(`warning: ${w}`);
  return loaded;
}

function send(message: IpcMessage | Record<string, unknown>): Promise<void> {
  return new Promise((done) => {
    if (!process.send || !process.connected) return done();
    process.send(message, undefined, {}, () => done());
  });
}

/** Runs the server in this process until it has stopped. */
async function serve(config: Config): Promise<number> {
  const info = loadBuildInfo();
  const platform = await loadPlatform(info.arch);
  const server = await InetServer.create(config, info, platform);
  const { host, port } = await server.listen();
  // ps and the pid check (pidfile.ts) recognise the server by this name, whatever started it.
  process.title = `inetsrv ${treeRoot}`;
  writePidFile(config.pidFile, process.pid);
  // Node also exits on its own once nothing is left to wait for; the file must not outlive the process.
  process.on('exit', () => removePidFile(config.pidFile, process.pid));

  let signals = 0;
  const finish = async (): Promise<void> => {
    const ms = await server.stop();
    removePidFile(config.pidFile, process.pid);
    await send({ type: 'stopped', ms });
    process.exit(0);
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    // A second signal means the operator will not wait for the graceful stop.
    if (++signals > 1) {
      err(`${sig} again: exiting without waiting for open connections`);
      removePidFile(config.pidFile, process.pid);
      process.exit(1);
    }
    void finish();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('message', (m: unknown) => {
    const type = typeof m === 'object' && m !== null ? (m as { type?: unknown }).type : undefined;
    if (type === 'stats') void send({ type: 'stats', ...server.stats() });
    else if (type === 'stop') void finish();
  });

  out(`${versionLine(info)} listening on ${url(host, port)} (pid ${process.pid})`);
  await send({ type: 'listening', host, port });
  return new Promise(() => {
    // Runs until finish() exits the process.
  });
}

/**
 * Starts a copy of this command in its own session and returns once it listens, so a service
 * manager (or the installer) can rely on "start returned 0" meaning "accepting connections".
 */
function detach(cmd: Extract<Command, { kind: 'start' }>, config: Config): Promise<number> {
  const args = [
    'start',
    ...(cmd.configFile === undefined ? [] : ['--config', resolve(cmd.configFile)]),
    ...cmd.settings.flatMap((s) => ['--set', `${s.key}=${s.value}`]),
  ];
  // Without a terminal, the daemon's only voice is a file beside the access logs.
  let errorOut: number | 'ignore' = 'ignore';
  if (config.logDirectory !== null) {
    mkdirSync(config.logDirectory, { recursive: true });
    errorOut = openSync(join(config.logDirectory, 'inetsrv-error.log'), 'a');
  }
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...args], {
    cwd: treeRoot,
    detached: true,
    stdio: ['ignore', 'ignore', errorOut, 'ipc'],
  });
  if (typeof errorOut === 'number') closeSync(errorOut);
  return new Promise((done) => {
    let started = false;
    child.on('message', (m: IpcMessage) => {
      if (m.type === 'listening' && 'port' in m) {
        started = true;
        out(`inetsrv listening on ${url(m.host, m.port)} (pid ${child.pid})`);
        child.disconnect();
        child.unref();
        done(0);
      } else if (m.type === 'error' && 'message' in m) {
        err(m.message);
      }
    });
    child.on('exit', (code, signal) => {
      if (started) return;
      err(`the server exited during start-up (${signal ?? `code ${code}`})`);
      done(1);
    });
  });
}

async function stop(cmd: Extract<Command, { kind: 'stop' }>): Promise<number> {
  const { config } = loadFor(cmd);
  const pid = readPid(config.pidFile);
  if (pid === undefined || !isRunning(pid)) {
    if (pid !== undefined) removeStalePidFile(config.pidFile);
    out(`inetsrv is not running (no live process in ${config.pidFile})`);
    return 0;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + cmd.timeoutSeconds * 1000;
  while (Date.now() < deadline) {
    if (!isRunning(pid)) {
      out(`inetsrv (pid ${pid}) stopped`);
      return 0;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!cmd.force) {
    err(`pid ${pid} has not stopped after ${cmd.timeoutSeconds} s (connections still open); "inetsrv stop --force" kills it`);
    return 1;
  }
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 100 && isRunning(pid); i++) await new Promise((r) => setTimeout(r, 20));
  removeStalePidFile(config.pidFile);
  out(`inetsrv (pid ${pid}) killed after ${cmd.timeoutSeconds} s`);
  return 0;
}

async function main(argv: readonly string[]): Promise<number> {
  const cmd = parseArgs(argv);
  switch (cmd.kind) {
    case 'help':
      out(USAGE);
      return 0;
    case 'version': {
      const info = loadBuildInfo();
      out(versionLine(info));
      out(`platform: ${describePlatform(await loadPlatform(info.arch))}`);
      return 0;
    }
    case 'status': {
      const { config } = loadFor(cmd);
      const pid = readPid(config.pidFile);
      if (pid !== undefined && isRunning(pid)) {
        out(`inetsrv is running (pid ${pid})`);
        return 0;
      }
      out('inetsrv is not running');
      return 3;
    }
    case 'stop':
      return stop(cmd);
    case 'start': {
      const { config } = loadFor(cmd);
      const running = readPid(config.pidFile);
      if (running !== undefined && isRunning(running)) {
        err(`already running (pid ${running}, ${config.pidFile})`);
        return 1;
      }
      return cmd.detach ? detach(cmd, config) : serve(config);
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  async (e: unknown) => {
    const message = e instanceof UsageError || e instanceof ConfigError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
    err(message);
    await send({ type: 'error', message });
    if (e instanceof UsageError) process.stderr.write(USAGE);
    process.exit(e instanceof UsageError ? 2 : 1);
  },
);
