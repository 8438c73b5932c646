/**
 * Key files are read bounded (ISSUE 13 item 9): `--trust FILE`, the trust folder's *.pub files and
 * the revocation list must be regular files of a few KiB, looked at before they are opened. A
 * device (`/dev/zero` never ends), a FIFO (opening it blocks), an oversized file or, inside the
 * trust folder, a link is refused quickly with exit 2 and nothing changes. Every run goes through
 * the real executable with a timeout, so a regression fails instead of hanging or eating memory.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fixedKey, treeSnapshot } from './support/hostile.js';
import {
  freezeBuild,
  installationFrom,
  pack,
  repo,
  type Run,
  servicepack,
  tempFolders,
} from './support/servicepack.js';

const TIMEOUT_MS = 15_000;
/** far below what a hang or an endless read would take, far above a refusal */
const QUICK_MS = 8_000;

let root: string;
let trustDir: string;
let work: string;
let devPub: string;
let before_: string[];

before(async () => {
  await freezeBuild(['rtm-x86'], ['sp6-x86']);
  root = await installationFrom('rtm-x86');
  trustDir = join(root, '.servicepack', 'trust');
  work = dirname(root);
  devPub = join(repo, 'dist', 'keys', 'dev.pub');
  before_ = await treeSnapshot(root);
});
after(async () => {
  for (const d of tempFolders()) await rm(d, { recursive: true, force: true });
});

function mkfifo(path: string): void {
  const r = spawnSync('mkfifo', [path], { encoding: 'utf8' });
  assert.equal(r.status, 0, `mkfifo ${path}: ${r.stderr}`);
}

async function install(extra: string[]): Promise<Run & { doc: { code: string; message: string } }> {
  const r = await servicepack(['install', '--accept-eula', pack('sp6-x86'), '--root', root, '-u', '--json', ...extra], {
    timeoutMs: TIMEOUT_MS,
  });
  assert.equal(
    r.signal,
    null,
    `killed after ${TIMEOUT_MS} ms: the key file was read without bound or blocked\n${r.err}`,
  );
  return { ...r, doc: JSON.parse(r.out) as { code: string; message: string } };
}

async function refused(extra: string[], code: string, message: RegExp): Promise<void> {
  const r = await install(extra);
  assert.equal(r.code, 2, `exit ${r.code}: ${r.out}${r.err}`);
  assert.equal(r.doc.code, code, r.doc.message);
  assert.match(r.doc.message, message);
  assert.ok(r.ms < QUICK_MS, `took ${r.ms} ms`);
  assert.deepEqual(await treeSnapshot(root), before_, 'the installation changed');
}

describe('--trust FILE: a regular file of at most 64 KiB', () => {
  test('--trust /dev/zero is refused at once (E_USAGE, exit 2), not read', async () => {
    await refused(['--trust', '/dev/zero'], 'E_USAGE', /\/dev\/zero: it is a character device, not a regular file/);
  });

  test('--trust FIFO is refused without blocking on it', async () => {
    const fifo = join(work, 'key.fifo');
    mkfifo(fifo);
    await refused(['--trust', fifo], 'E_USAGE', /it is a FIFO, not a regular file/);
  });

  test('--trust a folder, a missing file, a link to /dev/zero', async () => {
    await refused(['--trust', work], 'E_USAGE', /it is a folder/);
    await refused(['--trust', join(work, 'missing.pub')], 'E_USAGE', /it does not exist/);
    const link = join(work, 'zero.pub');
    await symlink('/dev/zero', link);
    await refused(['--trust', link], 'E_USAGE', /character device/);
  });

  test('an oversized key file is refused, even when it starts with a valid key', async () => {
    const big = join(work, 'big.pub');
    await writeFile(big, `${await readFile(devPub, 'utf8')}${' '.repeat(100 * 1024)}\n`);
    await refused(['--trust', big], 'E_USAGE', /larger than 65536 bytes/);
  });
});

describe('the trust folder: regular files only, links refused, the revocation list bounded', () => {
  /** plants `name` in the trust folder for one case, and takes it out again */
  async function planted(
    name: string,
    make: (path: string) => Promise<void> | void,
    code: string,
    message: RegExp,
  ): Promise<void> {
    const path = join(trustDir, name);
    await make(path);
    try {
      before_ = await treeSnapshot(root);
      await refused([], code, message);
    } finally {
      await rm(path, { force: true, recursive: true });
      before_ = await treeSnapshot(root);
    }
  }

  test('the revocation list as a link to /dev/zero is refused at once (E_INVALID_STATE, exit 2)', async () => {
    await planted(
      'revoked',
      (p) => symlink('/dev/zero', p),
      'E_INVALID_STATE',
      /revocation list .*revoked is a symbolic link/,
    );
  });

  test('the revocation list as a FIFO is refused without blocking', async () => {
    await planted('revoked', mkfifo, 'E_INVALID_STATE', /revocation list .*revoked is a FIFO/);
  });

  test('an oversized revocation list is refused', async () => {
    await planted(
      'revoked',
      (p) => writeFile(p, `# padding\n${'#'.repeat(1024 * 1024)}\n`),
      'E_INVALID_STATE',
      /larger than 1048576 bytes/,
    );
  });

  test('a *.pub that is a link is refused, even to a good key', async () => {
    await planted('linked.pub', (p) => symlink(devPub, p), 'E_INVALID_STATE', /linked\.pub is a symbolic link/);
  });

  test('a *.pub that is a FIFO, or oversized, is refused', async () => {
    await planted('fifo.pub', mkfifo, 'E_INVALID_STATE', /fifo\.pub is a FIFO/);
    await planted(
      'big.pub',
      async (p) => writeFile(p, `${await readFile(devPub, 'utf8')}${' '.repeat(100 * 1024)}`),
      'E_INVALID_STATE',
      /big\.pub is larger than 65536 bytes/,
    );
  });

  test('a trust folder that is a link is refused', async () => {
    const real = join(work, 'trust-elsewhere');
    await rename(trustDir, real);
    try {
      await symlink(real, trustDir);
      before_ = await treeSnapshot(root);
      await refused([], 'E_INVALID_STATE', /\.servicepack\/trust is a symbolic link/);
    } finally {
      await rm(trustDir, { force: true });
      await rename(real, trustDir);
      before_ = await treeSnapshot(root);
    }
  });

  test('control: a regular key with --trust and a regular revocation list install', async () => {
    await mkdir(trustDir, { recursive: true });
    await writeFile(join(trustDir, 'revoked'), `# none\n${fixedKey('trust-files: retired').keyid}\n`);
    const r = await install(['--trust', devPub]);
    assert.equal(r.code, 0, `${r.out}${r.err}`);
  });
});
