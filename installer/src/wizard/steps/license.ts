import type { StepResult, WizardContext } from '../context.js';
import { eulaDocument } from '../views.js';

/** License: the agreement the pack carries; Next stays closed until it is accepted. No document, no question. */
export async function license(
  ctx: Pick<WizardContext, 'ui' | 'services' | 'chosen' | 'eula' | 'accepted'>,
): Promise<StepResult> {
  const pack = ctx.chosen!.pack!;
  const name = eulaDocument(pack.manifest);
  if (name === undefined) return 'skip';
  if (ctx.eula?.packPath !== pack.path) {
    ctx.ui.display('working', { message: 'Reading the license agreement…' });
    ctx.eula = { name, text: await ctx.services.readDocument(pack, name), packPath: pack.path };
    ctx.accepted = false;
  }
  const a = await ctx.ui.ask('license', {
    title: pack.manifest.title,
    document: name,
    text: ctx.eula.text,
    accepted: ctx.accepted,
  });
  if (a.nav === 'back') return 'back';
  ctx.accepted = true;
  return 'next';
}
