import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ARCHES, type Arch, FIX_ID_PATTERN } from '@servicepack/core';
import { diffTrees, type TreeChange } from './patch.js';
import { applyFixes } from './release.js';
import { FIX_FILE, findFix, loadSeries, parseFixYaml, parseSeriesText, SERIES_FILE, type Series } from './series.js';
import { displayPath, type FileTree, RELEASE_SOURCE_ROOTS, readTree, writeTree } from './tree.js';

/**
 * The quilt-style workflow for writing a fix: `fix new` registers it, `fix edit` lays out the tree
 * as it stands just before the fix (plus the fix's current diff, if any), the developer edits that
 * copy, and `fix refresh` turns "pristine vs edited" back into the fix's diff.
 */
export interface FixToolOptions {
  sourceDir: string;
  patchesDir: string;
  /** The scratch folder (`.work/`); copies go to `<workDir>/fix/<ID>/` and `<workDir>/fix/<ID>.base/`. */
  workDir: string;
  log?: (line: string) => void;
}

function logger(opts: FixToolOptions): (line: string) => void {
  return opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
}

const shown = displayPath;

export function fixWorkDirs(workDir: string, id: string): { work: string; base: string } {
  return { work: join(workDir, 'fix', id), base: join(workDir, 'fix', `${id}.base`) };
}

/** The tree every fix before `id` in the series produces: what `id`'s diff is written against. */
async function treeBefore(series: Series, id: string, opts: FixToolOptions): Promise<FileTree> {
  const fix = findFix(series, id);
  const earlier = series.fixes.slice(0, fix.index);
  for (const f of earlier) {
    const missing = f.diffPaths.find((p) => !existsSync(p));
    if (missing) {
      throw new Error(
        `${shown(missing)} does not exist, and ${f.id} comes before ${fix.id}: finish ${f.id} first (pnpm fix:edit ${f.id}, pnpm fix:refresh ${f.id})`,
      );
    }
  }
  const source = await readTree(opts.sourceDir, RELEASE_SOURCE_ROOTS);
  return applyFixes(source, earlier, (p) => readFile(p, 'utf8'), dirname(opts.patchesDir));
}

export interface FixEditResult {
  work: string;
  base: string;
  /** Whether the fix's existing diff was applied to the work copy. */
  appliedDiff: boolean;
}

export async function fixEdit(id: string, opts: FixToolOptions & { force?: boolean }): Promise<FixEditResult> {
  const log = logger(opts);
  const series = await loadSeries(opts.patchesDir, { allowMissingDiffsFor: true });
  const fix = findFix(series, id);
  const { work, base } = fixWorkDirs(opts.workDir, fix.id);
  if ((existsSync(work) || existsSync(base)) && !opts.force) {
    throw new Error(
      `${shown(work)} already exists and may hold unsaved edits: run \`pnpm fix:refresh ${fix.id}\` to save them into the fix, ` +
        `or \`pnpm fix:edit ${fix.id} --force\` to discard them and lay the tree out afresh`,
    );
  }
  const before = await treeBefore(series, fix.id, opts);
  const existing = fix.diffPaths.filter((p) => existsSync(p));
  const edited = await applyFixes(
    before,
    [{ ...fix, diffPaths: existing }],
    (p) => readFile(p, 'utf8'),
    dirname(opts.patchesDir),
  );
  await rm(work, { recursive: true, force: true });
  await rm(base, { recursive: true, force: true });
  await mkdir(dirname(work), { recursive: true });
  const now = new Date();
  await writeTree(base, before, { mtime: now });
  await writeTree(work, edited, { mtime: now });
  log(
    `fix ${fix.id}: pristine tree (${series.fixes.slice(0, fix.index).length} earlier fix(es) applied) in ${shown(base)}`,
  );
  log(
    `fix ${fix.id}: edit ${shown(work)}${existing.length > 0 ? ' (current diff applied)' : ''}, then run: pnpm fix:refresh ${fix.id}`,
  );
  return { work, base, appliedDiff: existing.length > 0 };
}

function sameTree(a: FileTree, b: FileTree): string[] {
  const differing: string[] = [];
  for (const p of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(p);
    const y = b.get(p);
    if (!x || !y || !x.equals(y)) differing.push(p);
  }
  return differing.sort();
}

/** Backup, swap, lock and reject files editors and patch tools leave beside the files being edited. */
export function isEditorLeftover(path: string): boolean {
  const name = path.slice(path.lastIndexOf('/') + 1);
  return /~$|\.(swp|swo|orig|rej|bak)$|^\.#|^#.*#$|^\.DS_Store$/.test(name);
}

export interface FixRefreshResult {
  diffFile: string;
  changes: TreeChange[];
}

