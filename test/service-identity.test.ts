/**
 * The pid file is hostile input (issue 13, item 5): whatever it names, servicepack signals only a
 * process it can show to be this installation's server (node running the tree's entry point, or
 * named by the server's own title; started before the pid file was written; the file's owner),
 * and never starts a second server because of a stranger. Each case runs `install SP6 -u` with and
 * without -z against a live process the old check took for the server (it had "an argument under
 * the root") and asserts the process survives, no server was started, the pid file is untouched,
 * the exit is 0 and a typed warning says what was found and what to do.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chown,
  link,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isAlive } from '../packages/core/src/installation/service.js';
import { type RunningServer, startTree } from './support/inetsrv.js';
import { freezeBuild, installationFrom, pack, servicepack, tempFolders } from './support/servicepack.js';

const spawned: ChildProcess[] = [];
const servers: RunningServer[] = [];
const extra: string[] = [];
before(async () => {
  await freezeBuild(['rtm-x86', 'sp6-x86'], ['sp6-x86']);
});
after(async () => {
  for (const c of spawned) c.kill('SIGKILL');
  for (const s of servers) await s.dispose();
  for (const d of [...tempFolders(), ...extra]) await rm(d, { recursive: true, force: true });
});

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A long-running stranger, bounded by `timeout` and killed in after() at the latest. */
async function stranger(
  cmd: string,
  args: string[],
  ready: (pid: number) => Promise<boolean>,
): Promise<ChildProcess & { pid: number }> {
  const child = spawn(cmd, args, { stdio: 'ignore', timeout: 120_000 });
  spawned.push(child);
  const pid = child.pid;
  assert.ok(pid !== undefined, `${cmd} started`);
  for (let i = 0; i < 400 && !(await ready(pid).catch(() => false)); i++) await delay(10);
  assert.ok(await ready(pid), `${cmd} is running its own program`);
  return child as ChildProcess & { pid: number };
}

async function stillRuns(child: ChildProcess): Promise<boolean> {
  // a signalled child is reaped by this process: give the exit event a moment to arrive
  await delay(150);
  return child.exitCode === null && child.signalCode === null && child.pid !== undefined && isAlive(child.pid);
}

/** Processes (other than `except`) whose command line names the installation: a server it started. */
async function processesNaming(root: string, except: readonly number[]): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || except.includes(Number(name))) continue;
    const cmd = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(root)) out.push(Number(name));
  }
  return out;
}

interface Outcome {
  code: number | null;
  doc: {
    warnings?: { code: string; message: string; path?: string }[];
    service?: { wasRunning: boolean; stopped: boolean };
  };
  err: string;
  /** for failure messages */
  summary: string;
}

async function installSp6(root: string, z: boolean): Promise<Outcome> {
  const r = await servicepack(
    ['install', '--accept-eula', pack('sp6-x86'), '--root', root, '-u', ...(z ? ['-z'] : []), '--json'],
    { timeoutMs: 30_000 },
  );
  const doc = JSON.parse(r.out || '{}') as Outcome['doc'];
  return {
    code: r.code,
    doc,
    err: r.err,
    summary: `exit ${r.code ?? r.signal}, service ${JSON.stringify(doc.service)}, warnings ${JSON.stringify(doc.warnings)}\n${r.err}`,
  };
}

/**
 * install -z and install (fresh installations): the process named by the pid file survives, no
 * server was started, the pid file is as it was, exit 0 with `code` explaining it.
 */
