import type { Outcome, WizardContext, WizardStep } from '../context.js';
import { WizardCancelled } from '../ui.js';
import { cancelledOutcome, errorOutcome, errorView, finishedOutcome, uninstalledOutcome } from '../views.js';
import { finish } from './finish.js';
import { install } from './install.js';
import { installation } from './installation.js';
import { license } from './license.js';
import { options } from './options.js';
import { chooseRemoval, remove, removalFinish, removalOptions } from './uninstall.js';
import { update } from './update.js';
import { welcome } from './welcome.js';

/** The install wizard, in order. Each step is a small function over the one context. */
export const INSTALL_STEPS: readonly WizardStep[] = [
  { name: 'welcome', stage: 'Welcome', run: welcome },
  { name: 'installation', stage: 'Installation', run: installation },
  { name: 'update', stage: 'Update', run: update },
  { name: 'license', stage: 'License', run: license },
  { name: 'options', stage: 'Options', run: options },
  { name: 'install', stage: 'Install', run: install },
  { name: 'finish', stage: 'Finish', run: finish },
];

/** `servicepack uninstall` on a terminal: the short removal flow. */
export const UNINSTALL_STEPS: readonly WizardStep[] = [
  { name: 'welcome', stage: 'Welcome', run: welcome },
  { name: 'installation', stage: 'Installation', run: installation },
  { name: 'update', stage: 'Update', run: chooseRemoval },
  { name: 'options', stage: 'Options', run: removalOptions },
  { name: 'install', stage: 'Remove', run: remove },
  { name: 'finish', stage: 'Finish', run: removalFinish },
];

/** What the wizard ended with when it ends early (a cancel, a closed screen): the change, if one was made. */
function endedOutcome(ctx: WizardContext): Outcome {
  if (ctx.result) return finishedOutcome(ctx.result, ctx.logFile);
  if (ctx.removed) return uninstalledOutcome(ctx.removed, ctx.logFile);
  return cancelledOutcome();
}

/** Refusals of the transaction that the administrator can fix from the Options screen and retry. */
const RETRYABLE = new Set(['E_LOCALLY_MODIFIED', 'E_BUSY']);

/**
 * Runs the steps forward and back until one ends the wizard. A failure becomes an error screen
 * (never a stack trace) whose exit code is the engine's; a cancel before the commit is "nothing
 * changed" (exit 1).
 */
export async function runWizardSteps(
  ctx: WizardContext,
  steps: readonly WizardStep[] = ctx.request.flow === 'uninstall' ? UNINSTALL_STEPS : INSTALL_STEPS,
): Promise<Outcome> {
  const stages = steps.map((s) => s.stage);
  let i = 0;
  for (;;) {
    const step = steps[i];
    if (!step) return endedOutcome(ctx);
    let r: Awaited<ReturnType<WizardStep['run']>>;
    ctx.ui.setStage(step.stage, stages);
    try {
      r = await step.run(ctx);
    } catch (e) {
      if (e instanceof WizardCancelled) return endedOutcome(ctx);
      const view = errorView(e, { canGoBack: step.name === 'install' && RETRYABLE.has(errorView(e).code) });
      if (ctx.ui.leaveRequested()) return errorOutcome(view);
      let back = false;
      try {
        back = (await ctx.ui.ask('error', view)).nav === 'back';
      } catch (c) {
        if (!(c instanceof WizardCancelled)) throw c;
      }
      if (!(back && view.canGoBack)) return errorOutcome(view);
      r = 'back';
    }
    if (typeof r === 'object') return r;
    const forward = r === 'next' || (r === 'skip' && ctx.direction === 'forward');
    ctx.direction = forward ? 'forward' : 'back';
    i = forward ? i + 1 : Math.max(0, i - 1);
  }
}
