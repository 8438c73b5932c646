/**
 * The installer's records are private (issue 13, item 10): state.json, the journal and its phase
 * copies, the transaction logs and the backup records say what is installed where, and a feed URL
 * in them may carry credentials. Files 0600, the private folders of `.servicepack/` (staging,
 * backup, log, saved, garbage) 0700, also when an older installer left them 0755; the trust
 * folder and `.servicepack/` itself keep the release tree's modes (public keys only).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { appendFile, chmod, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { installPacks } from '../packages/core/src/operations/install/install.js';
import { uninstallUpdate } from '../packages/core/src/operations/uninstall/uninstall.js';
import { cli } from './support/hostile.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const rtmTree = join(repo, 'dist', 'releases', 'inetsrv-4.0-rtm-x86');
const sp6Pack = join(repo, 'dist', 'packs', 'inetsrv-4.0-sp6-x86.tgz');
const feed = join(repo, 'dist', 'feed');

let work: string;

before(async () => {
  for (const p of [rtmTree, sp6Pack, feed])
    if (!existsSync(p)) throw new Error(`missing build output ${p}: run pnpm build first`);
  work = await mkdtemp(join(tmpdir(), 'sp-modes-'));
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const modeOf = (p: string): string => (statSync(p).mode & 0o7777).toString(8);

async function rtmCopy(name: string): Promise<string> {
  const r = join(work, name);
  const cp = spawnSync('cp', ['-a', rtmTree, r], { encoding: 'utf8' });
  assert.equal(cp.status, 0, cp.stderr);
  return r;
}

test('state, logs and backups are private after install and check; a log folder an older run left 0755 is tightened', async () => {
  const r = await rtmCopy('installed');
  const sp = join(r, '.servicepack');
  // what an earlier version of the installer left: a world-readable log folder with a log in it
  await mkdir(join(sp, 'log'), { mode: 0o755 });
  await chmod(join(sp, 'log'), 0o755);
  const install = await cli(['install', '--accept-eula', sp6Pack, '--root', r, '-u', '--json']);
  assert.equal(install.code, 0, install.out);
  const check = await cli(['check', '--feed', feed, '--root', r, '--json']);
  assert.equal(check.code, 0, check.out);
  const id = 'inetsrv-4.0-sp6';
  const want: [string, string][] = [
    ['state.json', '600'],
    ['log', '700'],
    ['backup', '700'],
    [`backup/${id}`, '700'],
    [`backup/${id}/backup.json`, '600'],
    // the release tree's: public keys, readable by the product's users
    ['.', '755'],
    ['trust', '755'],
  ];
  const logs = await readdir(join(sp, 'log'));
  assert.ok(logs.length >= 1, 'the install wrote its log');
  for (const l of logs) want.push([`log/${l}`, '600']);
  const got = want.map(([p]) => [p, modeOf(join(sp, p))]);
  assert.deepEqual(got, want);
});

test('the journal, its phase copies and staging are private while a transaction is open; saved/ and garbage/ too', async () => {
  const r = await rtmCopy('open');
  const sp = join(r, '.servicepack');
  const seen: Record<string, string> = {};
  await installPacks({
    root: r,
    packs: [sp6Pack],
    backup: true,
    modified: 'stop',
    restart: 'never',
    dryRun: false,
    acceptEula: true,
    hooks: {
      checkpoint: async (name) => {
        if (name !== 'after:journal') return;
        const staging = join(sp, 'staging');
        const [tx] = await readdir(staging);
        seen['journal.json'] = modeOf(join(sp, 'journal.json'));
        seen['staging'] = modeOf(staging);
        seen['staging/<tx>'] = modeOf(join(staging, tx!));
        for (const f of await readdir(join(staging, tx!)))
          if (f.endsWith('.json')) seen[`staging/<tx>/${f}`] = modeOf(join(staging, tx!, f));
      },
    },
  });
  await appendFile(join(r, 'lib', 'server.js'), '// changed here\n');
  await uninstallUpdate({
    root: r,
    modified: 'overwrite',
    restart: 'never',
    hooks: {
      checkpoint: (name) => {
        // staging has just been moved into garbage/, to be deleted once the command ends
        if (name === 'cleanup:staging') seen['garbage'] = modeOf(join(sp, 'garbage'));
      },
    },
  });
  seen['saved'] = modeOf(join(sp, 'saved'));
  assert.deepEqual(seen, {
    'journal.json': '600',
    staging: '700',
    'staging/<tx>': '700',
    'staging/<tx>/journal.committed.json': '600',
    'staging/<tx>/journal.rolled-back.json': '600',
    'staging/<tx>/state.json': '600',
    garbage: '700',
    saved: '700',
  });
});
