/**
 * Key rotation and revocation, end to end through the command line (docs/threat-model.md, "Key
 * rotation"): the vendor makes a new key with `servicepack keygen`, adds its signature to an
 * existing pack with `servicepack pack sign` (no rebuild), and installations that trust the old key,
 * the new key, or both, accept the pack; a revoked key counts for nothing, whatever else offers it.
 *
 * The rule under test (TUF's): a pack is accepted when at least one of its signatures is by a
 * trusted key that is not revoked and verifies over the exact manifest bytes. Signatures by unknown
 * or revoked keys are ignored, never counted; a revoked key is not trusted even when --trust or the
 * trust folder offers it, and --allow-unsigned does not let a revoked signer through.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ServicepackError } from '../packages/core/src/support/errors.js';
import { openPack, readPackSignatures } from '../packages/core/src/pack/open.js';
import { loadTrustedKeys } from '../packages/core/src/trust/trust.js';
import { cli, jsonDoc, type RawEntry, signWith, type FixedKey, tgz, treeSnapshot } from './support/hostile.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const rtmTree = join(repo, 'dist', 'releases', 'inetsrv-4.0-rtm-x86');
const sp6Pack = join(repo, 'dist', 'packs', 'inetsrv-4.0-sp6-x86.tgz');
const sp6Def = join(repo, 'manifests', 'packs', 'sp6.yaml');
const devPub = join(repo, 'dist', 'keys', 'dev.pub');
const bin = join(repo, 'installer', 'bin', 'servicepack');

let work: string;
let keys: string;
/** SP6 x86 as built (signed by the dev/vendor key), then `pack sign`ed with old and new */
let rotated: string;
/** SP6 x86 built with the old key only, and with the new key only */
let oldOnly: string;
let newOnly: string;
const id = { vendor: '', old: '', new: '' };
let n = 0;

function spawnCli(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '' },
    input: '',
    timeout: 30_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

interface Installation {
  root: string;
  before: string[];
}

/** A copy of the RTM x86 release whose trust folder holds exactly `pubs`, and `revoked` (if given). */
async function installation(pubs: ('old' | 'new' | 'vendor')[], revoked?: string): Promise<Installation> {
  const root = join(work, `inst-${++n}`);
  await cp(rtmTree, root, { recursive: true });
  const trust = join(root, '.servicepack', 'trust');
  await rm(join(trust, 'vendor.pub'));
  for (const p of pubs) await copyFile(p === 'vendor' ? devPub : join(keys, `${p}.pub`), join(trust, `${p}.pub`));
  if (revoked !== undefined) await writeFile(join(trust, 'revoked'), revoked);
  return { root, before: await treeSnapshot(root) };
}

async function install(
  inst: Installation,
  pack: string,
  extra: string[] = [],
): Promise<Record<string, unknown> & { exit: number }> {
  const r = await cli(['install', '--accept-eula', '--root', inst.root, '-u', '--json', ...extra, '--', pack]);
  return { ...jsonDoc(r), exit: r.code };
}

async function assertUnchanged(inst: Installation): Promise<void> {
  assert.deepEqual(await treeSnapshot(inst.root), inst.before, 'a refused install changed the installation');
}

