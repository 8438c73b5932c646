import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';

/**
 * A file tree held in memory: posix relative path -> contents. Modes are not stored: they follow
 * from the path (see modeFor), which is what makes two builds of the same sources agree on them.
 */
export type FileTree = Map<string, Buffer>;

/** The parts of packages/inetsrv that become a release; everything else there is development-only. */
export const RELEASE_SOURCE_ROOTS = ['bin', 'conf', 'wwwroot', 'src'] as const;

export function isReleaseSourcePath(path: string): boolean {
  const top = path.split('/', 1)[0];
  return (RELEASE_SOURCE_ROOTS as readonly string[]).includes(top ?? '') && path.includes('/');
}

export const DIR_MODE = 0o755;
export const EXEC_MODE = 0o755;
export const FILE_MODE = 0o644;

/** Launchers live in bin/ and must stay runnable; nothing else in a release is executable. */
export function modeFor(path: string): number {
  return path.startsWith('bin/') ? EXEC_MODE : FILE_MODE;
}

/** A path as messages show it: relative when below the working folder, absolute otherwise. */
export function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  if (rel === '') return '.';
  return rel.startsWith('..') || isAbsolute(rel) ? p : rel;
}

/** Byte order, not locale order, so listings and diffs sort the same on every machine. */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

type Ignore = (relPath: string) => boolean;

async function walk(dir: string, prefix: string, out: FileTree, ignore: Ignore | undefined): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    const rel = prefix === '' ? e.name : `${prefix}/${e.name}`;
    const abs = join(dir, e.name);
    if (ignore?.(rel)) continue;
    if (e.isDirectory()) await walk(abs, rel, out, ignore);
    else if (e.isFile()) out.set(rel, await readFile(abs));
    else throw new Error(`${abs} is neither a regular file nor a folder; release sources may hold only those`);
  }
}

/** Reads every regular file below `dir` (or below the named top-level folders of it, when they exist). */
export async function readTree(dir: string, roots?: readonly string[], ignore?: Ignore): Promise<FileTree> {
  const tree: FileTree = new Map();
  if (!roots) {
    await walk(dir, '', tree, ignore);
    return tree;
  }
  for (const r of roots) {
    const abs = join(dir, r);
    if (!existsSync(abs)) continue;
    if (!(await lstat(abs)).isDirectory()) throw new Error(`${abs} should be a folder`);
    await walk(abs, r, tree, ignore);
  }
  return tree;
}

/** The directories a set of file paths implies, deepest first (the order mtimes must be set in). */
function impliedDirs(paths: Iterable<string>): string[] {
  const dirs = new Set<string>();
  for (const p of paths) {
    for (let d = dirname(p); d !== '.' && !dirs.has(d); d = dirname(d)) dirs.add(d);
  }
  return [...dirs].sort((a, b) => b.split('/').length - a.split('/').length || comparePaths(a, b));
}

export interface WriteTreeOptions {
  /** Every file and folder gets this mtime (and atime), so the tree's metadata does not record when it was built. */
  mtime: Date;
}

/** Writes a tree into `dir` (which must not exist yet) with normalized modes and times. */
export async function writeTree(dir: string, tree: FileTree, options: WriteTreeOptions): Promise<void> {
  await mkdir(dir, { recursive: false, mode: DIR_MODE });
  const paths = [...tree.keys()].sort(comparePaths);
  const dirs = impliedDirs(paths);
  for (const d of [...dirs].reverse()) await mkdir(join(dir, d), { recursive: true, mode: DIR_MODE });
  for (const p of paths) {
    const abs = join(dir, p);
    const mode = modeFor(p);
    await writeFile(abs, tree.get(p) as Buffer, { mode });
    // writeFile's mode is filtered by the umask; the release's modes must not depend on it.
    await chmod(abs, mode);
    await utimes(abs, options.mtime, options.mtime);
  }
  for (const d of dirs) {
    await chmod(join(dir, d), DIR_MODE);
    await utimes(join(dir, d), options.mtime, options.mtime);
  }
  await chmod(dir, DIR_MODE);
  await utimes(dir, options.mtime, options.mtime);
}

/**
 * Puts a finished tree in place of `dest`: a reader sees the old tree or the new one, never a mix.
 * (A directory cannot be renamed over a non-empty one, so the old tree steps aside first.)
 */
export async function replaceDir(built: string, dest: string, mtime?: Date): Promise<void> {
  const aside = join(dirname(dest), `.${basename(dest)}.old-${process.pid}`);
  await rm(aside, { recursive: true, force: true });
  const had = existsSync(dest);
  if (had) await rename(dest, aside);
  try {
    await rename(built, dest);
  } catch (e) {
    if (had) await rename(aside, dest);
    throw e;
  }
  if (mtime) await utimes(dest, mtime, mtime);
  if (had) await rm(aside, { recursive: true, force: true });
}

export interface ListingEntry {
  path: string;
  mode: number;
  sha256: string;
  mtimeMs?: number;
}

/** path, mode and content hash of every file below `dir`, sorted: the fingerprint tests compare. */
export async function listTree(dir: string, options: { mtimes?: boolean } = {}): Promise<ListingEntry[]> {
  const out: ListingEntry[] = [];
  async function go(abs: string, rel: string): Promise<void> {
    const st = await lstat(abs);
    if (st.isDirectory()) {
      if (rel !== '')
        out.push({
          path: `${rel}/`,
          mode: st.mode & 0o7777,
          sha256: '',
          ...(options.mtimes ? { mtimeMs: st.mtimeMs } : {}),
        });
      for (const name of (await readdir(abs)).sort(comparePaths))
        await go(join(abs, name), rel === '' ? name : `${rel}/${name}`);
    } else {
      const sha256 = st.isFile()
        ? createHash('sha256')
            .update(await readFile(abs))
            .digest('hex')
        : `(${st.isSymbolicLink() ? 'symlink' : 'special'})`;
      out.push({ path: rel, mode: st.mode & 0o7777, sha256, ...(options.mtimes ? { mtimeMs: st.mtimeMs } : {}) });
    }
  }
  await go(dir, '');
  return out;
}
