/**
 * `recover --dry-run` (issue 15, "--dry-run on every command that changes something"): recover had
 * no dry run, so an operator could not see whether it would roll an interrupted transaction back
 * or forward, or which files it would put back, before letting it act. The dry run names the
 * journal's phase, the phase table's action, the transaction and the files, and changes nothing:
 * the whole tree, .servicepack included (names, contents, modes, folder mtimes, so that even a
 * lock file made and removed again shows), is the same before and after. The files it lists are
 * then exactly the product files the real recover changes. Real executable, SP6 on RTM.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  digest,
  digestDiff,
  freezeBuild,
  installationFrom,
  pack,
  servicepack,
  tempFolders,
} from './support/servicepack.js';

before(async () => {
  await freezeBuild(['rtm-x86'], ['sp6-x86']);
});
after(async () => {
  for (const d of tempFolders()) await rm(d, { recursive: true, force: true });
});

/** Every entry under `root`, .servicepack included: type, mode, size, content hash or link target, and a folder's mtime. */
async function wholeTree(root: string): Promise<string> {
  const h = createHash('sha256');
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const paths = entries.map((e) => join(e.parentPath, e.name)).sort();
  for (const p of [root, ...paths]) {
    const st = await lstat(p);
    const rel = relative(root, p);
    if (st.isDirectory()) h.update(`d ${rel} ${st.mode} ${st.mtimeMs}\n`);
    else if (st.isSymbolicLink()) h.update(`l ${rel} ${await readlink(p)}\n`);
    else
      h.update(
        `f ${rel} ${st.mode} ${st.size} ${createHash('sha256')
          .update(await readFile(p))
          .digest('hex')}\n`,
      );
  }
  return h.digest('hex');
}

/** An RTM installation whose install of SP6 was killed at `point`. */
async function killedAt(point: string): Promise<string> {
  const root = await installationFrom('rtm-x86', { ram: true });
  const run = await servicepack(['install', '--accept-eula', pack('sp6-x86'), '--root', root, '-u'], {
    env: { SERVICEPACK_FAULT: point },
  });
  assert.equal(run.signal, 'SIGKILL', run.err);
  return root;
}

interface Plan {
  phase: string;
  settle: string;
  transactionId?: string;
  files: { verb: string; path: string }[];
  leftovers: string[];
}

/** Both dry runs (text, then --json), each proven to change nothing; returns the text and the plan. */
async function dryRuns(root: string): Promise<{ text: string; plan: Plan }> {
  const was = await wholeTree(root);
  const text = await servicepack(['recover', '--root', root, '--dry-run']);
  assert.equal(text.code, 0, `recover --dry-run: ${text.code} ${text.err}`);
  assert.equal(await wholeTree(root), was, 'recover --dry-run changed the tree (or .servicepack)');
  const json = await servicepack(['recover', '--root', root, '--dry-run', '--json']);
  assert.equal(json.code, 0, json.err);
  assert.equal(await wholeTree(root), was, 'recover --dry-run --json changed the tree (or .servicepack)');
  const doc = JSON.parse(json.out) as { dryRun?: boolean; plan: Plan };
  assert.equal(doc.dryRun, true);
  return { text: text.out, plan: doc.plan };
}

async function journalOf(root: string): Promise<{ id: string; phase: string; ops: { path: string }[] }> {
  return JSON.parse(await readFile(join(root, '.servicepack', 'journal.json'), 'utf8'));
}

/** The product files the real recover changes; the dry run must have named exactly these. */
async function changedByRecover(root: string): Promise<string[]> {
  const was = await digest(root);
  const res = await servicepack(['recover', '--root', root]);
  assert.equal(res.code, 0, res.err);
  return digestDiff(was, await digest(root));
}

describe('recover --dry-run says what recover would do and changes nothing', () => {
  test('killed in the middle of the commit: roll back, phase committing, the files it would put back', async () => {
    const root = await killedAt('commit:file:4');
    const j = await journalOf(root);
    assert.equal(j.phase, 'committing');
    const { text, plan } = await dryRuns(root);
    assert.equal(plan.phase, 'committing');
    assert.equal(plan.settle, 'roll-back');
    assert.equal(plan.transactionId, j.id);
    assert.match(text, /^Dry run: would roll back the interrupted install of inetsrv-4\.0-sp6/m);
    assert.ok(text.includes(`transaction ${j.id}`) && text.includes('phase committing'), text);
    assert.match(text, /Nothing was changed/);
    const product = plan.files.filter((f) => !f.path.startsWith('.servicepack/') && !f.path.endsWith('/'));
    assert.ok(product.length > 0 && product.length < j.ops.length, `a partial commit: ${JSON.stringify(plan.files)}`);
    for (const f of product) {
      assert.ok(
        j.ops.some((o) => o.path === f.path),
        `${f.path} is not in the journal`,
      );
      assert.match(text, new RegExp(`^ {4}${f.verb} +${f.path.replace(/[.]/g, '\\.')}$`, 'm'));
    }
    const changed = await changedByRecover(root);
    assert.deepEqual(product.map((f) => f.path).sort(), changed, 'the dry run named what recover then changed');
  });

  test('killed at the commit point: roll forward, phase committed, staging to remove; nothing in the product to put back', async () => {
    const root = await killedAt('record:committed');
    const j = await journalOf(root);
    assert.equal(j.phase, 'committed');
    const { text, plan } = await dryRuns(root);
    assert.equal(plan.phase, 'committed');
    assert.equal(plan.settle, 'roll-forward');
    assert.equal(plan.transactionId, j.id);
    assert.match(text, /^Dry run: would finish \(roll forward\) the interrupted install/m);
    assert.ok(
      plan.files.every((f) => f.path.startsWith('.servicepack/')),
      JSON.stringify(plan.files),
    );
    assert.ok(plan.files.some((f) => f.verb === 'remove' && f.path.startsWith('.servicepack/staging/')));
    assert.deepEqual(await changedByRecover(root), [], 'the files were already in place');
  });

  test('no interrupted transaction: nothing to recover, exit 0, nothing changed', async () => {
    const root = await installationFrom('rtm-x86', { ram: true });
    const { text, plan } = await dryRuns(root);
    assert.equal(plan.phase, 'none');
    assert.equal(plan.settle, 'clean-leftovers');
    assert.equal(plan.transactionId, undefined);
    assert.match(text, /nothing to recover/i);
  });
});