export async function fixRefresh(id: string, opts: FixToolOptions): Promise<FixRefreshResult> {
  const log = logger(opts);
  const series = await loadSeries(opts.patchesDir, { allowMissingDiffsFor: true });
  const fix = findFix(series, id);
  const { work, base } = fixWorkDirs(opts.workDir, fix.id);
  if (!existsSync(work) || !existsSync(base)) {
    throw new Error(`${shown(work)} is not laid out: run \`pnpm fix:edit ${fix.id}\` first, edit there, then refresh`);
  }
  const [diffPath, ...more] = fix.diffPaths;
  if (diffPath === undefined || more.length > 0) {
    throw new Error(
      `fix ${fix.id} lists ${fix.diffs.length} diffs; refresh writes exactly one: set diffs: [changes.diff] in ${shown(join(fix.dir, FIX_FILE))}`,
    );
  }
  const baseTree = await readTree(base, RELEASE_SOURCE_ROOTS);
  // A base laid out before an earlier fix changed would yield a diff that no longer applies.
  const stale = sameTree(baseTree, await treeBefore(series, fix.id, opts));
  if (stale.length > 0) {
    throw new Error(
      `the tree below ${fix.id} changed since \`fix edit\` (${stale.slice(0, 5).join(', ')}${stale.length > 5 ? ', ...' : ''}): ` +
        `save your edits elsewhere, run \`pnpm fix:edit ${fix.id} --force\`, and redo them there`,
    );
  }
  const ignored: string[] = [];
  const workTree = await readTree(work, RELEASE_SOURCE_ROOTS, (p) => {
    const hit = isEditorLeftover(p);
    if (hit) ignored.push(p);
    return hit;
  });
  if (ignored.length > 0) log(`fix ${fix.id}: ignoring editor and merge leftovers: ${ignored.sort().join(', ')}`);
  const { text, changes } = diffTrees(baseTree, workTree);
  if (changes.length === 0) {
    throw new Error(
      `${shown(work)} does not differ from ${shown(base)}: nothing to write (a fix must change something)`,
    );
  }
  const temp = `${diffPath}.tmp-${process.pid}`;
  await writeFile(temp, text);
  await rename(temp, diffPath);
  const count = (k: TreeChange['kind']) => changes.filter((c) => c.kind === k).length;
  log(
    `fix ${fix.id}: wrote ${shown(diffPath)} (${count('modify')} changed, ${count('create')} added, ${count('delete')} deleted)`,
  );
  return { diffFile: diffPath, changes };
}

export interface FixNewOptions {
  level: number;
  title?: string;
  hotfixBaseLevel?: number;
  arch?: readonly Arch[];
}

function yamlString(s: string): string {
  return JSON.stringify(s);
}

export function fixTemplate(id: string, o: FixNewOptions): string {
  const arch = o.arch ?? ARCHES;
  const hotfix =
    o.hotfixBaseLevel === undefined
      ? `# hotfix: { baseLevel: ${Math.max(0, o.level - 1)} }      # uncomment to also release it alone for that level\n`
      : `hotfix: { baseLevel: ${o.hotfixBaseLevel} }\n`;
  return (
    `id: ${id}\n` +
    `title: ${yamlString(o.title ?? 'TODO one-line title, KB style')}\n` +
    `summary: ${yamlString('TODO one sentence for pack listings')}\n` +
    `level: ${o.level}                                    # first service pack that ships it\n` +
    hotfix +
    `security: false\n` +
    `arch: [${arch.join(', ')}]                          # architectures affected\n` +
    `symptoms: |\n  TODO what the administrator sees\n` +
    `cause: |\n  TODO why it happens\n` +
    `resolution: |\n  TODO what the fix changes\n` +
    `diffs: [changes.diff]                         # written by: pnpm fix:refresh ${id}\n`
  );
}

export async function fixNew(
  id: string,
  o: FixNewOptions,
  opts: FixToolOptions,
): Promise<{ dir: string; fixFile: string }> {
  const log = logger(opts);
  if (!FIX_ID_PATTERN.test(id))
    throw new Error(`"${id}" is not a fix id: letters, digits and dashes only (e.g. Q236565)`);
  if (!Number.isInteger(o.level) || o.level < 1 || o.level > 99)
    throw new Error(`--level must be a service pack number 1..99, got ${o.level}`);
  if (
    o.hotfixBaseLevel !== undefined &&
    (!Number.isInteger(o.hotfixBaseLevel) || o.hotfixBaseLevel < 0 || o.hotfixBaseLevel >= o.level)
  ) {
    throw new Error(`--hotfix-base must be a level below ${o.level}, got ${o.hotfixBaseLevel}`);
  }
  const seriesFile = join(opts.patchesDir, SERIES_FILE);
  const dir = join(opts.patchesDir, id);
  if (existsSync(dir)) throw new Error(`${shown(dir)} already exists`);
  const seriesText = existsSync(seriesFile) ? await readFile(seriesFile, 'utf8') : '';
  if (seriesText !== '') {
    const series = await loadSeries(opts.patchesDir);
    const clash = series.fixes.find((f) => f.id.toLowerCase() === id.toLowerCase());
    if (clash) throw new Error(`${shown(seriesFile)} already lists ${clash.id}`);
    const last = series.fixes.findLast((f) => f.level !== undefined);
    if (last?.level !== undefined && o.level < last.level) {
      throw new Error(
        `level ${o.level} is below the last fix in the series (${last.id}, level ${last.level}); levels must not decrease ` +
          'along the series: give it a level of at least that, or insert it by hand earlier in patches/series',
      );
    }
  }
  const fixFile = join(dir, FIX_FILE);
  const template = fixTemplate(id, o);
  parseFixYaml(template, shown(fixFile));
  await mkdir(dir, { recursive: true });
  await writeFile(fixFile, template);
  const needsNewline = seriesText !== '' && !seriesText.endsWith('\n');
  await appendFile(seriesFile, `${needsNewline ? '\n' : ''}${id}\n`);
  parseSeriesText(await readFile(seriesFile, 'utf8'), shown(seriesFile));
  log(`fix ${id}: created ${shown(fixFile)} and appended it to ${shown(seriesFile)}`);
  log(`fix ${id}: next: fill in ${shown(fixFile)}, then run: pnpm fix:edit ${id}`);
  return { dir, fixFile };
}