async function refusedBothWays(
  setup: (root: string) => Promise<{ pid: number; alive: () => Promise<boolean> }>,
  code: string,
  says: RegExp,
): Promise<void> {
  for (const z of [true, false]) {
    const root = await installationFrom('rtm-x86');
    const { pid, alive } = await setup(root);
    const pidFile = join(root, 'run', 'inetsrv.pid');
    const before = await readFile(pidFile).catch(() => undefined);
    const r = await installSp6(root, z);
    const how = z ? 'install -z' : 'install';
    assert.equal(r.code, 0, `${how}: ${r.summary}`);
    assert.ok(await alive(), `${how}: pid ${pid} was not signalled`);
    assert.deepEqual(await processesNaming(root, [pid]), [], `${how}: no server was started for the installation`);
    assert.deepEqual(await readFile(pidFile).catch(() => undefined), before, `${how}: the pid file is untouched`);
    assert.equal(r.doc.service?.wasRunning, false, how);
    const w = r.doc.warnings?.find((x) => x.code === code);
    assert.ok(w, `${how}: warning ${code} in ${JSON.stringify(r.doc.warnings)}`);
    assert.match(w.message, says, how);
    assert.ok(w.message.includes(pidFile), `${how}: names the pid file: ${w.message}`);
    assert.match(r.err, new RegExp(`warning: .*${code === 'W_FOREIGN_PID' ? `pid ${pid}` : 'pid file'}`), how);
  }
}

async function writePid(root: string, pid: number): Promise<string> {
  await mkdir(join(root, 'run'), { recursive: true });
  const file = join(root, 'run', 'inetsrv.pid');
  await writeFile(file, `${pid}\n`);
  return file;
}

const exeIs = (name: string) => async (pid: number) => basename(await readlink(`/proc/${pid}/exe`)) === name;

describe('a pid file naming a process that is not this installation’s server', () => {
  test('`tail -f <root>/logs/access.log` is neither signalled nor replaced by a new server (W_FOREIGN_PID)', async () => {
    await refusedBothWays(
      async (root) => {
        await mkdir(join(root, 'logs'));
        await writeFile(join(root, 'logs', 'access.log'), '');
        const tail = await stranger('tail', ['-f', join(root, 'logs', 'access.log')], exeIs('tail'));
        await writePid(root, tail.pid);
        return { pid: tail.pid, alive: () => stillRuns(tail) };
      },
      'W_FOREIGN_PID',
      /pid \d+ \(tail\).*not inetsrv.*remove .*inetsrv\.pid if inetsrv is not running/,
    );
  });

  test('node with the entry point as an argument but not as its script (`node -e … <root>/bin/inetsrv`) is not the server', async () => {
    await refusedBothWays(
      async (root) => {
        const entry = join(root, 'bin', 'inetsrv');
        const node = await stranger(
          process.execPath,
          ['-e', 'setInterval(() => {}, 1000)', entry, `${root}/lib/cli.js`],
          async (pid) => (await readFile(`/proc/${pid}/cmdline`, 'utf8')).includes('setInterval'),
        );
        await writePid(root, node.pid);
        return { pid: node.pid, alive: () => stillRuns(node) };
      },
      'W_FOREIGN_PID',
      /pid \d+ \(node\).*not inetsrv/,
    );
  });

  test('a reused pid: a server of this very tree that started after the pid file was written is not signalled', async () => {
    await refusedBothWays(
      async (root) => {
        // its own pid file lives elsewhere; the tree's names it, but dates from before it started
        const server = await startTree(root);
        servers.push(server);
        const file = await writePid(root, server.pid);
        const past = new Date(Date.now() - 3_600_000);
        await utimes(file, past, past);
        return { pid: server.pid, alive: () => stillRuns(server.child) };
      },
      'W_FOREIGN_PID',
      /started after the pid file was written/,
    );
  });
});

