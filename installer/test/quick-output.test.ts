/**
 * `query` and `verify` write stdout and stderr with writeSync on the descriptors, not through node's
 * streams (io.ts, descriptorOutput; docs/performance.md item 20). What holds that: the bytes on a
 * real pipe and in a real file are those the full program writes through process.stdout and
 * process.stderr (a trailing `--` sends the same command line to commander); a descriptor that
 * would block hands the rest to the stream, so nothing is lost; and node's stream and net modules
 * are not loaded at all, which is what the change is for.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { appendFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { makeInstallation, makeVendor, recordAsIs, tempDir } from '../../packages/core/test/install-fixtures.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(repo, 'installer', 'bin', 'servicepack');
const env = { PATH: process.env['PATH'] ?? '', CI: 'true' };

interface Written {
  status: number | null;
  out: string;
  err: string;
}

/** The bin with stdout and stderr on pipes, or stdout into a file. */
function written(args: readonly string[], work: string, into: 'pipe' | 'file'): Written {
  if (into === 'pipe') {
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env });
    return { status: r.status, out: r.stdout, err: r.stderr };
  }
  const file = join(work, 'stdout.txt');
  const fd = openSync(file, 'w');
  try {
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, stdio: ['ignore', fd, 'pipe'] });
    return { status: r.status, out: readFileSync(file, 'utf8'), err: r.stderr };
  } finally {
    closeSync(fd);
  }
}

describe('query and verify write by descriptor', () => {
  const dirs: string[] = [];
  const roots: Record<string, string> = {};
  let work = '';
  before(async () => {
    work = await tempDir('sp-quick-out-');
    dirs.push(work);
    const vendor = makeVendor();
    const consistent = await makeInstallation(0, vendor);
    await recordAsIs(consistent);
    const changed = await makeInstallation(0, vendor);
    await recordAsIs(changed);
    await appendFile(join(changed, 'lib', 'a.js'), '// local\n');
    dirs.push(consistent, changed);
    roots['consistent'] = consistent;
    roots['changed'] = changed;
    roots['no such folder'] = join(work, 'nowhere');
  });
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  test('the same bytes and exit code as the full program, on a pipe and in a file', () => {
    for (const [name, root] of Object.entries(roots)) {
      for (const args of [
        ['query', '--root', root],
        ['query', '--root', root, '--json'],
        ['query', '--root', root, '--require', 'sp9'],
        ['verify', '--root', root, '--json'],
      ]) {
        for (const into of ['pipe', 'file'] as const) {
          const quick = written(args, work, into);
          const full = written([...args, '--'], work, into);
          assert.deepEqual(quick, full, `${name}, ${into}: ${args.join(' ')}`);
          assert.ok(quick.out.length > 0 || quick.err.length > 0, `${name}: ${args.join(' ')} wrote nothing`);
        }
      }
    }
  });

  test('a descriptor that would block: the rest goes through the stream, nothing lost', async () => {
    // node's own stdout stream sets O_NONBLOCK on the pipe (shared by whoever holds it), as a parent
    // that passed its stdout on may have; the reader then waits, so the pipe fills and writeSync
    // meets EAGAIN part way through.
    const script = join(work, 'nonblocking.mjs');
    await writeFile(
      script,
      `process.stdout;
const { quickIo } = await import(${JSON.stringify(pathToFileURL(join(repo, 'installer', 'dist', 'io.js')).href)});
const io = quickIo();
for (let i = 0; i < 64; i++) io.out.write(String(i % 10).repeat(8191) + '\\n');
io.out.write('end\\n');
`,
    );
    const child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pause();
    const chunks: Buffer[] = [];
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    await new Promise((r) => setTimeout(r, 500));
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stdout.resume();
    const code = await new Promise<number | null>((r) => child.on('close', r));
    assert.equal(err, '');
    assert.equal(code, 0);
    let want = '';
    for (let i = 0; i < 64; i++) want += `${String(i % 10).repeat(8191)}\n`;
    assert.equal(Buffer.concat(chunks).toString(), `${want}end\n`);
  });

  test("query loads neither node's stream modules nor node:net", async () => {
    const preload = join(work, 'modules.cjs');
    const log = join(work, 'modules.txt');
    await writeFile(
      preload,
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(log)}, process.moduleLoadList.join('\\n')));`,
    );
    for (const args of [
      ['query', '--root', roots['consistent']!],
      ['query', '--root', roots['consistent']!, '--json'],
    ]) {
      const r = spawnSync(process.execPath, ['-r', preload, bin, ...args], { encoding: 'utf8', env });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /consistent/);
      const loaded = readFileSync(log, 'utf8').split('\n');
      // (internal/streams/utils is part of node's own start-up, `node -e 0` loads it too)
      const streams = loaded.filter((m) =>
        /^NativeModule (stream|net|tty|internal\/streams\/(readable|writable|duplex))$/.test(m),
      );
      assert.deepEqual(streams, [], `query ${args.join(' ')} loaded: ${streams.join(', ')}`);
    }
  });
});
