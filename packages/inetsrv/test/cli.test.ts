/**
 * The inetsrv command line, run from source (tree root = packages/inetsrv, no BUILDINFO.json, so
 * development defaults) from a working folder that is not the package.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exchange, runCli, startFromSource, waitFor } from '../../../test/support/inetsrv.js';

let tmp: string;

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'inetsrv-cli-'));
});

after(() => {
  rmSync(tmp, { recursive: true, force: true });
});

// The tests use separate pid files and ports, so they run side by side (each CLI run starts a Node).
describe('inetsrv command line', { concurrency: true }, () => {
  test('--version names version, level, arch and build, then the platform module', async () => {
    const [x86, alpha, bogus] = await Promise.all([
      runCli(undefined, ['--version']),
      runCli(undefined, ['--version'], { env: { INETSRV_ARCH: 'alpha' } }),
      runCli(undefined, ['--version'], { env: { INETSRV_ARCH: '../x86' } }),
    ]);
    assert.equal(x86.code, 0);
    assert.equal(x86.stdout, 'inetsrv 4.0.0 RTM (x86, build dev)\nplatform: Intel x86 (page size 4096, I/O chunk 65536)\n');
    assert.equal(alpha.stdout, 'inetsrv 4.0.0 RTM (alpha, build dev)\nplatform: DEC Alpha AXP (page size 8192, I/O chunk 131072)\n');
    assert.notEqual(bogus.code, 0, 'an arch name that is a path is refused');
  });

  test('usage errors exit 2; a bad configuration value exits 1 naming file and line', async () => {
    const conf = join(tmp, 'bad.conf');
    writeFileSync(conf, '# comment\nPort = 8080\nMaxConnections = lots\n');
    const [usage, bad] = await Promise.all([runCli(undefined, ['start', '--bogus']), runCli(undefined, ['start', '--config', conf])]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /unknown option "--bogus"/);
    assert.match(usage.stderr, /usage:/);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /bad\.conf:3: MaxConnections: "lots" is not a whole number/);
  });

  test('start writes the pid file; stop signals that pid and waits; stop again says it is not running', async () => {
    const server = await startFromSource();
    try {
      await waitFor('the pid file', () => existsSync(server.pidFile));
      assert.equal(readFileSync(server.pidFile, 'utf8').trim(), String(server.pid));
      const [again, status] = await Promise.all([
        runCli(undefined, ['start', '--port', '0', '--set', `PidFile=${server.pidFile}`]),
        runCli(undefined, ['status', '--set', `PidFile=${server.pidFile}`]),
      ]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, new RegExp(`already running \\(pid ${server.pid}`));
      assert.equal(status.code, 0);
      // An idle keep-alive connection must not hold the stop up: it is closed at once.
      const idle = connect({ port: server.port, host: '127.0.0.1' });
      const idleClosed = new Promise<void>((resolve) => idle.once('end', resolve));
      await new Promise<void>((resolve) => {
        idle.once('data', () => resolve());
        idle.write('GET /readme.txt HTTP/1.1\r\nHost: x\r\n\r\n');
      });
      const stop = await runCli(undefined, ['stop', '--set', `PidFile=${server.pidFile}`]);
      assert.equal(stop.code, 0, stop.stderr);
      assert.match(stop.stdout, new RegExp(`inetsrv \\(pid ${server.pid}\\) stopped`));
      assert.deepEqual(await server.exited, { code: 0, signal: null });
      assert.equal(existsSync(server.pidFile), false, 'pid file removed');
      await idleClosed;
      idle.destroy();
      const [notRunning, status2] = await Promise.all([
        runCli(undefined, ['stop', '--set', `PidFile=${server.pidFile}`]),
        runCli(undefined, ['status', '--set', `PidFile=${server.pidFile}`]),
      ]);
      assert.equal(notRunning.code, 0);
      assert.match(notRunning.stdout, /not running/);
      assert.equal(status2.code, 3);
    } finally {
      await server.dispose();
    }
  });

  test('--detach returns once listening and prints the address; stop ends it', async () => {
    const pidFile = join(tmp, 'detach', 'inetsrv.pid');
    const sets = ['--set', `PidFile=${pidFile}`, '--set', `LogDirectory=${join(tmp, 'detach', 'logs')}`];
    const start = await runCli(undefined, ['start', '--detach', '--port', '0', ...sets]);
    const pid = Number(/\(pid (\d+)\)/.exec(start.stdout)?.[1]);
    try {
      assert.equal(start.code, 0, start.stderr);
      const m = /^inetsrv listening on http:\/\/127\.0\.0\.1:(\d+)\/ \(pid (\d+)\)$/m.exec(start.stdout);
      assert.ok(m, start.stdout);
      assert.equal(readFileSync(pidFile, 'utf8').trim(), m[2]);
      const r = await exchange(Number(m[1]), 'GET /readme.txt HTTP/1.1\r\nHost: x\r\n\r\n', ['GET']);
      assert.equal(r.responses[0]?.status, 200);
      const stop = await runCli(undefined, ['stop', ...sets]);
      assert.equal(stop.code, 0, stop.stderr);
      assert.equal(existsSync(pidFile), false);
    } finally {
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone, as it should be.
        }
      }
    }
  });
});
