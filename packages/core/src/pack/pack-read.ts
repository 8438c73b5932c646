import { createHash } from 'node:crypto';
import { closeSync, constants, createReadStream, fchmodSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { chmod, mkdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { pathFoldKey, unsafePathReason } from './archive-path.js';
import { isServicepackError, ServicepackError } from '../support/errors.js';
import { flushMethodAt, flushToDisk } from '../transaction/durable.js';
import { forEachConcurrently, fsyncFile, noteCreated } from '../support/fsutil.js';
import { type EventSink, nullSink } from '../support/events.js';
import {
  MANIFEST_ENTRY,
  MANIFEST_MAX_BYTES,
  type Manifest,
  type ManifestFile,
  ManifestSchema,
  PAYLOAD_PREFIX,
  SIGNATURE_ENTRY,
  SignatureFileSchema,
} from './manifest.js';
import { BLOCK, RECORD, type TarEntry, TarReader } from './tar-format.js';
import { checkSignatures, type Signature, type SignatureCheck, type TrustedKey } from '../trust/trust.js';

/** servicepack.sig holds at most 16 small signatures (SignatureFileSchema); anything bigger is hostile. */
export const SIGNATURE_MAX_BYTES = 64 * 1024;
/** EULA and release notes are read into memory: cap them. */
export const DOCUMENT_MAX_BYTES = 1024 * 1024;
/** Deflate cannot legitimately exceed ~1032:1; beyond this the stream is a bomb (node-tar's default too). */
export const MAX_DECOMPRESSION_RATIO = 1000;
const RATIO_GRACE_BYTES = 1024 * 1024;
const PAX_OVERHEAD = 3 * BLOCK + 8 * 1024;

export interface OpenPackOptions {
  trustedKeys: TrustedKey[];
  /** `--allow-unsigned`: lets a pack without a signature, or signed only by unknown keys, through */
  allowUnsigned?: boolean;
  revokedKeyIds?: string[];
}

export interface VerifiedPack {
  path: string;
  manifest: Manifest;
  /** the exact bytes the signatures cover; the staging pass insists on finding them again */
  manifestBytes: Buffer;
  /** keyids of the trusted keys whose signature verified */
  signedBy: string[];
  unsigned: boolean;
  /** size of the .tgz in bytes */
  size: number;
}

export interface StagedPayload {
  dir: string;
  files: Map<string, { sha256: string; size: number; mode: number }>;
  /**
   * With `deferFlush`: settles once every staged file and folder is on disk (durable.ts). Nothing may
   * point at the staged files (a journal) before it has resolved.
   */
  flushed?: Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// The decompressed tar stream of a pack, with the resource limits applied as bytes arrive.

interface PackStream {
  reader: TarReader;
  close(): void;
}

function corrupt(message: string, details: Record<string, unknown> = {}, cause?: unknown): ServicepackError {
  return new ServicepackError('E_CORRUPT_ARCHIVE', `${message}; download or copy the pack again`, details, { cause });
}
function unsafe(message: string, details: Record<string, unknown> = {}): ServicepackError {
  return new ServicepackError(
    'E_UNSAFE_ARCHIVE',
    `the pack contains an entry the installer refuses: ${message}; do not use this pack`,
    details,
  );
}

async function packSize(path: string): Promise<number> {
  try {
    const st = await stat(path);
    if (!st.isFile())
      throw new ServicepackError('E_USAGE', `${path} is not a file; pass the path of a pack (.tgz)`, { path });
    return st.size;
  } catch (e) {
    if (isServicepackError(e)) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ServicepackError('E_USAGE', `no pack at ${path}; check the path`, { path });
    throw new ServicepackError('E_IO', `cannot read ${path}: ${(e as Error).message}`, { path }, { cause: e });
  }
}

function openPackStream(path: string, maxTarBytes: number): PackStream {
  const file = createReadStream(path, { highWaterMark: 1024 * 1024 });
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  // errors surface through the iteration below; the callback only keeps them from going unhandled
  pipeline(file, gunzip, () => {});
  let produced = 0;
  async function* guarded(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of gunzip) {
        const buf = chunk as Buffer;
        produced += buf.length;
        if (produced > RATIO_GRACE_BYTES && produced > MAX_DECOMPRESSION_RATIO * Math.max(file.bytesRead, 1)) {
          throw unsafe(`decompression ratio above ${MAX_DECOMPRESSION_RATIO}:1`);
        }
        yield buf;
      }
    } catch (e) {
      if (isServicepackError(e)) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (typeof code === 'string' && code.startsWith('Z_'))
        throw corrupt(`${path} is not a complete gzip file (${(e as Error).message})`, { path }, e);
      throw new ServicepackError('E_IO', `cannot read ${path}: ${(e as Error).message}`, { path }, { cause: e });
    }
  }
  const reader = new TarReader(guarded(), (total) => {
    if (total > maxTarBytes)
      throw unsafe('more data than its manifest accounts for', { bytes: total, limit: maxTarBytes });
  });
  return {
    reader,
    close() {
      gunzip.destroy();
      file.destroy();
    },
  };
}

interface PackHead {
  manifestBytes: Buffer;
  /** undefined when the pack has no servicepack.sig entry */
  signatures: Signature[] | undefined;
}

/**
 * Reads servicepack.json and servicepack.sig (when present) from `reader`. `next` is the header
 * already read after the manifest when there was no signature entry, or undefined when the reader
 * stands right after the signature.
 */
async function readHead(
  reader: TarReader,
  path: string,
): Promise<{ head: PackHead; next: TarEntry | null | undefined }> {
  let first: TarEntry | null;
  try {
    first = await reader.next();
  } catch (e) {
    // a stream that does not even start like a tar is damaged, whatever its first bytes claim
    if (isServicepackError(e) && e.code === 'E_UNSAFE_ARCHIVE')
      throw corrupt(`${path} is not a pack: ${e.message}`, { path }, e);
    throw e;
  }
  if (first?.type !== 'file' || first.path !== MANIFEST_ENTRY) {
    throw corrupt(`${path} is not a valid pack: its first entry must be ${MANIFEST_ENTRY}`, {
      path,
      first: first?.path ?? null,
    });
  }
  if (first.size > MANIFEST_MAX_BYTES)
    throw unsafe(`${MANIFEST_ENTRY} is ${first.size} bytes (limit ${MANIFEST_MAX_BYTES})`, { size: first.size });
  const manifestBytes = await reader.readBody();
  const second = await reader.next();
  if (second?.type !== 'file' || second.path !== SIGNATURE_ENTRY)
    return { head: { manifestBytes, signatures: undefined }, next: second };
  if (second.size > SIGNATURE_MAX_BYTES)
    throw unsafe(`${SIGNATURE_ENTRY} is ${second.size} bytes (limit ${SIGNATURE_MAX_BYTES})`);
  const sigBytes = await reader.readBody();
  let parsed: unknown;
  try {
    parsed = JSON.parse(sigBytes.toString('utf8'));
  } catch {
    throw new ServicepackError(
      'E_BAD_SIGNATURE',
      `${SIGNATURE_ENTRY} in ${path} is not valid JSON; the pack was damaged or tampered with`,
      { path },
    );
  }
  const sigs = SignatureFileSchema.safeParse(parsed);
  if (!sigs.success)
    throw new ServicepackError(
      'E_BAD_SIGNATURE',
      `${SIGNATURE_ENTRY} in ${path} is malformed; the pack was damaged or tampered with`,
      { path },
    );
  // the entry after the signature is left unread: verification looks at nothing but these two
  return { head: { manifestBytes, signatures: sigs.data.signatures }, next: undefined };
}

async function readPackHead(path: string): Promise<PackHead> {
  const s = openPackStream(path, MANIFEST_MAX_BYTES + SIGNATURE_MAX_BYTES + 4 * PAX_OVERHEAD);
  try {
    return (await readHead(s.reader, path)).head;
  } finally {
    s.close();
  }
}

/** JSON + schema, only ever called on bytes whose signature has been judged. */
export function parseManifestBytes(bytes: Buffer, source: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new ServicepackError(
      'E_INVALID_MANIFEST',
      `${source}: ${MANIFEST_ENTRY} is not valid UTF-8 JSON (${(e as Error).message})`,
      { source },
    );
  }
  const r = ManifestSchema.safeParse(json);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new ServicepackError(
      'E_INVALID_MANIFEST',
      `${source}: invalid manifest; this installer cannot use it:\n  ${issues.join('\n  ')}`,
      { source, issues },
    );
  }
  return r.data;
}

