/**
 * First service pack end to end, against the real build: a copy of the RTM release tree is serviced
 * to SP6 by the real `servicepack` executable, unattended, and must then equal the SP6 release tree
 * byte for byte (outside .servicepack/), report SP6, and no longer leak connections (Q236565).
 * Refusals (wrong arch, tampered or unsigned packs) must leave every byte as it was.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { hashTree } from '../packages/core/src/support/hash.js';
import { openPack } from '../packages/core/src/pack/open.js';
import { writePack } from '../packages/core/src/pack/pack-write.js';
import { readPackDocument } from '../packages/core/src/pack/walk.js';
import { generateKeyPair, loadTrustedKeys, parsePrivateKey } from '../packages/core/src/trust/trust.js';
import { runLeakProbe, startTree } from './support/inetsrv.js';
import { serverHeader } from './support/site.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const releases = join(repo, 'dist', 'releases');
const packs = join(repo, 'dist', 'packs');
const bin = join(repo, 'installer', 'bin', 'servicepack');
const NOT_OWNED = ['.servicepack', 'logs', 'run'];
const LEAK_N = 20;

const tree = (name: string) => join(releases, `inetsrv-4.0-${name}`);
const packFile = (arch: string) => join(packs, `inetsrv-4.0-sp6-${arch}.tgz`);

interface Run {
  code: number | null;
  out: string;
  err: string;
  ms: number;
}

function servicepack(args: string[]): Run {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '' },
    input: '',
  });
  return { code: r.status, out: r.stdout, err: r.stderr, ms: Math.round(performance.now() - t0) };
}

function queryJson(root: string): Record<string, unknown> {
  const r = servicepack(['query', '--root', root, '--json']);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as Record<string, unknown>;
}

async function digest(dir: string, exclude: string[] = []): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [p, e] of await hashTree(dir, exclude)) out[p] = `${e.sha256} ${e.size} ${e.mode.toString(8)}`;
  return out;
}

const work: string[] = [];
async function installationFrom(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sp-e2e-'));
  work.push(dir);
  const root = join(dir, 'inetsrv');
  await cp(tree(name), root, { recursive: true });
  return root;
}

before(() => {
  const needed = [
    tree('rtm-x86'),
    tree('sp6-x86'),
    tree('rtm-alpha'),
    tree('sp6-alpha'),
    packFile('x86'),
    packFile('alpha'),
    join(repo, 'installer', 'dist', 'cli.js'),
  ];
  const missing = needed.filter((p) => !existsSync(p));
  if (missing.length > 0)
    throw new Error(
      `missing build output (${missing.join(', ')}): run pnpm build (npx --yes pnpm@10.34.8 run build) first`,
    );
});
after(async () => {
  for (const d of work) await rm(d, { recursive: true, force: true });
});

for (const arch of ['x86', 'alpha'] as const) {
  describe(`SP6 on an RTM ${arch} installation`, () => {
    test('query → install -u → query: SP6, consistent, byte for byte the SP6 release, leak fixed', async (t) => {
      const root = await installationFrom(`rtm-${arch}`);

      const q0 = queryJson(root);
      assert.equal(q0['level'], 0);
      assert.equal(q0['levelName'], 'RTM');
      assert.equal(q0['arch'], arch);
      assert.equal(q0['consistent'], true);

      if (arch === 'x86') {
        // The other half of the proof: this very copy leaks before the service pack.
        const t0 = performance.now();
        const leaky = await runLeakProbe(root, LEAK_N);
        t.diagnostic(
          `leak probe on RTM: ${Math.round(performance.now() - t0)} ms, ${leaky.second.connections} connections kept`,
        );
        assert.equal(leaky.second.connections, LEAK_N, 'RTM keeps every idle-closed connection');
      }

      const inst = servicepack(['install', '--accept-eula', '--root', root, '-u', packFile(arch)]);
      t.diagnostic(`servicepack install: ${inst.ms} ms`);
      assert.equal(inst.code, 0, `${inst.out}\n${inst.err}`);
      assert.match(inst.out, /RTM -> Service Pack 6/);

      const q1 = queryJson(root);
      assert.equal(q1['level'], 6);
      assert.equal(q1['levelName'], 'Service Pack 6');
      assert.equal(q1['consistent'], true, JSON.stringify(q1['problems']));
      assert.deepEqual(q1['hotfixes'], []);
      const history = q1['history'] as {
        packId: string;
        action: string;
        result: string;
        fromLevel: number;
        toLevel: number;
      }[];
      assert.deepEqual(
        history.map((h) => [h.packId, h.action, h.result, h.fromLevel, h.toLevel]),
        [['inetsrv-4.0-sp6', 'install', 'done', 0, 6]],
      );

      assert.deepEqual(
        await digest(root, NOT_OWNED),
        await digest(tree(`sp6-${arch}`), NOT_OWNED),
        'installed tree = SP6 release tree',
      );

      const server = await startTree(root);
      try {
        assert.equal(await serverHeader(server.port), `inetsrv/4.0 (SP6; ${arch})`);
      } finally {
        await server.dispose();
      }

      const t1 = performance.now();
      const probe = await runLeakProbe(root, LEAK_N);
      t.diagnostic(`leak probe on the installed SP6: ${Math.round(performance.now() - t1)} ms`);
      assert.equal(probe.served, LEAK_N);
      for (const reading of [probe.first, probe.second]) {
        assert.equal(reading.connections, 0, 'no connection kept');
        if (reading.closeWait !== undefined) assert.equal(reading.closeWait, 0, 'no CLOSE_WAIT');
        if (reading.fdDelta !== undefined) assert.ok(reading.fdDelta <= 2, `fd delta ${reading.fdDelta}`);
      }

      // and a second run is refused as already installed, changing nothing
      const before = await digest(root);
      const again = servicepack(['install', '--accept-eula', '--root', root, '-u', '--json', packFile(arch)]);
      assert.equal(again.code, 3);
      assert.equal((JSON.parse(again.out) as { code: string }).code, 'E_ALREADY_INSTALLED');
      assert.deepEqual(await digest(root), before);
    });
  });
}

describe('refusals against a real RTM x86 installation change nothing', () => {
  let root = '';
  let snapshot: Record<string, string> = {};
  let tampered = '';

  before(async () => {
    root = await installationFrom('rtm-x86');
    snapshot = await digest(root);
    tampered = await mkdtemp(join(tmpdir(), 'sp-e2e-packs-'));
    work.push(tampered);
  });

  async function refused(pack: string, exitCode: number, code: RegExp): Promise<void> {
    const r = servicepack(['install', '--accept-eula', '--root', root, '-u', '--json', pack]);
    assert.equal(r.code, exitCode, `${r.out}\n${r.err}`);
    const doc = JSON.parse(r.out) as { ok: boolean; code: string; exitCode: number; message: string };
    assert.equal(doc.ok, false);
    assert.equal(doc.exitCode, exitCode);
    assert.match(doc.code, code);
    assert.deepEqual(await digest(root), snapshot, 'every file as before, .servicepack/ included');
  }

  test('the alpha pack on an x86 installation: exit 3, names the x86 pack', async () => {
    const r = servicepack(['install', '--accept-eula', '--root', root, '-u', packFile('alpha')]);
    assert.equal(r.code, 3);
    assert.match(
      r.err,
      /inetsrv-4\.0-sp6-alpha\.tgz is for alpha; this installation is x86: use inetsrv-4\.0-sp6-x86\.tgz/,
    );
    assert.deepEqual(await digest(root), snapshot);
  });

  test('one payload byte changed: exit 4', async () => {
    const out = join(tampered, 'payload-byte.tgz');
    await writeFile(
      out,
      editEntry(
        await readFile(packFile('x86')),
        (name) => name.startsWith('payload/lib/'),
        (data) => (data[Math.floor(data.length / 2)]! ^= 0x20),
      ),
    );
    await refused(out, 4, /^E_HASH_MISMATCH$/);
  });

  test('one manifest byte changed: exit 4', async () => {
    const out = join(tampered, 'manifest-byte.tgz');
    await writeFile(
      out,
      editEntry(
        await readFile(packFile('x86')),
        (name) => name === 'servicepack.json',
        (data) => {
          // inside the title string, so the JSON still parses and only the signature can tell
          const at = data.indexOf('Service Pack 6');
          assert.ok(at > 0);
          data[at + 'Service Pack '.length] = '7'.charCodeAt(0);
        },
      ),
    );
    await refused(out, 4, /^E_BAD_SIGNATURE$/);
  });

  test('no signature, or a signature by a key nobody trusts: exit 4', async () => {
    const trustedKeys = await loadTrustedKeys({ root });
    const real = await openPack(packFile('x86'), { trustedKeys });
    const docs: { name: string; path: string }[] = [];
    for (const d of real.manifest.documents ?? []) {
      const p = join(tampered, d.name);
      await writeFile(p, await readPackDocument(real, d.name));
      docs.push({ name: d.name, path: p });
    }
    const unsigned = join(tampered, 'unsigned.tgz');
    await writePack({
      out: unsigned,
      manifest: real.manifest,
      privateKeys: [],
      payloadDir: tree('sp6-x86'),
      documents: docs,
    });
    await refused(unsigned, 4, /^E_UNSIGNED$/);

    const stranger = join(tampered, 'stranger.tgz');
    await writePack({
      out: stranger,
      manifest: real.manifest,
      privateKeys: [parsePrivateKey(generateKeyPair().privateKeyPem)],
      payloadDir: tree('sp6-x86'),
      documents: docs,
    });
    await refused(stranger, 4, /^E_UNTRUSTED_KEY$/);
  });
});

/**
 * Rewrites one entry's data in place inside the uncompressed tar and gzips it again. Header
 * checksums cover headers only, so the archive stays well formed: only the hashes and the
 * signature can notice.
 */
function editEntry(tgz: Buffer, match: (name: string) => boolean, edit: (data: Buffer) => void): Buffer {
  const tar = gunzipSync(tgz);
  let off = 0;
  let paxPath: string | undefined;
  while (off + 512 <= tar.length) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, len: number) =>
      header
        .subarray(start, start + len)
        .toString('utf8')
        .replace(/\0.*$/s, '');
    const size = Number.parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1);
    const prefix = field(345, 155);
    const name = paxPath ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    const dataStart = off + 512;
    const data = tar.subarray(dataStart, dataStart + size);
    if (type === 'x') {
      const m = /\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
      paxPath = m?.[1];
    } else {
      paxPath = undefined;
      if ((type === '0' || type === '') && match(name)) {
        edit(data);
        return gzipSync(tar);
      }
    }
    off = dataStart + Math.ceil(size / 512) * 512;
  }
  throw new Error('no matching entry in the pack');
}
