/**
 * Setup in a real terminal (tmux, 120×40) on a running SP5 site whose conf sets `MaxConnections = 0`
 * (the SP6 regression's trigger, issue 17): installing Service Pack 6 puts it on trial, its server
 * does not answer, and the update is rolled back. The wizard ends on the rollback screen, not a
 * generic failure: the health check failed, what was asked and what came back, the installation at
 * Service Pack 5 again and serving; exit 1, and SP5 still answers.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isAlive } from '../packages/core/src/installation/service.js';
import { cleanup, ensureTmux, keys, packsDir, repo, scratch, start, stop, waitScreen } from './wizard-tmux.js';
import { freePort } from './support/site.js';

const SIZE = { columns: 120, rows: 40 };
const INSTALL_MS = 120_000;
let server: number | undefined;

before(ensureTmux);
after(async () => {
  if (server !== undefined && isAlive(server)) process.kill(server, 'SIGKILL');
  await cleanup();
});

function status(port: number): Promise<number | undefined> {
  return new Promise((res) => {
    const req = get({ host: '127.0.0.1', port, path: '/', timeout: 5000 }, (r) => {
      r.resume();
      res(r.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => res(undefined));
  });
}

test('Setup on a site SP6 breaks: the rollback screen says the check failed, what came back, and SP5 serving again', async () => {
  const root = join(await scratch(), 'inetsrv');
  await cp(join(repo, 'dist', 'releases', 'inetsrv-4.0-sp5-x86'), root, { recursive: true });
  const port = await freePort();
  const confPath = join(root, 'conf', 'inetsrv.conf');
  const conf = (await readFile(confPath, 'utf8'))
    .replace(/^Port = \d+$/m, `Port = ${port}`)
    .replace(/^MaxConnections = \d+$/m, 'MaxConnections = 0');
  assert.match(conf, /^MaxConnections = 0$/m);
  await writeFile(confPath, conf);
  execFileSync(process.execPath, [join(root, 'bin', 'inetsrv'), 'start', '--detach'], {
    cwd: root,
    stdio: 'pipe',
    timeout: 20_000,
  });
  server = Number((await readFile(join(root, 'run', 'inetsrv.pid'), 'utf8')).trim());
  assert.equal(await status(port), 200, 'SP5 serves before the install');
  try {
    start(['install', '--root', root, join(packsDir, 'inetsrv-4.0-sp6-x86.tgz')], SIZE);
    await waitScreen('Welcome to Service Pack Setup.');
    await keys('Enter');
    await waitScreen('was found in');
    await keys('Enter');
    await waitScreen('Choose the update to install');
    await keys('Enter');
    let s = await waitScreen(/License agreement:|Options for/);
    if (s.includes('License agreement:')) {
      await keys('PageDown', 'Space', 'Enter');
      await waitScreen('Options for');
    }
    await keys('Enter');
    s = await waitScreen('Exit code 1', INSTALL_MS);
    const flat = s.replace(/\s+/g, ' ');
    assert.match(flat, /✗ The update failed its health check and was rolled back/, s);
    assert.match(flat, /the health check of Service Pack 6 failed/, s);
    assert.match(
      flat,
      new RegExp(`asked: GET / HTTP/1\\.1 at 127\\.0\\.0\\.1:${port} \\(address from conf/inetsrv\\.conf`),
      s,
    );
    assert.match(flat, /came back: .*without an answer/, s);
    assert.match(flat, /The installation is at Service Pack 5 again, serving\./, s);
    assert.match(flat, /--no-health-check/, s);
    await keys('Enter');
    await waitScreen('[exit 1]');
  } finally {
    stop();
  }
  const after = Number((await readFile(join(root, 'run', 'inetsrv.pid'), 'utf8')).trim());
  server = after;
  assert.equal(await status(port), 200, 'SP5 serves again after the rollback');
  const state = JSON.parse(await readFile(join(root, '.servicepack', 'state.json'), 'utf8')) as { level: number };
  assert.equal(state.level, 5);
});
