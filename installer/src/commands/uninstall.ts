import type { Command } from '@commander-js/extra-typings';
import type { UninstallResult } from '@servicepack/core/uninstall';
import { EXIT } from '../exit.js';
import { faultHooks } from '../fault.js';
import { checkedRoot, chooseFrontEnd, type Io, type RunState, refuseUnconfirmed, reportFailure } from '../io.js';
import { optionsFromFlags, parseWaitSeconds, restartPolicy, WAIT_HELP } from '../options.js';
import type { TextOutput } from '../front-end.js';
import { joinShown, safe } from '../reporters/printable.js';
import { wouldChangeLines } from '../reporters/text.js';
import { withTargetView } from '../txlog.js';

interface UninstallFlags {
  root?: string;
  unattended?: true;
  yes?: true;
  dryRun?: true;
  overwriteModified?: true;
  restart: boolean;
  json?: true;
  quiet?: true;
  wait?: number;
}

export function registerUninstall(program: Command, io: Io, state: RunState): void {
  program
    .command('uninstall')
    .description('remove the newest update (or ID, when it is the newest): the files as they were before it, exactly')
    .argument('[id]', 'the update to remove, e.g. Q236565 or inetsrv-4.0-sp6 (default: the newest)')
    .option('--root <dir>', 'installation root (default: $SERVICEPACK_ROOT)')
    .option('-u, --unattended', 'no questions: remove without Setup (the wizard on a terminal), as scripts need')
    .option('-y, --yes', 'the same as -u: needed to change anything without a terminal to ask on')
    .option(
      '-o, --overwrite-modified',
      'remove it even when files it installed were changed since (they are kept in .servicepack/saved/)',
    )
    .option('-z, --no-restart', 'stop the service for the change but do not start it again; exit 10')
    .option('--dry-run', 'check and plan only, list the files it would change; change nothing')
    .option('--json', 'print one JSON document on stdout')
    .option('-q, --quiet', 'print nothing but warnings, errors and the result')
    .option('--wait <seconds>', WAIT_HELP, parseWaitSeconds)
    .action(async (id, flags) => {
      const refused = await refuseUnconfirmed('uninstall', flags, io);
      if (refused !== undefined) {
        state.exitCode = refused;
        return;
      }
      state.exitCode = await runUninstall(id, flags, io);
    });
}

export async function runUninstall(id: string | undefined, flags: UninstallFlags, io: Io): Promise<number> {
  const fe = await chooseFrontEnd(io, { json: flags.json === true, quiet: flags.quiet === true, taskList: true });
  try {
    const root = await checkedRoot(flags.root, io.env);
    const { code, result } = await withTargetView(
      fe,
      { root, request: { uninstall: id ?? 'newest', options: { ...flags, json: undefined, quiet: undefined } } },
      async (log) => {
        const hooks = faultHooks(io.env, io.err);
        const { uninstallUpdate } = await import('@servicepack/core/uninstall');
        const { modified, restart, lockWait } = optionsFromFlags(flags);
        const result = await uninstallUpdate({
          root,
          ...(id !== undefined ? { id } : {}),
          modified,
          restart: restartPolicy(restart),
          lockWait,
          dryRun: flags.dryRun === true,
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
    fe.result({ exitCode: code, ...result }, (t) => printResult(t, result));
    return code;
  } catch (e) {
    return reportFailure(fe, io, e);
  }
}

function printResult(r: TextOutput, res: UninstallResult): void {
  const levels = safe`${res.before.levelName} -> ${res.after.levelName}`;
  const c = res.changed;
  if (res.dryRun) {
    r.print(safe`Dry run: would uninstall ${res.packId} from ${res.root}: ${levels}. Nothing was changed.`);
    r.print(safe`  would restore ${c.restored.length} files, remove ${c.removed.length}`);
    for (const l of wouldChangeLines([
      ['restore', c.restored],
      ['remove', c.removed],
    ]))
      r.print(l);
    if (c.saved.length > 0)
      r.print(safe`  changed since the install, would be kept in .servicepack/saved/: ${joinShown(c.saved, ', ')}`);
    return;
  }
  r.print(safe`${r.o.green('Uninstalled')} ${res.packId} from ${res.root}: ${levels}`);
  r.print(safe`  restored ${c.restored.length} files, removed ${c.removed.length}`);
  if (res.savedDir)
    r.print(
      safe`  files changed since the install were kept in ${res.savedDir}: ${joinShown(res.changed.saved, ', ')}`,
    );
  if (res.restartRequired)
    r.print(r.o.yellow(safe`Restart required: ${res.restartMessage ?? 'restart the service to finish'}`));
}