function judge(
  head: PackHead,
  path: string,
  opts: OpenPackOptions,
): { signedBy: string[]; unsigned: boolean; checks: SignatureCheck[] } {
  const sigs = head.signatures ?? [];
  const checks = checkSignatures(head.manifestBytes, sigs, {
    trustedKeys: opts.trustedKeys,
    revokedKeyIds: opts.revokedKeyIds ?? [],
  });
  const signedBy = checks.filter((c) => c.status === 'valid').map((c) => c.keyid);
  if (signedBy.length > 0) return { signedBy, unsigned: false, checks };
  if (sigs.length === 0) {
    if (opts.allowUnsigned) return { signedBy, unsigned: true, checks };
    throw new ServicepackError(
      'E_UNSIGNED',
      `${path} is not signed; get a signed pack from the vendor (or pass --allow-unsigned if you built it yourself)`,
      { path },
    );
  }
  // a trusted key whose signature fails means the manifest was altered: never overridable
  const bad = checks.filter((c) => c.status === 'bad');
  if (bad.length > 0) {
    throw new ServicepackError(
      'E_BAD_SIGNATURE',
      `${path}: the signature by trusted key ${bad[0]!.keyid} does not match the manifest; the pack was tampered with or damaged`,
      {
        path,
        keyids: bad.map((c) => c.keyid),
      },
    );
  }
  const revoked = checks.filter((c) => c.status === 'revoked');
  if (revoked.length > 0) {
    throw new ServicepackError(
      'E_UNTRUSTED_KEY',
      `${path} is signed only by revoked key(s) ${revoked.map((c) => c.keyid).join(', ')}; get a pack signed with the vendor's current key`,
      {
        path,
        keyids: checks.map((c) => c.keyid),
        revoked: revoked.map((c) => c.keyid),
      },
    );
  }
  if (opts.allowUnsigned) return { signedBy, unsigned: true, checks };
  throw new ServicepackError(
    'E_UNTRUSTED_KEY',
    `${path} is signed by key(s) this installation does not trust (${checks.map((c) => c.keyid).join(', ')}); add the vendor's public key with --trust FILE or to .servicepack/trust/`,
    { path, keyids: checks.map((c) => c.keyid) },
  );
}

