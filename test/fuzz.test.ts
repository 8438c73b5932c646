/**
 * Bounded fuzzing, part of the test run: a seeded PRNG, a fixed number of inputs per target, a
 * deadline per input. Targets are the parsers hostile bytes reach first:
 *
 *   manifest      parseManifestBytes on mutated valid manifests, damaged bytes and random JSON
 *   answer file   parseAnswerFile on mutated answer files (YAML-aware text mutations)
 *   feed index    verifyFeedIndex on mutated indexes, re-signed so most get past the signature
 *   pack reader   openPack + stagePayload on mutated small packs: raw-tar mutations recompressed
 *                 (header fields, blocks, entries, PAX records, truncation, trailing data), manifest
 *                 mutations re-signed, entry-level changes, and damage to the gzip bytes
 *
 * Every input must end in success or a typed ServicepackError; anything else is a crash: another
 * exception type, an E_IO that hides one, an unhandled rejection, an input running past its
 * deadline, a file left in the staging parent, or a change to the sentinel folder beside it.
 * A crash found here is fixed in the code and its input kept below as a regression case.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { parseAnswerFile } from '../packages/core/src/fleet/answer-file.js';
import { isSafeRelPath, pathFoldKey } from '../packages/core/src/pack/archive-path.js';
import { ServicepackError } from '../packages/core/src/support/errors.js';
import { FeedRelUrlSchema } from '../packages/core/src/feed/schema.js';
import { verifyFeedIndex } from '../packages/core/src/feed/verify.js';
import type { Manifest } from '../packages/core/src/pack/manifest.js';
import { openPack, parseManifestBytes } from '../packages/core/src/pack/open.js';
import { stagePayload } from '../packages/core/src/pack/stage.js';
import { serializeManifest } from '../packages/core/src/pack/pack-write.js';
import type { TrustedKey } from '../packages/core/src/trust/trust.js';
import { mutateBytes, mutateJson, mutateTar, mutateYaml, Rng, randomJson } from './support/fuzz.js';
import { fixedKey, type RawEntry, signatureFile, tarBytes, treeSnapshot } from './support/hostile.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The acceptance floor; SERVICEPACK_FUZZ_ITERATIONS raises it for a longer local run. */
const ITERATIONS = Math.max(10_000, Number(process.env['SERVICEPACK_FUZZ_ITERATIONS'] ?? 0));
const SEED = 0x5e1f_2026;
// Generous: a stalled disk (another job fsyncing hundreds of MiB) can pause one input for seconds;
// a real hang never answers at all.
const DEADLINE_MS = 20_000;

const T = fixedKey('fuzz: trusted');
const trustedKeys: TrustedKey[] = [{ keyid: T.keyid, key: T.publicKey, source: 'fuzz' }];
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

interface Crash {
  target: string;
  iteration: number;
  what: string;
  input: string;
}

const HANG: unique symbol = Symbol('hang');

