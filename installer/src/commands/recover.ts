import type { Command } from '@commander-js/extra-typings';
import type { RecoverResult } from '@servicepack/core/recover';
import { EXIT } from '../exit.js';
import { faultHooks } from '../fault.js';
import { chooseFrontEnd, type Io, type RunState, reportFailure, resolveRoot } from '../io.js';
import type { TextOutput } from '../front-end.js';
import { joinShown, safe } from '../reporters/printable.js';

interface RecoverFlags {
  root?: string;
  json?: true;
  quiet?: true;
}

export function registerRecover(program: Command, io: Io, state: RunState): void {
  program
    .command('recover')
    .description('finish or roll back an interrupted transaction (install and uninstall do this first on their own)')
    .option('--root <dir>', 'installation root (default: $SERVICEPACK_ROOT)')
    .option('--json', 'print one JSON document on stdout')
    .option('-q, --quiet', 'print nothing but warnings, errors and the result')
    .action(async (flags) => {
      state.exitCode = await runRecover(flags, io);
    });
}

export async function runRecover(flags: RecoverFlags, io: Io): Promise<number> {
  const fe = await chooseFrontEnd(io, { json: flags.json === true, quiet: flags.quiet === true });
  try {
    const root = resolveRoot(flags.root, io.env);
    const hooks = faultHooks(io.env, io.err);
    const { recoverInstallation } = await import('@servicepack/core/recover');
    const result = await recoverInstallation({ root, sink: fe.sink, ...(hooks ? { hooks } : {}) });
    const code = result.restartRequired ? EXIT.restartRequired : EXIT.ok;
    fe.result({ exitCode: code, ...result }, (t) => printResult(t, result));
    return code;
  } catch (e) {
    return reportFailure(fe, io, e);
  }
}

function printResult(r: TextOutput, res: RecoverResult): void {
  const o = res.outcome;
  if (!o) {
    r.print(
      safe`Nothing to recover in ${res.root}: no interrupted transaction.${res.cleaned.length > 0 ? safe` Removed leftovers: ${joinShown(res.cleaned, ', ')}.` : ''}`,
    );
    return;
  }
  const verb = o.direction === 'rolled-back' ? 'Rolled back' : 'Finished';
  r.print(
    safe`${r.o.green(verb)} the interrupted ${o.action} of ${joinShown(o.packs, ', ')} (transaction ${o.transactionId}): ${res.root} is at ${o.levelName}`,
  );
  if (res.restartRequired) r.print(r.o.yellow(safe`Restart required: ${res.restartMessage ?? 'start the service'}`));
}