/**
 * Verifies a pack before anything in it is interpreted: only the manifest and signature entries are
 * read, and the signature is judged over the raw manifest bytes before they are parsed as JSON.
 */
export async function openPack(path: string, opts: OpenPackOptions): Promise<VerifiedPack> {
  const size = await packSize(path);
  const head = await readPackHead(path);
  const { signedBy, unsigned } = judge(head, path, opts);
  const manifest = parseManifestBytes(head.manifestBytes, path);
  return { path, manifest, manifestBytes: head.manifestBytes, signedBy, unsigned, size };
}

export interface PackInspection {
  path: string;
  size: number;
  manifest: Manifest;
  manifestBytes: Buffer;
  /** every signature in the pack with what the given trust store makes of it */
  signatures: SignatureCheck[];
}

/** For `pack inspect`: reports signatures instead of enforcing them. The manifest is still schema-checked. */
export async function inspectPack(
  path: string,
  opts: { trustedKeys: TrustedKey[]; revokedKeyIds?: string[] },
): Promise<PackInspection> {
  const size = await packSize(path);
  const head = await readPackHead(path);
  const signatures = checkSignatures(head.manifestBytes, head.signatures ?? [], {
    trustedKeys: opts.trustedKeys,
    revokedKeyIds: opts.revokedKeyIds ?? [],
  });
  return {
    path,
    size,
    manifest: parseManifestBytes(head.manifestBytes, path),
    manifestBytes: head.manifestBytes,
    signatures,
  };
}

