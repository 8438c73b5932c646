import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FIX_ID_PATTERN, type Fix, FixSchema } from '@servicepack/core';
import { type Document, isMap, isScalar, LineCounter, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { displayPath } from './tree.js';

export const SERIES_FILE = 'series';
export const FIX_FILE = 'fix.yaml';

/** A fix as the builder uses it: the validated fix.yaml plus where its diffs live. */
export interface SeriesFix extends Fix {
  /** 0-based position in the series: the order fixes are applied in. */
  index: number;
  dir: string;
  /** Absolute paths of `diffs`, in the order they apply. */
  diffPaths: string[];
}

export interface Series {
  patchesDir: string;
  fixes: SeriesFix[];
  /** The highest level any fix ships in (0 when the series is empty). */
  maxLevel: number;
}

/** A fix that ships in no service pack: only as a hotfix on its base level (and in rollups). */
export function isHotfixOnly(fix: Fix): fix is Fix & { hotfix: { baseLevel: number } } {
  return fix.level === undefined && fix.hotfix !== undefined;
}

/**
 * The hotfix-only fixes that `fix` is built on: those on the same base level before it in the
 * series. They change the same files, and a hotfix replaces whole files, so each is built on all
 * of them and requires them (docs/layout.md "Hotfix chains").
 */
export function chainBefore(series: Series, fix: SeriesFix): SeriesFix[] {
  if (!isHotfixOnly(fix)) return [];
  return series.fixes.filter(
    (f) => f.index < fix.index && isHotfixOnly(f) && f.hotfix.baseLevel === fix.hotfix.baseLevel,
  );
}

export interface LoadSeriesOptions {
  /**
   * Fixes whose diffs may not exist yet (being written with `fix new` / `fix edit`); `true` for all.
   * For a release build every missing diff is an error: the release would silently lack the fix.
   */
  allowMissingDiffsFor?: string | true;
}

/** Parses `patches/series`: one id per line; blank lines and `#` comments (whole or trailing) ignored. */
export function parseSeriesText(text: string, file: string): string[] {
  const ids: string[] = [];
  const seen = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const where = `${file}:${i + 1}`;
    if (!FIX_ID_PATTERN.test(line)) {
      throw new Error(`${where}: "${line}" is not a fix id (one id per line, letters, digits and dashes)`);
    }
    const first = seen.get(line);
    if (first !== undefined) throw new Error(`${where}: fix ${line} is listed twice (first on line ${first})`);
    seen.set(line, i + 1);
    ids.push(line);
  });
  return ids;
}

/** The line a zod issue points at, so errors in a long fix.yaml are quick to find. */
function lineOf(doc: Document, lc: LineCounter, issue: z.core.$ZodIssue): number | undefined {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  let node: unknown = path.length === 0 ? doc.contents : doc.getIn(path, true);
  if (issue.code === 'unrecognized_keys' && isMap(node)) {
    const key = issue.keys[0];
    const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key);
    if (pair && isScalar(pair.key)) node = pair.key;
  }
  // A missing key has no node of its own: point at the nearest parent that exists.
  for (let n = path.length - 1; (node === undefined || node === null) && n >= 0; n--) {
    node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
  }
  const range = (node as Node | null | undefined)?.range;
  return range ? lc.linePos(range[0]).line : undefined;
}

