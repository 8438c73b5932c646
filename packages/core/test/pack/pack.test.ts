import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ServicepackError } from '../../src/support/errors.js';
import type { ServicepackEvent } from '../../src/support/events.js';
import type { Manifest } from '../../src/pack/manifest.js';
import { inspectPack, openPack } from '../../src/pack/open.js';
import { stagePayload } from '../../src/pack/stage.js';
import { readPackDocument } from '../../src/pack/walk.js';
import { serializeManifest, signPack, writePack } from '../../src/pack/pack-write.js';
import { headEntries, makeKey, makePayload, rawPack, sha, type TestKey, tempDir } from '../pack-helpers.js';

function rejectsWith(code: string, exitCode = 4): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof ServicepackError, `expected ServicepackError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.exitCode, exitCode);
    return true;
  };
}

const sha256Of = async (p: string): Promise<string> => sha(await readFile(p));

describe('pack round trip', () => {
  let dir: string;
  let payloadDir: string;
  let key: TestKey;
  let manifest: Manifest;
  let eula: string;
  const big = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;

  before(async () => {
    dir = await tempDir();
    payloadDir = join(dir, 'tree');
    key = makeKey();
    manifest = await makePayload(payloadDir, [
      { path: 'BUILDINFO.json', content: '{"level":9}\n' },
      { path: 'bin/inetsrv', content: '#!/usr/bin/env node\n', mode: 0o755 },
      { path: 'conf/inetsrv.conf', content: 'Port 8080\n', config: true },
      { path: 'lib/big.bin', content: big },
      { path: `lib/${'deep/'.repeat(25)}long-name-${'x'.repeat(40)}.js`, content: 'export {};\n' },
      { path: 'lib/ünïcode.js', content: 'export const u = 1;\n' },
      { path: 'lib/empty.js', content: '' },
    ]);
    manifest.files.push({ path: 'lib/old.js', action: 'delete', from: [sha('old')] });
    eula = join(dir, 'EULA.txt');
    await writeFile(eula, 'End-user licence: be nice.\n');
    manifest.documents = [{ name: 'EULA.txt', sha256: await sha256Of(eula), size: (await stat(eula)).size }];
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('writes, opens, stages and reads documents', async () => {
    const out = join(dir, 'a.tgz');
    const res = await writePack({
      out,
      manifest,
      privateKeys: [key.privateKey],
      payloadDir,
      documents: [{ name: 'EULA.txt', path: eula }],
    });
    assert.equal(res.sha256, await sha256Of(out));
    assert.equal(res.size, (await stat(out)).size);
    const pack = await openPack(out, { trustedKeys: [key.trusted] });
    assert.deepEqual(pack.signedBy, [key.trusted.keyid]);
    assert.equal(pack.unsigned, false);
    assert.equal(pack.manifest.id, manifest.id);
    assert.deepEqual(
      pack.manifest.files.map((f) => f.path),
      manifest.files.map((f) => f.path).sort(),
    );
    const events: ServicepackEvent[] = [];
    const staging = join(dir, 'stage1');
    const staged = await stagePayload(pack, staging, (e) => events.push(e));
    assert.equal(staged.dir, staging);
    assert.equal(staged.files.size, 7);
    for (const f of manifest.files.filter((x) => x.action !== 'delete')) {
      const p = join(staging, ...f.path.split('/'));
      assert.equal(await sha256Of(p), f.sha256, f.path);
      assert.equal(staged.files.get(f.path)?.sha256, f.sha256);
    }
    assert.equal((await stat(join(staging, 'bin/inetsrv'))).mode & 0o7777, 0o755);
    assert.equal((await stat(join(staging, 'conf/inetsrv.conf'))).mode & 0o7777, 0o644);
    assert.equal((await stat(staging)).mode & 0o777, 0o700);
    assert.ok(!existsSync(join(staging, 'lib/old.js')));
    const progress = events.filter((e) => e.type === 'progress');
    assert.ok(progress.length >= 7);
    const last = progress.at(-1)!;
    assert.equal(last.type === 'progress' && last.step, 'stage');
    assert.equal(last.type === 'progress' && last.files, 7);
    assert.equal(await readPackDocument(pack, 'EULA.txt'), 'End-user licence: be nice.\n');
  });

  it('is deterministic and GNU tar lists it in the canonical order', async () => {
    const a = join(dir, 'det-a.tgz');
    const b = join(dir, 'det-b.tgz');
    await writePack({
      out: a,
      manifest,
      privateKeys: [key.privateKey],
      payloadDir,
      documents: [{ name: 'EULA.txt', path: eula }],
    });
    // same content, different input order and on-disk modes: still the same bytes
    const shuffled: Manifest = { ...manifest, files: [...manifest.files].reverse(), fixes: [...manifest.fixes] };
    execFileSync('chmod', ['0600', join(payloadDir, 'lib/big.bin')]);
    await writePack({
      out: b,
      manifest: shuffled,
      privateKeys: [key.privateKey],
      payloadDir,
      documents: [{ name: 'EULA.txt', path: eula }],
    });
    assert.equal(await sha256Of(a), await sha256Of(b));
    const listing = execFileSync('tar', ['-tzf', a], { encoding: 'utf8' }).trim().split('\n');
    assert.equal(listing[0], 'servicepack.json');
    assert.equal(listing[1], 'servicepack.sig');
    const payload = manifest.files
      .filter((f) => f.action !== 'delete')
      .map((f) => `payload/${f.path}`)
      .sort();
    assert.deepEqual(listing.slice(2, -1), payload);
    assert.equal(listing.at(-1), 'EULA.txt');
    const verbose = execFileSync('tar', ['-tvzf', a], { encoding: 'utf8' });
    assert.match(verbose, /-rwxr-xr-x 0\/0 +\d+ 2026-01-02 03:04 payload\/bin\/inetsrv/);
    // the gzip header carries no timestamp
    const gz = await readFile(a);
    assert.equal(gz.readUInt32LE(4), 0);
    // GNU tar extracts it identically
    const x = join(dir, 'gnu-x');
    await mkdir(x);
    execFileSync('tar', ['-xzf', a, '-C', x]);
    assert.equal(
      await sha256Of(join(x, 'payload/lib/big.bin')),
      manifest.files.find((f) => f.path === 'lib/big.bin')!.sha256,
    );
    assert.deepEqual(await readFile(join(x, 'servicepack.json')), serializeManifest(manifest));
  });

  it('signPack adds signatures in place, equal to writing with the keys', async () => {
    const unsigned = join(dir, 'unsigned.tgz');
    const signedDirect = join(dir, 'signed-direct.tgz');
    const second = makeKey();
    await writePack({
      out: unsigned,
      manifest,
      privateKeys: [],
      payloadDir,
      documents: [{ name: 'EULA.txt', path: eula }],
    });
    assert.deepEqual(execFileSync('tar', ['-tzf', unsigned], { encoding: 'utf8' }).split('\n').slice(0, 2), [
      'servicepack.json',
      'payload/BUILDINFO.json',
    ]);
    await assert.rejects(openPack(unsigned, { trustedKeys: [key.trusted] }), rejectsWith('E_UNSIGNED'));
    const allowed = await openPack(unsigned, { trustedKeys: [key.trusted], allowUnsigned: true });
    assert.equal(allowed.unsigned, true);
    assert.deepEqual(allowed.signedBy, []);

    await signPack(unsigned, key.privateKey);
    await writePack({
      out: signedDirect,
      manifest,
      privateKeys: [key.privateKey],
      payloadDir,
      documents: [{ name: 'EULA.txt', path: eula }],
    });
    assert.equal(await sha256Of(unsigned), await sha256Of(signedDirect));

    await signPack(unsigned, second.privateKey);
    await signPack(unsigned, second.privateKey); // idempotent per key
    const both = join(dir, 'both.tgz');
    await writePack({
      out: both,
      manifest,
      privateKeys: [second.privateKey, key.privateKey],
      payloadDir,
      documents: [{ name: 'EULA.txt', path: eula }],
    });
    assert.equal(await sha256Of(unsigned), await sha256Of(both));
    const p = await openPack(unsigned, { trustedKeys: [key.trusted, second.trusted] });
    assert.deepEqual(p.signedBy.sort(), [key.trusted.keyid, second.trusted.keyid].sort());
    // rotation: trusting only the new key is enough
    assert.deepEqual((await openPack(unsigned, { trustedKeys: [second.trusted] })).signedBy, [second.trusted.keyid]);
    const insp = await inspectPack(unsigned, { trustedKeys: [second.trusted] });
    assert.deepEqual(insp.signatures.map((s) => s.status).sort(), ['untrusted', 'valid']);
  });

  it('refuses tampering and untrusted signers', async () => {
    const out = join(dir, 'trust.tgz');
    await writePack({
      out,
      manifest,
      privateKeys: [key.privateKey],
      payloadDir,
      documents: [{ name: 'EULA.txt', path: eula }],
    });
    const tar = gunzipSync(await readFile(out));

    // one payload byte changed
    const i = tar.indexOf(Buffer.from('Port 8080'));
    assert.ok(i > 0);
    const t1 = Buffer.from(tar);
    t1[i] = 'Q'.charCodeAt(0);
    const p1 = join(dir, 'payload-byte.tgz');
    await writeFile(p1, gzipSync(t1));
    const opened = await openPack(p1, { trustedKeys: [key.trusted] });
    await assert.rejects(stagePayload(opened, join(dir, 'st-p1')), rejectsWith('E_HASH_MISMATCH'));
    assert.ok(!existsSync(join(dir, 'st-p1')));

    // one manifest byte changed
    const j = tar.indexOf(Buffer.from('Service Pack 9'));
    const t2 = Buffer.from(tar);
    t2[j] = 'X'.charCodeAt(0);
    const p2 = join(dir, 'manifest-byte.tgz');
    await writeFile(p2, gzipSync(t2));
    await assert.rejects(openPack(p2, { trustedKeys: [key.trusted] }), rejectsWith('E_BAD_SIGNATURE'));
    await assert.rejects(
      openPack(p2, { trustedKeys: [key.trusted], allowUnsigned: true }),
      rejectsWith('E_BAD_SIGNATURE'),
    );

    // unknown key
    const other = makeKey();
    await assert.rejects(openPack(out, { trustedKeys: [other.trusted] }), rejectsWith('E_UNTRUSTED_KEY'));
    await assert.rejects(openPack(out, { trustedKeys: [] }), rejectsWith('E_UNTRUSTED_KEY'));
    assert.equal((await openPack(out, { trustedKeys: [other.trusted], allowUnsigned: true })).unsigned, true);

    // revoked key: refused even with --allow-unsigned
    await assert.rejects(
      openPack(out, { trustedKeys: [key.trusted], revokedKeyIds: [key.trusted.keyid] }),
      (e: unknown) => {
        rejectsWith('E_UNTRUSTED_KEY')(e);
        assert.match((e as Error).message, /revoked/);
        return true;
      },
    );
    await assert.rejects(
      openPack(out, { trustedKeys: [], revokedKeyIds: [key.trusted.keyid], allowUnsigned: true }),
      rejectsWith('E_UNTRUSTED_KEY'),
    );
  });

  it('checks the schema only after the signature, and lists the issues', async () => {
    const { entries } = headEntries(manifest, key);
    const bad = Buffer.from(`${JSON.stringify({ ...manifest, extra: 1, level: -1 }, null, 2)}\n`);
    const { signBytes } = await import('../../src/trust/trust.js');
    entries[0] = { name: 'servicepack.json', data: bad };
    entries[1] = { name: 'servicepack.sig', data: JSON.stringify({ signatures: [signBytes(bad, key.privateKey)] }) };
    const p = join(dir, 'schema.tgz');
    await writeFile(p, rawPack(entries));
    await assert.rejects(openPack(p, { trustedKeys: [key.trusted] }), (e: unknown) => {
      rejectsWith('E_INVALID_MANIFEST', 2)(e);
      assert.match((e as Error).message, /level/);
      assert.match((e as Error).message, /extra/);
      return true;
    });
    // the same bytes signed by nobody we know: refused for the signature, never parsed
    await assert.rejects(openPack(p, { trustedKeys: [makeKey().trusted] }), rejectsWith('E_UNTRUSTED_KEY'));
  });

  it('writePack refuses a payload that does not match the manifest and leaves no file', async () => {
    const out = join(dir, 'mismatch.tgz');
    const m: Manifest = {
      ...manifest,
      files: manifest.files.map((f) => (f.path === 'conf/inetsrv.conf' ? { ...f, sha256: sha('other') } : f)),
    };
    await assert.rejects(
      writePack({
        out,
        manifest: m,
        privateKeys: [key.privateKey],
        payloadDir,
        documents: [{ name: 'EULA.txt', path: eula }],
      }),
      rejectsWith('E_HASH_MISMATCH'),
    );
    assert.ok(!existsSync(out));
    const leftovers = (await import('node:fs')).readdirSync(dir).filter((n) => n.includes('mismatch'));
    assert.deepEqual(leftovers, []);
  });

  it('stagePayload refuses an existing staging folder without touching it', async () => {
    const out = join(dir, 'exists.tgz');
    await writePack({
      out,
      manifest,
      privateKeys: [key.privateKey],
      payloadDir,
      documents: [{ name: 'EULA.txt', path: eula }],
    });
    const pack = await openPack(out, { trustedKeys: [key.trusted] });
    const staging = join(dir, 'exists-stage');
    await mkdir(staging);
    await writeFile(join(staging, 'keep'), 'mine');
    await assert.rejects(stagePayload(pack, staging), rejectsWith('E_IO', 1));
    assert.equal(await readFile(join(staging, 'keep'), 'utf8'), 'mine');
  });

  it('detects a pack swapped after verification', async () => {
    const out = join(dir, 'swap.tgz');
    await writePack({
      out,
      manifest,
      privateKeys: [key.privateKey],
      payloadDir,
      documents: [{ name: 'EULA.txt', path: eula }],
    });
    const pack = await openPack(out, { trustedKeys: [key.trusted] });
    const m2 = { ...manifest, title: 'something else' };
    await writePack({
      out,
      manifest: m2,
      privateKeys: [key.privateKey],
      payloadDir,
      documents: [{ name: 'EULA.txt', path: eula }],
    });
    await assert.rejects(stagePayload(pack, join(dir, 'swap-stage')), rejectsWith('E_BAD_SIGNATURE'));
    assert.ok(!existsSync(join(dir, 'swap-stage')));
  });
});
