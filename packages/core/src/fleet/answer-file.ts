import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { type Document, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { isServicepackError, ServicepackError } from '../support/errors.js';
import { resolveFeedSource } from '../feed/client.js';
import type { ModifiedPolicy } from '../rules/plan.js';
import {
  ANSWER_FILE_MAX_BYTES,
  type AnswerFileInput,
  type AnswerFileIssue,
  AnswerFileSchema,
  COMMAND_LINE_ONLY,
  type RestartChoice,
} from './answer-file-schema.js';

/**
 * Reading an answer file: the YAML parsed, checked against the schema, and resolved (absolute paths,
 * the files it names present), with every mistake located at its file, line and key.
 */

/** An answer file after validation: absolute paths, and where each value was written. */
export interface AnswerFile {
  /** absolute path of the answer file */
  file: string;
  /** its folder: what relative paths resolved against */
  dir: string;
  targets: { root: string; line: number }[];
  source:
    | { kind: 'packs'; packs: { path: string; line: number }[] }
    | { kind: 'feed'; feed: string; latest: true; line: number };
  trust: string[];
  acceptEula: boolean;
  backup: boolean;
  modified: ModifiedPolicy;
  restart: RestartChoice;
  /** seconds to wait for a busy lock on each target */
  wait: number;
  /** put the new level on trial (docs/transactions.md §7 "Health check") */
  healthCheck: boolean;
  /** the health probe's deadline in seconds, instead of the release's */
  healthTimeout?: number;
  log?: string;
  /** the line of every top-level key present, for errors found later (e.g. a EULA not accepted) */
  keyLines: Partial<Record<keyof AnswerFileInput, number>>;
}

function keyName(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out === '' ? '(document)' : out;
}

/** Levenshtein distance, for "did you mean"; inputs are short key names. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(
        row[j]! + 1,
        row[j - 1]! + 1,
        prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1),
      );
      prev = cur;
    }
  }
  return row[b.length]!;
}

function suggestion(key: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = distance(key, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 3))
    ? `; did you mean ${best}?`
    : `; known keys: ${known.join(', ')}`;
}

const TOP_KEYS = Object.keys(AnswerFileSchema.shape);

interface Located {
  offset: number;
  /** the node at the full path exists (as opposed to the nearest parent that does) */
  exact: boolean;
}

/** Where `path` is written: the value (or, for a key, the key itself), else the nearest enclosing node. */
function locate(doc: Document, path: readonly PropertyKey[], keyItself = false): Located {
  let node: unknown = doc.contents;
  let offset = (doc.contents as Node | null)?.range?.[0] ?? 0;
  for (const [i, seg] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return { offset, exact: false };
      const keyNode = pair.key as Node;
      const last = i === path.length - 1;
      if (last && keyItself) return { offset: keyNode.range?.[0] ?? offset, exact: true };
      const value = pair.value as Node | null;
      offset = value?.range?.[0] ?? keyNode.range?.[0] ?? offset;
      // a key with no value (`acceptEula:`) is best shown at the key
      if (value === null || (isScalar(value) && value.value === null)) offset = keyNode.range?.[0] ?? offset;
      node = value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item) return { offset, exact: false };
      offset = item.range?.[0] ?? offset;
      node = item;
    } else return { offset, exact: false };
  }
  return { offset, exact: true };
}

function answerFileError(file: string, issues: AnswerFileIssue[]): ServicepackError {
  const lines = issues.map((i) => `${i.file}:${i.line}:${i.column}: ${i.key}: ${i.message}`);
  return new ServicepackError(
    'E_INVALID_ANSWER_FILE',
    `${issues.length === 1 ? lines[0] : `the answer file ${file} has ${issues.length} errors:\n  ${lines.join('\n  ')}`}\nFix the answer file and run again; nothing was installed.`,
    { file, issues },
  );
}

/** An error about one top-level key found after parsing (a EULA not accepted, an unusable log file). */
export function answerFileKeyError(
  af: Pick<AnswerFile, 'file' | 'keyLines'>,
  key: keyof AnswerFileInput,
  message: string,
): ServicepackError {
  return answerFileError(af.file, [{ file: af.file, line: af.keyLines[key] ?? 1, column: 1, key, message }]);
}

function abs(dir: string, p: string): string {
  return isAbsolute(p) ? p : resolve(dir, p);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Reads, parses and validates an answer file. Every problem found is reported at once (an admin
 * fixing a file for a fleet should not discover errors one run at a time), each with its line.
 */
export async function loadAnswerFile(path: string, cwd: string = process.cwd()): Promise<AnswerFile> {
  const file = abs(cwd, path);
  let text: string;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    if (st.size > ANSWER_FILE_MAX_BYTES) {
      throw answerFileError(file, [
        {
          file,
          line: 1,
          column: 1,
          key: '(document)',
          message: `the file is larger than ${ANSWER_FILE_MAX_BYTES} bytes; an answer file is a few lines of YAML`,
        },
      ]);
    }
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (isServicepackError(e)) throw e;
    throw new ServicepackError(
      'E_INVALID_ANSWER_FILE',
      `cannot read the answer file ${file}: ${(e as Error).message}; check the path given to --answer-file`,
      { file },
    );
  }
  return parseAnswerFile(text, file, { checkFiles: true });
}

