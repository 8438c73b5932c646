import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { SFX_MAGIC, SFX_TRAILER_BYTES, sfxTrailer } from '@servicepack/core/pack-sfx';
import { paths } from './paths.js';

/**
 * Writes one-file packs (.run, docs/formats.md "One-file pack (.run)"): stub | bundle | pack | trailer.
 * The pack goes in byte for byte, signature and all; the .run adds no trust of its own. The stub
 * finds node, the loader (inline in the stub) puts the bundle in a private temp folder and runs
 * `servicepack install [switches] -- THIS.run`, and the installer reads the pack out of the .run by
 * the trailer's offsets (core pack/sfx.ts), as `servicepack install X.run` does anywhere.
 */

/** Where `pnpm build` leaves the bundled CLI (scripts/bundle.mjs). */
export const BUNDLE_PATH = join(paths.repoRoot, 'installer', 'dist', 'bundle', 'servicepack.mjs');

/** NT's switches and ours that a .run passes on to `servicepack install`; anything else is refused. */
const SWITCHES = ['-u', '-q', '-z', '-n', '-o', '-f', '-y', '--yes', '--json', '--accept-eula', '--dry-run'];

// Runs under `node --input-type=module -e '...'`: no single quotes, plain JavaScript (node >= 20 is
// checked before anything else, so an older node reports instead of failing on syntax).
const LOADER = `
import { closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
const [file, ...args] = process.argv.slice(1);
const fail = (m, code) => { process.stderr.write(file + ": " + m + "\\n"); process.exit(code); };
if (Number(process.versions.node.split(".")[0]) < 20) fail("needs Node.js 20 or later (this node is " + process.version + ")", 1);
const HELP = [
  "usage: " + file + " [switches]",
  "",
  "A one-file service pack: the signed pack and the servicepack installer in one file. It needs Node.js 20",
  "or later, nothing else. On a terminal with no switches it opens Setup (the wizard) on its pack; otherwise",
  "it runs: servicepack install [switches] -- " + file,
  "",
  "  -u, -y, --yes   unattended: install without Setup, as scripts need",
  "  -q              print nothing but warnings, errors and the result",
  "  -z              do not restart the service (exit 10: restart it yourself)",
  "  -n              keep no uninstall data",
  "  -o              replace locally modified files (they go to the backup)",
  "  -f              install even when the state record and BUILDINFO.json disagree",
  "  --root DIR      installation root (default: $SERVICEPACK_ROOT)",
  "  --json          print one JSON document on stdout",
  "  --accept-eula   accept the license agreement (read it: servicepack pack inspect, or Setup)",
  "  --dry-run       verify and plan only; change nothing",
  "",
  "The pack is verified against the trust store of the installation (.servicepack/trust) exactly as",
  "servicepack install PACK verifies it. With servicepack installed, servicepack install " + file,
  "and servicepack pack inspect " + file + " read only the pack inside and run nothing of this file.",
  "Exit codes are those of the installer: 0 installed, 2 usage, 3 not applicable, 4 integrity (signature), 10 restart.",
  "",
].join("\\n");
const SWITCHES = new Set(${JSON.stringify(SWITCHES)});
const out = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--help" || a === "-h" || a === "-?" || a === "/?") { process.stdout.write(HELP); process.exit(0); }
  if (a === "--root") { if (i + 1 >= args.length) fail("--root needs the installation folder", 2); out.push("--root", args[++i]); }
  else if (a.startsWith("--root=") || SWITCHES.has(a) || /^-[uqznofy]{2,}$/.test(a)) out.push(a);
  else fail("unknown switch " + JSON.stringify(a) + ": see " + file + " --help", 2);
}
const T = ${SFX_TRAILER_BYTES};
const fd = openSync(file, "r");
const size = fstatSync(fd).size;
const trailer = Buffer.alloc(T);
if (size < T || readSync(fd, trailer, 0, T, size - T) !== T) fail("is damaged (no trailer): copy it again", 4);
const text = trailer.toString("latin1");
let L = null;
try { L = JSON.parse(text.slice(${JSON.stringify(SFX_MAGIC)}.length)); } catch {}
const ok = (n) => Number.isSafeInteger(n) && n > 0;
if (!text.startsWith(${JSON.stringify(SFX_MAGIC)}) || L === null || !ok(L.bundleOffset) || !ok(L.bundleLength) || L.bundleOffset + L.bundleLength > size - T)
  fail("is damaged (its trailer does not fit the file): copy it again", 4);
const bundle = Buffer.alloc(L.bundleLength);
if (readSync(fd, bundle, 0, L.bundleLength, L.bundleOffset) !== L.bundleLength) fail("is damaged (short bundle): copy it again", 4);
closeSync(fd);
if (createHash("sha256").update(bundle).digest("hex") !== L.bundleSha256) fail("is damaged (its installer does not match its trailer): copy it again", 4);
const dir = mkdtempSync(join(tmpdir(), "servicepack-run-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
const main = join(dir, "servicepack.mjs");
writeFileSync(main, bundle, { mode: 0o600, flag: "wx" });
process.argv = [process.argv[0], main, "install", ...out, "--", file];
await import(pathToFileURL(main).href);
`;

