/**
 * Issue 13, item 2: a closed output pipe must never change what a transaction does or its exit
 * code. Before the fix, `install … -u 2>&1 | head` died with an EPIPE stack trace mid-transaction
 * (exit 1, journal left open, query then exit 6); with stdout closed from the start the install
 * completed but exited 1; `query | head` crashed in most runs. Now output errors end that output
 * quietly (installer/src/io.ts) and the process exits with the transaction's code.
 *
 * The pipe is closed at a known point: the install waits at `after:journal` (SERVICEPACK_FAULT
 * wait) until `head` has exited, so every later line meets a closed pipe.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { run } from './support/process.js';
import { bin, installationFrom, pack, requireBuild, tempFolders, tempRoot, tree } from './support/servicepack.js';

const PATH = process.env['PATH'] ?? '';
const STACK = /^\s+at |EPIPE|Unhandled|node:events/m;

interface Exit {
  code: number | null;
  out: string;
  err: string;
}

function bashAsync(script: string, args: string[], env: Record<string, string> = {}): Promise<Exit> {
  return run('bash', ['-c', script, 'bash', ...args], { env: { PATH, NODE: process.execPath, BIN: bin, ...env } });
}

async function until(what: string, f: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * `servicepack ARGS 2>&1 | head -n LINES` (bash, pipefail off), the transaction held at
 * after:journal until head has exited. Resolves with servicepack's own exit status.
 */
async function throughHead(args: string[], lines: number): Promise<{ code: number | null; head: string; shell: Exit }> {
  const gate = join(await tempRoot('sp-gate-'), '..', 'gate');
  await mkdir(gate);
  const headOut = join(gate, 'head.txt');
  const script = `set +o pipefail
"$NODE" "$BIN" "$@" 2>&1 | { head -n ${lines} >"$HEAD_OUT"; : >"$GATE/head-done"; }
echo "servicepack-status=\${PIPESTATUS[0]}"`;
  const running = bashAsync(script, args, {
    SERVICEPACK_FAULT: `after:journal=wait:${gate}`,
    GATE: gate,
    HEAD_OUT: headOut,
    NO_COLOR: '1',
  });
  await until('head to exit and the install to wait at after:journal', async () => {
    const names = await readdir(gate);
    return names.includes('head-done') && names.some((n) => n.startsWith('ready.'));
  });
  await writeFile(join(gate, 'go'), '');
  const shell = await running;
  const m = /servicepack-status=(\d+)/.exec(shell.out);
  return { code: m ? Number(m[1]) : null, head: await readFile(headOut, 'utf8'), shell };
}

/** The real executable with stdout and/or stderr closed by the reader before it writes a byte. */
function withClosedOutput(args: string[], close: { out: boolean; err: boolean }): Promise<Exit> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { PATH, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    if (close.out) child.stdout.destroy();
    else
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
      });
    if (close.err) child.stderr.destroy();
    else
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        err += d;
      });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', rej);
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code, out, err });
    });
  });
}

function query(root: string): { code: number | null; doc: Record<string, unknown> } {
  const r = spawnSync(process.execPath, [bin, 'query', '--root', root, '--json'], {
    encoding: 'utf8',
    env: { PATH },
    timeout: 30_000,
  });
  return { code: r.status, doc: JSON.parse(r.stdout) as Record<string, unknown> };
}

async function lastLogLine(root: string): Promise<Record<string, unknown>> {
  const dir = join(root, '.servicepack', 'log');
  const logs = (await readdir(dir)).filter((n) => n.endsWith('.jsonl')).sort();
  assert.ok(logs.length > 0, 'no transaction log');
  const lines = (await readFile(join(dir, logs.at(-1)!), 'utf8')).trimEnd().split('\n');
  return JSON.parse(lines.at(-1)!) as Record<string, unknown>;
}

function assertClosed(root: string): void {
  assert.equal(existsSync(join(root, '.servicepack', 'journal.json')), false, 'journal left open');
}

