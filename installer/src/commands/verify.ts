import type { Command } from '@commander-js/extra-typings';
import { EXIT } from '../exit.js';
import { checkedRoot, chooseFrontEnd, type Io, type RunState, reportFailure } from '../io.js';
import { printable, safe } from '../reporters/printable.js';

interface VerifyFlags {
  root?: string;
  json?: true;
  feed?: string;
  trust?: string[];
}

export function registerVerify(program: Command, io: Io, state: RunState): void {
  program
    .command('verify')
    .description('check every file the product owns against the state record, rpm -V style; exit 4 on any difference')
    .option('--root <dir>', 'installation root (default: $SERVICEPACK_ROOT)')
    .option('--json', 'print one JSON document on stdout')
    .option(
      '--feed <url>',
      "compare with the vendor's release in the signed feed's catalog instead (http(s), file: URL or folder; also for a tree with no state record)",
    )
    .option('--trust <file...>', 'with --feed: also trust these public keys (PEM)')
    .addHelpText(
      'after',
      `
One line per difference on stdout:
  S.5      lib/server.js     S size, M mode, 5 sha256 content differ ("." = same)
  missing  lib/platform.js   recorded, not on disk
  extra    lib/evil.js       on disk, not in the record
  record   BUILDINFO.json    the state record and BUILDINFO.json disagree
With --feed the baseline is the release BUILDINFO.json names, from the feed's signed catalog; a
catalog holds no size or mode, so a modified file shows ??5.
Exit 0: no difference (or no state record and no --feed: nothing to verify against); 4: differences.`,
    )
    .action(async (flags) => {
      state.exitCode = await runVerify(flags, io);
    });
}

export async function runVerify(flags: VerifyFlags, io: Io): Promise<number> {
  const fe = await chooseFrontEnd(io, { json: flags.json === true, quiet: false });
  try {
    const root = await checkedRoot(flags.root, io.env);
    // Every owned file will be hashed, on both cores for a large tree: the second one's thread
    // starts before the rest is loaded or read, so its start-up is not on the way (docs/performance.md).
    if (flags.feed === undefined) (await import('@servicepack/core/verify-start')).startVerifyWorker(root);
    const { verifyInstallation, verifyLine } = await import('@servicepack/core/verify');
    const v =
      flags.feed === undefined
        ? await verifyInstallation(root)
        : await (await import('@servicepack/core/verify-feed')).verifyAgainstFeed(root, flags.feed, {
            ...(flags.trust ? { trustFiles: flags.trust } : {}),
            sink: fe.sink,
          });
    const code = v.clean ? EXIT.ok : EXIT.integrity;
    const baseline = v.catalog ? safe`${v.catalog.release} in the catalog of ${v.catalog.feed}` : 'the state record';
    fe.result({ ok: v.clean, exitCode: code, ...v }, (t) => {
      for (const p of v.problems) t.print(printable(verifyLine(p)));
      if (v.note !== undefined) t.print(printable(v.note));
      else if (v.clean) t.log(safe`verify: ${v.checked} files of ${v.levelName} match ${baseline}`);
      else
        t.log(
          safe`verify: ${v.problems.length} ${v.problems.length === 1 ? 'difference' : 'differences'} from ${baseline} in ${v.checked} files (${v.levelName})`,
        );
    });
    return code;
  } catch (e) {
    return reportFailure(fe, io, e);
  }
}
