import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ServicepackError } from '../../src/support/errors.js';
import type { ServicepackEvent } from '../../src/support/events.js';
import {
  checkSignatures,
  loadRevokedKeyIds,
  loadTrustedKeys,
  loadTrustStore,
  signBytes,
} from '../../src/trust/trust.js';
import { makeKey, tempDir } from '../pack-helpers.js';

describe('trust store', () => {
  let root: string;
  let trust: string;
  const vendor = makeKey();
  const old = makeKey();
  const extra = makeKey();

  before(async () => {
    root = await tempDir('sp-trust-');
    trust = join(root, '.servicepack', 'trust');
    await mkdir(trust, { recursive: true });
    await writeFile(join(trust, 'vendor.pub'), vendor.publicKeyPem);
    await writeFile(join(trust, 'old.pub'), old.publicKeyPem);
    await writeFile(join(trust, 'README'), 'not a key, ignored');
    await writeFile(join(trust, 'revoked'), `# rotated out in 2026\n${old.trusted.keyid.toUpperCase()}\n\n`);
    await writeFile(join(root, 'extra.pem'), extra.publicKeyPem);
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('loads *.pub from the root, adds --trust files, skips revoked keys and reports them', async () => {
    const events: ServicepackEvent[] = [];
    const store = await loadTrustStore({
      root,
      trustFiles: [join(root, 'extra.pem'), join(trust, 'vendor.pub')],
      sink: (e) => events.push(e),
    });
    assert.deepEqual(store.keys.map((k) => k.keyid).sort(), [vendor.trusted.keyid, extra.trusted.keyid].sort());
    assert.equal(store.keys.find((k) => k.keyid === vendor.trusted.keyid)?.source, join(trust, 'vendor.pub'));
    assert.deepEqual(store.revoked, [old.trusted.keyid]);
    assert.deepEqual(
      events.map((e) => e.type === 'warning' && e.code),
      ['W_KEY_REVOKED'],
    );
    assert.deepEqual(
      (await loadTrustedKeys({ root })).map((k) => k.keyid),
      [vendor.trusted.keyid],
    );
  });

  it('revocation also applies to keys given with --trust', async () => {
    const keys = await loadTrustedKeys({ root, trustFiles: [join(trust, 'old.pub')] });
    assert.ok(!keys.some((k) => k.keyid === old.trusted.keyid));
  });

  it('an installation without a trust folder trusts only --trust files', async () => {
    const empty = await tempDir('sp-trust-empty-');
    try {
      assert.deepEqual(await loadTrustedKeys({ root: empty }), []);
      assert.deepEqual(await loadRevokedKeyIds(empty), []);
      assert.equal(
        (await loadTrustedKeys({ root: empty, trustFiles: [join(root, 'extra.pem')] }))[0]?.keyid,
        extra.trusted.keyid,
      );
    } finally {
      await rm(empty, { recursive: true });
    }
  });

  it('refuses unreadable or non-key trust files with a usage error', async () => {
    await writeFile(join(root, 'junk.pem'), 'hello');
    await assert.rejects(
      loadTrustedKeys({ trustFiles: [join(root, 'junk.pem')] }),
      (e: unknown) => e instanceof ServicepackError && e.code === 'E_USAGE' && e.exitCode === 2,
    );
    await assert.rejects(
      loadTrustedKeys({ trustFiles: [join(root, 'missing.pem')] }),
      (e: unknown) => e instanceof ServicepackError && e.code === 'E_USAGE',
    );
    // a private key is not a trust anchor
    await writeFile(join(root, 'private.pem'), vendor.privateKeyPem);
    await assert.rejects(
      loadTrustedKeys({ trustFiles: [join(root, 'private.pem')] }),
      (e: unknown) => e instanceof ServicepackError && e.code === 'E_USAGE',
    );
  });

  it('a malformed revoked list is an error, not silently ignored', async () => {
    const r2 = await tempDir('sp-trust-bad-');
    try {
      await mkdir(join(r2, '.servicepack', 'trust'), { recursive: true });
      await writeFile(join(r2, '.servicepack', 'trust', 'revoked'), 'abc\n');
      await assert.rejects(
        loadRevokedKeyIds(r2),
        (e: unknown) => e instanceof ServicepackError && e.code === 'E_INVALID_STATE' && /revoked:1/.test(e.message),
      );
    } finally {
      await rm(r2, { recursive: true });
    }
  });

  it('checkSignatures classifies valid, bad, untrusted and revoked', () => {
    const bytes = Buffer.from('manifest bytes');
    const sigs = [
      signBytes(bytes, vendor.privateKey),
      signBytes(Buffer.from('other'), extra.privateKey),
      signBytes(bytes, makeKey().privateKey),
      signBytes(bytes, old.privateKey),
    ];
    const res = checkSignatures(bytes, sigs, {
      trustedKeys: [vendor.trusted, extra.trusted, old.trusted],
      revokedKeyIds: [old.trusted.keyid],
    });
    assert.deepEqual(
      res.map((r) => r.status),
      ['valid', 'bad', 'untrusted', 'revoked'],
    );
  });
});