before(async () => {
  for (const p of [rtmTree, sp6Pack, devPub, join(repo, 'installer', 'dist', 'cli.js')]) {
    if (!existsSync(p))
      throw new Error(`missing build output ${p}: run pnpm build (npx --yes pnpm@10.34.8 run build) first`);
  }
  work = await mkdtemp(join(tmpdir(), 'sp-rotation-'));
  keys = join(work, 'keys');
  id.vendor = (await loadTrustedKeys({ trustFiles: [devPub] }))[0]!.keyid;
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('key rotation through the command line', () => {
  test('keygen makes the old and the new key; keygen never overwrites a key', async () => {
    // the real executable once, the rest in process
    const old = spawnCli(['keygen', '--out', keys, '--name', 'old']);
    assert.equal(old.code, 0, old.err);
    id.old = old.out.trim();
    assert.match(id.old, /^[0-9a-f]{64}$/);
    const made = jsonDoc(await cli(['keygen', '--out', keys, '--name', 'new', '--json']));
    id.new = String(made['keyid']);
    assert.match(id.new, /^[0-9a-f]{64}$/);
    assert.notEqual(id.old, id.new);
    assert.equal(
      (await loadTrustedKeys({ trustFiles: [join(keys, 'old.pub')] }))[0]!.keyid,
      id.old,
      'keygen prints the keyid of the .pub it wrote',
    );
    const again = await cli(['keygen', '--out', keys, '--name', 'old']);
    assert.equal(again.code, 2);
    assert.match(again.err, /already exists/);
  });

  test('pack sign adds signatures to an existing pack without changing its manifest', async () => {
    rotated = join(work, 'sp6-rotated.tgz');
    await copyFile(sp6Pack, rotated);
    const s1 = spawnCli(['pack', 'sign', '--key', join(keys, 'old.key'), rotated]);
    assert.equal(s1.code, 0, s1.err);
    assert.match(s1.out, new RegExp(`signed .* with key ${id.old} \\(2 signatures\\)`));
    const s2 = await cli(['pack', 'sign', '--key', join(keys, 'new.key'), '--json', rotated]);
    assert.equal(s2.code, 0, s2.err);
    // signing twice with one key keeps one signature per key
    const s3 = jsonDoc(await cli(['pack', 'sign', '--key', join(keys, 'new.key'), '--json', rotated]));
    assert.deepEqual([...(s3['signatures'] as string[])].sort(), [id.vendor, id.old, id.new].sort());

    const before = await readPackSignatures(sp6Pack);
    const afterSign = await readPackSignatures(rotated);
    assert.ok(afterSign.manifestBytes.equals(before.manifestBytes), 'the signed bytes are the manifest as built');

    const insp = jsonDoc(await cli(['pack', 'inspect', '--trust', join(keys, 'old.pub'), '--json', '--', rotated]));
    const statuses = Object.fromEntries(
      (insp['signatures'] as { keyid: string; status: string }[]).map((s) => [s.keyid, s.status]),
    );
    assert.deepEqual(statuses, { [id.vendor]: 'untrusted', [id.old]: 'valid', [id.new]: 'untrusted' });
  });

  test('packs signed by one key only (pack build --key)', async () => {
    oldOnly = join(work, 'sp6-old-only.tgz');
    newOnly = join(work, 'sp6-new-only.tgz');
    for (const [which, out] of [
      ['old', oldOnly],
      ['new', newOnly],
    ] as const) {
      const r = await cli([
        'pack',
        'build',
        '--def',
        sp6Def,
        '--arch',
        'x86',
        '--key',
        join(keys, `${which}.key`),
        '--out',
        out,
        '--json',
      ]);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(
        (await readPackSignatures(out)).signatures.map((s) => s.keyid),
        [id[which]],
      );
    }
  });

  test('an installation that trusts only the old key accepts the rotated pack', async () => {
    const inst = await installation(['old']);
    const doc = await install(inst, rotated);
    assert.equal(doc.exit, 0, String(doc['message']));
    const packs = doc['packs'] as { signedBy: string[] }[];
    assert.deepEqual(packs[0]!.signedBy, [id.old]);
    assert.equal((doc['after'] as { level: number }).level, 6);
  });

  test('an installation that trusts only the new key accepts it (and so does the real executable)', async () => {
    const inst = await installation(['new']);
    const r = spawnCli(['install', '--accept-eula', '--root', inst.root, '-u', rotated]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /RTM -> Service Pack 6/);
    assert.match(r.err, new RegExp(`signed by ${id.new}`));
  });

  test('trusting a key given with --trust only (empty trust folder) works too', async () => {
    const inst = await installation([]);
    const doc = await install(inst, rotated, ['--trust', join(keys, 'new.pub')]);
    assert.equal(doc.exit, 0, String(doc['message']));
  });

  test('an installation that trusts neither key refuses, naming every keyid (exit 4)', async () => {
    const inst = await installation([]);
    const doc = await install(inst, rotated);
    assert.equal(doc.exit, 4);
    assert.equal(doc['code'], 'E_UNTRUSTED_KEY');
    for (const k of [id.vendor, id.old, id.new]) assert.match(String(doc['message']), new RegExp(k));
    await assertUnchanged(inst);
  });

  test('after the rotation, an installation still on the old key refuses new-only packs: ship new.pub first', async () => {
    const inst = await installation(['old']);
    const doc = await install(inst, newOnly);
    assert.equal(doc.exit, 4);
    assert.equal(doc['code'], 'E_UNTRUSTED_KEY');
    assert.match(String(doc['message']), new RegExp(id.new));
    await assertUnchanged(inst);
  });
});

describe('revocation through the command line', () => {
  test('old key revoked, pack signed by the old key only: refused as revoked (exit 4)', async () => {
    const inst = await installation(['old', 'new'], `# old key retired\n${id.old}\n`);
    const doc = await install(inst, oldOnly);
    assert.equal(doc.exit, 4);
    assert.equal(doc['code'], 'E_UNTRUSTED_KEY');
    assert.match(String(doc['message']), new RegExp(`revoked key\\(s\\) ${id.old}`));
    assert.ok(
      (doc['warnings'] as { code: string }[]).some((w) => w.code === 'W_KEY_REVOKED'),
      'the revoked key in the trust folder is reported',
    );
    await assertUnchanged(inst);
  });

  test('revocation beats --trust: the revoked key offered on the command line is still refused', async () => {
    const inst = await installation([], `${id.old}\n`);
    const doc = await install(inst, oldOnly, ['--trust', join(keys, 'old.pub')]);
    assert.equal(doc.exit, 4);
    assert.match(String(doc['message']), /revoked/);
    await assertUnchanged(inst);
  });

  test('--allow-unsigned does not let a revoked signer through', async () => {
    const inst = await installation([], `${id.old}\n`);
    const doc = await install(inst, oldOnly, ['--allow-unsigned']);
    assert.equal(doc.exit, 4);
    assert.equal(doc['code'], 'E_UNTRUSTED_KEY');
    assert.match(String(doc['message']), /revoked/);
    await assertUnchanged(inst);
  });

  test('old key revoked, pack signed by old and new, new trusted: accepted on the new signature alone', async () => {
    const inst = await installation(['old', 'new'], `${id.old.toUpperCase()}  # case and comments do not matter\n`);
    const doc = await install(inst, rotated);
    assert.equal(doc.exit, 0, String(doc['message']));
    assert.deepEqual(
      (doc['packs'] as { signedBy: string[] }[])[0]!.signedBy,
      [id.new],
      'the revoked signature is not counted',
    );
  });

  test('old key revoked, pack signed by old and new, new not trusted: refused, naming the revoked key', async () => {
    const inst = await installation(['old'], `${id.old}\n`);
    const doc = await install(inst, rotated);
    assert.equal(doc.exit, 4);
    assert.match(String(doc['message']), new RegExp(`revoked key\\(s\\) ${id.old}`));
    await assertUnchanged(inst);
  });

  test('a malformed revocation list fails closed (exit 2), it is never skipped', async () => {
    const inst = await installation(['old', 'new'], `${id.old.slice(0, 40)}\n`);
    const doc = await install(inst, rotated);
    assert.equal(doc.exit, 2);
    assert.equal(doc['code'], 'E_INVALID_STATE');
    assert.match(String(doc['message']), /revoked:1: expected a keyid/);
    await assertUnchanged(inst);
  });

  test('a private key dropped into the trust folder is refused, not used', async () => {
    const inst = await installation(['new']);
    await copyFile(join(keys, 'old.key'), join(inst.root, '.servicepack', 'trust', 'leaked.pub'));
    inst.before = await treeSnapshot(inst.root);
    const doc = await install(inst, rotated);
    assert.equal(doc.exit, 2);
    assert.equal(doc['code'], 'E_INVALID_STATE');
    assert.match(String(doc['message']), /leaked\.pub is not an ed25519 public key/);
    await assertUnchanged(inst);
  });
});

describe('answer files: trust from the file, never --allow-unsigned', () => {
  async function answerFile(lines: string[]): Promise<string> {
    const file = join(work, `answers-${++n}.yaml`);
    await writeFile(file, `${lines.join('\n')}\n`);
    return file;
  }
  /** the unattended path keeps a log per target in .servicepack/log/, by design, even for a refusal */
  const withoutLogs = (lines: string[]) => lines.filter((l) => !/ \.servicepack\/log(\/|$)/.test(l));

  test('allowUnsigned in an answer file is refused (exit 2) and nothing is touched', async () => {
    const inst = await installation([]);
    const file = await answerFile([
      `targets:`,
      `  - root: ${inst.root}`,
      `packs:`,
      `  - ${oldOnly}`,
      `acceptEula: true`,
      `allowUnsigned: true`,
    ]);
    const r = await cli(['install', '--answer-file', file, '--json']);
    const doc = jsonDoc(r);
    assert.equal(r.code, 2);
    assert.equal(doc['code'], 'E_INVALID_ANSWER_FILE');
    assert.match(String(doc['message']), /:6:1: allowUnsigned: --allow-unsigned is accepted only on the command line/);
    await assertUnchanged(inst);
  });

  test('a key listed under trust: in the answer file is trusted', async () => {
    const inst = await installation([]);
    const file = await answerFile([
      `targets:`,
      `  - root: ${inst.root}`,
      `packs:`,
      `  - ${rotated}`,
      `acceptEula: true`,
      `trust:`,
      `  - ${join(keys, 'old.pub')}`,
    ]);
    const r = await cli(['install', '--answer-file', file, '--json']);
    assert.equal(r.code, 0, r.out);
  });

  test('a revoked key listed under trust: is still refused', async () => {
    const inst = await installation([], `${id.old}\n`);
    const file = await answerFile([
      `targets:`,
      `  - root: ${inst.root}`,
      `packs:`,
      `  - ${oldOnly}`,
      `acceptEula: true`,
      `trust:`,
      `  - ${join(keys, 'old.pub')}`,
    ]);
    const r = await cli(['install', '--answer-file', file, '--json']);
    const doc = jsonDoc(r);
    assert.equal(r.code, 4);
    const target = (doc['targets'] as { error?: { code: string; message: string } }[])[0]!;
    assert.equal(target.error?.code, 'E_UNTRUSTED_KEY');
    assert.match(target.error?.message ?? '', new RegExp(`revoked key\\(s\\) ${id.old}`));
    assert.deepEqual(withoutLogs(await treeSnapshot(inst.root)), withoutLogs(inst.before));
  });
});

describe('the acceptance rule on hand-made signature files', () => {
  async function packWithSignatures(sigs: { keyid: string; sig: string }[]): Promise<string> {
    const { manifestBytes } = await readPackSignatures(sp6Pack);
    // the rest of the pack as built: rebuild entries from the original via openPack's reader is not
    // needed, the verdict comes from the head alone
    const entries: RawEntry[] = [
      { name: 'servicepack.json', data: manifestBytes },
      { name: 'servicepack.sig', data: `${JSON.stringify({ signatures: sigs }, null, 2)}\n` },
    ];
    const file = join(work, `sigs-${++n}.tgz`);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, tgz(entries));
    return file;
  }

  async function fixedFromFiles(name: string): Promise<FixedKey> {
    const { createPrivateKey, createPublicKey } = await import('node:crypto');
    const privateKey = createPrivateKey(await readFile(join(keys, `${name}.key`)));
    const publicKey = createPublicKey(privateKey);
    return { privateKey, publicKey, privateKeyPem: '', publicKeyPem: '', keyid: id[name as 'old' | 'new'] };
  }

  test('a bad signature by one trusted key does not veto a good one by another trusted key', async () => {
    const { manifestBytes } = await readPackSignatures(sp6Pack);
    const oldKey = await fixedFromFiles('old');
    const newKey = await fixedFromFiles('new');
    const forged = { keyid: id.old, sig: signWith(Buffer.from('other bytes'), oldKey).sig };
    const file = await packWithSignatures([forged, signWith(manifestBytes, newKey)]);
    const trusted = await loadTrustedKeys({ trustFiles: [join(keys, 'old.pub'), join(keys, 'new.pub')] });
    const pack = await openPack(file, { trustedKeys: trusted });
    assert.deepEqual(pack.signedBy, [id.new]);
    // but with only the forged one left, the verdict is "tampered"
    const alone = await packWithSignatures([forged]);
    await assert.rejects(
      openPack(alone, { trustedKeys: trusted }),
      (e: unknown) => e instanceof ServicepackError && e.code === 'E_BAD_SIGNATURE' && e.exitCode === 4,
    );
  });

  test('an empty signature list is "unsigned", not "untrusted"', async () => {
    const file = await packWithSignatures([]);
    await assert.rejects(
      openPack(file, { trustedKeys: await loadTrustedKeys({ trustFiles: [join(keys, 'old.pub')] }) }),
      (e: unknown) => e instanceof ServicepackError && e.code === 'E_UNSIGNED',
    );
  });
});
