import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Manifest } from '../../src/pack/manifest.js';
import { openPack } from '../../src/pack/open.js';
import { stagePayload } from '../../src/pack/stage.js';
import {
  headEntries,
  makeKey,
  makePayload,
  type RawEntry,
  rawPack,
  sha,
  type TestKey,
  tempDir,
} from '../pack-helpers.js';

/**
 * Staging creates the payload's files ahead of the extraction (a worker thread, for payloads of 64
 * files or more) while the main thread fills them: a payload in an archive order that is not the
 * manifest's must still come out whole, and a staging that fails halfway must leave nothing behind.
 */
const FILES = 600;

const openFds = (): number => readdirSync('/proc/self/fd').length;

describe('staging a payload of many files, created ahead', () => {
  let dir: string;
  let key: TestKey;
  let manifest: Manifest;
  const content = (i: number): string => `file ${i}\n${'x'.repeat(i * 17)}`;

  before(async () => {
    dir = await tempDir('sp-stage-ahead-');
    key = makeKey();
    manifest = await makePayload(
      join(dir, 'tree'),
      Array.from({ length: FILES }, (_, i) => ({
        path: `lib/d${i % 40}/f${i}.js`,
        content: content(i),
        ...(i % 7 === 0 ? { mode: 0o755 } : {}),
      })),
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** The pack with its payload entries in `order` (indexes into the manifest's files). */
  async function packOf(name: string, order: number[], edit?: (i: number, data: string) => string): Promise<string> {
    const { entries } = headEntries(manifest, key);
    const payload: RawEntry[] = order.map((i) => {
      const f = manifest.files[i]!;
      const data = content(Number(/f(\d+)\.js$/.exec(f.path)![1]));
      return { name: `payload/${f.path}`, data: edit ? edit(i, data) : data, mode: f.mode ?? 0o644 };
    });
    const file = join(dir, name);
    await writeFile(file, rawPack([...entries, ...payload]));
    return file;
  }

  it('stages every file whole and in its mode when the archive holds them in another order than the manifest, with few descriptors open', async () => {
    // last to first: each file the writer asks for is the one created last, or not at all yet
    const reversed = Array.from({ length: FILES }, (_, i) => FILES - 1 - i);
    const pack = await openPack(await packOf('reversed.tgz', reversed), { trustedKeys: [key.trusted] });
    const before = openFds();
    let most = 0;
    const staged = await stagePayload(pack, join(dir, 'stage-reversed'), (e) => {
      if (e.type === 'progress') most = Math.max(most, openFds());
    });
    assert.equal(staged.files.size, FILES);
    for (const f of manifest.files) {
      const abs = join(staged.dir, ...f.path.split('/'));
      assert.equal(sha(await readFile(abs)), f.sha256, f.path);
      assert.equal((await stat(abs)).mode & 0o7777, f.mode ?? 0o644, f.path);
    }
    assert.equal(openFds(), before, 'no descriptor left open');
    // one file at a time, the pack being read and the worker's own
    assert.ok(most - before <= 16, `${most - before} descriptors open while staging`);
    await rm(staged.dir, { recursive: true });
  });

  it('a staging that fails at its last file removes its folder and leaves no descriptor open', async () => {
    const inOrder = Array.from({ length: FILES }, (_, i) => i);
    const damaged = await packOf('damaged.tgz', inOrder, (i, data) => (i === FILES - 1 ? `${data.slice(1)}?` : data));
    const pack = await openPack(damaged, { trustedKeys: [key.trusted] });
    const before = openFds();
    const staging = join(dir, 'stage-damaged');
    await assert.rejects(stagePayload(pack, staging), { code: 'E_HASH_MISMATCH' });
    assert.ok(!existsSync(staging), 'the half-staged folder is removed');
    assert.equal(openFds(), before, 'no descriptor left open');
  });
});
