/**
 * What a pack's compression costs the install (docs/performance.md, "Where the install's stage step
 * goes"): the synthetic pack's tar inflated the way the installer reads it (1 MiB file reads, a node:zlib
 * stream with 256 KiB output chunks, `openPackStream` in core pack/open.ts) as gzip -9 (what packs are
 * today) against the other codecs Node 20's zlib has: gzip -1, brotli at a fast quality, and no
 * compression (the plain tar, read). The content is the same tar in every case; rounds are
 * interleaved, medians. The sizes are reported beside, since a codec is also a download.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants as fsc,
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  openSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createBrotliCompress, createBrotliDecompress, createGunzip, createGzip } from 'node:zlib';
import { ensureFixture } from './support/fixture.js';
import { log, main, median, quick, report, settle } from './support/lib.js';

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

/**
 * The codec-dependent part of staging, without the installer's checks and journal: inflate, split
 * the tar, create each file (O_EXCL), hash and write it, on one thread as the installer does (its
 * fsyncs and its create-ahead worker are left out: neither depends on the codec).
 */
async function stageLike(c: Codec, into: string): Promise<{ seconds: number; files: number }> {
  const t0 = performance.now();
  const source = createReadStream(c.file, { highWaterMark: 1024 * 1024 });
  const z = c.decompress();
  const done = pipeline(source, z);
  const dirs = new Set<string>();
  let pending = Buffer.alloc(0);
  let files = 0;
  let left = 0; // bytes of the current entry still to come
  let pad = 0;
  let fd: number | undefined;
  let hash = createHash('sha256');
  const header = (h: Buffer): void => {
    const str = (a: number, n: number): string => h.toString('latin1', a, a + n).replace(/\0.*$/s, '');
    const name = [str(345, 155), str(0, 100)].filter((x) => x !== '').join('/');
    const size = Number.parseInt(str(124, 12).trim() || '0', 8);
    const type = str(156, 1) || '0';
    left = size;
    pad = (512 - (size % 512)) % 512;
    if (type !== '0') return;
    const path = join(into, name);
    const parent = path.slice(0, path.lastIndexOf('/'));
    if (!dirs.has(parent)) {
      mkdirSync(parent, { recursive: true });
      dirs.add(parent);
    }
    fd = openSync(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o644);
    files++;
    hash = createHash('sha256');
    if (size === 0) finish();
  };
  const finish = (): void => {
    if (fd !== undefined) {
      hash.digest();
      closeSync(fd);
      fd = undefined;
    }
  };
  for await (const chunk of z) {
    let buf = pending.length > 0 ? Buffer.concat([pending, chunk as Buffer]) : (chunk as Buffer);
    pending = Buffer.alloc(0);
    while (buf.length > 0) {
      if (left > 0) {
        const part = buf.subarray(0, Math.min(left, buf.length));
        if (fd !== undefined) {
          hash.update(part);
          for (let off = 0; off < part.length; ) off += writeSync(fd, part, off);
        }
        left -= part.length;
        buf = buf.subarray(part.length);
        if (left === 0) finish();
      } else if (pad > 0) {
        const n = Math.min(pad, buf.length);
        pad -= n;
        buf = buf.subarray(n);
      } else if (buf.length < 512) {
        pending = Buffer.from(buf);
        break;
      } else {
        const h = buf.subarray(0, 512);
        buf = buf.subarray(512);
        if (h.every((b) => b === 0)) continue;
        header(h);
      }
    }
  }
  await done;
  return { seconds: (performance.now() - t0) / 1000, files };
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
  // staging-like extraction, per codec; each on a quiet file system (lib.ts settle), since the
  // previous round's deletion slows file creation down
  const staged: Record<string, number[]> = Object.fromEntries(codecs.map((c) => [c.name, []]));
  const into = join(work, 'codec-stage');
  for (let i = 0; i < (quick ? 2 : 5); i++) {
    for (const c of codecs) {
      rmSync(into, { recursive: true, force: true });
      await settle();
      const r = await stageLike(c, into);
      if (r.files !== fx.spec.packFiles + 2)
        throw new Error(`${c.label}: staged ${r.files} files, the pack has ${fx.spec.packFiles + 2}`);
      staged[c.name]!.push(r.seconds);
    }
  }
  rmSync(into, { recursive: true, force: true });
  const base = codecs[0]!;
  for (const c of codecs.slice(1)) {
    report(
      {
        name: `pack-stage-${c.name}`,
        value: median(staged[c.name]!),
        unit: 's',
        baseline: `the same staging (inflate, split, create, hash, write) from ${base.label}`,
        baselineValue: median(staged[base.name]!),
        better: 'lower',
      },
      undefined,
      { value: staged[c.name]!, baseline: staged[base.name]! },
    );
  }
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
