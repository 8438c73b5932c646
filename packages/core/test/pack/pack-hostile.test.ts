import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ServicepackError } from '../../src/support/errors.js';
import type { Manifest } from '../../src/pack/manifest.js';
import { openPack } from '../../src/pack/open.js';
import { stagePayload } from '../../src/pack/stage.js';
import { writePack } from '../../src/pack/pack-write.js';
import {
  headEntries,
  makeKey,
  makePayload,
  type RawEntry,
  rawPack,
  rawTar,
  snapshot,
  tempDir,
} from '../pack-helpers.js';

/**
 * Hostile packs, each signed by a trusted key so that only the archive rules stand between the
 * pack and the disk. Every case must be refused with its code, leave the folder around the staging
 * directory exactly as it was, and remove the staging directory.
 */
describe('hostile packs', () => {
  let base: string;
  let packs: string;
  let sentinel: string;
  let stagingParent: string;
  const key = makeKey();
  let manifest: Manifest;
  let before_: string;
  const A = 'export const a = 1;\n';
  const B = '#!/usr/bin/env node\n';
  let n = 0;

  before(async () => {
    base = await tempDir('sp-hostile-');
    packs = join(base, 'packs');
    sentinel = join(base, 'sentinel');
    stagingParent = join(base, 'inst', '.servicepack', 'staging');
    await mkdir(packs);
    await mkdir(stagingParent, { recursive: true });
    await mkdir(join(sentinel, 'etc'), { recursive: true });
    await writeFile(join(sentinel, 'etc', 'passwd'), 'root:x:0:0\n');
    await writeFile(join(base, 'inst', 'keep.txt'), 'installed file\n');
    manifest = await makePayload(join(base, 'src'), [
      { path: 'lib/a.js', content: A },
      { path: 'bin/inetsrv', content: B, mode: 0o755 },
    ]);
    await rm(join(base, 'src'), { recursive: true });
    before_ = await snapshot(join(base, 'inst'));
    before_ += await snapshot(sentinel);
  });
  after(() => rm(base, { recursive: true, force: true }));

  const good = (): RawEntry[] => [
    { name: 'payload/bin/inetsrv', data: B, mode: 0o755 },
    { name: 'payload/lib/a.js', data: A },
  ];

  async function expectRefused(
    label: string,
    pack: Buffer,
    code: string,
    where: 'open' | 'stage' = 'stage',
    m: Manifest = manifest,
  ): Promise<void> {
    const file = join(packs, `${++n}.tgz`);
    await writeFile(file, pack);
    const staging = join(stagingParent, `tx${n}`);
    const check = (e: unknown) => {
      assert.ok(e instanceof ServicepackError, `${label}: expected ServicepackError, got ${String(e)}`);
      assert.equal(e.code, code, `${label}: ${e.message}`);
      assert.equal(e.exitCode, 4, label);
      return true;
    };
    if (where === 'open') {
      await assert.rejects(openPack(file, { trustedKeys: [key.trusted] }), check, label);
    } else {
      const opened = await openPack(file, { trustedKeys: [key.trusted] });
      assert.equal(opened.manifest.id, m.id);
      await assert.rejects(stagePayload(opened, staging), check, label);
    }
    assert.ok(!existsSync(staging), `${label}: staging folder left behind`);
    assert.equal(
      (await snapshot(join(base, 'inst'))) + (await snapshot(sentinel)),
      before_,
      `${label}: something changed outside staging`,
    );
    assert.ok(
      !existsSync(join(base, 'x')) &&
        !existsSync(join(stagingParent, 'x')) &&
        !existsSync(join(base, 'inst', '.servicepack', 'x')),
      label,
    );
  }

  function signedWith(extra: RawEntry[], opts: { replaceGood?: boolean; m?: Manifest; end?: boolean } = {}): Buffer {
    const { entries } = headEntries(opts.m ?? manifest, key);
    return rawPack([...entries, ...(opts.replaceGood ? [] : good()), ...extra], { end: opts.end ?? true });
  }

  it('accepts the well-formed hand-made pack (control case)', async () => {
    const file = join(packs, 'control.tgz');
    await writeFile(file, signedWith([]));
    const staged = await stagePayload(
      await openPack(file, { trustedKeys: [key.trusted] }),
      join(stagingParent, 'control'),
    );
    assert.equal(await readFile(join(staged.dir, 'lib/a.js'), 'utf8'), A);
    await rm(staged.dir, { recursive: true });
  });

  it('refuses path escapes', async () => {
    await expectRefused('../x', signedWith([{ name: '../x', data: 'x' }]), 'E_UNSAFE_ARCHIVE');
    await expectRefused('payload/../../x', signedWith([{ name: 'payload/../../x', data: 'x' }]), 'E_UNSAFE_ARCHIVE');
    await expectRefused(
      'absolute',
      signedWith([{ name: `${sentinel}/etc/passwd`, data: 'pwned' }]),
      'E_UNSAFE_ARCHIVE',
    );
    await expectRefused('backslash', signedWith([{ name: 'payload\\..\\..\\x', data: 'x' }]), 'E_UNSAFE_ARCHIVE');
    await expectRefused('drive letter', signedWith([{ name: 'C:../x', data: 'x' }]), 'E_UNSAFE_ARCHIVE');
    const pax = (p: string) => {
      const body = ` path=${p}\n`;
      const len = body.length + String(body.length + 2).length;
      return `${len}${body}`;
    };
    await expectRefused(
      'PAX path ../x',
      signedWith([
        { name: 'PaxHeader/x', type: 'x', data: pax('../x') },
        { name: 'payload/lib/harmless.js', data: 'x' },
      ]),
      'E_UNSAFE_ARCHIVE',
    );
  });

  it('refuses links, devices and FIFOs', async () => {
    await expectRefused(
      'symlink',
      signedWith([{ name: 'payload/lib/link.js', type: '2', linkname: `${sentinel}/etc/passwd` }]),
      'E_UNSAFE_ARCHIVE',
    );
    // a symlink in place of a listed file, followed by the file "through" it
    await expectRefused(
      'symlink then file',
      signedWith([{ name: 'payload/lib', type: '2', linkname: '../../../../sentinel' }, ...good()], {
        replaceGood: true,
      }),
      'E_UNSAFE_ARCHIVE',
    );
    await expectRefused(
      'hardlink',
      signedWith([{ name: 'payload/lib/hl.js', type: '1', linkname: '../../sentinel/etc/passwd' }]),
      'E_UNSAFE_ARCHIVE',
    );
    await expectRefused('char device', signedWith([{ name: 'payload/dev/null', type: '3' }]), 'E_UNSAFE_ARCHIVE');
    await expectRefused('block device', signedWith([{ name: 'payload/dev/sda', type: '4' }]), 'E_UNSAFE_ARCHIVE');
    await expectRefused('fifo', signedWith([{ name: 'payload/lib/fifo', type: '6' }]), 'E_UNSAFE_ARCHIVE');
    await expectRefused(
      'GNU long name',
      signedWith([
        { name: '././@LongLink', type: 'L', data: `${'a/'.repeat(60)}x\0` },
        { name: 'payload/x', data: 'x' },
      ]),
      'E_UNSAFE_ARCHIVE',
    );
  });

  it('refuses setuid modes, duplicates, twins and unlisted entries', async () => {
    await expectRefused(
      'setuid',
      signedWith(
        [
          { name: 'payload/bin/inetsrv', data: B, mode: 0o4755 },
          { name: 'payload/lib/a.js', data: A },
        ],
        { replaceGood: true },
      ),
      'E_UNSAFE_ARCHIVE',
    );
    await expectRefused('duplicate', signedWith([{ name: 'payload/lib/a.js', data: A }]), 'E_UNSAFE_ARCHIVE');
    await expectRefused('case twin', signedWith([{ name: 'payload/lib/A.js', data: A }]), 'E_UNSAFE_ARCHIVE');
    await expectRefused(
      'duplicate manifest',
      signedWith([{ name: 'servicepack.json', data: '{}' }]),
      'E_UNSAFE_ARCHIVE',
    );
    await expectRefused('unlisted', signedWith([{ name: 'payload/lib/evil.js', data: 'evil' }]), 'E_UNSAFE_ARCHIVE');
    await expectRefused('unlisted top level', signedWith([{ name: 'x', data: 'evil' }]), 'E_UNSAFE_ARCHIVE');
    await expectRefused('unlisted folder', signedWith([{ name: 'payload/evil/', type: '5' }]), 'E_UNSAFE_ARCHIVE');
    // NFC/NFD twins: the manifest lists the NFC name, the archive also carries the NFD spelling
    const nfc = 'lib/\u00e9.js';
    const m = await makePayload(join(base, 'src2'), [{ path: nfc, content: A }]);
    await rm(join(base, 'src2'), { recursive: true });
    const { entries } = headEntries(m, key);
    await expectRefused(
      'NFD twin',
      rawPack([...entries, { name: `payload/${nfc}`, data: A }, { name: `payload/${nfc.normalize('NFD')}`, data: A }]),
      'E_UNSAFE_ARCHIVE',
      'stage',
      m,
    );
  });

  it('refuses missing files and size or content mismatches', async () => {
    await expectRefused(
      'missing listed file',
      signedWith([{ name: 'payload/lib/a.js', data: A }], { replaceGood: true }),
      'E_CORRUPT_ARCHIVE',
    );
    await expectRefused(
      'size mismatch',
      signedWith(
        [
          { name: 'payload/bin/inetsrv', data: `${B}// more\n`, mode: 0o755 },
          { name: 'payload/lib/a.js', data: A },
        ],
        { replaceGood: true },
      ),
      'E_HASH_MISMATCH',
    );
    await expectRefused(
      'content mismatch',
      signedWith(
        [
          { name: 'payload/bin/inetsrv', data: B.replace('node', 'evil'), mode: 0o755 },
          { name: 'payload/lib/a.js', data: A },
        ],
        { replaceGood: true },
      ),
      'E_HASH_MISMATCH',
    );
  });

  it('refuses malformed archives', async () => {
    const { entries } = headEntries(manifest, key);
    await expectRefused(
      'manifest not first',
      rawPack([good()[0]!, ...entries, good()[1]!]),
      'E_CORRUPT_ARCHIVE',
      'open',
    );
    await expectRefused('empty archive', rawPack([]), 'E_CORRUPT_ARCHIVE', 'open');
    await expectRefused('not gzip', rawTar([...entries, ...good()]), 'E_CORRUPT_ARCHIVE', 'open');
    await expectRefused(
      'gzip of garbage',
      gzipSync(Buffer.from('hello world, not a tar at all')),
      'E_CORRUPT_ARCHIVE',
      'open',
    );
    const gnu = rawPack([{ ...entries[0]!, magic: 'ustar  \0' }, entries[1]!, ...good()]);
    await expectRefused('GNU magic', gnu, 'E_CORRUPT_ARCHIVE', 'open');
    const whole = signedWith([]);
    await expectRefused('truncated gzip (payload)', whole.subarray(0, whole.length - 30), 'E_CORRUPT_ARCHIVE');
    await expectRefused('truncated gzip (head)', whole.subarray(0, 40), 'E_CORRUPT_ARCHIVE', 'open');
    await expectRefused('no end marker', signedWith([], { end: false }), 'E_CORRUPT_ARCHIVE');
    const corruptSum = Buffer.from(rawTar([...entries, ...good()]));
    const at = corruptSum.indexOf('payload/bin/inetsrv') + 3;
    corruptSum.writeUInt8(corruptSum.readUInt8(at) ^ 1, at);
    await expectRefused('bad header checksum', gzipSync(corruptSum), 'E_CORRUPT_ARCHIVE');
    const trailing = Buffer.concat([
      rawTar([...entries, ...good()]),
      rawTar([{ name: 'payload/lib/evil.js', data: 'x' }]),
    ]);
    await expectRefused('entry after end marker', gzipSync(trailing), 'E_UNSAFE_ARCHIVE');
  });

  it('refuses oversize manifests and decompression bombs', async () => {
    const huge = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
    await expectRefused(
      'oversize manifest',
      rawPack([{ name: 'servicepack.json', data: huge }]),
      'E_UNSAFE_ARCHIVE',
      'open',
    );
    await expectRefused(
      'oversize signature file',
      rawPack([
        headEntries(manifest, key).entries[0]!,
        { name: 'servicepack.sig', data: Buffer.alloc(65 * 1024, 0x20) },
      ]),
      'E_UNSAFE_ARCHIVE',
      'open',
    );
    const bomb = Buffer.concat([
      rawTar([...headEntries(manifest, key).entries, ...good()]),
      Buffer.alloc(64 * 1024 * 1024),
    ]);
    await expectRefused('zeros after the end', gzipSync(bomb), 'E_UNSAFE_ARCHIVE');
  });

  it('never lets a header size exceed the manifest size', async () => {
    // header claims 1 GiB for a listed 20-byte file: refused before reading
    await expectRefused(
      'lying header size',
      signedWith([{ name: 'payload/bin/inetsrv', data: B, size: 1 << 30, mode: 0o755 }], { replaceGood: true }),
      'E_HASH_MISMATCH',
    );
  });

  it('writePack itself refuses a payload symlink', async () => {
    const dir = join(base, 'wp');
    const m = await makePayload(dir, [{ path: 'lib/a.js', content: A }]);
    await rm(join(dir, 'lib/a.js'));
    const { symlink } = await import('node:fs/promises');
    await writeFile(join(base, 'outside.js'), A);
    await symlink(join(base, 'outside.js'), join(dir, 'lib/a.js'));
    await assert.rejects(
      writePack({ out: join(base, 'wp.tgz'), manifest: m, privateKeys: [key.privateKey], payloadDir: dir }),
      (e: unknown) => {
        assert.equal((e as ServicepackError).code, 'E_UNSAFE_ARCHIVE');
        return true;
      },
    );
  });
});
