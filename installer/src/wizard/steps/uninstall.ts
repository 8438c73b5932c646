import type { UninstallResult } from '@servicepack/core/uninstall';
import type { StepResult, WizardContext } from '../context.js';
import { restartPolicy } from '../../options.js';
import { finishProgress, initialProgress, reduceProgress } from '../progress.js';
import { nothingRemovable, removalOptionsView, removeView, uninstalledOutcome, uninstallFinishView } from '../views.js';

/**
 * The short removal flow (`servicepack uninstall` on a terminal): Welcome and Installation are the
 * install flow's steps; these choose the update, its options, remove it and say what happened.
 */

/** Update: the installed updates, newest first; only one with uninstall data on top can come off. */
export async function chooseRemoval(
  ctx: Pick<WizardContext, 'ui' | 'request' | 'installation' | 'removal'>,
): Promise<StepResult> {
  const inst = ctx.installation!;
  const view = removeView(inst, ctx.removal ?? ctx.request.id);
  if (view.offered.length === 0) throw nothingRemovable(inst, view);
  const a = await ctx.ui.ask('remove', view);
  if (a.nav === 'back') return 'back';
  ctx.removal = a.value;
  return 'next';
}

export async function removalOptions(
  ctx: Pick<WizardContext, 'ui' | 'choices' | 'removal' | 'root'>,
): Promise<StepResult> {
  const a = await ctx.ui.ask('options', removalOptionsView(ctx, ctx.removal!, ctx.root!));
  if (a.nav === 'back') return 'back';
  ctx.choices = { ...a.value };
  return 'next';
}

/** Remove: one journaled transaction in the engine, drawn from its events like an install. */
export async function remove(
  ctx: Pick<WizardContext, 'ui' | 'services' | 'choices' | 'removal' | 'root' | 'removed' | 'logFile'>,
): Promise<StepResult> {
  let view = initialProgress(ctx.removal!, ctx.root!, 'uninstall');
  ctx.ui.display('progress', view);
  let done: { result: UninstallResult; logFile?: string };
  try {
    done = await ctx.services.uninstall({
      root: ctx.root!,
      id: ctx.removal!,
      modified: ctx.choices.modified === 'overwrite' ? 'overwrite' : 'stop',
      restart: restartPolicy(ctx.choices.restart),
      sink: (ev) => {
        view = reduceProgress(view, ev);
        ctx.ui.display('progress', view);
      },
    });
  } finally {
    ctx.ui.display('progress', finishProgress(view));
  }
  ctx.removed = done.result;
  if (done.logFile !== undefined) ctx.logFile = done.logFile;
  if (ctx.ui.leaveRequested()) return uninstalledOutcome(done.result, ctx.logFile);
  return 'next';
}

export async function removalFinish(ctx: Pick<WizardContext, 'ui' | 'removed' | 'logFile'>): Promise<StepResult> {
  const res = ctx.removed!;
  await ctx.ui.ask('finish', uninstallFinishView(res, ctx.logFile));
  return uninstalledOutcome(res, ctx.logFile);
}
