import type { StepResult, WizardContext } from '../context.js';
import { optionsView, packView } from '../views.js';

/** Options: backup, restart, locally modified files — each the twin of a command-line switch. */
export async function options(
  ctx: Pick<WizardContext, 'ui' | 'request' | 'cwd' | 'choices' | 'chosen' | 'root'>,
): Promise<StepResult> {
  const chosen = ctx.chosen!;
  const a = await ctx.ui.ask('options', optionsView(ctx, packView(chosen), ctx.root!, chosen.path));
  if (a.nav === 'back') return 'back';
  ctx.choices = { ...a.value };
  return 'next';
}
