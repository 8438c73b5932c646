import type { StepResult, WizardContext } from '../context.js';
import { welcomeView } from '../views.js';

/** Welcome: what the wizard will do and where the updates come from. */
export async function welcome(ctx: Pick<WizardContext, 'ui' | 'request' | 'cwd'>): Promise<StepResult> {
  const a = await ctx.ui.ask('welcome', welcomeView(ctx));
  return a.nav === 'back' ? 'back' : 'next';
}