/** Reads the manifest and signatures of a pack without judging them (for `pack sign`). */
export async function readPackSignatures(path: string): Promise<{ manifestBytes: Buffer; signatures: Signature[] }> {
  await packSize(path);
  const head = await readPackHead(path);
  return { manifestBytes: head.manifestBytes, signatures: head.signatures ?? [] };
}

// ---------------------------------------------------------------------------------------------------
// The full, deny-by-default walk over a verified pack's entries.

export interface PayloadHandlers {
  /** gets the body chunks of a listed add/replace file; the walk checks size and sha256 afterwards */
  payload?: (file: ManifestFile, body: AsyncIterable<Buffer>) => Promise<void>;
  document?: (doc: { name: string; sha256: string; size: number }, body: AsyncIterable<Buffer>) => Promise<void>;
  /** bytes of entry content seen so far, for progress */
  progress?: (bytes: number) => void;
}

function payloadFiles(manifest: Manifest): ManifestFile[] {
  return manifest.files.filter((f) => f.action !== 'delete');
}

/** NFC/NFD twins print identically: escape what is not plain ASCII so the operator sees the difference. */
function visible(name: string): string {
  return /^[\x20-\x7e]*$/.test(name)
    ? name
    : JSON.stringify(name).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Rejects manifests whose payload could alias on some filesystem: paths not safe everywhere, two
 * names equal after NFC and case folding, or a file that is also another file's folder.
 */
function checkPayloadNames(manifest: Manifest): void {
  // staging vets the names before it creates files from them, and walkPack again for every reader
  if (vettedNames.has(manifest)) return;
  const byFold = new Map<string, string>();
  const files = new Set<string>();
  const dirs = new Set<string>();
  for (const f of payloadFiles(manifest)) {
    const reason = unsafePathReason(f.path);
    if (reason) throw unsafe(`${f.path}: ${reason}`, { path: f.path });
    files.add(f.path);
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  for (const name of [...files, ...dirs]) {
    const key = pathFoldKey(name);
    const other = byFold.get(key);
    if (other !== undefined && other !== name)
      throw unsafe(`${visible(name)} and ${visible(other)} name the same file on some systems`, { path: name });
    byFold.set(key, name);
  }
  for (const f of files) if (dirs.has(f)) throw unsafe(`${f} is both a file and a folder`, { path: f });
  vettedNames.add(manifest);
}

/** Manifests whose payload names passed checkPayloadNames (a verified pack's manifest is not changed afterwards). */
const vettedNames = new WeakSet<Manifest>();

function tarBudget(pack: VerifiedPack): number {
  let total = pack.manifestBytes.length + SIGNATURE_MAX_BYTES + 2 * PAX_OVERHEAD + 2 * BLOCK + RECORD;
  for (const f of payloadFiles(pack.manifest)) total += (f.size ?? 0) + PAX_OVERHEAD;
  for (const d of pack.manifest.documents ?? []) total += d.size + PAX_OVERHEAD;
  // implied directory entries some tools add
  total += payloadFiles(pack.manifest).length * PAX_OVERHEAD;
  return total;
}

async function* hashing(
  body: AsyncIterable<Buffer>,
  state: { hash: ReturnType<typeof createHash>; bytes: number },
  progress?: (n: number) => void,
): AsyncGenerator<Buffer> {
  for await (const piece of body) {
    state.hash.update(piece);
    state.bytes += piece.length;
    progress?.(piece.length);
    yield piece;
  }
}

/**
 * Streams every entry after the head, enforcing the pack rules: only regular files under payload/
 * listed as add/replace and listed documents; directories only as parents of listed files; no
 * duplicates or case/normalisation twins; sizes equal to the manifest before a byte is read; sha256
 * compared after the last byte; every listed file present; nothing after the end marker.
 */
export async function walkPack(pack: VerifiedPack, handlers: PayloadHandlers): Promise<void> {
  checkPayloadNames(pack.manifest);
  const wanted = new Map(payloadFiles(pack.manifest).map((f) => [PAYLOAD_PREFIX + f.path, f]));
  const docs = new Map((pack.manifest.documents ?? []).map((d) => [d.name, d]));
  const impliedDirs = new Set<string>(['payload']);
  for (const p of wanted.keys()) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) impliedDirs.add(parts.slice(0, i).join('/'));
  }
  const s = openPackStream(pack.path, tarBudget(pack));
  try {
    const { head, next: firstEntry } = await readHead(s.reader, pack.path);
    // the file may have been replaced since openPack: only the verified manifest may govern the payload
    if (!head.manifestBytes.equals(pack.manifestBytes)) {
      throw new ServicepackError(
        'E_BAD_SIGNATURE',
        `${pack.path} changed after it was verified; its manifest is no longer the signed one. Do not use this pack`,
        {
          path: pack.path,
        },
      );
    }
    const seen = new Map<string, string>([
      [pathFoldKey(MANIFEST_ENTRY), MANIFEST_ENTRY],
      [pathFoldKey(SIGNATURE_ENTRY), SIGNATURE_ENTRY],
    ]);
    const received = new Set<string>();
    for (
      let entry = firstEntry === undefined ? await s.reader.next() : firstEntry;
      entry !== null;
      entry = await s.reader.next()
    ) {
      const reason = unsafePathReason(entry.path);
      if (reason) throw unsafe(`${JSON.stringify(entry.path)}: ${reason}`, { path: entry.path });
      const key = pathFoldKey(entry.path);
      const twin = seen.get(key);
      if (twin !== undefined) {
        throw unsafe(
          twin === entry.path
            ? `duplicate entry ${entry.path}`
            : `${visible(entry.path)} and ${visible(twin)} name the same file on some systems`,
          { path: entry.path },
        );
      }
      seen.set(key, entry.path);
      if ((entry.mode & ~0o777) !== 0)
        throw unsafe(`${entry.path} has setuid, setgid or sticky bits (mode ${entry.mode.toString(8)})`, {
          path: entry.path,
        });
      if (entry.type === 'directory') {
        if (!impliedDirs.has(entry.path))
          throw unsafe(`folder ${entry.path} is not part of the manifest`, { path: entry.path });
        continue;
      }
      const file = wanted.get(entry.path);
      const doc = file ? undefined : docs.get(entry.path);
      if (!file && !doc) throw unsafe(`${entry.path} is not listed in the manifest`, { path: entry.path });
      const expected = file ? { sha256: file.sha256!, size: file.size! } : { sha256: doc!.sha256, size: doc!.size };
      // the header size is checked against the signed manifest before a byte of content is read
      if (entry.size !== expected.size) {
        throw new ServicepackError(
          'E_HASH_MISMATCH',
          `${entry.path} is ${entry.size} bytes in the archive but ${expected.size} in the manifest; the pack was damaged or tampered with`,
          {
            path: entry.path,
            expected: expected.size,
            actual: entry.size,
          },
        );
      }
      if (doc && doc.size > DOCUMENT_MAX_BYTES)
        throw unsafe(`document ${doc.name} is larger than ${DOCUMENT_MAX_BYTES} bytes`);
      const state = { hash: createHash('sha256'), bytes: 0 };
      const body = hashing(s.reader.body(), state, handlers.progress);
      if (file && handlers.payload) await handlers.payload(file, body);
      else if (doc && handlers.document) await handlers.document(doc, body);
      for await (const _ of body) {
        // drain whatever the handler did not consume, so the hash covers the whole entry
      }
      const actual = state.hash.digest('hex');
      if (actual !== expected.sha256) {
        throw new ServicepackError(
          'E_HASH_MISMATCH',
          `${entry.path} does not match the sha256 in the signed manifest; the pack was damaged or tampered with`,
          {
            path: entry.path,
            expected: expected.sha256,
            actual,
          },
        );
      }
      received.add(entry.path);
    }
    await s.reader.expectOnlyPadding();
    const missing = [...wanted.keys(), ...docs.keys()].filter((p) => !received.has(p));
    if (missing.length > 0) {
      throw corrupt(
        `${pack.path} is incomplete: ${missing.length} file(s) listed in its manifest are missing (${missing.slice(0, 5).join(', ')})`,
        { path: pack.path, missing },
      );
    }
  } finally {
    s.close();
  }
}

