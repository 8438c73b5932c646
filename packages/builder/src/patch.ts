import { parsePatch, type StructuredPatch, type StructuredPatchHunk, structuredPatch } from 'diff';
import { comparePaths, type FileTree, isReleaseSourcePath, modeFor } from './tree.js';

/** One file's change, paths already stripped of their git-style `a/` / `b/` prefixes. */
export interface FilePatch {
  path: string;
  kind: 'modify' | 'create' | 'delete';
  hunks: StructuredPatchHunk[];
}

/** Names what a failure is about, so the operator knows which fix and which diff to open. */
export interface PatchContext {
  fixId: string;
  diffFile: string;
}

const NO_NEWLINE = '\\';

function stripPrefix(name: string | undefined, prefix: 'a/' | 'b/', ctx: PatchContext): string | undefined {
  if (name === undefined || name === '/dev/null') return undefined;
  if (!name.startsWith(prefix)) {
    throw new Error(
      `fix ${ctx.fixId}: ${ctx.diffFile}: file name "${name}" lacks the git-style "${prefix}" prefix ` +
        '(diffs use a/ and b/ prefixes with paths relative to packages/inetsrv)',
    );
  }
  const path = name.slice(prefix.length);
  const parts = path.split('/');
  if (path.startsWith('/') || parts.some((p) => p === '..' || p === '.' || p === '')) {
    throw new Error(`fix ${ctx.fixId}: ${ctx.diffFile}: unsafe path "${name}"`);
  }
  if (!isReleaseSourcePath(path)) {
    throw new Error(
      `fix ${ctx.fixId}: ${ctx.diffFile}: ${path} is outside bin/, conf/, wwwroot/ and src/; ` +
        'a fix changes only what ships (regression tests belong in test/fixes/)',
    );
  }
  return path;
}

function toFilePatch(p: StructuredPatch, ctx: PatchContext): FilePatch {
  const label = p.newFileName ?? p.oldFileName ?? '(unnamed)';
  if (p.isBinary)
    throw new Error(`fix ${ctx.fixId}: ${ctx.diffFile}: ${label} is a binary change, which a text diff cannot carry`);
  if (p.isRename || p.isCopy) {
    throw new Error(
      `fix ${ctx.fixId}: ${ctx.diffFile}: ${label} is a rename/copy; express it as a deletion plus a new file`,
    );
  }
  const oldPath = stripPrefix(p.oldFileName, 'a/', ctx);
  const newPath = stripPrefix(p.newFileName, 'b/', ctx);
  if (oldPath === undefined && newPath === undefined) {
    throw new Error(`fix ${ctx.fixId}: ${ctx.diffFile}: a file section has neither an old nor a new file name`);
  }
  if (oldPath !== undefined && newPath !== undefined && oldPath !== newPath) {
    throw new Error(`fix ${ctx.fixId}: ${ctx.diffFile}: ${oldPath} -> ${newPath}: renames are not supported`);
  }
  const kind =
    oldPath === undefined || p.isCreate ? 'create' : newPath === undefined || p.isDelete ? 'delete' : 'modify';
  return { path: (newPath ?? oldPath) as string, kind, hunks: p.hunks };
}

