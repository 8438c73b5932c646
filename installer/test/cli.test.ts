/**
 * The `servicepack` command line over synthetic installations and packs: exit codes, the one JSON
 * document of --json, plain output without ANSI off a terminal. Most runs go through `run()` with
 * captured streams (fast); a few spawn the real bin to check the executable itself.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  levelSnapshot,
  makeInstallation,
  makePack,
  makeVendor,
  ownedSnapshot,
  snapshot,
  tempDir,
} from '../../packages/core/test/install-fixtures.js';
import { run } from '../src/cli.js';
import { captureIo } from './capture-io.js';
import { errorDocument } from '../src/exit.js';
import { PlainReporter } from '../src/reporters/plain.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(repo, 'installer', 'bin', 'servicepack');

interface Captured {
  code: number;
  out: string;
  err: string;
}

async function cli(args: string[], env: Record<string, string | undefined> = {}, tty = false): Promise<Captured> {
  const { io, output } = captureIo(env, tty);
  const code = await run(['node', 'servicepack', ...args], io);
  return { code, ...output() };
}

function spawnCli(args: string[], env: Record<string, string> = {}): Captured {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    input: '',
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function oneJson(text: string): Record<string, unknown> {
  // exactly one document: JSON.parse refuses trailing content
  return JSON.parse(text) as Record<string, unknown>;
}

const vendor = makeVendor();
const dirs: string[] = [];
let sp1 = '';
let sp1alpha = '';
let stranger = '';
before(async () => {
  const out = await tempDir('sp-cli-packs-');
  dirs.push(out);
  sp1 = (await makePack(vendor, { level: 1, fromLevels: [0] }, out)).path;
  sp1alpha = (await makePack(vendor, { level: 1, fromLevels: [0], arch: 'alpha' }, out)).path;
  const other = await tempDir('sp-cli-packs-');
  dirs.push(other);
  stranger = (await makePack(makeVendor(), { level: 1, fromLevels: [0] }, other)).path;
});
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function rtm(): Promise<string> {
  const root = await makeInstallation(0, vendor);
  dirs.push(root);
  return root;
}

describe('servicepack (the executable)', () => {
  test('the compiled CLI exists (npx tsc -b)', () => {
    assert.ok(
      existsSync(join(repo, 'installer', 'dist', 'cli.js')),
      'installer/dist/cli.js is missing: run npx tsc -b',
    );
  });

  test('--help lists the commands, the exit codes and examples; exit 0', () => {
    const r = spawnCli(['--help']);
    assert.equal(r.code, 0, r.err);
    for (const s of [
      'install',
      'query',
      'Exit codes:',
      '10  done, restart still required',
      '5   busy',
      'Examples:',
      'SERVICEPACK_ROOT',
    ])
      assert.ok(r.out.includes(s), s);
  });

  test('no arguments and no terminal: usage on stderr, exit 2', () => {
    const r = spawnCli([]);
    assert.equal(r.code, 2);
    assert.match(r.err, /Usage: servicepack/);
    assert.equal(r.out, '');
  });

  test('query through the real bin, root from SERVICEPACK_ROOT', async () => {
    const root = await rtm();
    const r = spawnCli(['query', '--json'], { SERVICEPACK_ROOT: root });
    assert.equal(r.code, 0, r.err);
    const q = oneJson(r.out);
    assert.equal(q['level'], 0);
    assert.equal(q['levelName'], 'RTM');
  });
});

describe('usage errors: exit 2', () => {
  test('unknown command or option, missing pack, conflicting switches', async () => {
    const unknown = await cli(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /unknown command 'frobnicate'/);
    assert.equal((await cli(['help', 'install'])).code, 0);
    assert.equal((await cli(['install', '--bogus', 'x.tgz'])).code, 2);
    assert.equal((await cli(['install'])).code, 2);
    const c = await cli(['install', '--root', '/nowhere', '-o', '--keep-modified', 'x.tgz']);
    assert.equal(c.code, 2);
    assert.match(c.err, /cannot be used with/);
  });

  test('--json usage errors are still one JSON document', async () => {
    const r = await cli(['install', '--json', '--bogus']);
    assert.equal(r.code, 2);
    const doc = oneJson(r.out);
    assert.equal(doc['ok'], false);
    assert.equal(doc['code'], 'E_USAGE');
    assert.equal(doc['exitCode'], 2);
  });

  test('no --root and no SERVICEPACK_ROOT', async () => {
    const r = await cli(['query']);
    assert.equal(r.code, 2);
    assert.match(r.err, /pass --root DIR or set SERVICEPACK_ROOT/);
    const j = await cli(['install', '-u', '--json', sp1]);
    assert.equal(j.code, 2);
    assert.equal(oneJson(j.out)['code'], 'E_USAGE');
  });

  test('no arguments on a terminal under CI: usage, a note about the wizard, exit 2', async () => {
    const r = await cli([], { CI: 'true' }, true);
    assert.equal(r.code, 2);
    assert.match(r.err, /wizard does not run under CI/);
  });
});

describe('query', () => {
  test('--json: product, version, arch, level, levelName, hotfixes, consistent, history', async () => {
    const root = await rtm();
    const r = await cli(['query', '--root', root, '--json']);
    assert.equal(r.code, 0, r.err);
    const q = oneJson(r.out);
    assert.deepEqual(
      {
        product: q['product'],
        version: q['version'],
        arch: q['arch'],
        level: q['level'],
        levelName: q['levelName'],
        hotfixes: q['hotfixes'],
        consistent: q['consistent'],
        history: q['history'],
      },
      {
        product: 'inetsrv',
        version: '4.0.0',
        arch: 'x86',
        level: 0,
        levelName: 'RTM',
        hotfixes: [],
        consistent: true,
        history: [],
      },
    );
  });

  test('--require: met exits 0, not met exits 3 (with the query still in the document), nonsense exits 2', async () => {
    const root = await rtm();
    assert.equal((await cli(['query', '--root', root, '--require', 'rtm'])).code, 0);
    const r = await cli(['query', '--root', root, '--require', 'sp1', '--json']);
    assert.equal(r.code, 3);
    const doc = oneJson(r.out);
    assert.equal(doc['ok'], false);
    assert.equal(doc['code'], 'E_REQUIREMENT_NOT_MET');
    assert.equal(doc['level'], 0);
    const plain = await cli(['query', '--root', root, '--require', '1']);
    assert.equal(plain.code, 3);
    assert.match(plain.err, /Service Pack 1 or later is required/);
    assert.equal((await cli(['query', '--root', root, '--require', 'sp-six'])).code, 2);
  });

  test('not an installation: exit 3', async () => {
    const empty = await tempDir();
    dirs.push(empty);
    const r = await cli(['query', '--root', empty]);
    assert.equal(r.code, 3);
    assert.match(r.err, /no inetsrv installation found/);
  });
});

describe('install', () => {
  test('-u: exit 0, the tree is SP1, plain lines without ANSI off a terminal', async () => {
    const root = await rtm();
    const r = await cli(['install', '--root', root, '-u', sp1]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(await ownedSnapshot(root), await levelSnapshot(1));
    assert.match(r.out, /Installed inetsrv 4\.0 Service Pack 1 \(inetsrv-4\.0-sp1\) in .*: RTM -> Service Pack 1/);
    assert.match(r.err, /ok {3}commit the files/);
    assert.doesNotMatch(r.out + r.err, /\x1b\[/);
    const q = oneJson((await cli(['query', '--root', root, '--json'])).out);
    assert.equal(q['levelName'], 'Service Pack 1');
    assert.equal(q['consistent'], true);
  });

  test('--json: one document with before, after, packs, changed, restartRequired', async () => {
    const root = await rtm();
    const r = await cli(['install', '--root', root, '-u', '--json', '-q', sp1]);
    assert.equal(r.code, 0, r.err);
    const doc = oneJson(r.out);
    assert.equal(doc['ok'], true);
    assert.equal((doc['before'] as { level: number }).level, 0);
    assert.equal((doc['after'] as { levelName: string }).levelName, 'Service Pack 1');
    assert.deepEqual((doc['changed'] as { deleted: string[] }).deleted, ['lib/old.js']);
    assert.equal(doc['restartRequired'], false);
    assert.equal(r.err, '', 'quiet');
  });

  test('refusals map to their exit codes and change nothing: wrong arch 3, unknown signer 4, modified 3, busy 5', async () => {
    const root = await rtm();
    const before = await snapshot(root);
    const arch = await cli(['install', '--root', root, '-u', '--json', sp1alpha]);
    assert.equal(arch.code, 3);
    const doc = oneJson(arch.out);
    assert.deepEqual(Object.keys(doc).sort(), ['code', 'details', 'exitCode', 'message', 'ok']);
    assert.equal(doc['code'], 'E_WRONG_ARCH');
    assert.match(String(doc['message']), /use inetsrv-4\.0-sp1-x86\.tgz/);

    const untrusted = await cli(['install', '--root', root, '-u', stranger]);
    assert.equal(untrusted.code, 4);
    assert.match(untrusted.err, /servicepack: error: /);
    assert.deepEqual(await snapshot(root), before);

    await writeFile(join(root, 'lib', 'a.js'), 'edited\n');
    const modified = await cli(['install', '--root', root, '-u', sp1]);
    assert.equal(modified.code, 3);
    assert.match(modified.err, /--overwrite-modified/);

    await writeFile(join(root, '.servicepack', 'lock'), `${process.ppid}\n`);
    const busy = await cli(['install', '--root', root, '-u', '-o', sp1]);
    assert.equal(busy.code, 5);
    assert.match(busy.err, new RegExp(`pid ${process.ppid}`));
  });

  test('--trust FILE lets a pack from another key in; --allow-unsigned too (with a warning)', async () => {
    const root = await rtm();
    const key = makeVendor();
    const out = await tempDir('sp-cli-packs-');
    dirs.push(out);
    const pack = (await makePack(key, { level: 1, fromLevels: [0] }, out)).path;
    const pub = join(out, 'other.pub');
    await writeFile(pub, key.publicKeyPem);
    const r = await cli(['install', '--root', root, '-u', '--trust', pub, '--', pack]);
    assert.equal(r.code, 0, r.err);

    const root2 = await rtm();
    const r2 = await cli(['install', '--root', root2, '-u', '--allow-unsigned', '--json', pack]);
    assert.equal(r2.code, 0, r2.err);
    const warnings = oneJson(r2.out)['warnings'] as { code: string }[];
    assert.ok(warnings.some((w) => w.code === 'W_UNSIGNED'));
  });

  test('--dry-run changes nothing and says so', async () => {
    const root = await rtm();
    const before = await snapshot(root);
    const r = await cli(['install', '--root', root, '--dry-run', sp1]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Dry run: would install .* Nothing was changed/);
    assert.deepEqual(await snapshot(root), before);
  });
});

describe('reporting details', () => {
  test('colour only on a terminal without NO_COLOR', () => {
    const lines: string[] = [];
    const sinkOut = { write: (t: string) => void lines.push(t), isTTY: true };
    new PlainReporter({ err: sinkOut, out: sinkOut, quiet: false, env: {} }).sink({
      type: 'warning',
      code: 'W_LOG',
      message: 'm',
    });
    new PlainReporter({ err: sinkOut, out: sinkOut, quiet: false, env: { NO_COLOR: '1' } }).sink({
      type: 'warning',
      code: 'W_LOG',
      message: 'm',
    });
    assert.match(lines[0]!, /\x1b\[33m/);
    assert.doesNotMatch(lines[1]!, /\x1b\[/);
  });

  test('an unexpected exception is exit 1 with one line', () => {
    const doc = errorDocument(new TypeError('boom'));
    assert.equal(doc.exitCode, 1);
    assert.equal(doc.message, 'unexpected error: boom');
  });
});