/** The manifest's mode for a staged file: permission bits only, never group/world writable. */
export function clampMode(mode: number | undefined): number {
  return (mode ?? 0o644) & 0o755;
}

function writeAll(fd: number, data: Uint8Array): void {
  for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
}

/**
 * fsyncs of staged files, run in the background while extraction goes on. One fsync after each file
 * waits for the disk 2,000 times in a row for a 2,000-file pack (seconds); a few at once overlap
 * with decompression and let the file system commit them together. Few during extraction, since
 * they hold thread-pool threads that gunzip and the writes need; more once extraction is done.
 */
class SyncQueue {
  #waiting: string[] = [];
  #running = 0;
  #limit = 2;
  #error: unknown;
  #idle: (() => void) | undefined;

  add(path: string): void {
    this.#waiting.push(path);
    this.#pump();
  }

  #pump(): void {
    while (this.#running < this.#limit && this.#waiting.length > 0 && this.#error === undefined) {
      const path = this.#waiting.shift()!;
      this.#running++;
      fsyncFile(path)
        .catch((e: unknown) => {
          this.#error ??= e;
        })
        .finally(() => {
          this.#running--;
          this.#pump();
          if (this.#running === 0 && (this.#waiting.length === 0 || this.#error !== undefined)) this.#idle?.();
        });
    }
  }

