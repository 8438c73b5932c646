import type { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import type { PackInspection, SignatureCheck } from '@servicepack/core';
import { EXIT, UsageError } from '../exit.js';
import { checkedRoot, chooseFrontEnd, type Io, processIo, type RunState, reportFailure } from '../io.js';
import { printable, safe } from '../reporters/printable.js';

/**
 * Vendor-side commands: build, inspect and sign packs, and make signing keys. Each action is a thin
 * wrapper over core/builder; the engine is imported when the command runs so that the customer-side
 * commands never pay for the builder (TypeScript transpiler, patch code) at start-up.
 *
 * `io` and `state` default to the process so the function also works with just a program; pass the
 * CLI's own so that tests capture output and `run()` returns the exit code.
 */
export function registerVendorCommands(program: Command, io: Io = processIo(), state?: RunState): void {
  const finish = (code: number) => {
    if (state) state.exitCode = code;
    else process.exitCode = code;
  };

  const pack = program.command('pack').description('vendor side: build, inspect and sign service packs and hotfixes');

  pack
    .command('build')
    .description('build one pack from a definition (manifests/packs/*.yaml) and the release trees, signed')
    .requiredOption('--def <file>', 'pack definition (YAML)')
    .requiredOption('--arch <arch>', 'architecture: x86 or alpha')
    .option('--key <file>', 'private signing key, PKCS#8 PEM (default: dist/keys/dev.key, created when absent)')
    .option('--out <file>', 'output file (default: dist/packs/<release name>.tgz)')
    .option('--releases <dir>', 'release trees (default: dist/releases)')
    .option('--patches <dir>', 'patch series, for the fix list (default: patches/)')
    .option('--sfx', 'also write a one-file pack (.run: the bundled installer and the signed pack) beside it')
    .option('--json', 'print one JSON document on stdout')
    .action(async (flags) => finish(await runPackBuild(flags, io)));

  pack
    .command('inspect')
    .description('show what a pack contains and who signed it (nothing is verified beyond the schema)')
    .argument('<pack>', 'pack file (.tgz, or a one-file pack .run: only the pack inside is read)')
    .option('--trust <file...>', 'public keys (PEM) to judge the signatures against')
    .option('--root <dir>', 'also use the trust store of this installation')
    .option('--json', 'print one JSON document on stdout')
    .action(async (path, flags) => finish(await runPackInspect(path, flags, io)));

  pack
    .command('sign')
    .description("add KEY's signature over PACK's manifest, in place (creates servicepack.sig when the pack has none)")
    .argument('<pack>', 'pack file (.tgz)')
    .requiredOption('--key <file>', 'private signing key, PKCS#8 PEM')
    .option('--json', 'print one JSON document on stdout')
    .action(async (path, flags) => finish(await runPackSign(path, flags, io)));

  program
    .command('keygen')
    .description(
      'make an ed25519 signing key pair: NAME.key (private, keep it secret) and NAME.pub (give it to installations)',
    )
    .requiredOption('--out <dir>', 'folder for the key files')
    .option('--name <name>', 'file name without extension', 'vendor')
    .option('--json', 'print one JSON document on stdout')
    .action(async (flags) => finish(await runKeygen(flags, io)));
}

/** Builder failures are plain Errors carrying an operator message; give them a code and exit 1. */
async function asServicepackError(e: unknown): Promise<unknown> {
  if (e instanceof Error && e.name !== 'ServicepackError' && !(e instanceof UsageError)) {
    const { ServicepackError } = await import('@servicepack/core/errors');
    return new ServicepackError('E_FAILED', e.message, {}, { cause: e });
  }
  return e;
}

async function loadPrivateKey(file: string): Promise<KeyObject> {
  const { parsePrivateKey } = await import('@servicepack/core/trust');
  let pem: Buffer;
  try {
    pem = await readFile(file);
  } catch (e) {
    throw new UsageError(`--key ${file}: ${(e as Error).message}`);
  }
  try {
    return parsePrivateKey(pem);
  } catch {
    throw new UsageError(`--key ${file}: not an ed25519 private key (PKCS#8 PEM, as written by servicepack keygen)`);
  }
}

export async function runPackBuild(
  flags: {
    def: string;
    arch: string;
    key?: string;
    out?: string;
    releases?: string;
    patches?: string;
    sfx?: true;
    json?: true;
  },
  io: Io,
): Promise<number> {
  const fe = await chooseFrontEnd(io, { json: flags.json === true, quiet: false });
  try {
    const { ARCHES } = await import('@servicepack/core/level');
    const arch = ARCHES.find((a) => a === flags.arch);
    if (arch === undefined) throw new UsageError(`--arch ${flags.arch}: expected one of ${ARCHES.join(', ')}`);
    const builder = await import('@servicepack/builder/pack-build');
    const { loadPackDef } = await import('@servicepack/builder/pack-def');
    const { loadSeries } = await import('@servicepack/builder/series');
    const { paths } = await import('@servicepack/builder/paths');
    const defFile = resolve(flags.def);
    if (!existsSync(defFile)) throw new UsageError(`--def ${flags.def}: no such file`);
    const def = await loadPackDef(defFile);
    let privateKey: KeyObject;
    if (flags.key !== undefined) privateKey = await loadPrivateKey(flags.key);
    else {
      const { ensureDevKey } = await import('@servicepack/builder/keys');
      privateKey = await loadPrivateKey((await ensureDevKey(paths.dist)).privateKeyPath);
    }
    const out = resolve(flags.out ?? join(paths.packs, builder.packFileName(def, arch)));
    const built = await builder.buildPackFromDef(def, arch, out, {
      releasesDir: resolve(flags.releases ?? paths.releases),
      // a definition's eula names a file in manifests/, the folder above manifests/packs/
      manifestsDir: dirname(dirname(defFile)),
      series: await loadSeries(resolve(flags.patches ?? paths.patches)),
      privateKey,
      log: (line) => {
        fe.log(printable(line));
      },
    });
    const sfx =
      flags.sfx === true ? await (await import('@servicepack/builder/sfx')).writeSfx({ pack: built.out }) : undefined;
    const summary = {
      out: built.out,
      ...(sfx !== undefined ? { sfx } : {}),
      id: built.id,
      arch: built.arch,
      sha256: built.sha256,
      size: built.size,
      files: built.counts,
      restart: built.manifest.restart,
    };
    fe.result(summary, (t) =>
      t.print(
        safe`${built.out}\n  sha256 ${built.sha256}\n  ${built.size} bytes, ${built.manifest.files.length} files${sfx !== undefined ? safe`\n${sfx}\n  one-file pack: the bundled installer and this pack` : ''}`,
      ),
    );
    return EXIT.ok;
  } catch (e) {
    return reportFailure(fe, io, await asServicepackError(e));
  }
}

function describeSignature(s: SignatureCheck): string {
  switch (s.status) {
    case 'valid':
      return `trusted${s.source ? ` (${s.source})` : ''}`;
    case 'bad':
      return 'BAD SIGNATURE: the manifest does not match (tampered or damaged)';
    case 'revoked':
      return 'revoked key';
    case 'untrusted':
      return 'not trusted (pass its public key with --trust to check it)';
  }
}

function human(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export async function runPackInspect(
  path: string,
  flags: { trust?: string[]; root?: string; json?: true },
  io: Io,
): Promise<number> {
  const fe = await chooseFrontEnd(io, { json: flags.json === true, quiet: false });
  try {
    // a mistyped --root would silently judge the pack against no installation's keys
    if (flags.root !== undefined) await checkedRoot(flags.root, io.env);
    const { inspectPack } = await import('@servicepack/core/pack-read');
    const { loadTrustStore } = await import('@servicepack/core/trust');
    const { sha256File } = await import('@servicepack/core/hash');
    const store = await loadTrustStore({
      ...(flags.root !== undefined ? { root: flags.root } : {}),
      trustFiles: flags.trust ?? [],
      sink: fe.sink,
    });
    const insp = await inspectPack(path, { trustedKeys: store.keys, revokedKeyIds: store.revoked });
    const wrapper = insp.sfx ? await describeWrapper(path, insp.sfx) : undefined;
    // of the pack itself: a .run shows the digest of the .tgz it carries
    const sha256 = insp.sfx
      ? await (await import('@servicepack/core/pack-sfx')).sha256Region(path, insp.sfx.packOffset, insp.sfx.packLength)
      : (await sha256File(path)).sha256;
    // The lines carry the manifest's own strings (titles, paths): a pack is inspected before it is trusted.
    const lines = fe.kind === 'json' ? [] : await inspectionLines(insp, sha256);
    if (wrapper !== undefined) lines.push('', ...wrapperLines(wrapper));
    fe.result(
      {
        path,
        size: insp.size,
        sha256,
        manifest: insp.manifest,
        signatures: insp.signatures,
        ...(wrapper !== undefined ? { oneFile: wrapper } : {}),
      },
      (t) => {
        for (const line of lines) t.print(printable(line));
      },
    );
    return EXIT.ok;
  } catch (e) {
    return reportFailure(fe, io, e);
  }
}

interface WrapperReport {
  packOffset: number;
  bundleSha256: string;
  /** the embedded bundle's bytes hash to what the trailer says */
  bundleIntact: boolean;
  /** the same bytes as the bundle beside this servicepack; null when this servicepack has none */
  sameAsThisServicepack: boolean | null;
}

/**
 * What the wrapper of a .run is, for information only: the install never runs it and trusts only the
 * signature of the pack inside. The bundle of this servicepack is looked for where `pnpm build` puts it
 * relative to this module (installer/dist/commands -> installer/dist/bundle; the bundle itself too).
 */
async function describeWrapper(
  path: string,
  sfx: import('@servicepack/core/pack-sfx').SfxLayout,
): Promise<WrapperReport> {
  const { sha256Region } = await import('@servicepack/core/pack-sfx');
  const actual = await sha256Region(path, sfx.bundleOffset, sfx.bundleLength);
  let mine: string | null = null;
  try {
    const { fileURLToPath } = await import('node:url');
    const { sha256File } = await import('@servicepack/core/hash');
    mine = (await sha256File(fileURLToPath(new URL('../bundle/servicepack.mjs', import.meta.url)))).sha256;
  } catch {
    mine = null;
  }
  return {
    packOffset: sfx.packOffset,
    bundleSha256: actual,
    bundleIntact: actual === sfx.bundleSha256,
    sameAsThisServicepack: mine === null ? null : mine === actual,
  };
}

function wrapperLines(w: WrapperReport): string[] {
  const same =
    w.sameAsThisServicepack === null
      ? 'cannot tell (no bundle beside this servicepack)'
      : w.sameAsThisServicepack
        ? 'yes'
        : 'no (another servicepack version, or modified)';
  return [
    'one-file pack (.run): only the pack above is trusted, by its signature; the wrapper is not',
    `  ${'pack at'.padEnd(14)}byte ${w.packOffset}`,
    `  ${'installer'.padEnd(14)}sha256 ${w.bundleSha256}${w.bundleIntact ? '' : ' (does not match its trailer: damaged)'}`,
    `  ${'same as mine'.padEnd(14)}${same}`,
  ];
}

export async function inspectionLines(insp: PackInspection, sha256: string): Promise<string[]> {
  const { levelName, rollupName } = await import('@servicepack/core/level');
  const m = insp.manifest;
  const lines: string[] = [];
  const row = (k: string, v: string) => lines.push(`${k.padEnd(12)}${v}`);
  row('id', m.id);
  row('title', m.title);
  row('kind', m.kind === 'rollup' ? `rollup (${rollupName(m.id)})` : m.kind);
  row(
    'level',
    m.kind === 'service-pack'
      ? `${m.level} (${levelName(m.level)})`
      : `${levelName(m.baseLevel ?? m.level)} (a ${m.kind} does not change the level)`,
  );
  row('arch', m.arch);
  row(
    'applies to',
    `${m.product} ${m.appliesTo.version} at ${m.appliesTo.levels.map((l) => levelName(l)).join(', ')}${m.appliesTo.hotfixes?.length ? ` (with or without hotfixes ${m.appliesTo.hotfixes.join(', ')})` : ''}`,
  );
  if (m.appliesTo.requires?.length)
    row(
      'requires',
      `${m.appliesTo.requires.join(', ')} (installed first: this pack's files are built on ${m.appliesTo.requires.length === 1 ? 'it' : 'them'})`,
    );
  row('supersedes', m.supersedes.length ? m.supersedes.join(', ') : '(none)');
  row('restart', m.restart ? 'yes (the service restarts)' : 'no');
  row('created', m.created);
  row('pack', `${human(insp.size)}, sha256 ${sha256}`);
  lines.push('', `fixes (${m.fixes.length})`);
  const idWidth = Math.max(8, ...m.fixes.map((f) => f.id.length));
  for (const f of m.fixes) lines.push(`  ${f.id.padEnd(idWidth)}  ${f.title}${f.security ? '  [security]' : ''}`);
  const count = (a: string) => m.files.filter((f) => f.action === a).length;
  lines.push(
    '',
    `files (${m.files.length}: ${count('add')} add, ${count('replace')} replace, ${count('delete')} delete)`,
  );
  const sizeWidth = Math.max(4, ...m.files.map((f) => String(f.size ?? '').length));
  for (const f of m.files) {
    lines.push(
      `  ${f.action.padEnd(8)}${String(f.size ?? '-').padStart(sizeWidth)}  ${f.path}${f.config ? '  (config)' : ''}`,
    );
  }
  if (m.documents?.length) {
    lines.push('', 'documents');
    for (const d of m.documents) lines.push(`  ${d.name}  ${human(d.size)}`);
  }
  lines.push('', `signatures (${insp.signatures.length})`);
  if (insp.signatures.length === 0) lines.push('  (none: the pack is unsigned)');
  for (const s of insp.signatures) lines.push(`  ${s.keyid}  ${describeSignature(s)}`);
  return lines;
}

export async function runPackSign(path: string, flags: { key: string; json?: true }, io: Io): Promise<number> {
  const fe = await chooseFrontEnd(io, { json: flags.json === true, quiet: false });
  try {
    const privateKey = await loadPrivateKey(flags.key);
    const [{ signPack }, { readPackSignatures }] = await Promise.all([
      import('@servicepack/core/pack-write'),
      import('@servicepack/core/pack-read'),
    ]);
    const { keyIdOf } = await import('@servicepack/core/trust');
    const { createPublicKey } = await import('node:crypto');
    await signPack(path, privateKey);
    const keyid = keyIdOf(createPublicKey(privateKey));
    const { signatures } = await readPackSignatures(path);
    fe.result({ path, keyid, signatures: signatures.map((s) => s.keyid) }, (t) =>
      t.print(
        safe`signed ${path} with key ${keyid} (${signatures.length} signature${signatures.length === 1 ? '' : 's'})`,
      ),
    );
    return EXIT.ok;
  } catch (e) {
    return reportFailure(fe, io, e);
  }
}

export async function runKeygen(flags: { out: string; name: string; json?: true }, io: Io): Promise<number> {
  const fe = await chooseFrontEnd(io, { json: flags.json === true, quiet: false });
  try {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(flags.name))
      throw new UsageError(`--name ${flags.name}: letters, digits, ".", "_" and "-" only`);
    const { generateKeyPair } = await import('@servicepack/core/trust');
    const privatePath = join(flags.out, `${flags.name}.key`);
    const publicPath = join(flags.out, `${flags.name}.pub`);
    // never replace a key: packs signed with it would become unverifiable the moment it is lost
    for (const p of [privatePath, publicPath])
      if (existsSync(p)) throw new UsageError(`${p} already exists; choose another --name or --out`);
    await mkdir(flags.out, { recursive: true });
    const pair = generateKeyPair();
    await writeFile(privatePath, pair.privateKeyPem, { mode: 0o600, flag: 'wx' });
    await writeFile(publicPath, pair.publicKeyPem, { mode: 0o644, flag: 'wx' });
    fe.result({ keyid: pair.keyid, privateKey: privatePath, publicKey: publicPath }, (t) => {
      t.log(
        safe`wrote ${privatePath} (private: keep it secret) and ${publicPath} (public: goes into installations' .servicepack/trust/)`,
      );
      t.print(printable(pair.keyid));
    });
    return EXIT.ok;
  } catch (e) {
    return reportFailure(fe, io, e);
  }
}
