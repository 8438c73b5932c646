/**
 * Service handling against a real detached inetsrv (docs/cli.md, docs/transactions.md §7): the RTM tree's server is
 * started with `bin/inetsrv start --detach` on a port of its own (its conf/inetsrv.conf says
 * which; BUILDINFO's start command takes no port), SP6 is installed, and the server must be
 * running again and answering as SP6; uninstall brings it back as RTM. With -z the server is
 * stopped for the commit and left stopped (exit 10), and when it cannot be started again (its
 * port taken while it was down) the install is done but exits 10 saying so.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isAlive } from '../packages/core/src/installation/service.js';
import { freezeBuild, installationFrom, pack, servicepack, tempFolders } from './support/servicepack.js';
import { freePort, killSites, serverHeader, sitePid } from './support/site.js';

const extra: string[] = [];
before(async () => {
  await freezeBuild(['rtm-x86', 'sp6-x86'], ['sp6-x86']);
});
after(async () => {
  killSites();
  for (const d of [...tempFolders(), ...extra]) await rm(d, { recursive: true, force: true });
});

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 200 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 25));
  return !isAlive(pid);
}

/** An RTM installation whose server runs detached on a free port. */
async function runningRtm(): Promise<{ root: string; port: number; pid: number }> {
  const root = await installationFrom('rtm-x86');
  const port = await freePort();
  const confPath = join(root, 'conf', 'inetsrv.conf');
  await writeFile(confPath, (await readFile(confPath, 'utf8')).replace(/^Port = \d+$/m, `Port = ${port}`));
  execFileSync(process.execPath, [join(root, 'bin', 'inetsrv'), 'start', '--detach'], {
    cwd: root,
    stdio: 'pipe',
    timeout: 20_000,
  });
  const pid = await sitePid(root);
  assert.ok(pid, 'the detached server wrote its pid file');
  assert.equal(await serverHeader(port), 'inetsrv/4.0 (RTM; x86)');
  return { root, port, pid };
}

describe('the service across install and uninstall', () => {
  test('a running RTM server is stopped, SP6 goes in, the server runs again as SP6; uninstall brings RTM back', async () => {
    const { root, port, pid } = await runningRtm();
    const r = await servicepack(['install', '--accept-eula', '--root', root, '-u', '--json', pack('sp6-x86')]);
    assert.equal(r.code, 0, `${r.out}${r.err}`);
    const doc = JSON.parse(r.out) as {
      service: { wasRunning: boolean; stopped: boolean; restarted: boolean };
      changed: { spnew: string[] };
    };
    assert.deepEqual(doc.service, { wasRunning: true, stopped: true, restarted: true });
    assert.ok(await gone(pid), 'the RTM process was stopped');
    const sp6 = await sitePid(root);
    assert.ok(sp6 && sp6 !== pid, 'a new server process runs');
    assert.equal(await serverHeader(port), 'inetsrv/4.0 (SP6; x86)');

    const u = await servicepack(['uninstall', '--root', root, '-u', '--json']);
    assert.equal(u.code, 0, `${u.out}${u.err}`);
    assert.deepEqual((JSON.parse(u.out) as { service: unknown }).service, {
      wasRunning: true,
      stopped: true,
      restarted: true,
    });
    assert.ok(await gone(sp6));
    const rtm = await sitePid(root);
    assert.ok(rtm);
    assert.equal(await serverHeader(port), 'inetsrv/4.0 (RTM; x86)');
    // RTM keeps the connection we just closed (the Q236565 leak), so its graceful stop would wait on it
    process.kill(rtm, 'SIGKILL');
  });

  test('-z: the server is stopped for the commit and left stopped; exit 10 says a start is needed', async () => {
    const { root, port, pid } = await runningRtm();
    const r = await servicepack(['install', '--accept-eula', '--root', root, '-u', '-z', pack('sp6-x86')]);
    assert.equal(r.code, 10, `${r.out}${r.err}`);
    assert.match(r.out, /Restart required: .*not started again \(--no-restart\): start it with bin\/inetsrv start/);
    assert.ok(await gone(pid), 'stopped: files are never replaced under a running server');
    assert.equal(await sitePid(root), undefined, 'and not started again');
    execFileSync(process.execPath, [join(root, 'bin', 'inetsrv'), 'start', '--detach'], {
      cwd: root,
      stdio: 'pipe',
      timeout: 20_000,
    });
    assert.ok(await sitePid(root));
    assert.equal(await serverHeader(port), 'inetsrv/4.0 (SP6; x86)');
    execFileSync(process.execPath, [join(root, 'bin', 'inetsrv'), 'stop'], {
      cwd: root,
      stdio: 'pipe',
      timeout: 20_000,
    });
  });

  test('killed while the server is down: recover starts it again, on the level it settled on', async () => {
    for (const [point, header] of [
      ['commit:backed-up:2', 'inetsrv/4.0 (RTM; x86)'],
      ['record:committed:1', 'inetsrv/4.0 (SP6; x86)'],
    ] as const) {
      const { root, port, pid } = await runningRtm();
      const killed = await servicepack(['install', '--accept-eula', '--root', root, '-u', pack('sp6-x86')], {
        env: { SERVICEPACK_FAULT: point },
      });
      assert.equal(killed.signal, 'SIGKILL', point);
      assert.ok(await gone(pid), `${point}: the server was stopped before the commit`);
      const r = await servicepack(['recover', '--root', root]);
      assert.equal(r.code, 0, `${point}: ${r.out}${r.err}`);
      const now = await sitePid(root);
      assert.ok(now, `${point}: recovery started the server again`);
      assert.equal(await serverHeader(port), header, point);
      process.kill(now, 'SIGKILL');
    }
  });

  test('the server cannot be started again (its port was taken meanwhile): installed, exit 10, says so', async () => {
    const { root, port, pid } = await runningRtm();
    const gate = await mkdtemp(join(tmpdir(), 'sp-gate-'));
    extra.push(gate);
    // pause the installer right after it stopped the server, and take the server's port
    const run = servicepack(['install', '--accept-eula', '--root', root, '-u', pack('sp6-x86')], {
      env: { SERVICEPACK_FAULT: `after:stop-service=wait:${gate}` },
    });
    for (let i = 0; i < 2400 && !(await readdir(gate)).some((f) => f.startsWith('ready.')); i++)
      await new Promise((r) => setTimeout(r, 25));
    assert.ok(await gone(pid));
    const squatter: Server = createServer();
    await new Promise<void>((res, rej) => {
      squatter.once('error', rej);
      squatter.listen(port, '127.0.0.1', () => res());
    });
    try {
      await writeFile(join(gate, 'go'), '');
      const r = await run;
      assert.equal(r.code, 10, `${r.out}${r.err}`);
      assert.match(r.out, /Installed .*RTM -> Service Pack 6/);
      assert.match(r.out + r.err, /could not be started again.*start it with bin\/inetsrv start/);
    } finally {
      await new Promise<void>((res) => squatter.close(() => res()));
    }
    assert.equal(await sitePid(root), undefined);
    assert.ok(!existsSync(join(root, '.servicepack', 'journal.json')));
    const q = await servicepack(['query', '--root', root, '--json']);
    assert.equal((JSON.parse(q.out) as { level: number }).level, 6);
    const restart = (JSON.parse(q.out) as QueryRestart).restart;
    assert.equal(restart?.pending, true, 'query says the restart is still pending');
    assert.equal(restart?.reason, 'start-failed');
  });
});