async function within<T>(p: Promise<T>, ms: number): Promise<T | typeof HANG> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<typeof HANG>((r) => {
    timer = setTimeout(() => r(HANG), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** Counts outcomes, records crashes, and catches what escapes the awaited promise. */
class Campaign {
  readonly outcomes = new Map<string, number>();
  readonly crashes: Crash[] = [];
  private escaped: unknown[] = [];
  private readonly onEscape = (e: unknown): void => {
    this.escaped.push(e);
  };
  readonly t0 = performance.now();
  readonly cpu0 = process.cpuUsage();

  constructor(readonly target: string) {
    process.on('unhandledRejection', this.onEscape);
    process.on('uncaughtException', this.onEscape);
  }

  count(outcome: string): void {
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
  }

  crash(iteration: number, what: string, input: string): void {
    if (this.crashes.length < 20)
      this.crashes.push({ target: this.target, iteration, what, input: input.slice(0, 400) });
    this.count('CRASH');
  }

  /** A thrown value: typed errors are outcomes, anything else is a crash. */
  judge(iteration: number, e: unknown, input: string): void {
    if (e instanceof ServicepackError) {
      // E_IO is how stagePayload and the stream wrap what they did not expect: from a parser fed
      // only bytes, it means an untyped exception was swallowed, not that the disk failed
      if (e.code === 'E_IO')
        this.crash(iteration, `E_IO: ${e.message} (cause: ${String((e as Error & { cause?: unknown }).cause)})`, input);
      else this.count(e.code);
      return;
    }
    this.crash(iteration, e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e), input);
  }

  checkEscaped(iteration: number): void {
    for (const e of this.escaped.splice(0))
      this.crash(iteration, `escaped: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`, '');
  }

  finish(): { inputs: number; perSecond: number; perCpuSecond: number; summary: string } {
    process.off('unhandledRejection', this.onEscape);
    process.off('uncaughtException', this.onEscape);
    const inputs = [...this.outcomes.values()].reduce((a, b) => a + b, 0);
    const seconds = (performance.now() - this.t0) / 1000;
    const cpu = process.cpuUsage(this.cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const summary = [...this.outcomes.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    return { inputs, perSecond: Math.round(inputs / seconds), perCpuSecond: Math.round(inputs / cpuSeconds), summary };
  }
}

function report(t: { diagnostic(m: string): void }, c: Campaign): void {
  const r = c.finish();
  t.diagnostic(
    `${c.target}: ${r.inputs} inputs, ${r.perSecond} inputs/s (${r.perCpuSecond} per CPU second); ${r.summary}`,
  );
  assert.deepEqual(
    c.crashes.map((x) => `#${x.iteration}: ${x.what}\n  input: ${JSON.stringify(x.input)}`),
    [],
    `${c.target}: crashes`,
  );
  assert.ok(r.inputs >= ITERATIONS, `${c.target}: only ${r.inputs} inputs`);
}

// ---------------------------------------------------------------------------------------------
// Seeds

const TOOL = '#!/bin/sh\necho hi\n';
const CAFE = 'export {};\n';
const LONG = 'export const long = true;\n';
const EULA = 'You may use this software.\n';
// long enough to need a PAX path record, in one folder: every extra folder is a mkdir and an fsync per input
const longPath = `lib/${'long-name-'.repeat(12)}f.js`;

function baseManifest(): Manifest {
  const file = (
    path: string,
    content: string,
    extra: Partial<Manifest['files'][number]> = {},
  ): Manifest['files'][number] => ({
    path,
    action: 'add',
    sha256: sha(content),
    size: Buffer.byteLength(content),
    mode: 0o644,
    from: [],
    ...extra,
  });
  return {
    format: 1,
    id: 'inetsrv-4.0-sp9',
    kind: 'service-pack',
    product: 'inetsrv',
    title: 'fuzz seed',
    level: 9,
    arch: 'x86',
    appliesTo: { version: '>=4.0.0 <4.1.0', levels: [0, 1] },
    supersedes: ['Q1'],
    fixes: [{ id: 'Q1', title: 'a fix', summary: 'fixes a thing', level: 9, security: true }],
    files: [
      file('bin/tool', TOOL, { mode: 0o755, action: 'replace', from: [sha('old')] }),
      file('lib/caf\u00e9.js', CAFE),
      file(longPath, LONG),
      { path: 'lib/old.js', action: 'delete', from: [sha('old')] },
    ],
    restart: true,
    created: '2026-01-02T03:04:05.000Z',
    documents: [{ name: 'EULA.txt', sha256: sha(EULA), size: Buffer.byteLength(EULA) }],
  };
}

function packEntries(manifestBytes: Buffer, signed: boolean): RawEntry[] {
  return [
    { name: 'servicepack.json', data: manifestBytes },
    ...(signed ? [{ name: 'servicepack.sig', data: signatureFile(manifestBytes, [T]) }] : []),
    { name: 'payload/bin/', type: '5', mode: 0o755 },
    { name: 'payload/bin/tool', data: TOOL, mode: 0o755 },
    { name: 'payload/lib/', type: '5', mode: 0o755 },
    { name: 'payload/lib/caf\u00e9.js', data: CAFE },
    { name: 'PaxHeader-fallback/f.js', pax: { path: `payload/${longPath}` }, data: LONG },
    { name: 'EULA.txt', data: EULA },
  ];
}

// ---------------------------------------------------------------------------------------------

let work: string;
let sentinel: string;
let stagingParent: string;
let sentinelBefore: string[];

before(async () => {
  // tmpfs when there is one: stagePayload fsyncs every file, and 10,000 packs should not wait on a disk
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  work = await mkdtemp(join(base, 'sp-fuzz-'));
  sentinel = join(work, 'sentinel');
  stagingParent = join(work, 'inst', '.servicepack', 'staging');
  await mkdir(join(sentinel, 'etc'), { recursive: true });
  await mkdir(stagingParent, { recursive: true });
  await writeFile(join(sentinel, 'etc', 'passwd'), 'root:x:0:0\n');
  await writeFile(join(sentinel, 'x'), 'sentinel\n');
  sentinelBefore = await treeSnapshot(sentinel);
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe(`fuzz (seed ${SEED.toString(16)}, ${ITERATIONS} inputs per target)`, () => {
  test('the seed pack is accepted and staged (control)', async () => {
    const m = serializeManifest(baseManifest());
    for (const signed of [true, false]) {
      const file = join(work, 'seed.tgz');
      await writeFile(file, gzipSync(tarBytes(packEntries(m, signed))));
      const pack = await openPack(file, { trustedKeys, allowUnsigned: true });
      assert.equal(pack.unsigned, !signed);
      const staged = await stagePayload(pack, join(stagingParent, 'seed'));
      assert.equal(staged.files.size, 3);
      assert.equal(await readFile(join(staged.dir, longPath), 'utf8'), LONG);
      await rm(staged.dir, { recursive: true });
    }
  });

  test('manifest parser', (t) => {
    const c = new Campaign('manifest parser');
    const rng = new Rng(SEED);
    const seeds: unknown[] = [
      baseManifest(),
      { ...baseManifest(), kind: 'hotfix', id: 'Q236565', baseLevel: 5, level: 5, documents: undefined },
    ];
    for (let i = 0; i < ITERATIONS; i++) {
      const r = rng.next();
      let bytes: Buffer;
      if (r < 0.7)
        bytes = Buffer.from(JSON.stringify(mutateJson(rng.pick(seeds), rng), null, rng.chance(0.5) ? 2 : undefined));
      else if (r < 0.85) bytes = mutateBytes(serializeManifest(baseManifest()), rng);
      else bytes = Buffer.from(JSON.stringify(randomJson(rng)));
      try {
        const m = parseManifestBytes(bytes, 'fuzz');
        c.count('accepted');
        // what the schema lets through, the reader and the installer rely on
        const folds = new Set<string>();
        for (const f of m.files) {
          if (!isSafeRelPath(f.path)) c.crash(i, `accepted an unsafe path ${JSON.stringify(f.path)}`, bytes.toString());
          if (folds.has(pathFoldKey(f.path))) c.crash(i, `accepted twin paths ${f.path}`, bytes.toString());
          folds.add(pathFoldKey(f.path));
          if (f.action !== 'delete' && (f.sha256 === undefined || f.size === undefined))
            c.crash(i, `accepted ${f.action} without sha256/size`, bytes.toString());
          if ((f.mode ?? 0) & ~0o777) c.crash(i, `accepted mode ${f.mode}`, bytes.toString());
        }
        if (m.kind === 'hotfix' && m.baseLevel === undefined)
          c.crash(i, 'accepted a hotfix without baseLevel', bytes.toString());
      } catch (e) {
        c.judge(i, e, bytes.toString('latin1'));
      }
    }
    c.checkEscaped(ITERATIONS);
    report(t, c);
  });

  test('answer-file parser', async (t) => {
    const c = new Campaign('answer-file parser');
    const rng = new Rng(SEED + 1);
    const seeds: string[] = [];
    for (const name of ['sp6.yaml', 'full.yaml', 'fleet.yaml']) {
      const p = join(repo, 'manifests', 'unattend', name);
      // without comments (parse time grows with the text, and comments reach no schema), but one
      // file keeps them, for the comment handling itself
      if (existsSync(p)) seeds.push((await readFile(p, 'utf8')).replace(/^\s*#.*\n/gm, '').replace(/\s+#.*$/gm, ''));
      if (existsSync(p) && name === 'full.yaml') seeds.push(await readFile(p, 'utf8'));
    }
    seeds.push(
      'targets:\n  - root: /opt/inetsrv\npacks:\n  - a.tgz\nacceptEula: true\n',
      'targets: [{root: /a}, {root: /b}]\nfeed: file:///srv/feed/\nlatest: true\nrestart: never\nmodified: keep\nbackup: false\n',
    );
    const file = join(work, 'answers', 'unattend.yaml');
    // the yaml library warns (process.emitWarning) for every mapping used as a key; thousands of
    // such inputs would bury the test output, and a warning is not an outcome
    const emitWarning = process.emitWarning;
    process.emitWarning = (() => {}) as typeof process.emitWarning;
    t.after(() => {
      process.emitWarning = emitWarning;
    });
    for (let i = 0; i < ITERATIONS; i++) {
      const text = rng.chance(0.85)
        ? mutateYaml(rng.pick(seeds), rng)
        : mutateBytes(Buffer.from(rng.pick(seeds)), rng).toString('utf8');
      try {
        const out = await within(parseAnswerFile(text, file), DEADLINE_MS);
        if (out === HANG) {
          c.crash(i, `no answer within ${DEADLINE_MS} ms`, text);
          break;
        }
        c.count('accepted');
        if (/unsigned/i.test(JSON.stringify(out))) c.crash(i, 'an answer file switched signature checking off', text);
        if (out.targets.length === 0 || out.targets.some((x) => !x.root.startsWith('/')))
          c.crash(i, 'accepted targets that are not absolute roots', text);
      } catch (e) {
        c.judge(i, e, text);
      }
    }
    c.checkEscaped(ITERATIONS);
    report(t, c);
  });

  test('feed index verification', (t) => {
    const c = new Campaign('feed index');
    const rng = new Rng(SEED + 2);
    const now = new Date('2026-06-01T00:00:00.000Z');
    const entry = (id: string, arch: string, url: string) => ({
      id,
      kind: 'service-pack',
      level: 6,
      arch,
      appliesTo: { version: '>=4.0.0 <4.1.0', levels: [0, 5] },
      supersedes: ['Q236565'],
      fixes: [{ id: 'Q236565', title: 't', summary: 's', security: false }],
      url,
      sha256: sha(url),
      size: 1000,
    });
    const seed = {
      format: 1,
      product: 'inetsrv',
      version: 3,
      created: '2026-01-01T00:00:00.000Z',
      expires: '2035-01-01T00:00:00.000Z',
      packs: [
        entry('inetsrv-4.0-sp6', 'alpha', 'packs/sp6-alpha.tgz'),
        entry('inetsrv-4.0-sp6', 'x86', 'packs/sp6-x86.tgz'),
      ],
      catalog: { url: 'catalog.json', sha256: sha('c'), size: 10 },
    };
    for (let i = 0; i < ITERATIONS; i++) {
      const r = rng.next();
      const bytes =
        r < 0.75
          ? Buffer.from(JSON.stringify(mutateJson(seed, rng), null, 2))
          : r < 0.9
            ? mutateBytes(Buffer.from(JSON.stringify(seed, null, 2)), rng)
            : Buffer.from(JSON.stringify(randomJson(rng)));
      const sig = rng.chance(0.9) ? signatureFile(bytes, [T]) : mutateBytes(signatureFile(bytes, [T]), rng);
      try {
        const { index } = verifyFeedIndex(bytes, sig, {
          trustedKeys,
          now,
          lastSeenVersion: 3,
          product: 'inetsrv',
          source: 'fuzz',
        });
        c.count('accepted');
        for (const p of [...index.packs.map((x) => x.url), index.catalog.url])
          if (!FeedRelUrlSchema.safeParse(p).success) c.crash(i, `accepted url ${p}`, bytes.toString());
        if (Date.parse(index.expires) <= now.getTime()) c.crash(i, 'accepted an expired index', bytes.toString());
        if (index.version < 3) c.crash(i, 'accepted a rolled-back index', bytes.toString());
      } catch (e) {
        c.judge(i, e, bytes.toString('latin1'));
      }
    }
    c.checkEscaped(ITERATIONS);
    report(t, c);
  });

  test('pack reader (openPack + stagePayload)', async (t) => {
    const c = new Campaign('pack reader');
    const manifest = baseManifest();
    const manifestBytes = serializeManifest(manifest);
    const bases = [true, false].map((signed) => ({
      signed,
      entries: packEntries(manifestBytes, signed),
      tar: tarBytes(packEntries(manifestBytes, signed)),
    }));
    const gzBases = bases.map((b) => gzipSync(b.tar, { level: 1 }));
    const inputs = join(work, 'inputs');
    await mkdir(inputs);
    const expectedWork = (await readdir(work)).sort();

    /** Input `i` depends on the seed and `i` only, so it reproduces whatever ran beside it. */
    function input(i: number): { bytes: Buffer; how: string } {
      const rng = new Rng(SEED + 3 + i * 7919);
      const which = rng.int(2);
      const base = bases[which]!;
      const r = rng.next();
      if (r < 0.55) {
        const m = mutateTar(base.tar, rng);
        return { bytes: gzipSync(m.tar, { level: 1 }), how: `tar ${m.ops.join(' ')}` };
      }
      if (r < 0.72) {
        // the signature is redone over the mutated bytes, so the mutation reaches the schema and the walk
        const mb = rng.chance(0.8)
          ? Buffer.from(JSON.stringify(mutateJson(manifest, rng), null, 2))
          : mutateBytes(manifestBytes, rng);
        return {
          bytes: gzipSync(tarBytes(packEntries(mb, base.signed)), { level: 1 }),
          how: `manifest ${mb.toString('utf8').slice(0, 200)}`,
        };
      }
      if (r < 0.85) {
        const entries = base.entries.map((e) => ({ ...e }));
        const k = rng.int(entries.length);
        const e = entries[k]!;
        switch (rng.int(6)) {
          case 0:
            entries.splice(k, 1);
            break;
          case 1:
            entries.splice(rng.int(entries.length), 0, entries.splice(k, 1)[0]!);
            break;
          case 2:
            e.mode = rng.pick([0o4755, 0o2755, 0o1777, 0o777, 0o7777, 0]);
            break;
          case 3:
            e.data = Buffer.concat([Buffer.from(e.data ?? ''), Buffer.from(rng.pick(['', 'x', '\n']))]);
            break;
          case 4:
            entries.splice(k, 0, {
              name: e.name,
              type: rng.pick(['1', '2', '3', '6', '5']),
              linkname: rng.pick(['/etc/passwd', '../../x', 'payload/bin/tool']),
            });
            break;
          default:
            entries.splice(k, 0, {
              ...e,
              name: rng.pick([e.name.toUpperCase(), e.name.normalize('NFD'), `${e.name}.`, `./${e.name}`]),
            });
        }
        return { bytes: gzipSync(tarBytes(entries), { level: 1 }), how: 'entries' };
      }
      return { bytes: mutateBytes(gzBases[which]!, rng), how: 'gzip bytes' };
    }

    async function one(i: number, lane: number): Promise<void> {
      const { bytes, how } = input(i);
      const file = join(inputs, `lane-${lane}.tgz`);
      await writeFile(file, bytes);
      const staging = join(stagingParent, `s${i}`);
      const run = async (): Promise<string> => {
        const pack = await openPack(file, { trustedKeys, allowUnsigned: true });
        const staged = await stagePayload(pack, staging);
        // a pack that passes must stage exactly what its manifest lists, and nothing else
        const listed = pack.manifest.files.filter((f) => f.action !== 'delete');
        const onDisk = (await readdir(staged.dir, { recursive: true, withFileTypes: true })).filter(
          (d) => !d.isDirectory(),
        );
        if (onDisk.length !== listed.length)
          throw new Error(`staged ${onDisk.length} files for ${listed.length} listed`);
        for (const f of listed) {
          const got = sha(await readFile(join(staged.dir, ...f.path.split('/'))));
          if (got !== f.sha256) throw new Error(`staged ${f.path} does not match its sha256`);
        }
        await rm(staged.dir, { recursive: true });
        return 'accepted';
      };
      try {
        const out = await within(run(), DEADLINE_MS);
        if (out === HANG) c.crash(i, `no answer within ${DEADLINE_MS} ms`, how);
        else c.count(out);
      } catch (e) {
        c.judge(i, e, how);
      }
      // a refused pack leaves no staging folder: stagePayload removes its own on the way out
      if (existsSync(staging)) {
        c.crash(i, 'staging folder left behind', how);
        await rm(staging, { recursive: true, force: true });
      }
    }

    // Each input waits mostly on the thread pool (file and zlib work), so a few run side by side;
    // every 1000 inputs all of them finish and the folders around staging are checked.
    const LANES = 8;
    for (let batch = 0; batch < ITERATIONS; batch += 1000) {
      let next = batch;
      const end = Math.min(batch + 1000, ITERATIONS);
      await Promise.all(
        Array.from({ length: LANES }, async (_, lane) => {
          while (next < end) await one(next++, lane);
        }),
      );
      c.checkEscaped(end);
      assert.deepEqual(await readdir(stagingParent), [], 'something left in the staging parent');
      assert.deepEqual((await readdir(work)).sort(), expectedWork, 'something appeared beside the staging folder');
      assert.deepEqual(await treeSnapshot(sentinel), sentinelBefore, 'the sentinel folder changed');
    }
    // an escaped rejection may surface a tick late
    await new Promise((r) => setImmediate(r));
    c.checkEscaped(ITERATIONS);
    report(t, c);
  });
});
