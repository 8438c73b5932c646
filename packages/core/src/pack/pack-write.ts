import { createHash, type KeyObject, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { unsafePathReason } from './archive-path.js';
import { isServicepackError, ServicepackError } from '../support/errors.js';
import { MANIFEST_ENTRY, type Manifest, ManifestSchema, PAYLOAD_PREFIX, SIGNATURE_ENTRY } from './manifest.js';
import { parseManifestBytes, readPackSignatures, type VerifiedPack } from './open.js';
import { packRegion } from './sfx.js';
import { walkPack } from './walk.js';
import { encodeHeader, endOfArchive, padding } from './tar-format.js';
import { type Signature, signBytes } from '../trust/trust.js';

/**
 * Canonical form of a manifest: schema-checked (the parse also fixes key order to the schema's),
 * files sorted by path in code-unit order, `from` lists sorted and unique. Two callers describing the
 * same pack in a different order therefore sign the same bytes.
 */
export function canonicalManifest(manifest: Manifest): Manifest {
  const r = ManifestSchema.safeParse(manifest);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ServicepackError(
      'E_INVALID_MANIFEST',
      `refusing to write an invalid manifest:\n  ${issues.join('\n  ')}`,
      { issues },
    );
  }
  const m = r.data;
  const files = [...m.files]
    .map((f) => ({ ...f, from: [...new Set(f.from)].sort() }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return ManifestSchema.parse({ ...m, files });
}

/** The one serialisation of a manifest: 2-space JSON plus a newline. Signed exactly as written. */
export function serializeManifest(manifest: Manifest): Buffer {
  return Buffer.from(`${JSON.stringify(canonicalManifest(manifest), null, 2)}\n`, 'utf8');
}

function serializeSignatures(signatures: Signature[]): Buffer {
  const unique = new Map<string, Signature>();
  for (const s of signatures) unique.set(s.keyid, { keyid: s.keyid, sig: s.sig });
  const sorted = [...unique.values()].sort((a, b) => (a.keyid < b.keyid ? -1 : 1));
  return Buffer.from(`${JSON.stringify({ signatures: sorted }, null, 2)}\n`, 'utf8');
}

/** Only two modes reach an archive, so the builder's umask never changes a pack's bytes. */
export function normalizeMode(mode: number | undefined): number {
  return (mode ?? 0o644) & 0o111 ? 0o755 : 0o644;
}

function mtimeOf(manifest: Manifest): number {
  return Math.floor(Date.parse(manifest.created) / 1000);
}

/**
 * Writes a tar.gz to a temporary file beside `out` and renames it into place only when complete,
 * so a crash or a refused input never leaves a half pack under the real name.
 */
class PackWriter {
  private tarBytes = 0;
  private readonly gzip = createGzip({ level: 9 });
  private readonly hash = createHash('sha256');
  private gzBytes = 0;
  private readonly done: Promise<void>;

  private constructor(
    private readonly out: string,
    private readonly tmp: string,
  ) {
    const tap = new Transform({
      transform: (chunk: Buffer, _enc, cb) => {
        this.hash.update(chunk);
        this.gzBytes += chunk.length;
        cb(null, chunk);
      },
    });
    this.done = pipeline(this.gzip, tap, createWriteStream(tmp, { flags: 'wx', mode: 0o644 }));
    // pipeline rejections are awaited in finish(); keep an early failure from going unhandled
    this.done.catch(() => {});
  }

  static async create(out: string): Promise<PackWriter> {
    await mkdir(dirname(out), { recursive: true });
    const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    return new PackWriter(out, tmp);
  }

  private async push(buf: Buffer): Promise<void> {
    if (buf.length === 0) return;
    this.tarBytes += buf.length;
    if (!this.gzip.write(buf)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          this.gzip.off('error', onError);
          resolve();
        };
        const onError = (e: Error) => {
          this.gzip.off('drain', onDrain);
          reject(e);
        };
        this.gzip.once('drain', onDrain);
        this.gzip.once('error', onError);
      });
    }
  }

  async addBuffer(path: string, data: Buffer, mode: number, mtime: number): Promise<void> {
    await this.push(encodeHeader({ path, type: 'file', size: data.length, mode, mtime }));
    await this.push(data);
    await this.push(padding(data.length));
  }

  /** `body` must yield exactly `size` bytes; a source that grows or shrinks aborts the pack. */
  async addStream(path: string, size: number, mode: number, mtime: number, body: AsyncIterable<Buffer>): Promise<void> {
    await this.push(encodeHeader({ path, type: 'file', size, mode, mtime }));
    let n = 0;
    for await (const piece of body) {
      n += piece.length;
      if (n > size) throw new ServicepackError('E_HASH_MISMATCH', `${path} grew while it was being packed`, { path });
      await this.push(Buffer.from(piece));
    }
    if (n !== size) throw new ServicepackError('E_HASH_MISMATCH', `${path} is ${n} bytes, expected ${size}`, { path });
    await this.push(padding(size));
  }

  async finish(): Promise<{ sha256: string; size: number }> {
    await this.push(endOfArchive(this.tarBytes));
    this.gzip.end();
    await this.done;
    const fh = await open(this.tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(this.tmp, this.out);
    const dir = await open(dirname(this.out), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    return { sha256: this.hash.digest('hex'), size: this.gzBytes };
  }

  async abort(): Promise<void> {
    this.gzip.destroy();
    await this.done.catch(() => {});
    await rm(this.tmp, { force: true });
  }
}

export interface WritePackOptions {
  out: string;
  manifest: Manifest;
  /** one signature per key; none writes a pack without servicepack.sig (sign it later with signPack) */
  privateKeys: KeyObject[];
  /** folder holding every add/replace path of the manifest (e.g. the new release tree) */
  payloadDir: string;
  /** files for manifest.documents, by name */
  documents?: { name: string; path: string }[];
}

async function* fileChunks(
  path: string,
  expected: { sha256: string; size: number },
  label: string,
): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  // a read stream allocates its whole highWaterMark per read: 1 MiB for every small file of a
  // 2,000-file pack is gigabytes of garbage, so small files get a buffer of their own size
  const highWaterMark = Math.min(1 << 20, Math.max(expected.size + 1, 16 * 1024));
  for await (const chunk of createReadStream(path, { highWaterMark })) {
    const buf = chunk as Buffer;
    hash.update(buf);
    yield buf;
  }
  const actual = hash.digest('hex');
  if (actual !== expected.sha256) {
    throw new ServicepackError(
      'E_HASH_MISMATCH',
      `${label} (${path}) does not match the sha256 in the manifest; rebuild the manifest from the current files`,
      {
        path: label,
        expected: expected.sha256,
        actual,
      },
    );
  }
}