/**
 * The node flags the bundle's first line asks for (`#!/usr/bin/env -S node --max-semi-space-size=1`,
 * from installer/bin/servicepack), so that a .run runs the installer the way /usr/bin/servicepack
 * does; only `--name=number` flags, since they go into the shell stub.
 */
export function shebangFlags(bundle: Buffer): string[] {
  const first = bundle.subarray(0, 256).toString('latin1').split('\n', 1)[0] ?? '';
  const m = /^#!\/usr\/bin\/env -S node((?: --[a-z0-9-]+=[0-9]+)*)$/.exec(first);
  return m?.[1] ? m[1].trim().split(' ') : [];
}

function stub(name: string, nodeFlags: readonly string[]): string {
  if (LOADER.includes("'")) throw new Error('sfx loader: single quote in the inline script');
  const flags = nodeFlags.map((f) => ` ${f}`).join('');
  return `#!/bin/sh
# ${name}: a one-file service pack (.run, format 1): this stub, the bundled servicepack installer and
# the signed pack, then a trailer with their offsets (docs/formats.md "One-file pack (.run)").
# Run: sh ${name} --help. The pack inside is verified like any .tgz; this file adds no trust.
NODE=$(command -v node 2>/dev/null) || NODE=
if [ -z "$NODE" ]; then
  echo "$0: needs Node.js 20 or later, and there is no node on PATH: install nodejs (>= 20) or put its folder on PATH" >&2
  exit 1
fi
exec "$NODE"${flags} --input-type=module -e '${LOADER}' -- "$0" "$@"
exit 1
`;
}

export interface WriteSfxOptions {
  /** the signed pack (.tgz) */
  pack: string;
  /** default: dist/.../X.run beside the pack */
  out?: string;
  /** the bundled CLI (default BUNDLE_PATH) */
  bundle?: string;
}

/** Writes PACK.run beside PACK.tgz (or `out`), executable, atomically; returns its path. */
export async function writeSfx(opts: WriteSfxOptions): Promise<string> {
  const bundlePath = opts.bundle ?? BUNDLE_PATH;
  if (!existsSync(bundlePath))
    throw new Error(
      `no bundled installer at ${bundlePath}: run \`pnpm build\` (which bundles the CLI) before writing .run packs`,
    );
  const out = opts.out ?? opts.pack.replace(/\.tgz$/, '') + '.run';
  const [bundle, pack] = await Promise.all([readFile(bundlePath), readFile(opts.pack)]);
  const head = Buffer.from(stub(basename(out), shebangFlags(bundle)), 'utf8');
  const layout = {
    bundleOffset: head.length,
    bundleLength: bundle.length,
    bundleSha256: createHash('sha256').update(bundle).digest('hex'),
    packOffset: head.length + bundle.length,
    packLength: pack.length,
  };
  const tmp = `${out}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', 0o755);
  try {
    for (const part of [head, bundle, pack, sfxTrailer(layout)]) await fh.write(part);
    await fh.chmod(0o755);
    await fh.close();
    await rename(tmp, out);
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
  return out;
}