function describe(doc: Document, issue: z.core.$ZodIssue): string {
  const key = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const at = key === '' ? '' : ` in ${key}`;
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}${at}`;
  }
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (path.length > 0 && issue.code === 'invalid_type' && !doc.hasIn(path)) return `${key}: missing (required)`;
  return `${key === '' ? '(document)' : key}: ${issue.message}`;
}

/** Reads and validates one fix.yaml; every error names the file, the line and the key. */
export function parseFixYaml(text: string, file: string): Fix {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = lc.linePos(yamlError.pos[0]).line;
    throw new Error(`${file}:${line}: not valid YAML: ${yamlError.message}`);
  }
  const parsed = FixSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const line = lineOf(doc, lc, issue);
      return `${file}${line === undefined ? '' : `:${line}`}: ${describe(doc, issue)}`;
    });
    throw new Error(lines.join('\n'));
  }
  return parsed.data;
}

/**
 * Loads `patches/series` and every fix it lists, and checks what a release build relies on: ids
 * unique and matching their folders, levels never going down along the series (a fix cannot ship
 * before one it was written on top of), hotfix bases below the fix's own level, every diff present.
 */
export async function loadSeries(patchesDir: string, options: LoadSeriesOptions = {}): Promise<Series> {
  const seriesFile = join(patchesDir, SERIES_FILE);
  const shown = displayPath;
  if (!existsSync(seriesFile)) {
    throw new Error(`${shown(seriesFile)} does not exist: create it (one fix id per line, in ship order)`);
  }
  const ids = parseSeriesText(await readFile(seriesFile, 'utf8'), shown(seriesFile));
  const fixes: SeriesFix[] = [];
  let previous: SeriesFix | undefined;
  for (const [index, id] of ids.entries()) {
    const dir = join(patchesDir, id);
    const fixFile = join(dir, FIX_FILE);
    if (!existsSync(fixFile)) {
      throw new Error(`${shown(seriesFile)} lists ${id} but ${shown(fixFile)} does not exist`);
    }
    const fix = parseFixYaml(await readFile(fixFile, 'utf8'), shown(fixFile));
    if (fix.id !== id) {
      throw new Error(`${shown(fixFile)}: id is ${fix.id} but the folder (and the series) say ${id}`);
    }
    if (previous?.level !== undefined && fix.level !== undefined && fix.level < previous.level) {
      throw new Error(
        `${shown(fixFile)}: level ${fix.level} comes after ${previous.id} at level ${previous.level} in ${shown(seriesFile)}; ` +
          'levels must not decrease along the series (move the line or raise the level)',
      );
    }
    if (fix.hotfix && fix.level !== undefined && fix.hotfix.baseLevel >= fix.level) {
      throw new Error(
        `${shown(fixFile)}: hotfix.baseLevel ${fix.hotfix.baseLevel} must be below level ${fix.level} (a hotfix serves installs that lack the fix)`,
      );
    }
    const diffPaths = fix.diffs.map((d) => join(dir, d));
    if (options.allowMissingDiffsFor !== true && options.allowMissingDiffsFor !== id) {
      for (const p of diffPaths) {
        if (!existsSync(p)) {
          throw new Error(
            `${shown(fixFile)}: diffs lists ${shown(p)}, which does not exist (write it with: pnpm fix:edit ${id}, then pnpm fix:refresh ${id})`,
          );
        }
      }
    }
    const entry: SeriesFix = { ...fix, index, dir, diffPaths };
    fixes.push(entry);
    if (entry.level !== undefined) previous = entry;
  }
  const maxLevel = fixes.reduce((m, f) => Math.max(m, f.level ?? 0), 0);
  for (const f of fixes) {
    if (isHotfixOnly(f) && f.hotfix.baseLevel > maxLevel)
      throw new Error(
        `${shown(join(f.dir, FIX_FILE))}: hotfix.baseLevel ${f.hotfix.baseLevel} is above every level the series builds (${maxLevel}); a hotfix needs a release to sit on`,
      );
  }
  // A fix folder the series does not list would silently ship in no release.
  const listed = new Set(ids);
  for (const e of await readdir(patchesDir, { withFileTypes: true })) {
    if (e.isDirectory() && !listed.has(e.name) && existsSync(join(patchesDir, e.name, FIX_FILE))) {
      throw new Error(
        `${shown(join(patchesDir, e.name, FIX_FILE))} exists but ${shown(seriesFile)} does not list ${e.name}: add it there, or delete the folder`,
      );
    }
  }
  return { patchesDir, fixes, maxLevel };
}

export function findFix(series: Series, id: string): SeriesFix {
  const fix =
    series.fixes.find((f) => f.id === id) ?? series.fixes.find((f) => f.id.toLowerCase() === id.toLowerCase());
  if (!fix) {
    const known = series.fixes.map((f) => f.id).join(', ') || 'none';
    throw new Error(`fix ${id} is not in ${join(series.patchesDir, SERIES_FILE)} (known: ${known})`);
  }
  return fix;
}

/** The fixes a release at `level` (plus the named hotfixes) contains, in series order. */
export function fixesFor(series: Series, level: number, hotfixes: readonly string[] = []): SeriesFix[] {
  const extra = new Set(hotfixes.map((h) => findFix(series, h).id));
  return series.fixes.filter((f) => (f.level !== undefined && f.level <= level) || extra.has(f.id));
}
