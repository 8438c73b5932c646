import { type Dirent, readdirSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

/** A folder with more entries than this is not listed for a completion (it would stall the screen). */
const MAX_ENTRIES = 10_000;

/**
 * Tab in the folder field, as a shell completes a path: the only match is filled in (a folder with
 * its `/`); several extend the text to what they have in common; none leave it as it was. Relative
 * text is read against `cwd`, and the result keeps the administrator's spelling. Names are only
 * listed, never followed: a link shows as the name it has.
 */
export function completePath(value: string, cwd: string): string {
  const cut = value.lastIndexOf('/') + 1;
  const dirText = value.slice(0, cut);
  const prefix = value.slice(cut);
  const dir = dirText === '' ? cwd : isAbsolute(dirText) ? dirText : join(cwd, dirText);
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true }).slice(0, MAX_ENTRIES);
  } catch {
    return value;
  }
  const matches = entries
    .filter((e) => e.name.startsWith(prefix) && (prefix.startsWith('.') || !e.name.startsWith('.')))
    .map((e) => (e.isDirectory() ? `${e.name}/` : e.name));
  if (matches.length === 0) return value;
  if (matches.length === 1) return dirText + matches[0]!;
  let common = matches[0]!;
  for (const m of matches) while (!m.startsWith(common)) common = common.slice(0, -1);
  return dirText + (common.length > prefix.length ? common : prefix);
}
