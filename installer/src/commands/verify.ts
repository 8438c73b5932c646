import type { Command } from '@commander-js/extra-typings';
import { EXIT } from '../exit.js';
import { chooseFrontEnd, type Io, type RunState, reportFailure, resolveRoot } from '../io.js';
import { printable, safe } from '../reporters/printable.js';

interface VerifyFlags {
  root?: string;
  json?: true;
}

export function registerVerify(program: Command, io: Io, state: RunState): void {
  program
    .command('verify')
    .description('check every file the product owns against the state record, rpm -V style; exit 4 on any difference')
    .option('--root <dir>', 'installation root (default: $SERVICEPACK_ROOT)')
    .option('--json', 'print one JSON document on stdout')
    .addHelpText(
      'after',
      `
One line per difference on stdout:
  S.5      lib/server.js     S size, M mode, 5 sha256 content differ ("." = same)
  missing  lib/platform.js   recorded, not on disk
  extra    lib/evil.js       on disk, not in the record
  record   BUILDINFO.json    the state record and BUILDINFO.json disagree
Exit 0: no difference (or no state record: nothing to verify against); 4: differences.`,
    )
    .action(async (flags) => {
      state.exitCode = await runVerify(flags, io);
    });
}

export async function runVerify(flags: VerifyFlags, io: Io): Promise<number> {
  const fe = await chooseFrontEnd(io, { json: flags.json === true, quiet: false });
  try {
    const root = resolveRoot(flags.root, io.env);
    const { verifyInstallation, verifyLine } = await import('@servicepack/core/verify');
    const v = await verifyInstallation(root);
    const code = v.clean ? EXIT.ok : EXIT.integrity;
    fe.result({ ok: v.clean, exitCode: code, ...v }, (t) => {
      for (const p of v.problems) t.print(printable(verifyLine(p)));
      if (v.note !== undefined) t.print(printable(v.note));
      else if (v.clean) t.log(safe`verify: ${v.checked} files of ${v.levelName} match the state record`);
      else
        t.log(
          safe`verify: ${v.problems.length} ${v.problems.length === 1 ? 'difference' : 'differences'} from the state record in ${v.checked} recorded files (${v.levelName})`,
        );
    });
    return code;
  } catch (e) {
    return reportFailure(fe, io, e);
  }
}
