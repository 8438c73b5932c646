/**
 * What a pack's compression costs the install (docs/performance.md, "Where the install's stage step
 * goes"): the synthetic pack's tar inflated the way the installer reads it (1 MiB file reads, a node:zlib
 * stream with 256 KiB output chunks, `openPackStream` in core pack/open.ts) as gzip -9 (what packs are
 * today) against the other codecs Node 20's zlib has: gzip -1, brotli at a fast quality, and no
 * compression (the plain tar, read). The content is the same tar in every case; rounds are
 * interleaved, medians. The sizes are reported beside, since a codec is also a download.
 */
import { createReadStream, createWriteStream, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createBrotliCompress, createBrotliDecompress, createGunzip, createGzip } from 'node:zlib';
import { ensureFixture } from './support/fixture.js';
import { log, main, median, quick, report } from './support/lib.js';

const BROTLI_QUALITY = 5;

interface Codec {
  name: string;
  label: string;
  file: string;
  compress: () => Transform;
  decompress: () => Transform;
}

async function inflate(c: Codec): Promise<{ seconds: number; bytes: number }> {
  const t0 = performance.now();
  const source = createReadStream(c.file, { highWaterMark: 1024 * 1024 });
  const z = c.decompress();
  let bytes = 0;
  const done = pipeline(source, z);
  for await (const chunk of z) bytes += (chunk as Buffer).length;
  await done;
  return { seconds: (performance.now() - t0) / 1000, bytes };
}

await main(async (work) => {
  const fx = await ensureFixture(work);
  const dir = join(fx.dir, 'codec');
  const tar = join(dir, 'pack.tar');
  const codecs: Codec[] = [
    {
      name: 'gzip-9',
      label: 'gzip -9 (packs today)',
      file: fx.pack,
      compress: () => createGzip({ level: 9 }),
      decompress: () => createGunzip({ chunkSize: 256 * 1024 }),
    },
    {
      name: 'gzip-1',
      label: 'gzip -1',
      file: join(dir, 'pack.tar.gz1'),
      compress: () => createGzip({ level: 1 }),
      decompress: () => createGunzip({ chunkSize: 256 * 1024 }),
    },
    {
      name: `brotli-${BROTLI_QUALITY}`,
      label: `brotli quality ${BROTLI_QUALITY}`,
      file: join(dir, 'pack.tar.br'),
      compress: () =>
        createBrotliCompress({
          params: {
            [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
            [constants.BROTLI_PARAM_SIZE_HINT]: statSync(tar).size,
          },
        }),
      decompress: () => createBrotliDecompress({ chunkSize: 256 * 1024 }),
    },
    {
      name: 'none',
      label: 'no compression (the plain tar, read)',
      file: tar,
      compress: () => new PassThrough(),
      decompress: () => new PassThrough({ highWaterMark: 256 * 1024 }),
    },
  ];
  if (!existsSync(join(dir, 'ready'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    await pipeline(createReadStream(fx.pack), createGunzip(), createWriteStream(tar));
    for (const c of codecs.slice(1, 3)) {
      const t0 = performance.now();
      await pipeline(createReadStream(tar), c.compress(), createWriteStream(c.file));
      log(`pack-codec: ${c.label} written in ${((performance.now() - t0) / 1000).toFixed(1)} s (not timed)`);
    }
    writeFileSync(join(dir, 'ready'), '');
  }
  const tarBytes = statSync(tar).size;
  const times: Record<string, number[]> = Object.fromEntries(codecs.map((c) => [c.name, []]));
  // one of each first: every file in the page cache
  for (const c of codecs) await inflate(c);
  const rounds = quick ? 3 : 7;
  for (let i = 0; i < rounds; i++) {
    for (const c of codecs) {
      const r = await inflate(c);
      if (r.bytes !== tarBytes) throw new Error(`${c.label}: ${r.bytes} bytes out, the tar has ${tarBytes}`);
      times[c.name]!.push(r.seconds * 1000);
    }
  }
  const base = codecs[0]!;
  for (const c of codecs.slice(1)) {
    report(
      {
        name: `pack-inflate-${c.name}`,
        value: median(times[c.name]!),
        unit: 'ms',
        baseline: `inflate of the same tar as ${base.label}`,
        baselineValue: median(times[base.name]!),
        better: 'lower',
      },
      undefined,
      { value: times[c.name]!, baseline: times[base.name]! },
    );
  }
  const MiB = 1024 * 1024;
  for (const c of codecs.slice(1)) {
    report(
      {
        name: `pack-size-${c.name}`,
        value: statSync(c.file).size / MiB,
        unit: 'MiB',
        baseline: `the same tar as ${base.label}`,
        baselineValue: statSync(base.file).size / MiB,
        better: 'lower',
      },
      undefined,
    );
  }
});