/** Parses a unified diff (git style) into per-file patches; malformed text is an error naming the fix. */
export function parseDiff(text: string, ctx: PatchContext): FilePatch[] {
  let parsed: StructuredPatch[];
  try {
    parsed = parsePatch(text);
  } catch (e) {
    throw new Error(
      `fix ${ctx.fixId}: ${ctx.diffFile}: not a valid unified diff: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  // parsePatch yields one empty entry for an empty (or header-only) text: nothing to apply.
  const files = parsed.filter((p) => p.hunks.length > 0 || p.oldFileName !== undefined || p.newFileName !== undefined);
  const patches = files.map((p) => toFilePatch(p, ctx));
  const seen = new Set<string>();
  for (const fp of patches) {
    if (seen.has(fp.path))
      throw new Error(`fix ${ctx.fixId}: ${ctx.diffFile}: ${fp.path} appears twice; merge its sections`);
    seen.add(fp.path);
  }
  return patches;
}

/** A text as lines plus whether its last line ends with a newline: what "\ No newline" talks about. */
interface Lines {
  lines: string[];
  finalNewline: boolean;
}

function splitLines(text: string): Lines {
  if (text === '') return { lines: [], finalNewline: true };
  const finalNewline = text.endsWith('\n');
  const lines = (finalNewline ? text.slice(0, -1) : text).split('\n');
  return { lines, finalNewline };
}

function joinLines({ lines, finalNewline }: Lines): string {
  if (lines.length === 0) return '';
  return lines.join('\n') + (finalNewline ? '\n' : '');
}

interface HunkSides {
  oldLines: string[];
  newLines: string[];
  oldNoNewline: boolean;
  newNoNewline: boolean;
}

function sidesOf(hunk: StructuredPatchHunk): HunkSides {
  const sides: HunkSides = { oldLines: [], newLines: [], oldNoNewline: false, newNoNewline: false };
  let last = ' ';
  for (const line of hunk.lines) {
    const op = line[0];
    const body = line.slice(1);
    if (op === NO_NEWLINE) {
      if (last !== '+') sides.oldNoNewline = true;
      if (last !== '-') sides.newNoNewline = true;
      continue;
    }
    if (op === ' ' || op === '-') sides.oldLines.push(body);
    if (op === ' ' || op === '+') sides.newLines.push(body);
    last = op ?? ' ';
  }
  return sides;
}

function hunkLabel(hunk: StructuredPatchHunk, n: number): string {
  // Printed as in the diff, where an empty side counts from the line before it.
  const oldStart = hunk.oldLines === 0 ? hunk.oldStart - 1 : hunk.oldStart;
  const newStart = hunk.newLines === 0 ? hunk.newStart - 1 : hunk.newStart;
  return `hunk #${n} (@@ -${oldStart},${hunk.oldLines} +${newStart},${hunk.newLines} @@)`;
}

/**
 * Applies one file's hunks exactly where their headers say (shifted only by what earlier hunks of the
 * same file added or removed). No searching for a better offset and no fuzz: a fix that no longer
 * fits the tree it is applied to must be refreshed, not guessed at.
 */
export function applyFilePatch(current: string | undefined, fp: FilePatch, ctx: PatchContext): string | undefined {
  const where = `fix ${ctx.fixId}: ${ctx.diffFile}: ${fp.path}`;
  if (fp.kind === 'create' && current !== undefined)
    throw new Error(`${where}: the diff creates it but it already exists`);
  if (fp.kind !== 'create' && current === undefined)
    throw new Error(`${where}: the diff changes it but it does not exist`);
  const text = splitLines(current ?? '');
  let delta = 0;
  let floor = 0;
  fp.hunks.forEach((hunk, i) => {
    const label = `${where}: ${hunkLabel(hunk, i + 1)}`;
    const sides = sidesOf(hunk);
    if (sides.oldLines.length !== hunk.oldLines || sides.newLines.length !== hunk.newLines) {
      throw new Error(`${label}: the header's line counts do not match the hunk's lines`);
    }
    // parsePatch stores an empty side's start as the line after it, so start-1 is the index either way.
    const at = hunk.oldStart - 1 + delta;
    if (at < floor || at + sides.oldLines.length > text.lines.length) {
      throw new Error(
        `${label} does not apply: it lies outside the file (${text.lines.length} lines) or overlaps the previous hunk`,
      );
    }
    for (let k = 0; k < sides.oldLines.length; k++) {
      const want = sides.oldLines[k];
      const have = text.lines[at + k];
      if (want !== have) {
        throw new Error(
          `${label} does not apply: line ${at + k + 1} is ${JSON.stringify(have)}, the diff expects ${JSON.stringify(want)} ` +
            '(the tree differs from the one the diff was made against; refresh the fix)',
        );
      }
    }
    const reachesEnd = at + sides.oldLines.length === text.lines.length;
    if (sides.oldNoNewline && !reachesEnd)
      throw new Error(`${label} does not apply: it expects the file to end after it`);
    if (reachesEnd && text.lines.length > 0 && text.finalNewline === sides.oldNoNewline) {
      throw new Error(
        `${label} does not apply: the file ${text.finalNewline ? 'ends' : 'does not end'} with a newline, the diff says otherwise`,
      );
    }
    text.lines.splice(at, sides.oldLines.length, ...sides.newLines);
    if (reachesEnd) text.finalNewline = !sides.newNoNewline;
    delta += sides.newLines.length - sides.oldLines.length;
    floor = at + sides.newLines.length;
  });
  const result = joinLines(text);
  if (fp.kind === 'delete') {
    if (result !== '') throw new Error(`${where}: the diff deletes it, but ${text.lines.length} line(s) would remain`);
    return undefined;
  }
  return result;
}

function isText(data: Buffer): boolean {
  return !data.includes(0);
}

/**
 * Applies a whole diff to an in-memory tree (path -> contents). All files are checked before the
 * tree changes, so a failing diff leaves the tree as it was.
 */
export function applyDiff(tree: Map<string, Buffer>, diffText: string, ctx: PatchContext): FilePatch[] {
  const patches = parseDiff(diffText, ctx);
  const results: Array<[string, Buffer | undefined]> = [];
  for (const fp of patches) {
    const data = tree.get(fp.path);
    if (data !== undefined && !isText(data))
      throw new Error(`fix ${ctx.fixId}: ${ctx.diffFile}: ${fp.path} is binary; diffs carry text only`);
    const next = applyFilePatch(data?.toString('utf8'), fp, ctx);
    results.push([fp.path, next === undefined ? undefined : Buffer.from(next, 'utf8')]);
  }
  for (const [path, data] of results) {
    if (data === undefined) tree.delete(path);
    else tree.set(path, data);
  }
  return patches;
}

/** Lines of context around each change: git's default, so diffs read like `git diff` output. */
const CONTEXT = 3;

function range(start: number, count: number): string {
  // Unified diff counts an empty side from the line before it; a count of 1 is left implicit (as git does).
  const shown = count === 0 ? start - 1 : start;
  return count === 1 ? `${shown}` : `${shown},${count}`;
}

function gitMode(path: string): string {
  return `100${modeFor(path).toString(8)}`;
}

export interface TreeChange {
  path: string;
  kind: FilePatch['kind'];
}

/**
 * The difference between two trees as one git-style unified diff: files in byte order of their
 * paths, a/ b/ labels, no timestamps or index lines, so the same two trees always give the same text.
 */
export function diffTrees(base: FileTree, work: FileTree): { text: string; changes: TreeChange[] } {
  const paths = [...new Set([...base.keys(), ...work.keys()])].sort(comparePaths);
  const out: string[] = [];
  const changes: TreeChange[] = [];
  for (const path of paths) {
    const a = base.get(path);
    const b = work.get(path);
    if (a !== undefined && b !== undefined && a.equals(b)) continue;
    if ((a && !isText(a)) || (b && !isText(b))) throw new Error(`${path} is binary; a fix can only carry text changes`);
    const kind: FilePatch['kind'] = a === undefined ? 'create' : b === undefined ? 'delete' : 'modify';
    changes.push({ path, kind });
    out.push(`diff --git a/${path} b/${path}`);
    if (kind === 'create') out.push(`new file mode ${gitMode(path)}`);
    if (kind === 'delete') out.push(`deleted file mode ${gitMode(path)}`);
    const oldText = a?.toString('utf8') ?? '';
    const newText = b?.toString('utf8') ?? '';
    // An empty file created or deleted has no lines to show: git then writes the header alone.
    if (oldText === newText) continue;
    out.push(kind === 'create' ? '--- /dev/null' : `--- a/${path}`);
    out.push(kind === 'delete' ? '+++ /dev/null' : `+++ b/${path}`);
    const sp = structuredPatch(`a/${path}`, `b/${path}`, oldText, newText, undefined, undefined, { context: CONTEXT });
    for (const h of sp.hunks) {
      out.push(`@@ -${range(h.oldStart, h.oldLines)} +${range(h.newStart, h.newLines)} @@`);
      out.push(...h.lines);
    }
  }
  return { text: out.length === 0 ? '' : `${out.join('\n')}\n`, changes };
}