async function regularFileSize(path: string, label: string): Promise<number> {
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(path);
  } catch (e) {
    throw new ServicepackError(
      'E_IO',
      `${label}: cannot read ${path}: ${(e as Error).message}`,
      { path: label },
      { cause: e },
    );
  }
  // a symlink in the payload folder could smuggle in a file from anywhere on the build machine
  if (!st.isFile())
    throw new ServicepackError('E_UNSAFE_ARCHIVE', `${label}: ${path} is not a regular file`, { path: label });
  return st.size;
}

/**
 * Writes a pack whose bytes depend only on the manifest, the payload contents and the keys: fixed
 * entry order, mtime from manifest.created, two normalised modes, uid/gid 0, no user names, gzip
 * header with mtime 0. The manifest is serialised once and those bytes are what is signed.
 */
export async function writePack(opts: WritePackOptions): Promise<{ sha256: string; size: number }> {
  const manifest = canonicalManifest(opts.manifest);
  const manifestBytes = serializeManifest(manifest);
  const signatures = opts.privateKeys.map((k) => signBytes(manifestBytes, k));
  const mtime = mtimeOf(manifest);
  const docPaths = new Map((opts.documents ?? []).map((d) => [d.name, d.path]));
  for (const name of docPaths.keys()) {
    if (!(manifest.documents ?? []).some((d) => d.name === name)) {
      throw new ServicepackError('E_INVALID_MANIFEST', `document ${name} is not listed in the manifest's documents`, {
        name,
      });
    }
  }
  const w = await PackWriter.create(opts.out);
  try {
    await w.addBuffer(MANIFEST_ENTRY, manifestBytes, 0o644, mtime);
    if (signatures.length > 0) await w.addBuffer(SIGNATURE_ENTRY, serializeSignatures(signatures), 0o644, mtime);
    for (const f of manifest.files) {
      if (f.action === 'delete') continue;
      const reason = unsafePathReason(f.path);
      if (reason) throw new ServicepackError('E_UNSAFE_ARCHIVE', `${f.path}: ${reason}`, { path: f.path });
      const src = join(opts.payloadDir, ...f.path.split('/'));
      const size = await regularFileSize(src, f.path);
      if (size !== f.size)
        throw new ServicepackError('E_HASH_MISMATCH', `${f.path} is ${size} bytes, the manifest says ${f.size}`, {
          path: f.path,
        });
      await w.addStream(
        PAYLOAD_PREFIX + f.path,
        size,
        normalizeMode(f.mode),
        mtime,
        fileChunks(src, { sha256: f.sha256!, size }, f.path),
      );
    }
    for (const d of manifest.documents ?? []) {
      const src = docPaths.get(d.name);
      if (src === undefined)
        throw new ServicepackError(
          'E_INVALID_MANIFEST',
          `the manifest lists document ${d.name} but no file was given for it`,
          { name: d.name },
        );
      const size = await regularFileSize(src, d.name);
      await w.addStream(d.name, size, 0o644, mtime, fileChunks(src, d, d.name));
    }
    return await w.finish();
  } catch (e) {
    await w.abort();
    throw e;
  }
}

