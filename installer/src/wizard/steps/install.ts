import type { ServicepackEvent } from '@servicepack/core/events';
import type { InstallResult } from '@servicepack/core/install';
import { EXIT } from '../../exit.js';
import type { StepResult, WizardContext } from '../context.js';
import { restartPolicy } from '../../options.js';
import { finishProgress, initialProgress, reduceProgress } from '../progress.js';
import { finishedOutcome, WizardError } from '../views.js';

type Ctx = Pick<
  WizardContext,
  'ui' | 'services' | 'request' | 'root' | 'chosen' | 'eula' | 'accepted' | 'choices' | 'result' | 'logFile'
>;

/**
 * Install: one transaction in the engine, drawn from its events. Nothing here can stop it halfway:
 * the engine runs to its end (committed, or rolled back on failure) and only then does the wizard
 * move on — or leave, when the administrator asked to while it ran.
 */
export async function install(ctx: Ctx): Promise<StepResult> {
  const chosen = ctx.chosen!;
  const root = ctx.root!;
  if (ctx.eula && !ctx.accepted) {
    throw new WizardError('E_USAGE', EXIT.usage, 'The license agreement was not accepted: nothing was installed.');
  }
  let view = initialProgress(chosen.pack?.manifest.title ?? chosen.path, root);
  ctx.ui.display('progress', view);
  const sink = (ev: ServicepackEvent) => {
    view = reduceProgress(view, ev);
    ctx.ui.display('progress', view);
  };
  let done: { result: InstallResult; logFile?: string };
  try {
    done = await ctx.services.install({
      root,
      packs: [chosen.path],
      trustFiles: ctx.request.trustFiles,
      allowUnsigned: ctx.request.allowUnsigned,
      backup: ctx.choices.backup,
      modified: ctx.choices.modified,
      restart: restartPolicy(ctx.choices.restart),
      dryRun: false,
      force: ctx.request.force,
      acceptEula: ctx.accepted,
      healthCheck: ctx.request.healthCheck !== false,
      ...(ctx.request.healthTimeoutSeconds !== undefined
        ? { healthTimeoutSeconds: ctx.request.healthTimeoutSeconds }
        : {}),
      sink,
    });
  } finally {
    ctx.ui.display('progress', finishProgress(view));
  }
  ctx.result = done.result;
  if (done.logFile !== undefined) ctx.logFile = done.logFile;
  if (ctx.ui.leaveRequested()) return finishedOutcome(done.result, ctx.logFile);
  return 'next';
}
