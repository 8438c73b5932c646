import { lstatSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BuildInfo } from './buildinfo.js';
import { isServicepackError, ServicepackError } from '../support/errors.js';
import { errnoCode, NOT_OWNED } from '../support/fsutil.js';
import { hashFiles, hashTree, type KnownEntry, type TreeEntry } from '../support/hash.js';
import { type Arch, type Level, levelName, rollupsOf } from '../rules/level.js';
import { BUILDINFO_FILE, PRODUCT, SERVICEPACK_DIR } from './names.js';
import { checkedBuildInfo } from './record-check.js';
import { ownedPathReason } from './record-paths.js';
import { checkInstallationRoot, checkRootFolder, notInstalledError } from './root.js';
import type { State } from './state.js';
import { readState, STATE_FILE } from './state-store.js';

export type ProblemKind = 'modified' | 'missing' | 'extra' | 'buildinfo' | 'state';

export interface Problem {
  path: string;
  kind: ProblemKind;
  message: string;
}

export interface Installation {
  /** absolute */
  root: string;
  product: string;
  version: string;
  arch: Arch;
  level: Level;
  levelName: string;
  hotfixes: string[];
  /** the state record, BUILDINFO.json and the files on disk agree */
  consistent: boolean;
  problems: Problem[];
  /** absent on a fresh vendor release tree (or when the record could not be read: see problems) */
  state?: State;
  buildInfo: BuildInfo;
  /** every owned file on disk now, sorted by path */
  files: Map<string, TreeEntry>;
  /**
   * With `trustRecord`: the files whose entry in `files` is the state record's (same size and
   * mode on disk), not read. `hashPaths` reads the ones a caller must know exactly.
   */
  unhashed?: Set<string>;
  /** `recordOnly`: the tree was not listed; `files` is the state record's list */
  unlisted?: true;
}

export interface DetectOptions {
  /**
   * Read only the files whose size or mode differs from the state record, or that it does not
   * list, and take the record's sha256 for the rest. Install and uninstall hash exactly the files
   * they change (hashPaths) and need no more: reading a 10,000-file tree to change 200 files
   * costs more than the change. A same-size edit of another file then goes unreported here, but
   * the record keeps that file's recorded hash, so `verify` (which reads everything) still finds it.
   * Without a state record everything is read.
   */
  trustRecord?: boolean;
  /**
   * With `trustRecord` and a state record: do not even list the tree; `files` is the record's
   * list, every entry unhashed. For uninstall, which moves only files its backup record names
   * (read exactly with hashPaths) and answers for nothing else.
   */
  recordOnly?: boolean;
}

const STATE_REL = `${SERVICEPACK_DIR}/${STATE_FILE}`;

async function readBuildInfo(root: string): Promise<BuildInfo> {
  const path = join(root, BUILDINFO_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw notInstalledError(root);
    throw new ServicepackError('E_IO', `cannot read ${path}: ${(e as Error).message}`, { path }, { cause: e });
  }
  return parseBuildInfo(text, path, undefined, {
    foreign: `this folder holds another product: give the folder ${PRODUCT} is installed in`,
  });
}

/**
 * The root judged before a command that changes it takes the lock (install, uninstall, recover):
 * an installation (checkInstallationRoot), and, while `.servicepack/` does not exist yet, a
 * BUILDINFO.json that is a record of ours, so that another product's folder gets nothing written
 * into it. Once `.servicepack/` exists this installer has worked here; the steps judge the rest.
 */
export async function checkRootBeforeLock(root: string): Promise<void> {
  checkInstallationRoot(root);
  if (lstatSync(join(root, SERVICEPACK_DIR), { throwIfNoEntry: false }) === undefined) await readBuildInfo(root);
}

/**
 * The product a BUILDINFO.json of another shape names (`product`, or `name` as many build records
 * spell it), when it is not `expected`: such a file is someone else's record, and the schema's
 * list of what it lacks would not tell the operator that.
 */