interface QueryRestart {
  restartPending: boolean;
  restart?: { pending: boolean; since: string; reason: string; transactionId: string; startedAt?: string };
}

describe('a pending restart in query (issue 15)', () => {
  test('after -z (exit 10) query says the restart is pending; once the server runs again, that it was done', async () => {
    const { root, pid } = await runningRtm();
    const before = await servicepack(['query', '--root', root, '--json']);
    assert.equal((JSON.parse(before.out) as QueryRestart).restartPending, false, 'a record without the field');
    const r = await servicepack(['install', '--accept-eula', '--root', root, '-u', '-z', pack('sp6-x86')]);
    assert.equal(r.code, 10, `${r.out}${r.err}`);
    assert.ok(await gone(pid));

    const q = await servicepack(['query', '--root', root, '--json']);
    assert.equal(q.code, 0, q.err);
    const pending = JSON.parse(q.out) as QueryRestart;
    assert.equal(pending.restartPending, true);
    assert.equal(pending.restart?.pending, true);
    assert.equal(pending.restart?.reason, 'no-restart');
    assert.ok(Number.isFinite(Date.parse(pending.restart.since)));
    const plain = await servicepack(['query', '--root', root]);
    assert.match(
      plain.out,
      /restart +pending since \S+ \(installed with --no-restart\): start it with bin\/inetsrv start/,
    );

    execFileSync(process.execPath, [join(root, 'bin', 'inetsrv'), 'start', '--detach'], {
      cwd: root,
      stdio: 'pipe',
      timeout: 20_000,
    });
    const sp6 = await sitePid(root);
    assert.ok(sp6);
    const done = JSON.parse((await servicepack(['query', '--root', root, '--json'])).out) as QueryRestart;
    assert.equal(done.restartPending, false);
    assert.equal(done.restart?.pending, false);
    assert.ok(done.restart?.startedAt !== undefined, 'the start time of the server that runs again');
    assert.match(
      (await servicepack(['query', '--root', root])).out,
      /restart +done: the service runs again \(started /,
    );

    // the next change finds the server running and drops the note
    const u = await servicepack(['uninstall', '--root', root, '-u']);
    assert.equal(u.code, 0, `${u.out}${u.err}`);
    const state = JSON.parse(await readFile(join(root, '.servicepack', 'state.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    assert.equal(state['restartPending'], undefined);
    const after = JSON.parse((await servicepack(['query', '--root', root, '--json'])).out) as QueryRestart;
    assert.equal(after.restartPending, false);
    assert.equal(after.restart, undefined);
    const rtm = await sitePid(root);
    if (rtm) process.kill(rtm, 'SIGKILL');
  });
});
