import { readdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { checkOverwriteHasBackup } from '@servicepack/core/plan';
import type { WizardRequest } from './route.js';

/**
 * Choices the install would refuse (core's rule: -n with -o) are a usage error before the wizard
 * opens, with the install's own message, not an Options screen that walks into the refusal.
 */
export function choicesProblem(request: WizardRequest): string | undefined {
  if (request.flow !== 'install') return undefined;
  try {
    checkOverwriteHasBackup(request);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * What the command line names must be there before the wizard opens: a pack that does not exist,
 * or a --packs folder that cannot be read or holds no pack, is a usage error on the normal screen
 * (exit 2), not a Welcome screen that promises updates and a walk to a dead end. Only the current
 * folder, which nobody named, may be empty: the wizard then asks for the folder.
 */
export async function packsProblem(request: WizardRequest, cwd: string): Promise<string | undefined> {
  if (request.flow !== 'install') return undefined;
  for (const p of request.packs) {
    const path = resolve(cwd, p);
    try {
      if (!(await stat(path)).isFile()) return `${p} is not a pack file: name a *.tgz pack.`;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return code === 'ENOENT' || code === 'ENOTDIR'
        ? `${p}: no such pack: check the name, or name its folder with --packs DIR.`
        : `${p}: cannot be read (${code ?? String(e)}).`;
    }
  }
  if (request.packs.length > 0 || request.packsDir === undefined) return undefined;
  const dir = resolve(cwd, request.packsDir);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? `--packs ${request.packsDir}: no such folder: name the folder that holds the packs.`
      : `--packs ${request.packsDir}: cannot read the folder (${code ?? String(e)}).`;
  }
  if (!names.some((n) => n.endsWith('.tgz')))
    return `--packs ${request.packsDir}: no update packs (*.tgz) in that folder: name the pack (servicepack install PACK) or the folder that holds them.`;
  return undefined;
}
