import { resolve } from 'node:path';
import { type ApplicabilityTarget, applicablePacks, checkApplicable } from '@servicepack/core/applicability';
import type { Installation } from '@servicepack/core/detect';
import type { TrustStore } from '@servicepack/core/trust';
import { EXIT, errorDocument } from '../../exit.js';
import type { PackCandidate, Refusal, StepResult, WizardContext, WizardServices } from '../context.js';
import { nothingApplicable, updateView, WizardError } from '../views.js';

type Ctx = Pick<
  WizardContext,
  | 'ui'
  | 'services'
  | 'request'
  | 'cwd'
  | 'root'
  | 'installation'
  | 'candidates'
  | 'candidatesFor'
  | 'packsDir'
  | 'chosen'
  | 'accepted'
  | 'eula'
  | 'trust'
>;

function refusal(e: unknown): Refusal {
  const d = errorDocument(e);
  return { code: d.code, exitCode: d.exitCode, message: d.message };
}

/**
 * The engine's own rules, in the engine's order: the signature before anything in the manifest is
 * believed, then applicability. A refused pack keeps its reason and is listed, never offered.
 */
export async function judgePack(
  path: string,
  inst: Installation,
  trust: TrustStore,
  services: WizardServices,
  allowUnsigned: boolean,
): Promise<PackCandidate> {
  let inspection: PackCandidate['inspection'];
  try {
    inspection = await services.inspect(path, trust);
  } catch (e) {
    return { path, refusal: refusal(e) };
  }
  let pack: PackCandidate['pack'];
  try {
    pack = await services.open(path, trust, allowUnsigned);
  } catch (e) {
    return { path, inspection, refusal: refusal(e) };
  }
  try {
    checkApplicable(inst, pack.manifest, { packPath: path });
  } catch (e) {
    return { path, inspection, pack, refusal: refusal(e) };
  }
  return { path, inspection, pack };
}

/**
 * Offered packs first, in core's order of what applies (applicablePacks: service packs newest first,
 * then rollups, then hotfixes), so the default choice is the one that brings the most fixes; refused
 * packs after them, newest level first.
 */
export function sortCandidates(cs: PackCandidate[], target: ApplicabilityTarget): PackCandidate[] {
  const byPath = [...cs].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const offered = byPath.filter((c) => !c.refusal && c.pack !== undefined);
  const order = new Map(
    applicablePacks(
      target,
      offered.map((c) => c.pack!.manifest),
    ).map((m, i) => [m, i]),
  );
  const rank = (c: PackCandidate) => (c.pack && !c.refusal ? (order.get(c.pack.manifest) ?? offered.length) : -1);
  const level = (c: PackCandidate) => c.inspection?.manifest.level ?? -1;
  return byPath.sort((a, b) => Number(!!a.refusal) - Number(!!b.refusal) || rank(a) - rank(b) || level(b) - level(a));
}

async function packPaths(ctx: Ctx): Promise<{ paths: string[]; where: string }> {
  if (ctx.request.packs.length > 0)
    return { paths: ctx.request.packs.map((p) => resolve(ctx.cwd, p)), where: 'the command line' };
  const dir = resolve(ctx.cwd, ctx.packsDir ?? ctx.request.packsDir ?? '.');
  try {
    return { paths: await ctx.services.findPacks(dir), where: dir };
  } catch (e) {
    throw new WizardError(
      'E_NO_PACKS',
      EXIT.usage,
      `Cannot read the folder ${dir} (${(e as Error).message}): pass the folder holding the packs with --packs DIR.`,
    );
  }
}

/** Update: every pack found, judged against the installation; the administrator picks one. */
export async function update(ctx: Ctx): Promise<StepResult> {
  const inst = ctx.installation!;
  const root = ctx.root!;
  if (!ctx.candidates || ctx.candidatesFor !== root) {
    ctx.ui.display('working', { message: 'Reading the update packs…' });
    let { paths, where } = await packPaths(ctx);
    // Nobody named the current folder: an empty one is a question (where are the packs?), not the end.
    while (paths.length === 0 && ctx.request.packs.length === 0 && ctx.request.packsDir === undefined) {
      const a = await ctx.ui.ask('root', {
        heading: 'Where are the update packs?',
        message: `No update packs (*.tgz) in ${where}.`,
        defaultRoot: '',
        example: '/srv/updates',
        help: 'The folder that holds the service packs and hotfixes (*.tgz). Tab completes a folder name. Next time, pass it with --packs DIR.',
      });
      if (a.nav === 'back') return 'back';
      if (a.value.trim() === '') continue;
      ctx.packsDir = resolve(ctx.cwd, a.value.trim());
      ctx.ui.display('working', { message: 'Reading the update packs…' });
      try {
        ({ paths, where } = await packPaths(ctx));
      } catch (e) {
        if (!(e instanceof WizardError)) throw e;
        ({ paths, where } = { paths: [], where: ctx.packsDir });
      }
    }
    if (paths.length === 0) {
      throw new WizardError(
        'E_NO_PACKS',
        EXIT.usage,
        `No update packs (*.tgz) in ${where}: name the pack (servicepack install PACK) or its folder (--packs DIR).`,
      );
    }
    ctx.trust = await ctx.services.loadTrust(root, ctx.request.trustFiles);
    const trust = ctx.trust;
    ctx.candidates = sortCandidates(
      await Promise.all(paths.map((p) => judgePack(p, inst, trust, ctx.services, ctx.request.allowUnsigned))),
      inst,
    );
    ctx.candidatesFor = root;
    delete ctx.chosen;
  }
  const offered = ctx.candidates.filter((c) => !c.refusal);
  if (offered.length === 0) throw nothingApplicable(ctx.candidates);
  const a = await ctx.ui.ask('update', updateView(inst, ctx.candidates, ctx.chosen?.path));
  if (a.nav === 'back') return 'back';
  const chosen = offered.find((c) => c.path === a.value) ?? offered[0]!;
  if (chosen !== ctx.chosen) {
    ctx.chosen = chosen;
    ctx.accepted = false;
    delete ctx.eula;
  }
  return 'next';
}
