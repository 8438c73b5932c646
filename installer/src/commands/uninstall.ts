import type { Command } from '@commander-js/extra-typings';
import type { UninstallResult } from '@servicepack/core/uninstall';
import { EXIT } from '../exit.js';
import { faultHooks } from '../fault.js';
import { type Io, makeReporter, type RunState, reportFailure, resolveRoot } from '../io.js';
import { optionsFromFlags, restartPolicy } from '../options.js';
import type { PlainReporter } from '../reporters/plain.js';
import { joinShown, safe } from '../reporters/printable.js';
import { withTransactionLog } from '../txlog.js';

interface UninstallFlags {
  root?: string;
  unattended?: true;
  overwriteModified?: true;
  restart: boolean;
  json?: true;
  quiet?: true;
}

export function registerUninstall(program: Command, io: Io, state: RunState): void {
  program
    .command('uninstall')
    .description('remove the newest update (or ID, when it is the newest): the files as they were before it, exactly')
    .argument('[id]', 'the update to remove, e.g. Q236565 or inetsrv-4.0-sp6 (default: the newest)')
    .option('--root <dir>', 'installation root (default: $SERVICEPACK_ROOT)')
    .option('-u, --unattended', 'no questions: remove without Setup (the wizard on a terminal), as scripts need')
    .option(
      '-o, --overwrite-modified',
      'remove it even when files it installed were changed since (they are kept in .servicepack/saved/)',
    )
    .option('-z, --no-restart', 'stop the service for the change but do not start it again; exit 10')
    .option('--json', 'print one JSON document on stdout')
    .option('-q, --quiet', 'print nothing but warnings, errors and the result')
    .action(async (id, flags) => {
      state.exitCode = await runUninstall(id, flags, io);
    });
}

export async function runUninstall(id: string | undefined, flags: UninstallFlags, io: Io): Promise<number> {
  const rep = makeReporter(io, flags.json === true, flags.quiet === true);
  try {
    const root = resolveRoot(flags.root, io.env);
    const { code, result } = await withTransactionLog(
      {
        root,
        request: { uninstall: id ?? 'newest', options: { ...flags, json: undefined, quiet: undefined } },
        next: rep.r.sink,
        ...(io.verbose ? { trace: io.err } : {}),
      },
      async (log) => {
        const hooks = faultHooks(io.env, io.err);
        const { uninstallUpdate } = await import('@servicepack/core/uninstall');
        const { modified, restart } = optionsFromFlags(flags);
        const result = await uninstallUpdate({
          root,
          ...(id !== undefined ? { id } : {}),
          modified,
          restart: restartPolicy(restart),
          sink: log.sink,
          transactionId: log.transactionId,
          ...(hooks ? { hooks } : {}),
        });
        const code = result.restartRequired ? EXIT.restartRequired : EXIT.ok;
        return {
          value: { code, result },
          result: {
            exitCode: code,
            ok: true,
            uninstalled: result.packId,
            before: result.before,
            after: result.after,
            changed: result.changed,
            restartRequired: result.restartRequired,
          },
        };
      },
    );
    if (rep.kind === 'json') rep.r.result({ exitCode: code, ...result });
    else printResult(rep.r, result);
    return code;
  } catch (e) {
    return reportFailure(rep, io, e);
  }
}

function printResult(r: PlainReporter, res: UninstallResult): void {
  r.print(
    safe`${r.o.green('Uninstalled')} ${res.packId} from ${res.root}: ${res.before.levelName} -> ${res.after.levelName}`,
  );
  r.print(safe`  restored ${res.changed.restored.length} files, removed ${res.changed.removed.length}`);
  if (res.savedDir)
    r.print(
      safe`  files changed since the install were kept in ${res.savedDir}: ${joinShown(res.changed.saved, ', ')}`,
    );
  if (res.restartRequired)
    r.print(r.o.yellow(safe`Restart required: ${res.restartMessage ?? 'restart the service to finish'}`));
}
