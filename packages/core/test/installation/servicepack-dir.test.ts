/**
 * The places that delete or write in `.servicepack/` after the command's up-front check
 * (servicepack-dir.ts checkServicepackDir): each one looks again, with lstat, at the folder it is
 * about to use, so that a link planted there (or a hard link where a new file belongs) is never
 * followed. The whole commands are held by test/hostile-roots.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { link, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { disposeGarbage, moveToGarbage } from '../../src/transaction/garbage.js';
import { TransactionLog, transactionLogPath } from '../../src/fleet/log.js';

let work: string;
let n = 0;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'sp-dotdir-'));
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** An installation root with `.servicepack/` and a sentinel folder beside it holding one file. */
async function setup(): Promise<{ root: string; sentinel: string }> {
  const dir = join(work, String(++n));
  const root = join(dir, 'root');
  const sentinel = join(dir, 'sentinel');
  await mkdir(join(root, '.servicepack', 'staging', 'tx-1'), { recursive: true });
  await writeFile(join(root, '.servicepack', 'staging', 'tx-1', 'payload'), 'staged\n');
  await mkdir(sentinel);
  await writeFile(join(sentinel, 'secret'), 'keep me\n');
  return { root, sentinel };
}

test('moveToGarbage never moves staging into a garbage folder that is a link', async () => {
  const { root, sentinel } = await setup();
  await symlink(sentinel, join(root, '.servicepack', 'garbage'));
  assert.equal(moveToGarbage(root, '.servicepack/staging/tx-1'), false, 'the caller deletes staging in place instead');
  assert.deepEqual(await readdir(sentinel), ['secret']);
  assert.ok(existsSync(join(root, '.servicepack', 'staging', 'tx-1', 'payload')));
});

test('disposeGarbage never deletes through a link on the way to the garbage folder', async () => {
  const { root, sentinel } = await setup();
  // .servicepack itself a link: rm -rf <root>/.servicepack/garbage would follow it
  await mkdir(join(sentinel, 'garbage', 'tx-0'), { recursive: true });
  await writeFile(join(sentinel, 'garbage', 'tx-0', 'file'), 'not yours\n');
  await rm(join(root, '.servicepack'), { recursive: true });
  await symlink(sentinel, join(root, '.servicepack'));
  await disposeGarbage(root);
  // the deletion runs detached: give it the time it takes
  await delay(1000);
  assert.equal(await readFile(join(sentinel, 'garbage', 'tx-0', 'file'), 'utf8'), 'not yours\n');
});

test('the transaction log is never written through a link to its folder, nor into a file that exists already', async () => {
  const { root, sentinel } = await setup();
  const warnings: string[] = [];
  // log/ a link
  await symlink(sentinel, join(root, '.servicepack', 'log'));
  const viaLink = new TransactionLog({ root, transactionId: 'tx-link', onWarning: (m) => warnings.push(m) });
  viaLink.sink({ type: 'step', step: 'journal', state: 'started' });
  viaLink.end({ exitCode: 0, ok: true });
  viaLink.close();
  assert.deepEqual(await readdir(sentinel), ['secret']);
  assert.equal(warnings.length, 1, 'the run is told its log could not be written');

  // log/<txid>.jsonl planted ahead as a hard link to a file outside
  await rm(join(root, '.servicepack', 'log'));
  await mkdir(join(root, '.servicepack', 'log'));
  await link(join(sentinel, 'secret'), transactionLogPath(root, 'tx-hard'));
  const viaHardLink = new TransactionLog({ root, transactionId: 'tx-hard', onWarning: (m) => warnings.push(m) });
  viaHardLink.sink({ type: 'step', step: 'journal', state: 'started' });
  viaHardLink.end({ exitCode: 0, ok: true });
  viaHardLink.close();
  assert.equal(await readFile(join(sentinel, 'secret'), 'utf8'), 'keep me\n');
  assert.equal(warnings.length, 2);
});
