/**
 * The transaction commands through the command line over synthetic installations: uninstall,
 * verify and recover with their exit codes and --json documents, the fault-injection hook
 * (SERVICEPACK_FAULT, a test hook inert unless set) and what read-only commands say while a
 * journal is open.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  levelSnapshot,
  makeInstallation,
  makePack,
  makeVendor,
  ownedSnapshot,
  tempDir,
} from '../../packages/core/test/install-fixtures.js';
import { run } from '../src/cli.js';
import { captureIo } from './capture-io.js';
import { parseFaults } from '../src/fault.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(repo, 'installer', 'bin', 'servicepack');

async function cli(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number; out: string; err: string }> {
  const { io, output } = captureIo(env);
  const code = await run(['node', 'servicepack', ...args], io);
  return { code, ...output() };
}

function spawnCli(
  args: string[],
  env: Record<string, string> = {},
): { code: number | null; signal: NodeJS.Signals | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '', ...env },
    input: '',
  });
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

const vendor = makeVendor();
const dirs: string[] = [];
let sp1 = '';
before(async () => {
  const out = await tempDir('sp-txcli-');
  dirs.push(out);
  sp1 = (await makePack(vendor, { level: 1, fromLevels: [0] }, out)).path;
});
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function rtm(): Promise<string> {
  const root = await makeInstallation(0, vendor);
  dirs.push(root);
  return root;
}

describe('uninstall, verify, recover on the command line', () => {
  test('--help lists them; each has its own help', async () => {
    const r = await cli(['--help']);
    for (const s of ['uninstall', 'verify', 'recover', 'servicepack recover --root']) assert.ok(r.out.includes(s), s);
    const v = await cli(['verify', '--help']);
    assert.match(v.out, /S\.5 +lib\/server\.js +S size, M mode, 5 sha256 content/);
    assert.match((await cli(['uninstall', '--help'])).out, /-z, --no-restart/);
  });

  test('install, verify (0), tamper, verify (4, rpm -V lines), uninstall, verify', async () => {
    const root = await rtm();
    assert.equal((await cli(['install', '--root', root, '-u', '-q', sp1])).code, 0);
    const clean = await cli(['verify', '--root', root]);
    assert.equal(clean.code, 0);
    assert.equal(clean.out, '');
    assert.match(clean.err, /files of Service Pack 1 match the state record/);

    await chmod(join(root, 'lib', 'b.js'), 0o600);
    const dirty = await cli(['verify', '--root', root]);
    assert.equal(dirty.code, 4);
    assert.equal(dirty.out, '.M.      lib/b.js\n');
    const json = JSON.parse((await cli(['verify', '--root', root, '--json'])).out) as {
      ok: boolean;
      exitCode: number;
      problems: { path: string; flags: string }[];
    };
    assert.equal(json.ok, false);
    assert.equal(json.exitCode, 4);
    assert.deepEqual(
      json.problems.map((p) => [p.path, p.flags]),
      [['lib/b.js', '.M.']],
    );
    await chmod(join(root, 'lib', 'b.js'), 0o644);

    const un = await cli(['uninstall', '--root', root, '-u', '--json']);
    assert.equal(un.code, 0, un.err);
    const doc = JSON.parse(un.out) as { ok: boolean; packId: string; after: { levelName: string } };
    assert.equal(doc.packId, 'inetsrv-4.0-sp1');
    assert.equal(doc.after.levelName, 'RTM');
    assert.deepEqual(await ownedSnapshot(root), await levelSnapshot(0));
    assert.equal((await cli(['verify', '--root', root])).code, 0);
    const none = await cli(['uninstall', '--root', root, '-u']);
    assert.equal(none.code, 3);
    assert.match(none.err, /nothing to uninstall/);
  });

  test('verify on a vendor release tree: the note, exit 0', async () => {
    const root = await rtm();
    const r = await cli(['verify', '--root', root]);
    assert.equal(r.code, 0);
    assert.match(
      r.out,
      /no state record: nothing to verify against; run servicepack verify --feed URL to compare the files with the vendor catalog of a signed feed/,
    );
  });

  test('recover with nothing to do: exit 0 and says so', async () => {
    const root = await rtm();
    const r = await cli(['recover', '--root', root]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Nothing to recover/);
    const j = JSON.parse((await cli(['recover', '--root', root, '--json'])).out) as { ok: boolean; outcome?: unknown };
    assert.equal(j.ok, true);
    assert.equal(j.outcome, undefined);
  });
});

describe('SERVICEPACK_FAULT (test hook)', () => {
  test('parses points, counts and actions; refuses unknown actions', () => {
    assert.deepEqual(parseFaults('commit:file:3'), {
      trace: false,
      faults: [{ point: 'commit:file', n: 3, action: { kind: 'kill' } }],
    });
    assert.deepEqual(parseFaults('after:lock, list').faults, [{ point: 'after:lock', n: 1, action: { kind: 'kill' } }]);
    assert.equal(parseFaults('list').trace, true);
    assert.deepEqual(parseFaults('commit:backed-up:2=ENOSPC').faults[0]?.action, { kind: 'errno', code: 'ENOSPC' });
    assert.deepEqual(parseFaults('begin=wait:/tmp/x').faults[0]?.action, { kind: 'wait', dir: '/tmp/x' });
    assert.throws(() => parseFaults('begin=explode'), /unknown action/);
  });

  test('inert unless set; a kill leaves a journal that query reports (6) and recover settles', async () => {
    const root = await rtm();
    const killed = spawnCli(['install', '--root', root, '-u', sp1], { SERVICEPACK_FAULT: 'commit:backed-up:2' });
    assert.equal(killed.signal, 'SIGKILL');
    assert.ok(existsSync(join(root, '.servicepack', 'journal.json')));
    const q = await cli(['query', '--root', root, '--json']);
    assert.equal(q.code, 6);
    const doc = JSON.parse(q.out) as { code: string; message: string };
    assert.equal(doc.code, 'E_NEEDS_RECOVER');
    assert.match(doc.message, /interrupted install of inetsrv-4\.0-sp1 .*run servicepack recover --root/);
    assert.equal((await cli(['verify', '--root', root])).code, 6);
    const rec = await cli(['recover', '--root', root]);
    assert.equal(rec.code, 0, rec.err);
    assert.match(rec.out, /Rolled back the interrupted install of inetsrv-4\.0-sp1 .*is at RTM/);
    assert.deepEqual(await ownedSnapshot(root), await levelSnapshot(0));
    const hist = JSON.parse((await cli(['query', '--root', root, '--json'])).out) as {
      history: { action: string; result: string }[];
    };
    assert.deepEqual(
      hist.history.map((h) => `${h.action}:${h.result}`),
      ['recover:rolled-back'],
    );
  });

  test('an injected errno fails the install like the real one: exit 1, nothing changed', async () => {
    const root = await rtm();
    const r = await cli(['install', '--root', root, '-u', '--json', sp1], { SERVICEPACK_FAULT: 'commit:file:3=EIO' });
    assert.equal(r.code, 1);
    assert.match(
      (JSON.parse(r.out) as { message: string }).message,
      /EIO: injected at commit:file 3.*rolled back, nothing changed/,
    );
    assert.deepEqual(await ownedSnapshot(root), await levelSnapshot(0));
    assert.ok(!existsSync(join(root, '.servicepack', 'journal.json')));
  });

  test('list traces every checkpoint on stderr', async () => {
    const root = await rtm();
    const r = await cli(['install', '--root', root, '-u', '-q', sp1], { SERVICEPACK_FAULT: 'list' });
    assert.equal(r.code, 0, r.err);
    const points = [...r.err.matchAll(/^servicepack-fault: (\S+) (\d+)$/gm)].map((m) => m[1]);
    for (const p of [
      'begin',
      'after:lock',
      'journal:prepared',
      'after:journal',
      'commit:file',
      'commit:backed-up',
      'record:committed',
      'cleanup:staging',
      'after:cleanup',
    ])
      assert.ok(points.includes(p), p);
    // every point it passes is documented
    const { CHECKPOINTS } = await import('@servicepack/core/transaction');
    for (const p of new Set(points))
      assert.ok(p !== undefined && Object.hasOwn(CHECKPOINTS, p), `${p} is in CHECKPOINTS`);
  });

  test('docs/transactions.md documents every checkpoint', async () => {
    const { CHECKPOINTS } = await import('@servicepack/core/transaction');
    const { readFile } = await import('node:fs/promises');
    const doc = await readFile(join(repo, 'docs', 'transactions.md'), 'utf8');
    for (const p of Object.keys(CHECKPOINTS)) assert.ok(doc.includes(`\`${p}\``), `docs/transactions.md mentions ${p}`);
  });

  test('a tree written by hand with an unreadable journal: recover refuses to guess (exit 2)', async () => {
    const root = await rtm();
    await writeFile(join(root, '.servicepack', 'journal.json'), '{"format":1}');
    const r = await cli(['recover', '--root', root]);
    assert.equal(r.code, 2);
    assert.match(r.err, /cannot be finished or rolled back automatically/);
  });
});
