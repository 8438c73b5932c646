/**
 * Walking a verified pack: every entry after the head is held to the signed manifest, deny by
 * default, before any reader (staging, documents, repacking) sees a byte of it. The walk re-reads the
 * head and insists on the verified manifest bytes, since the file may have changed since it was opened.
 */
import { createHash } from 'node:crypto';
import { ServicepackError } from '../support/errors.js';
import { pathFoldKey, unsafePathReason } from './archive-path.js';
import { MANIFEST_ENTRY, type Manifest, type ManifestFile, PAYLOAD_PREFIX, SIGNATURE_ENTRY } from './manifest.js';
import {
  corrupt,
  DOCUMENT_MAX_BYTES,
  openPackStream,
  PAX_OVERHEAD,
  readHead,
  SIGNATURE_MAX_BYTES,
  unsafe,
  type VerifiedPack,
} from './open.js';
import { BLOCK, RECORD } from './tar-format.js';

// ---------------------------------------------------------------------------------------------------
// The full, deny-by-default walk over a verified pack's entries.

export interface PayloadHandlers {
  /** gets the body chunks of a listed add/replace file; the walk checks size and sha256 afterwards */
  payload?: (file: ManifestFile, body: AsyncIterable<Buffer>) => Promise<void>;
  document?: (doc: { name: string; sha256: string; size: number }, body: AsyncIterable<Buffer>) => Promise<void>;
  /** bytes of entry content seen so far, for progress */
  progress?: (bytes: number) => void;
}

export function payloadFiles(manifest: Manifest): ManifestFile[] {
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
export function checkPayloadNames(manifest: Manifest): void {
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
  const s = openPackStream(pack.path, tarBudget(pack), { start: pack.offset, size: pack.size });
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
