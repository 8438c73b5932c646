import type { Command } from '@commander-js/extra-typings';
import type { RecoverPlan, RecoverResult } from '@servicepack/core/recover';
import { EXIT } from '../exit.js';
import { faultHooks } from '../fault.js';
import { checkedRoot, chooseFrontEnd, type Io, type RunState, reportFailure } from '../io.js';
import { parseWaitSeconds, WAIT_HELP } from '../options.js';
import type { TextOutput } from '../front-end.js';
import { joinShown, safe } from '../reporters/printable.js';
import { wouldChangeLines } from '../reporters/text.js';

interface RecoverFlags {
  root?: string;
  json?: true;
  quiet?: true;
  wait?: number;
  dryRun?: true;
}

export function registerRecover(program: Command, io: Io, state: RunState): void {
  program
    .command('recover')
    .description('finish or roll back an interrupted transaction (install and uninstall do this first on their own)')
    .option('--root <dir>', 'installation root (default: $SERVICEPACK_ROOT)')
    .option('--dry-run', 'say what it would roll back or finish, and list the files; change nothing')
    .option('--json', 'print one JSON document on stdout')
    .option('-q, --quiet', 'print nothing but warnings, errors and the result')
    .option('--wait <seconds>', WAIT_HELP, parseWaitSeconds)
    .action(async (flags) => {
      state.exitCode = await runRecover(flags, io);
    });
}

export async function runRecover(flags: RecoverFlags, io: Io): Promise<number> {
  const fe = await chooseFrontEnd(io, { json: flags.json === true, quiet: flags.quiet === true });
  try {
    const root = await checkedRoot(flags.root, io.env);
    const hooks = faultHooks(io.env, io.err);
    const { recoverInstallation } = await import('@servicepack/core/recover');
    const result = await recoverInstallation({
      root,
      sink: fe.sink,
      lockWait: flags.wait ?? 0,
      ...(hooks ? { hooks } : {}),
      ...(flags.dryRun ? { dryRun: true } : {}),
    });
    const code = result.restartRequired ? EXIT.restartRequired : EXIT.ok;
    fe.result({ exitCode: code, ...result }, (t) => printResult(t, result));
    return code;
  } catch (e) {
    return reportFailure(fe, io, e);
  }
}

/** The phase table's onRecover actions, as the operator reads them. */
const SETTLE_TEXT: Record<RecoverPlan['settle'], string> = {
  'roll-back': 'roll back',
  'roll-forward': 'finish (roll forward)',
  'finish-rollback': 'finish the rollback of',
  'clean-leftovers': 'remove the leftovers of',
};

function printPlan(r: TextOutput, root: string, p: RecoverPlan): void {
  if (p.transactionId === undefined) {
    r.print(safe`Dry run: nothing to recover in ${root}: no interrupted transaction. Nothing was changed.`);
    if (p.leftovers.length > 0) {
      r.print(safe`  would remove ${p.leftovers.length} leftovers of a run that died before writing its journal`);
      for (const l of wouldChangeLines([['remove', p.leftovers]])) r.print(l);
    }
    return;
  }
  r.print(
    safe`Dry run: would ${SETTLE_TEXT[p.settle]} the interrupted ${p.action ?? ''} of ${joinShown(p.packs, ', ')} in ${root} (transaction ${p.transactionId}, pid ${String(p.pid ?? '?')}, phase ${p.phase}). Nothing was changed.`,
  );
  const rollBack = p.settle === 'roll-back';
  r.print(
    safe`  files and folders it would change: ${String(p.files.length)}${rollBack ? ' (each is checked against the journal first: one that differs stops the recovery, exit 6)' : ''}`,
  );
  for (const l of wouldChangeLines(
    (['restore', 'remove', 'finish'] as const).map((v) => [v, p.files.filter((f) => f.verb === v).map((f) => f.path)]),
  ))
    r.print(l);
  if (p.startsService) r.print(safe`  would start the service again if it is not running`);
}

function printResult(r: TextOutput, res: RecoverResult): void {
  if (res.plan) {
    printPlan(r, res.root, res.plan);
    return;
  }
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
