/**
 * Which flush is trusted where (issue 13, item 12): syncfs(2) only on file systems that implement
 * it, by statfs f_type; per-file fsync on everything else (FUSE's syncfs returns 0 and flushes
 * nothing). The power-cut test shows what an untrusted syncfs loses; this holds the decision.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  FEW,
  fileSystemProbe,
  flushMethod,
  flushMethodAt,
  flushToDisk,
  forgetFileSystems,
  syncfsFlushes,
} from '../../src/transaction/durable.js';

const realProbe = fileSystemProbe.type;
const dirs: string[] = [];
after(async () => {
  fileSystemProbe.type = realProbe;
  forgetFileSystems();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('syncfs is trusted by file system type only', () => {
  test('the allow-list: local file systems with a sync_fs of their own, and memory', () => {
    for (const [name, type] of [
      ['ext2/ext3/ext4', 0xef53],
      ['xfs', 0x58465342],
      ['btrfs', 0x9123683e],
      ['f2fs', 0xf2f52010],
      ['bcachefs', 0xca451a4e],
      ['zfs', 0x2fc12fc1],
      ['tmpfs', 0x01021994],
      // f_type is a signed long: 32-bit systems report the large magic numbers negative
      ['btrfs, as a 32-bit system reports it', 0x9123683e | 0],
      ['f2fs, as a 32-bit system reports it', 0xf2f52010 | 0],
    ] as const) {
      assert.equal(syncfsFlushes(type), true, name);
    }
  });

  test('everything else gets fsync: FUSE, network file systems, overlayfs, unknown types', () => {
    for (const [name, type] of [
      ['fuse (sshfs, glusterfs, ceph-fuse, s3fs, virtiofs)', 0x65735546],
      ['nfs', 0x6969],
      ['smb2', 0xfe534d42],
      ['cifs', 0xff534d42],
      ['ceph', 0x00c36400],
      ['9p', 0x01021997],
      ['overlayfs', 0x794c7630],
      ['vfat', 0x4d44],
      ['unknown', 0x12345678],
      ['zero', 0],
    ] as const) {
      assert.equal(syncfsFlushes(type), false, name);
    }
  });

  test('flushToDisk picks fsync for an unknown f_type, syncfs for ext4, once per device', async () => {
    // meaningful only where syncfs would be used at all (Linux 5.8+, sync(1) there)
    const syncfsHere = flushMethod() === 'syncfs';
    const dir = await mkdtemp(join(tmpdir(), 'sp-durable-'));
    dirs.push(dir);
    await mkdir(join(dir, 'a'));
    const files: string[] = [];
    for (let i = 0; i <= FEW; i++) {
      files.push(join(dir, 'a', `f${i}`));
      await writeFile(files[i]!, 'x');
    }
    let asked = 0;
    forgetFileSystems();
    fileSystemProbe.type = async () => {
      asked++;
      return 0x65735546;
    };
    assert.equal(await flushMethodAt(dir), 'fsync');
    assert.equal(await flushToDisk(dir, files, [join(dir, 'a'), dir]), 'fsync');
    assert.equal(await flushToDisk(join(dir, 'a'), files, [join(dir, 'a'), dir]), 'fsync');
    assert.equal(asked, syncfsHere ? 1 : 0, 'statfs once per file system');

    forgetFileSystems();
    fileSystemProbe.type = async () => 0xef53;
    assert.equal(await flushToDisk(dir, files, [join(dir, 'a'), dir]), syncfsHere ? 'syncfs' : 'fsync');

    // a file system that cannot say what it is gets fsync
    forgetFileSystems();
    fileSystemProbe.type = async () => {
      throw Object.assign(new Error('statfs failed'), { code: 'ENOSYS' });
    };
    assert.equal(await flushToDisk(dir, files, [join(dir, 'a'), dir]), 'fsync');
  });

  test('a folder that is not there is an error, not skipped: its entries were to be made durable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sp-durable-'));
    dirs.push(dir);
    await assert.rejects(flushToDisk(dir, [], [join(dir, 'gone')]), { code: 'ENOENT' });
  });
});
