import type { StepResult, WizardContext } from '../context.js';
import { finishedOutcome, finishView } from '../views.js';

/** Finish: what changed, the new level, whether a restart is still due, where backup and log are. */
export async function finish(ctx: Pick<WizardContext, 'ui' | 'result' | 'logFile'>): Promise<StepResult> {
  const res = ctx.result!;
  await ctx.ui.ask('finish', finishView(res, ctx.logFile));
  return finishedOutcome(res, ctx.logFile);
}
