import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ServicepackError } from '../support/errors.js';
import { writeFileAtomic } from '../support/fsutil.js';
import { SERVICEPACK_DIR, STATE_FILE } from './names.js';
import { checkedState } from './record-check.js';
import { readRecordIfPresent } from './servicepack-dir.js';
import type { State } from './state.js';

export { STATE_FILE } from './names.js';

export function servicepackDir(root: string): string {
  return join(root, SERVICEPACK_DIR);
}

export function statePath(root: string): string {
  return join(root, SERVICEPACK_DIR, STATE_FILE);
}

/**
 * The state record, or undefined when there is none (a fresh vendor release tree). A record that
 * exists but does not parse is an error, not "absent": treating it as absent would silently make
 * the current, possibly tampered, files the new baseline.
 */
export async function readState(root: string): Promise<State | undefined> {
  const path = statePath(root);
  const text = await readRecordIfPresent(path);
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ServicepackError(
      'E_INVALID_STATE',
      `${path} is not valid JSON: restore it from a backup, or remove it so the installation is identified from BUILDINFO.json and its files`,
      { path },
      { cause: e },
    );
  }
  // the quick check keeps zod off query's start-up; anything it does not vouch for goes to the schema
  const quick = checkedState(json);
  if (quick) return quick;
  const [{ StateSchema }, { z }] = await Promise.all([import('./state.js'), import('zod')]);
  const parsed = StateSchema.safeParse(json);
  if (!parsed.success) {
    throw new ServicepackError(
      'E_INVALID_STATE',
      `${path} does not match the state record format (${z.prettifyError(parsed.error).replace(/\s*\n\s*/g, '; ')}): restore it from a backup, or remove it so the installation is identified from BUILDINFO.json and its files`,
      { path, issues: parsed.error.issues },
    );
  }
  return parsed.data;
}

/**
 * Validates before writing (a record this installer could not read back must never reach disk),
 * then replaces the file atomically: temp file, fsync, rename, fsync of the folder.
 */
export async function writeState(root: string, state: State): Promise<void> {
  const { StateSchema } = await import('./state.js');
  const checked = StateSchema.parse(state);
  await mkdir(servicepackDir(root), { recursive: true });
  await writeFileAtomic(statePath(root), `${JSON.stringify(checked, null, 2)}\n`);
}