describe('a pid file that is not a plain file', () => {
  test('a symlink to a pid file outside the root, naming a real server of the tree, is not followed (W_PID_FILE)', async () => {
    await refusedBothWays(
      async (root) => {
        const server = await startTree(root);
        servers.push(server);
        const outside = await mkdtemp(join(tmpdir(), 'sp-pid-outside-'));
        extra.push(outside);
        await writeFile(join(outside, 'inetsrv.pid'), `${server.pid}\n`);
        await mkdir(join(root, 'run'), { recursive: true });
        await symlink(join(outside, 'inetsrv.pid'), join(root, 'run', 'inetsrv.pid'));
        return { pid: server.pid, alive: () => stillRuns(server.child) };
      },
      'W_PID_FILE',
      /symbolic link/,
    );
  });

  test('a hard link to a file elsewhere, naming a real server of the tree, is not trusted (W_PID_FILE)', async () => {
    await refusedBothWays(
      async (root) => {
        const server = await startTree(root);
        servers.push(server);
        const outside = await mkdtemp(join(tmpdir(), 'sp-pid-outside-'));
        extra.push(outside);
        await writeFile(join(outside, 'inetsrv.pid'), `${server.pid}\n`);
        await mkdir(join(root, 'run'), { recursive: true });
        await link(join(outside, 'inetsrv.pid'), join(root, 'run', 'inetsrv.pid'));
        return { pid: server.pid, alive: () => stillRuns(server.child) };
      },
      'W_PID_FILE',
      /2 hard links/,
    );
  });

  test('a FIFO at the pid file does not hang the install (W_PID_FILE)', async () => {
    for (const z of [true, false]) {
      const root = await installationFrom('rtm-x86');
      await mkdir(join(root, 'run'));
      execFileSync('mkfifo', [join(root, 'run', 'inetsrv.pid')]);
      const r = await installSp6(root, z);
      assert.equal(r.code, 0, r.summary);
      assert.match(r.doc.warnings?.find((w) => w.code === 'W_PID_FILE')?.message ?? '', /not a regular file/);
      assert.deepEqual(await processesNaming(root, []), []);
    }
  });
});

describe('a pid file written by another user', () => {
  test('a pid file owned by another uid, naming a real server of the tree running as root, is not trusted (W_FOREIGN_PID)', async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('needs root to give the pid file to another uid (servicepack itself runs as root)');
      return;
    }
    await refusedBothWays(
      async (root) => {
        // what a compromised service account that can write run/ could do: name a root process
        const server = await startTree(root);
        servers.push(server);
        const file = await writePid(root, server.pid);
        await chown(file, 65534, 65534);
        return { pid: server.pid, alive: () => stillRuns(server.child) };
      },
      'W_FOREIGN_PID',
      /belongs to uid 65534, the process runs as uid 0/,
    );
  });
});

describe('the server itself is still recognised', () => {
  test('a server of the tree named by a fresh pid file (its own pid file elsewhere) is stopped by install -z', async () => {
    const root = await installationFrom('rtm-x86');
    const server = await startTree(root);
    servers.push(server);
    await writePid(root, server.pid);
    const r = await installSp6(root, true);
    assert.equal(r.code, 10, r.summary);
    assert.deepEqual(r.doc.service, { wasRunning: true, stopped: true, restarted: false });
    assert.equal((await server.exited).signal ?? 'exited', 'exited', 'stopped gracefully by SIGTERM');
    assert.equal(
      r.doc.warnings?.find((w) => w.code === 'W_FOREIGN_PID'),
      undefined,
    );
  });

  test('a server started in the foreground with a short command line (its title cut to fit) is recognised', async () => {
    const root = await installationFrom('rtm-x86');
    // `node bin/inetsrv start --port 0` from the root: "inetsrv <root>" is longer than that
    const child = spawn(process.execPath, ['bin/inetsrv', 'start', '--port', '0'], {
      cwd: root,
      argv0: 'node',
      stdio: 'ignore',
      timeout: 120_000,
    });
    spawned.push(child);
    const pidFile = join(root, 'run', 'inetsrv.pid');
    for (let i = 0; i < 400 && (await readFile(pidFile, 'utf8').catch(() => '')).trim() !== String(child.pid); i++)
      await delay(25);
    const cmdline = await readFile(`/proc/${child.pid}/cmdline`, 'utf8');
    assert.ok(
      !cmdline.includes(root) && cmdline.startsWith('inetsrv /'),
      `the title was cut: ${JSON.stringify(cmdline)}`,
    );
    const r = await installSp6(root, true);
    assert.equal(r.code, 10, r.summary);
    assert.deepEqual(r.doc.service, { wasRunning: true, stopped: true, restarted: false });
    assert.equal(await stillRuns(child), false);
  });
});