before(() => requireBuild([tree('rtm-x86'), pack('sp6-x86')]));
after(async () => {
  for (const d of tempFolders()) await rm(d, { recursive: true, force: true });
});

describe('a closed output pipe never changes a transaction', () => {
  test('install -u 2>&1 | head -n 3: exit 0, journal closed, SP6 installed, the log complete; uninstall | head -n 1 the same', async () => {
    const root = await installationFrom('rtm-x86');
    const r = await throughHead(['install', '--accept-eula', '--root', root, '-u', pack('sp6-x86')], 3);
    assert.equal(r.code, 0, `servicepack exited ${r.code}\n${r.shell.out}\n${r.shell.err}`);
    assert.equal(r.head.split('\n').filter((l) => l !== '').length, 3);
    assertClosed(root);
    const q = query(root);
    assert.equal(q.code, 0);
    assert.equal(q.doc['levelName'], 'Service Pack 6');
    const last = await lastLogLine(root);
    assert.deepEqual([last['event'], last['exitCode'], last['ok']], ['result', 0, true]);

    const u = await throughHead(['uninstall', '--root', root, '-u'], 1);
    assert.equal(u.code, 0, `servicepack exited ${u.code}\n${u.shell.out}\n${u.shell.err}`);
    assertClosed(root);
    assert.equal(query(root).doc['levelName'], 'RTM');
    const ulast = await lastLogLine(root);
    assert.deepEqual([ulast['event'], ulast['exitCode']], ['result', 0]);
  });

  test('stdout closed from the start: the install exits 0 and installs, plain and --json, no stack trace', async () => {
    for (const json of [false, true]) {
      const root = await installationFrom('rtm-x86');
      const r = await withClosedOutput(
        ['install', '--accept-eula', '--root', root, '-u', ...(json ? ['--json'] : []), pack('sp6-x86')],
        { out: true, err: false },
      );
      assert.equal(r.code, 0, `json=${json}: exit ${r.code}\n${r.err}`);
      assert.doesNotMatch(r.err, STACK);
      assertClosed(root);
      assert.equal(query(root).doc['level'], 6);
    }
  });

  test('stdout and stderr closed from the start (a pipe, and >&- 2>&-): exit 0, installed', async () => {
    const root = await installationFrom('rtm-x86');
    const r = await withClosedOutput(['install', '--accept-eula', '--root', root, '-u', pack('sp6-x86')], {
      out: true,
      err: true,
    });
    assert.equal(r.code, 0, `exit ${r.code}`);
    assertClosed(root);
    assert.equal(query(root).doc['level'], 6);
    const root2 = await installationFrom('rtm-x86');
    const closed = await bashAsync('"$NODE" "$BIN" "$@" >&- 2>&-; echo "servicepack-status=$?"', [
      'install',
      '--accept-eula',
      '--root',
      root2,
      '-u',
      pack('sp6-x86'),
    ]);
    assert.match(closed.out, /servicepack-status=0/, closed.err);
    assert.equal(query(root2).doc['level'], 6);
  });

  test('query | head -c 1, ten times: exit 0 and nothing on stderr every time', async () => {
    const root = await installationFrom('rtm-x86');
    for (let i = 0; i < 10; i++) {
      const json = i % 2 === 1;
      const r = await bashAsync(
        `set +o pipefail
"$NODE" "$BIN" "$@" | head -c 1 >/dev/null
echo "servicepack-status=\${PIPESTATUS[0]}"`,
        ['query', '--root', root, ...(json ? ['--json'] : [])],
      );
      assert.match(r.out, /servicepack-status=0/, `run ${i}: ${r.out}\n${r.err}`);
      assert.equal(r.err, '', `run ${i} wrote to stderr`);
    }
    // and with the reader gone before the first byte
    const gone = await withClosedOutput(['query', '--root', root], { out: true, err: false });
    assert.equal(gone.code, 0);
    assert.equal(gone.err, '');
  });
});