/** Validates answer file text; `file` names it in messages and anchors relative paths. */
export async function parseAnswerFile(
  text: string,
  file: string,
  opts: { checkFiles?: boolean } = {},
): Promise<AnswerFile> {
  const dir = dirname(file);
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: true, keepSourceTokens: true, uniqueKeys: true });
  const at = (offset: number) => {
    const p = lc.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const issues: AnswerFileIssue[] = [];
  const topKeyAt = (offset: number): string => {
    // the top-level key whose entry holds the offset, so even a syntax error names a key
    if (!isMap(doc.contents)) return '(document)';
    let name = '(document)';
    for (const p of doc.contents.items) {
      const start = (p.key as Node | null)?.range?.[0];
      if (start !== undefined && start <= offset && isScalar(p.key)) name = String(p.key.value);
    }
    return name;
  };
  for (const e of doc.errors) {
    const offset = e.pos[0];
    issues.push({
      file,
      ...at(offset),
      key: topKeyAt(offset),
      message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''),
    });
  }
  if (issues.length > 0) throw answerFileError(file, issues);

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw answerFileError(file, [{ file, line: 1, column: 1, key: '(document)', message: (e as Error).message }]);
  }
  if (data === null || data === undefined || typeof data !== 'object' || Array.isArray(data)) {
    throw answerFileError(file, [
      { file, ...at(0), key: '(document)', message: 'expected a mapping of keys (targets, packs, acceptEula, ...)' },
    ]);
  }

  const keyLines: AnswerFile['keyLines'] = {};
  if (isMap(doc.contents)) {
    for (const p of doc.contents.items) {
      if (isScalar(p.key) && typeof p.key.value === 'string' && TOP_KEYS.includes(p.key.value)) {
        keyLines[p.key.value as keyof AnswerFileInput] = at((p.key as Node).range?.[0] ?? 0).line;
      }
    }
  }

  const parsed = AnswerFileSchema.safeParse(data);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        const known = issue.path.length === 0 ? TOP_KEYS : issue.path[0] === 'targets' ? ['root'] : [];
        for (const k of issue.keys) {
          const path = [...issue.path, k];
          const loc = locate(doc, path, true);
          const why =
            issue.path.length === 0 && COMMAND_LINE_ONLY[k] !== undefined
              ? COMMAND_LINE_ONLY[k]
              : `unknown key${suggestion(k, known)}`;
          issues.push({ file, ...at(loc.offset), key: keyName(path), message: why });
        }
        continue;
      }
      const loc = locate(doc, issue.path);
      const missing = !loc.exact && issue.code === 'invalid_type';
      issues.push({
        file,
        ...at(loc.offset),
        key: keyName(issue.path),
        message: missing
          ? `missing: ${issue.message.replace(/^Invalid input: /, '')}`
          : issue.message.replace(/^Invalid input: /, ''),
      });
    }
    throw answerFileError(
      file,
      issues.sort((a, b) => a.line - b.line || a.column - b.column),
    );
  }
  const a = parsed.data;
  const posOf = (path: readonly PropertyKey[]) => at(locate(doc, path).offset);
  const lineOf = (path: readonly PropertyKey[]) => posOf(path).line;

  const targets = a.targets.map((t, i) => ({ root: abs(dir, t.root), line: lineOf(['targets', i, 'root']) }));
  const seen = new Map<string, number>();
  for (const [i, t] of targets.entries()) {
    const first = seen.get(t.root);
    if (first !== undefined)
      issues.push({
        file,
        ...posOf(['targets', i, 'root']),
        key: `targets[${i}].root`,
        message: `${t.root} is already targets[${first}]; list each installation once`,
      });
    else seen.set(t.root, i);
  }

  let source: AnswerFile['source'];
  if (a.packs !== undefined) {
    const packs = a.packs.map((p, i) => ({ path: abs(dir, p), line: lineOf(['packs', i]) }));
    source = { kind: 'packs', packs };
    if (opts.checkFiles) {
      for (const [i, p] of packs.entries()) {
        if (!(await isFile(p.path)))
          issues.push({
            file,
            ...posOf(['packs', i]),
            key: `packs[${i}]`,
            message: `no such pack file: ${p.path} (relative paths start at ${dir})`,
          });
      }
    }
  } else {
    const feed = a.feed!;
    try {
      resolveFeedSource(feed, dir);
    } catch (e) {
      issues.push({ file, ...posOf(['feed']), key: 'feed', message: (e as Error).message });
    }
    // a folder given relative to the answer file stays that way when the feed is read
    const isUrl = /^[A-Za-z][A-Za-z0-9+.-]*:/.test(feed) && !/^[A-Za-z]:[\\/]/.test(feed);
    source = { kind: 'feed', feed: isUrl ? feed : abs(dir, feed), latest: true, line: lineOf(['feed']) };
  }
  const trust = (a.trust ?? []).map((p) => abs(dir, p));
  if (opts.checkFiles) {
    for (const [i, p] of trust.entries()) {
      if (!(await isFile(p)))
        issues.push({
          file,
          ...posOf(['trust', i]),
          key: `trust[${i}]`,
          message: `no such key file: ${p} (relative paths start at ${dir})`,
        });
    }
  }
  if (issues.length > 0)
    throw answerFileError(
      file,
      issues.sort((x, y) => x.line - y.line),
    );

  return {
    file,
    dir,
    targets,
    source,
    trust,
    acceptEula: a.acceptEula,
    backup: a.backup,
    modified: a.modified,
    restart: a.restart,
    wait: a.wait,
    healthCheck: a.healthCheck,
    ...(a.healthTimeout !== undefined ? { healthTimeout: a.healthTimeout } : {}),
    ...(a.log !== undefined ? { log: abs(dir, a.log) } : {}),
    keyLines,
  };
}

/** The packs' license agreement, by the one rule (license.ts) the wizard and the install apply too. */
export { licenseDocument as eulaDocument } from '../rules/license.js';
