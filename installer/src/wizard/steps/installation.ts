import { resolve } from 'node:path';
import { ROOT_ERROR_CODES } from '@servicepack/core/root';
import { EXIT, errorDocument } from '../../exit.js';
import type { StepResult, WizardContext } from '../context.js';
import { errorOutcome, errorView, installationView, WizardError } from '../views.js';

type Ctx = Pick<WizardContext, 'ui' | 'services' | 'request' | 'cwd' | 'root' | 'rootPrompted' | 'installation'>;

/**
 * Installation: find inetsrv in --root / $SERVICEPACK_ROOT, or ask for the folder until one is
 * found; settle an interrupted transaction first (recover, if the administrator agrees) and refuse
 * early what the engine would refuse anyway (an inconsistent record), so no question is asked in vain.
 */
export async function installation(ctx: Ctx): Promise<StepResult> {
  let ask = ctx.root === undefined;
  let message: string | undefined;
  let note: string | undefined;
  for (;;) {
    if (ask) {
      const a = await ctx.ui.ask('root', {
        defaultRoot: ctx.root ?? '',
        ...(message !== undefined ? { message } : {}),
      });
      if (a.nav === 'back') return 'back';
      const typed = a.value.trim();
      if (typed === '' && ctx.root === undefined) {
        message = 'Type the folder inetsrv is installed in, e.g. /opt/inetsrv.';
        continue;
      }
      ctx.root = resolve(ctx.cwd, typed === '' ? ctx.root! : typed);
      ctx.rootPrompted = true;
    }
    const root = ctx.root!;
    ctx.ui.display('working', { message: `Looking for inetsrv in ${root}…` });
    try {
      ctx.installation = await ctx.services.detect(root);
    } catch (e) {
      const code = errorDocument(e).code;
      if (!ROOT_ERROR_CODES.includes(code)) throw e;
      const why =
        code === 'E_ROOT_MISSING'
          ? 'that folder does not exist'
          : code === 'E_ROOT_NOT_FOLDER'
            ? 'that is not a folder'
            : 'no BUILDINFO.json there';
      message = `No inetsrv installation in ${root} (${why}).`;
      ask = true;
      continue;
    }
    try {
      await ctx.services.checkJournal(root);
    } catch (e) {
      if (errorDocument(e).code !== 'E_NEEDS_RECOVER') throw e;
      const problem = { ...errorView(e), action: 'Recover now' };
      const a = await ctx.ui.ask('error', problem);
      if (a.nav === 'back' || a.value !== 'action') return errorOutcome(problem);
      ctx.ui.display('working', { message: 'Recovering the interrupted transaction…' });
      note = await ctx.services.recover(root, () => {});
      continue;
    }
    ctx.ui.setProduct(ctx.installation.buildInfo.displayName);
    const view = installationView(ctx.installation, {
      canChangeRoot: true,
      force: ctx.request.force,
      ...(note !== undefined ? { note } : {}),
    });
    const a = await ctx.ui.ask('installation', view);
    if (a.nav === 'back') return 'back';
    if (a.value === 'change-root') {
      ask = true;
      message = undefined;
      continue;
    }
    if (view.blocking)
      throw new WizardError(
        'E_INCONSISTENT',
        EXIT.integrity,
        `The installation in ${root} is inconsistent. ${view.blocking}`,
        view.problems,
      );
    return 'next';
  }
}
