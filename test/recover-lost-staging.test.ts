/**
 * Recovery when the staged files are gone (issue 13, items 13 and 14): a cleaner of temporary files,
 * a person or fsck removed what the journal names in staging. "Source absent, target present" then
 * also holds for steps that never happened, and undoing them would move the original product files
 * into staging and delete them with it. Recovery checks each file against the hashes the journal
 * recorded before it undoes a step: it stops with exit 6, keeps the journal, changes nothing and
 * says what to do. Run with the real executable on the real release trees, SP6 on RTM.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  digest,
  freezeBuild,
  installationFrom,
  pack,
  sameDigest,
  servicepack,
  tempFolders,
  tree,
} from './support/servicepack.js';

before(async () => {
  await freezeBuild(['rtm-x86', 'sp6-x86'], ['sp6-x86']);
});
after(async () => {
  for (const d of tempFolders()) await rm(d, { recursive: true, force: true });
});

/** An RTM installation whose install of SP6 was killed at `point`; returns it and its staging folder. */
async function killedAt(point: string): Promise<{ root: string; staging: string }> {
  const root = await installationFrom('rtm-x86', { ram: true });
  const run = await servicepack(['install', '--accept-eula', pack('sp6-x86'), '--root', root, '-u'], {
    env: { SERVICEPACK_FAULT: point },
  });
  assert.equal(run.signal, 'SIGKILL', run.err);
  const [tx] = await readdir(join(root, '.servicepack', 'staging'));
  return { root, staging: join(root, '.servicepack', 'staging', tx!) };
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) out.push(join(e.parentPath, e.name));
  return out;
}

/** exit 6, the journal kept, a message naming what to do; the product tree as `before` */
async function assertStoppedWhole(root: string, before: Awaited<ReturnType<typeof digest>>): Promise<string> {
  const journal = await readFile(join(root, '.servicepack', 'journal.json'), 'utf8');
  const res = await servicepack(['recover', '--root', root]);
  assert.equal(res.code, 6, `recover: ${res.code} ${res.err}`);
  assert.match(res.err, /journal is kept/);
  assert.match(res.err, /servicepack verify --root/);
  assert.match(res.err, /servicepack recover --root/);
  assert.equal(
    await readFile(join(root, '.servicepack', 'journal.json'), 'utf8'),
    journal,
    'the journal is kept as it was',
  );
  assert.ok(sameDigest(await digest(root), before), 'recover changed nothing in the product tree');
  // and again: a second recover stops the same way, still without touching anything
  assert.equal((await servicepack(['recover', '--root', root])).code, 6);
  assert.ok(sameDigest(await digest(root), before));
  return res.err;
}

describe('recover with staged files lost never destroys an original', () => {
  test('killed after the journal, staged files deleted: exit 6, the 9 originals intact, journal kept; following the advice ends at RTM', async () => {
    const { root, staging } = await killedAt('after:journal');
    const payload = (await readdir(staging)).filter((n) => /^\d+-/.test(n));
    let deleted = 0;
    for (const p of payload) {
      for (const f of await filesUnder(join(staging, p))) {
        await rm(f);
        deleted++;
      }
    }
    assert.equal(deleted, 9, 'SP6 stages 9 files');
    const rtm = await digest(tree('rtm-x86'));
    assert.ok(sameDigest(await digest(root), rtm), 'nothing changed before recover');
    const err = await assertStoppedWhole(root, rtm);
    assert.match(err, /lib\/[a-z-]+\.js is not what the transaction moved there/);
    // the advice: keep the installation as it is, move the journal aside, verify
    await rename(join(root, '.servicepack', 'journal.json'), join(root, '.servicepack', 'journal.json.aside'));
    const v = await servicepack(['verify', '--root', root]);
    assert.equal(v.code, 0, v.out + v.err);
  });

  for (const [what, damage] of [
    ['staging/<tx> lost', (staging: string) => rm(staging, { recursive: true, force: true })],
    [
      'staging/<tx> emptied of files',
      async (staging: string) => {
        for (const f of await filesUnder(staging)) await rm(f);
      },
    ],
  ] as const) {
    test(`killed in the commit with two files replaced, ${what}: exit 6, lib/access-log.js kept`, async () => {
      const { root, staging } = await killedAt('commit:file:3');
      const accessLog = await readFile(join(root, 'lib', 'access-log.js'));
      assert.deepEqual(
        accessLog,
        await readFile(join(tree('rtm-x86'), 'lib', 'access-log.js')),
        'the third file is not touched yet',
      );
      await damage(staging);
      const before = await digest(root);
      await assertStoppedWhole(root, before);
      assert.deepEqual(await readFile(join(root, 'lib', 'access-log.js')), accessLog);
      assert.ok(existsSync(join(root, 'lib', 'access-log.js')));
    });
  }
});