  /** Waits for every queued fsync; the first failure is thrown. */
  async drain(): Promise<void> {
    this.#limit = 8;
    this.#pump();
    if (this.#running > 0) await new Promise<void>((r) => (this.#idle = r));
    if (this.#error !== undefined) throw this.#error;
  }

  /** After a failure elsewhere: lets the running fsyncs finish, starts no more, reports nothing. */
  async settle(): Promise<void> {
    this.#waiting = [];
    if (this.#running > 0) await new Promise<void>((r) => (this.#idle = r));
  }
}

/**
 * The payload's empty files, created ahead of the extraction by a worker thread. Creating a file
 * costs this kind of machine about 0.3 ms of kernel CPU (an inode and a directory entry, in the
 * file system's journal): 2,000 of them on the thread that also parses, hashes and writes the
 * payload held the extraction back by half a second. An async open does not help: libuv may run it
 * through io_uring, which completes it on the calling thread. The worker creates the files in
 * manifest order (the order packs are written in) and reports each; every writer waits for its
 * own. Each create keeps O_EXCL, so a name that exists already fails as it did when the writer
 * created it. Plain JavaScript on node's own modules, for the reason given at hash.ts's worker.
 */
const PRECREATE_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const made = new Set(workerData.made);
for (let i = 0; i < workerData.paths.length; i++) {
  const p = workerData.paths[i];
  try {
    const parent = path.dirname(p);
    if (!made.has(parent)) {
      const first = fs.mkdirSync(parent, { recursive: true, mode: 0o755 });
      made.add(parent);
      parentPort.postMessage({ dir: parent });
      // the entries of the folders it created too (noteCreated in fsutil.ts)
      if (first !== undefined) {
        parentPort.postMessage({ dir: path.dirname(first) });
        for (let d = path.dirname(parent); d.length >= first.length && d !== path.dirname(d); d = path.dirname(d)) parentPort.postMessage({ dir: d });
      }
    }
    fs.closeSync(fs.openSync(p, 'wx', 0o600));
    parentPort.postMessage({ done: i });
  } catch (e) {
    parentPort.postMessage({ failed: i, message: e.message, code: e.code });
    break;
  }
}
`;

/** Payloads of fewer files are created by the writer itself. */
const PRECREATE_MIN_FILES = 64;

class Precreator {
  readonly #index = new Map<string, number>();
  readonly #settle: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  readonly #ready: Promise<void>[] = [];
  readonly #worker: Promise<import('node:worker_threads').Worker>;

  constructor(paths: readonly string[], dirs: Set<string>) {
    for (const [i, path] of paths.entries()) {
      this.#index.set(path, i);
      const ready = new Promise<void>((resolve, reject) => this.#settle.push({ resolve, reject }));
      // a writer that never comes (the extraction failed first) must not leave it unhandled
      ready.catch(() => {});
      this.#ready.push(ready);
    }
    this.#worker = import('node:worker_threads').then(({ Worker }) => {
      const w = new Worker(PRECREATE_SOURCE, { eval: true, workerData: { paths, made: [...dirs] } });
      let done = -1;
      w.on('message', (m: { done?: number; dir?: string; failed?: number; message?: string; code?: string }) => {
        if (m.dir !== undefined) dirs.add(m.dir);
        else if (m.done !== undefined) {
          done = m.done;
          this.#settle[m.done]!.resolve();
        } else if (m.failed !== undefined) {
          const e = Object.assign(
            new Error(m.message ?? 'cannot create the file'),
            m.code !== undefined ? { code: m.code } : {},
          );
          for (let i = m.failed; i < this.#settle.length; i++) this.#settle[i]!.reject(e);
        }
      });
      const gone = (why: string) => {
        for (let i = done + 1; i < this.#settle.length; i++) this.#settle[i]!.reject(new Error(why));
      };
      w.once('error', (e) => gone(`creating the staged files failed: ${e.message}`));
      w.once('exit', () => gone('creating the staged files stopped'));
      return w;
    });
  }

  /** Settles once `path` exists, empty; rejects with the reason it could not be created. */
  ready(path: string): Promise<void> {
    const i = this.#index.get(path);
    return i === undefined ? Promise.reject(new Error(`internal: ${path} is not in the payload`)) : this.#ready[i]!;
  }

  /** Creates no more; settles once the worker is gone. */
  async stop(): Promise<void> {
    await (await this.#worker).terminate();
  }
}

/**
 * Extracts the payload into a new folder `stagingDir` (its parent must exist; same filesystem as
 * the target so that commit is a rename). On any failure the folder is removed entirely, so a
 * half-staged payload can never be mistaken for a complete one. The flush covers every file, every
 * folder created (the entry of `stagingDir` in its parent too) and the folders `alsoFlush` names
 * (made by the caller before, in the same flush: one syncfs covers everything).
 */
export async function stagePayload(
  pack: VerifiedPack,
  stagingDir: string,
  sink: EventSink = nullSink,
  opts: { deferFlush?: boolean; alsoFlush?: Iterable<string> } = {},
): Promise<StagedPayload> {
  try {
    await mkdir(stagingDir, { mode: 0o700 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'EEXIST'
        ? 'it already exists'
        : code === 'ENOENT'
          ? 'its parent folder does not exist'
          : (e as Error).message;
    throw new ServicepackError(
      'E_IO',
      `cannot create staging folder ${stagingDir}: ${why}`,
      { path: stagingDir },
      { cause: e },
    );
  }
  const files = new Map<string, { sha256: string; size: number; mode: number }>();
  const payload = payloadFiles(pack.manifest);
  const totalFiles = payload.length;
  const totalBytes = payload.reduce((n, f) => n + (f.size ?? 0), 0);
  let bytes = 0;
  let lastReport = 0;
  const dirs = new Set<string>([dirname(stagingDir), stagingDir, ...(opts.alsoFlush ?? [])]);
  // With syncfs, one flush at the end does it all; per-file fsyncs start as files are written.
  const syncs = (await flushMethodAt(stagingDir)) === 'fsync' ? new SyncQueue() : undefined;
  let precreated: Precreator | undefined;
  try {
    await chmod(stagingDir, 0o700);
    // the names are vetted before anything is created from them
    checkPayloadNames(pack.manifest);
    const target = (path: string): string => join(stagingDir, ...path.split('/'));
    // a worker costs tens of milliseconds to start: worth it only for many files
    if (payload.length >= PRECREATE_MIN_FILES)
      precreated = new Precreator(
        payload.map((f) => target(f.path)),
        dirs,
      );
    const ahead = precreated;
    await walkPack(pack, {
      progress(n) {
        bytes += n;
        // large files report while they stream; small ones once each, below
        if (bytes - lastReport >= 8 * 1024 * 1024) {
          lastReport = bytes;
          sink({ type: 'progress', step: 'stage', files: files.size, totalFiles, bytes, totalBytes });
        }
      },
      async payload(file, body) {
        const path = target(file.path);
        // Synchronous calls on purpose: on the page cache each takes microseconds, while as async
        // calls each is a round trip through the thread pool, and 2,000 files × 4 calls in a row
        // cost seconds on a busy machine. Decompression goes on in the thread pool meanwhile.
        let fd: number;
        if (ahead) {
          await ahead.ready(path);
          // the empty file the Precreator made (O_EXCL); NOFOLLOW, though nothing else writes in staging
          fd = openSync(path, constants.O_WRONLY | constants.O_NOFOLLOW);
        } else {
          const parent = dirname(path);
          if (!dirs.has(parent)) {
            const first = mkdirSync(parent, { recursive: true, mode: 0o755 });
            dirs.add(parent);
            if (first !== undefined) noteCreated(first, parent, dirs);
          }
          // 'wx': O_CREAT|O_EXCL, so an existing name (a twin that slipped through) fails instead of being reused
          fd = openSync(path, 'wx', 0o600);
        }
        const mode = clampMode(file.mode);
        try {
          for await (const piece of body) writeAll(fd, piece);
          fchmodSync(fd, mode);
        } finally {
          closeSync(fd);
        }
        syncs?.add(path);
        files.set(file.path, { sha256: file.sha256!, size: file.size!, mode });
        lastReport = bytes;
        sink({ type: 'progress', step: 'stage', files: files.size, totalFiles, bytes, totalBytes, path: file.path });
      },
    });
    // the journal will point at these files: their content and directory entries must survive a crash
    const flush = async (): Promise<void> => {
      try {
        if (syncs) {
          await syncs.drain();
          await forEachConcurrently([...dirs], 8, fsyncFile);
        } else {
          await flushToDisk(
            stagingDir,
            [...files.keys()].map((p) => join(stagingDir, ...p.split('/'))),
            dirs,
          );
        }
      } catch (e) {
        throw new ServicepackError(
          'E_IO',
          `staging ${pack.path} failed: ${(e as Error).message}`,
          { path: pack.path },
          { cause: e },
        );
      }
    };
    if (opts.deferFlush) {
      // the caller awaits it; until then a failure must not count as unhandled
      const flushed = flush();
      flushed.catch(() => {});
      return { dir: stagingDir, files, flushed };
    }
    await flush();
    return { dir: stagingDir, files };
  } catch (e) {
    await syncs?.settle();
    await precreated?.stop();
    await rm(stagingDir, { recursive: true, force: true });
    if (isServicepackError(e)) throw e;
    throw new ServicepackError(
      'E_IO',
      `staging ${pack.path} failed: ${(e as Error).message}`,
      { path: pack.path },
      { cause: e },
    );
  }
}

/** A document shipped in the pack (e.g. EULA.txt), verified against the signed manifest. */
export async function readPackDocument(pack: VerifiedPack, name: string): Promise<string> {
  const doc = (pack.manifest.documents ?? []).find((d) => d.name === name);
  if (!doc) throw new ServicepackError('E_USAGE', `${pack.path} has no document ${name}`, { path: pack.path, name });
  let text: string | undefined;
  await walkPack(pack, {
    async document(d, body) {
      if (d.name !== name) return;
      const parts: Buffer[] = [];
      for await (const piece of body) parts.push(Buffer.from(piece));
      const bytes = Buffer.concat(parts);
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        text = undefined;
      }
    },
  });
  if (text === undefined) throw corrupt(`${name} in ${pack.path} is not UTF-8 text`, { path: pack.path, name });
  return text;
}