function foreignProduct(json: unknown, expected: string): string | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const o = json as Record<string, unknown>;
  const name = typeof o['product'] === 'string' ? o['product'] : typeof o['name'] === 'string' ? o['name'] : undefined;
  if (name === undefined || name === expected || name.length === 0) return undefined;
  const version = typeof o['version'] === 'string' && o['version'].length <= 64 ? ` ${o['version']}` : '';
  return `${name.slice(0, 128)}${version}`;
}

/**
 * The one judgement of a BUILDINFO.json's text, wherever one is believed: the installation's own,
 * and the one a pack ships (install.ts), so that a pack cannot install a record that every later
 * run would refuse. E_INVALID_BUILDINFO names the rule that failed.
 */
export async function parseBuildInfo(
  text: string,
  path: string,
  advice = 'restore it from the release or from .servicepack/backup/',
  /** the product the record must be, and what to say when it names another (a record of another shape) */
  other: { product?: string; foreign?: string } = {},
): Promise<BuildInfo> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ServicepackError('E_INVALID_BUILDINFO', `${path} is not valid JSON: ${advice}`, { path }, { cause: e });
  }
  // the quick check keeps zod off query's start-up; anything it does not vouch for goes to the schema
  const quick = checkedBuildInfo(json);
  if (quick) return quick;
  const [{ BuildInfoSchema }, { z }] = await Promise.all([import('./buildinfo.js'), import('zod')]);
  const parsed = BuildInfoSchema.safeParse(json);
  if (!parsed.success) {
    const expected = other.product ?? PRODUCT;
    const foreign = foreignProduct(json, expected);
    if (foreign !== undefined)
      throw new ServicepackError(
        'E_INVALID_BUILDINFO',
        `${path} is not the record of ${expected}: this is ${foreign}, not ${expected}; ${other.foreign ?? advice}`,
        { path, product: foreign },
      );
    throw new ServicepackError(
      'E_INVALID_BUILDINFO',
      `${path} is not a valid BUILDINFO record (${z.prettifyError(parsed.error).replace(/\s*\n\s*/g, '; ')}): ${advice}`,
      { path, issues: parsed.error.issues },
    );
  }
  return parsed.data;
}