/**
 * Adds `privateKey`'s signature to a pack in place. The pack is re-written with the same canonical
 * layout as writePack, so signing an unsigned pack gives the bytes writePack would have produced with
 * that key. The payload is re-verified against the manifest on the way: a signer vouches for it.
 */
export async function signPack(path: string, privateKey: KeyObject): Promise<void> {
  const region = await packRegion(path);
  // re-writing in place would turn the .run into a bare .tgz: the .run is made from the signed .tgz
  if (region.sfx)
    throw new ServicepackError(
      'E_USAGE',
      `${path} is a one-file pack (.run): sign the .tgz it was built from, then build the .run again (pack build --sfx)`,
      { path },
    );
  const { manifestBytes, signatures } = await readPackSignatures(path);
  const manifest = parseManifestBytes(manifestBytes, path);
  const mine = signBytes(manifestBytes, privateKey);
  const all = [...signatures.filter((s) => s.keyid !== mine.keyid), mine];
  // walkPack only needs the path and the manifest; no trust decision is made while re-writing
  const pack: VerifiedPack = {
    path,
    manifest,
    manifestBytes,
    signedBy: [],
    unsigned: true,
    size: region.size,
    offset: 0,
  };
  const mtime = mtimeOf(manifest);
  const w = await PackWriter.create(path);
  try {
    await w.addBuffer(MANIFEST_ENTRY, manifestBytes, 0o644, mtime);
    await w.addBuffer(SIGNATURE_ENTRY, serializeSignatures(all), 0o644, mtime);
    await walkPack(pack, {
      payload: (f, body) => w.addStream(PAYLOAD_PREFIX + f.path, f.size!, normalizeMode(f.mode), mtime, body),
      document: (d, body) => w.addStream(d.name, d.size, 0o644, mtime, body),
    });
    await w.finish();
  } catch (e) {
    await w.abort();
    if (isServicepackError(e)) throw e;
    throw new ServicepackError('E_IO', `cannot sign ${path}: ${(e as Error).message}`, { path }, { cause: e });
  }
}