async function hashOwned(root: string, known?: KnownEntry, signal?: AbortSignal): Promise<Map<string, TreeEntry>> {
  try {
    return await hashTree(root, NOT_OWNED, known, signal);
  } catch (e) {
    // hashTree refuses links and special files; in a product tree that is tampering or damage,
    // and servicing through a link could write outside the tree.
    throw new ServicepackError(
      'E_INCONSISTENT',
      `${(e as Error).message}: the product tree may hold only regular files and folders; replace it with the released file`,
      { root },
      { cause: e },
    );
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const sb = new Set(b);
  return a.every((x) => sb.has(x));
}

function crossCheck(state: State, bi: BuildInfo): Problem[] {
  const out: Problem[] = [];
  const say = (field: string, s: unknown, b: unknown) =>
    out.push({
      path: BUILDINFO_FILE,
      kind: 'buildinfo',
      message: `the state record says ${field} ${JSON.stringify(s)}, ${BUILDINFO_FILE} says ${JSON.stringify(b)}`,
    });
  if (state.product !== bi.product) say('product', state.product, bi.product);
  if (state.version !== bi.version) say('version', state.version, bi.version);
  if (state.arch !== bi.arch) say('arch', state.arch, bi.arch);
  if (state.level !== bi.level) say('level', state.level, bi.level);
  if (!sameSet(state.hotfixes, bi.hotfixes)) say('hotfixes', state.hotfixes, bi.hotfixes);
  return out;
}

/**
 * Files whose names the path rules refuse cannot be in a record, which is read back with those
 * rules (ownedPathReason): they are left out of `files` and reported as extra, like any file the
 * product does not ship. No pack can name them either.
 */
function unrecordable(files: Map<string, TreeEntry>): Problem[] {
  const out: Problem[] = [];
  for (const path of files.keys()) {
    const why = ownedPathReason(path);
    if (why === undefined) continue;
    files.delete(path);
    out.push({
      path,
      kind: 'extra',
      message: `${JSON.stringify(path)} is not part of the recorded installation: the path rules refuse its name (${why}); rename or remove it`,
    });
  }
  return out;
}

function compareFiles(recorded: State['files'], disk: Map<string, TreeEntry>): Problem[] {
  const out: Problem[] = [];
  for (const path in recorded) {
    const want = recorded[path]!;
    const have = disk.get(path);
    if (!have) out.push({ path, kind: 'missing', message: `${path} is recorded but missing` });
    else if (have.sha256 !== want.sha256 || have.size !== want.size)
      out.push({
        path,
        kind: 'modified',
        message: `${path} differs from the recorded content (sha256 ${have.sha256.slice(0, 12)}…, recorded ${want.sha256.slice(0, 12)}…)`,
      });
    else if (have.mode !== want.mode)
      out.push({
        path,
        kind: 'modified',
        message: `${path} has mode ${have.mode.toString(8)}, recorded ${want.mode.toString(8)}`,
      });
  }
  for (const path of disk.keys()) {
    if (!Object.hasOwn(recorded, path))
      out.push({ path, kind: 'extra', message: `${path} is not part of the recorded installation` });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * What is installed in `root`: BUILDINFO.json says what the vendor shipped, the state record says
 * what this installer did since, and the files say what is really there. All three are read and
 * compared (SPCheck/Qfecheck did the same against their file lists) because any one alone can lie:
 * a hand-copied file, a restored folder, a lost record.
 */
export async function detectInstallation(rootArg: string, opts: DetectOptions = {}): Promise<Installation> {
  const root = resolve(rootArg);
  checkRootFolder(root);
  const buildInfo = await readBuildInfo(root);
  const problems: Problem[] = [];
  // Without trustRecord every file is read whatever the record says: the listing and hashing start
  // now and the record is read and checked beside them (verify's worker thread hashes meanwhile).
  // The record's own errors still come first, and stop the hashing.
  const stop = new AbortController();
  const early = opts.trustRecord ? undefined : hashOwned(root, undefined, stop.signal);
  early?.catch(() => {});
  let state: State | undefined;
  try {
    state = await readState(root);
  } catch (e) {
    if (!isServicepackError(e) || e.code !== 'E_INVALID_STATE') {
      stop.abort(e);
      throw e;
    }
    problems.push({ path: STATE_REL, kind: 'state', message: e.message });
  }
  let unhashed: Set<string> | undefined;
  let known: KnownEntry | undefined;
  if (opts.trustRecord && state) {
    const recorded = state.files;
    const trusted = new Set<string>();
    unhashed = trusted;
    known = (path, size, mode) => {
      const r = Object.hasOwn(recorded, path) ? recorded[path] : undefined;
      if (r === undefined || r.size !== size || r.mode !== mode) return undefined;
      trusted.add(path);
      return { sha256: r.sha256, size, mode };
    };
  }
  let files: Map<string, TreeEntry>;
  if (opts.trustRecord && opts.recordOnly && state && unhashed) {
    files = new Map(Object.entries(state.files).map(([p, f]) => [p, { sha256: f.sha256, size: f.size, mode: f.mode }]));
    for (const p of files.keys()) unhashed.add(p);
    problems.push(...crossCheck(state, buildInfo));
  } else {
    files = await (early ?? hashOwned(root, known));
    problems.push(...unrecordable(files));
    if (state) problems.push(...crossCheck(state, buildInfo), ...compareFiles(state.files, files));
  }
  const src = state ?? buildInfo;
  return {
    root,
    product: src.product,
    version: src.version,
    arch: src.arch,
    level: src.level,
    levelName: levelName(src.level, src.hotfixes, rollupsOf(state)),
    hotfixes: [...src.hotfixes],
    consistent: problems.length === 0,
    problems,
    ...(state ? { state } : {}),
    buildInfo,
    files,
    ...(unhashed ? { unhashed } : {}),
    ...(opts.trustRecord && opts.recordOnly && state ? { unlisted: true as const } : {}),
  };
}

/**
 * Reads the files among `paths` whose entry `detectInstallation` took from the state record, so
 * that what is planned for them rests on their real content. A file that differs from its record
 * becomes a `modified` problem, as a full detection would have reported it.
 */
export async function hashPaths(inst: Installation, paths: Iterable<string>): Promise<void> {
  const unhashed = inst.unhashed;
  if (!unhashed) return;
  const wanted = [...new Set(paths)];
  // Unlisted (recordOnly), nothing vouched for these paths' folders yet: a folder replaced by a
  // link would send the commit's renames out of the tree, which the listing refuses.
  if (inst.unlisted) checkFolders(inst.root, wanted);
  const todo = wanted.filter((p) => unhashed.has(p) || (inst.unlisted && !inst.files.has(p)));
  const digests = await hashFiles(todo.map((p) => join(inst.root, ...p.split('/'))));
  for (const [i, path] of todo.entries()) {
    const d = digests[i];
    if (!unhashed.has(path)) {
      // not in the record, and the tree was not listed: a file found here is what a listing calls extra
      if (d === undefined) continue;
      if (d instanceof Error) throw notReadable(inst, path, d);
      inst.files.set(path, d);
      inst.problems.push({ path, kind: 'extra', message: `${path} is not part of the recorded installation` });
      inst.consistent = false;
      continue;
    }
    unhashed.delete(path);
    if (d === undefined) {
      // gone since it was listed (or never looked for, with recordOnly): what a full detection reports
      inst.files.delete(path);
      inst.problems.push({ path, kind: 'missing', message: `${path} is recorded but missing` });
      inst.consistent = false;
      continue;
    }
    if (d instanceof Error) throw notReadable(inst, path, d);
    const entry = inst.files.get(path)!;
    if (d.sha256 === entry.sha256 && d.size === entry.size && d.mode === entry.mode) continue;
    inst.files.set(path, d);
    inst.problems.push({
      path,
      kind: 'modified',
      message: `${path} differs from the recorded content (sha256 ${d.sha256.slice(0, 12)}…, recorded ${entry.sha256.slice(0, 12)}…)`,
    });
    inst.consistent = false;
  }
}

function notReadable(inst: Installation, path: string, d: Error): ServicepackError {
  // a link or special file where a regular file belongs: what hashOwned reports for the whole tree
  if (errnoCode(d) === undefined)
    return new ServicepackError(
      'E_INCONSISTENT',
      `${d.message}: the product tree may hold only regular files and folders; replace it with the released file`,
      { root: inst.root },
      { cause: d },
    );
  return new ServicepackError(
    'E_IO',
    `cannot read ${path} in ${inst.root} (${d.message}): run again`,
    { path },
    { cause: d },
  );
}

/** Every existing folder on the way to each of `paths` must be a real folder, not a link or a file. */
function checkFolders(root: string, paths: readonly string[]): void {
  const seen = new Set<string>();
  for (const p of paths) {
    const segs = p.split('/');
    for (let i = 1; i < segs.length; i++) {
      const dir = segs.slice(0, i).join('/');
      if (seen.has(dir)) continue;
      seen.add(dir);
      const st = lstatSync(join(root, ...segs.slice(0, i)), { throwIfNoEntry: false });
      if (st === undefined) break;
      if (!st.isDirectory()) {
        throw new ServicepackError(
          'E_INCONSISTENT',
          `${join(root, dir)}: not a regular file or folder: the product tree may hold only regular files and folders; replace it with the released folder`,
          { root, path: dir },
        );
      }
    }
  }
}
