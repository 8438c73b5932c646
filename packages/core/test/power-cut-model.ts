/**
 * A model of what a power cut leaves on disk, for the crash-consistency test (power-cut.test.ts;
 * docs/transactions.md "Power cuts: the model").
 *
 * While a run is recorded, node's fs functions (sync, promise and FileHandle forms) and the spawn of
 * `sync -f` are wrapped, and every operation on the installation is logged in the order it
 * completed: entries created, renamed and removed (per folder), and the flushes (fsync of a file or
 * a folder, syncfs). Nothing else is simulated: each flush records what it covers when it starts
 * (the file's bytes and mode, read back through /proc/self/fd; the folder; everything, for syncfs).
 *
 * The state a cut after the first k operations leaves, in the worst case a journaling file system
 * allows (ext4 and xfs without the global order their journals add, the minimum POSIX promises):
 * - a created or removed entry is on disk once its folder was flushed after it (a new folder's
 *   entry is in its parent; what is inside a lost folder is lost with it);
 * - a rename is atomic and on disk once the folder receiving the entry was flushed after it;
 * - operations on one name reach the disk in their order: one that is on disk brings the earlier
 *   operations on the names it uses along (the move that put the entry where it moves from, the
 *   removal that freed the name it takes); no file system writes a later change of a name first;
 * - a file's bytes and mode are those of its last fsync (or syncfs) that finished; a file never
 *   flushed is empty;
 * - syncfs flushes everything, but only on a file system that implements it: modelling FUSE, it
 *   flushes nothing.
 * `keepEntries` gives the other corner: every entry operation reached the disk (the file system's
 * journal was committed by someone else), while file data is still only what was flushed.
 *
 * Every operation on the installation must go through a wrapped function; after the run the model's
 * tree is compared with the disk, so an operation the model missed fails the test instead of
 * passing it unseen.
 */
import childProcess from 'node:child_process';
import fs, { type Stats } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';

type Id = number;

interface Node {
  kind: 'file' | 'dir';
  /** folders: name -> node, as the running program sees it */
  children?: Map<string, Id>;
  /** files: the mode it was created with (what a cut before any flush leaves) */
  createMode?: number;
}

interface Content {
  data: Buffer;
  mode: number;
  /** never flushed: what a cut leaves of a new file (nothing) */
  lost?: true;
}

type Op =
  | { kind: 'entry'; dir: Id; name: string; node: Id | undefined; what: string }
  | { kind: 'rename'; srcDir: Id; srcName: string; dstDir: Id; dstName: string; node: Id; what: string }
  | { kind: 'fsync'; node: Id; covers: number; content?: Content; what: string }
  | { kind: 'syncfs'; covers: number; contents: Map<Id, Content>; what: string };

export interface CrashState {
  /** root-relative path -> file content (folders: undefined) */
  files: Map<string, Content | undefined>;
  key: string;
}

export class PowerCutModel {
  readonly ops: Op[] = [];
  readonly #nodes = new Map<Id, Node>();
  readonly #initial = new Map<Id, Content>();
  readonly #initialChildren = new Map<Id, Map<string, Id>>();
  readonly #fds = new Map<number, Id>();
  #next = 0;
  readonly rootId: Id;

  /** `syncfsWorks`: whether the modelled file system implements syncfs (ext4: yes; FUSE: no). */
  constructor(
    readonly root: string,
    readonly syncfsWorks: boolean,
  ) {
    this.rootId = this.#scan(root);
    for (const [id, n] of this.#nodes) if (n.children) this.#initialChildren.set(id, new Map(n.children));
  }

  #scan(abs: string): Id {
    const st = fs.lstatSync(abs);
    const id = this.#next++;
    if (st.isDirectory()) {
      const children = new Map<string, Id>();
      this.#nodes.set(id, { kind: 'dir', children });
      for (const name of fs.readdirSync(abs)) children.set(name, this.#scan(join(abs, name)));
    } else if (st.isFile()) {
      this.#nodes.set(id, { kind: 'file', createMode: st.mode & 0o7777 });
      this.#initial.set(id, { data: fs.readFileSync(abs), mode: st.mode & 0o7777 });
    } else throw new Error(`model: ${abs} is neither a file nor a folder`);
    return id;
  }

  /** Root-relative segments of `p`, or undefined when it lies outside the installation. */
  #segments(p: fs.PathLike): string[] | undefined {
    if (typeof p !== 'string') return undefined;
    const rel = relative(this.root, p);
    if (rel === '') return [];
    if (rel.startsWith('..') || rel.startsWith(sep)) return undefined;
    return rel.split(sep);
  }

  #lookup(segs: string[]): Id | undefined {
    let cur: Id | undefined = this.rootId;
    for (const s of segs) {
      cur = cur === undefined ? undefined : this.#nodes.get(cur)?.children?.get(s);
      if (cur === undefined) return undefined;
    }
    return cur;
  }

  #parent(segs: string[]): { dir: Id; name: string } | undefined {
    if (segs.length === 0) return undefined;
    const dir = this.#lookup(segs.slice(0, -1));
    if (dir === undefined)
      throw new Error(`model: the folder of ${segs.join('/')} is not known: an operation was missed`);
    return { dir, name: segs[segs.length - 1]! };
  }

  #setEntry(dir: Id, name: string, node: Id | undefined, what: string): void {
    const children = this.#nodes.get(dir)!.children!;
    if (node === undefined) children.delete(name);
    else children.set(name, node);
    this.ops.push({ kind: 'entry', dir, name, node, what });
  }

  /** After an open, a write of a whole file, a copy: a new file when the model had none there. */
  created(p: fs.PathLike, fd?: number): void {
    const segs = this.#segments(p);
    if (segs === undefined) {
      if (fd !== undefined) this.#fds.delete(fd);
      return;
    }
    let id = this.#lookup(segs);
    if (id === undefined) {
      const st = fs.lstatSync(p);
      if (!st.isFile()) throw new Error(`model: ${String(p)} was created as something else than a file`);
      id = this.#next++;
      this.#nodes.set(id, { kind: 'file', createMode: st.mode & 0o7777 });
      const { dir, name } = this.#parent(segs)!;
      this.#setEntry(dir, name, id, `create ${segs.join('/')}`);
    }
    if (fd !== undefined) this.#fds.set(fd, id);
  }

  /** After a mkdir (recursive or not): every folder on the path the model does not know. */
  madeDirs(p: fs.PathLike): void {
    const segs = this.#segments(p);
    if (segs === undefined) return;
    for (let i = 1; i <= segs.length; i++) {
      if (this.#lookup(segs.slice(0, i)) !== undefined) continue;
      const id = this.#next++;
      this.#nodes.set(id, { kind: 'dir', children: new Map() });
      const { dir, name } = this.#parent(segs.slice(0, i))!;
      this.#setEntry(dir, name, id, `mkdir ${segs.slice(0, i).join('/')}`);
    }
  }

  renamed(from: fs.PathLike, to: fs.PathLike): void {
    const a = this.#segments(from);
    const b = this.#segments(to);
    if (a === undefined && b === undefined) return;
    if (a === undefined || b === undefined)
      throw new Error(`model: a rename across the installation's edge (${String(from)} -> ${String(to)})`);
    const node = this.#lookup(a);
    if (node === undefined) throw new Error(`model: ${a.join('/')} was renamed but is not known`);
    const src = this.#parent(a)!;
    const dst = this.#parent(b)!;
    this.#nodes.get(src.dir)!.children!.delete(src.name);
    this.#nodes.get(dst.dir)!.children!.set(dst.name, node);
    this.ops.push({
      kind: 'rename',
      srcDir: src.dir,
      srcName: src.name,
      dstDir: dst.dir,
      dstName: dst.name,
      node,
      what: `rename ${a.join('/')} -> ${b.join('/')}`,
    });
  }

  linked(existing: fs.PathLike, p: fs.PathLike): void {
    const segs = this.#segments(p);
    if (segs === undefined) return;
    const node = this.#lookup(this.#segments(existing) ?? []);
    if (node === undefined) throw new Error(`model: a link to ${String(existing)}, which it does not know`);
    const { dir, name } = this.#parent(segs)!;
    this.#setEntry(dir, name, node, `link ${segs.join('/')}`);
  }

  removed(p: fs.PathLike): void {
    const segs = this.#segments(p);
    if (segs === undefined || this.#lookup(segs) === undefined) return;
    const { dir, name } = this.#parent(segs)!;
    this.#setEntry(dir, name, undefined, `remove ${segs.join('/')}`);
  }

  opened(p: fs.PathLike, fd: number): void {
    const segs = this.#segments(p);
    const id = segs === undefined ? undefined : this.#lookup(segs);
    if (id === undefined) this.#fds.delete(fd);
    else this.#fds.set(fd, id);
  }

  /** Before an fsync of `fd`: what it will have made durable once it returns. */
  fsyncStarts(fd: number): (() => void) | undefined {
    const id = this.#fds.get(fd);
    if (id === undefined) return undefined;
    const covers = this.ops.length;
    const node = this.#nodes.get(id)!;
    const content =
      node.kind === 'file'
        ? { data: fs.readFileSync(`/proc/self/fd/${fd}`), mode: fs.fstatSync(fd).mode & 0o7777 }
        : undefined;
    return () =>
      this.ops.push({
        kind: 'fsync',
        node: id,
        covers,
        ...(content ? { content } : {}),
        what: `fsync ${node.kind} #${id}`,
      });
  }

  /** Before a syncfs: every file's bytes and mode now. */
  syncfsStarts(): () => void {
    const covers = this.ops.length;
    const contents = new Map<Id, Content>();
    const walk = (id: Id, abs: string) => {
      const n = this.#nodes.get(id)!;
      if (n.kind === 'file') {
        const st: Stats = fs.lstatSync(abs);
        contents.set(id, { data: fs.readFileSync(abs), mode: st.mode & 0o7777 });
      } else for (const [name, c] of n.children!) walk(c, join(abs, name));
    };
    walk(this.rootId, this.root);
    return () => this.ops.push({ kind: 'syncfs', covers, contents, what: 'syncfs' });
  }

  /** Folders and files of the model as the running program sees them, root-relative, folders with a trailing slash (the check against the disk). */
  liveTree(exclude: readonly string[]): string[] {
    const out: string[] = [];
    const walk = (id: Id, rel: string) => {
      const n = this.#nodes.get(id)!;
      if (n.children) {
        for (const [name, c] of n.children) {
          const r = rel === '' ? name : `${rel}/${name}`;
          if (exclude.includes(r)) continue;
          out.push(this.#nodes.get(c)!.kind === 'dir' ? `${r}/` : r);
          walk(c, r);
        }
      }
    };
    walk(this.rootId, '');
    return out.sort();
  }

  /** For each operation, the earlier ones on the same names (see the top of this file). */
  #orderedAfter(): number[][] {
    const last = new Map<string, number>();
    return this.ops.map((o, i) => {
      const slots =
        o.kind === 'entry'
          ? [`${o.dir}/${o.name}`]
          : o.kind === 'rename'
            ? [`${o.srcDir}/${o.srcName}`, `${o.dstDir}/${o.dstName}`]
            : [];
      const deps = slots.flatMap((s) => (last.has(s) ? [last.get(s)!] : []));
      for (const s of slots) last.set(s, i);
      return deps;
    });
  }

  /** The disk after a power cut once the first `cut` operations completed (see the top of this file). */
  crashState(cut: number, keepEntries = false): CrashState {
    const flushes = this.ops
      .slice(0, cut)
      .flatMap((o, i) => (o.kind === 'fsync' || o.kind === 'syncfs' ? [{ o, i }] : []));
    const flushedAfter = (dir: Id, i: number) =>
      flushes.some(
        ({ o }) =>
          o.covers > i && ((o.kind === 'syncfs' && this.syncfsWorks) || (o.kind === 'fsync' && o.node === dir)),
      );
    const deps = this.#orderedAfter();
    const kept = new Array<boolean>(cut).fill(keepEntries);
    for (let i = cut - 1; i >= 0 && !keepEntries; i--) {
      const o = this.ops[i]!;
      if (o.kind === 'entry') kept[i] ||= flushedAfter(o.dir, i);
      else if (o.kind === 'rename') kept[i] ||= flushedAfter(o.dstDir, i);
      if (kept[i]) for (const j of deps[i]!) kept[j] = true;
    }
    const children = new Map<Id, Map<string, Id>>();
    for (const [id, c] of this.#initialChildren) children.set(id, new Map(c));
    const kids = (id: Id) => {
      const c = children.get(id) ?? new Map<string, Id>();
      children.set(id, c);
      return c;
    };
    for (const [i, o] of this.ops.slice(0, cut).entries()) {
      if (!kept[i]) continue;
      if (o.kind === 'entry') {
        if (o.node === undefined) kids(o.dir).delete(o.name);
        else kids(o.dir).set(o.name, o.node);
      } else if (o.kind === 'rename') {
        if (this.#nodes.get(o.node)!.kind === 'dir') {
          // a folder has one place: wherever the disk has it now, the rename takes it from there
          for (const c of children.values()) for (const [name, id] of c) if (id === o.node) c.delete(name);
        } else if (kids(o.srcDir).get(o.srcName) === o.node) kids(o.srcDir).delete(o.srcName);
        kids(o.dstDir).set(o.dstName, o.node);
      }
    }
    const content = (id: Id): Content => {
      let last: Content | undefined;
      for (const { o } of flushes) {
        if (o.kind === 'fsync' && o.node === id && o.content) last = o.content;
        else if (o.kind === 'syncfs' && this.syncfsWorks && o.contents.has(id)) last = o.contents.get(id);
      }
      return (
        last ??
        this.#initial.get(id) ?? { data: Buffer.alloc(0), mode: this.#nodes.get(id)!.createMode ?? 0o644, lost: true }
      );
    };
    const files = new Map<string, Content | undefined>();
    const seen = new Set<Id>();
    const walk = (id: Id, rel: string) => {
      // a folder reachable twice (its rename kept in two places) is not a state a disk can have
      if (seen.has(id) && this.#nodes.get(id)!.kind === 'dir') throw new Error(`model: folder #${id} reachable twice`);
      seen.add(id);
      const n = this.#nodes.get(id)!;
      if (rel !== '') files.set(rel, n.kind === 'file' ? content(id) : undefined);
      if (n.kind === 'dir') for (const [name, c] of kids(id)) walk(c, rel === '' ? name : `${rel}/${name}`);
    };
    walk(this.rootId, '');
    const key = [...files]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([p, c]) =>
        c === undefined ? `${p}/` : `${p}:${c.mode.toString(8)}:${c.data.length}:${c.data.toString('base64')}`,
      )
      .join('\n');
    return { files, key };
  }
}

/** Writes a crash state into the empty folder `dir`. */
export async function materialise(state: CrashState, dir: string): Promise<void> {
  for (const [rel, c] of [...state.files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const abs = join(dir, ...rel.split('/'));
    if (c === undefined) await mkdir(abs, { recursive: true });
    else {
      await mkdir(dirname(abs), { recursive: true });
      await writeFile(abs, c.data, { mode: c.mode });
      fs.chmodSync(abs, c.mode);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Recording: node's fs functions wrapped while a model is attached

let active: PowerCutModel | undefined;
const SYNC_BINARIES = new Set(['/usr/bin/sync', '/bin/sync']);

type AnyFn = (...args: never[]) => unknown;
const saved: Array<[Record<string, unknown>, string, unknown]> = [];

function wrap<T extends Record<string, unknown>>(obj: T, name: keyof T & string, make: (orig: AnyFn) => AnyFn): void {
  const orig = obj[name] as AnyFn;
  saved.push([obj, name, orig]);
  (obj as Record<string, unknown>)[name] = make(orig);
}

function isCreate(flags: unknown): boolean {
  if (typeof flags === 'number') return (flags & fs.constants.O_CREAT) !== 0;
  return typeof flags === 'string' && /[wa]/.test(flags);
}

/**
 * Starts recording every operation on `model.root`; returns the function that stops it. Only one
 * model at a time; recording is off outside the run (recovery of a crash state is not recorded).
 */
export async function record(model: PowerCutModel): Promise<() => void> {
  if (saved.length > 0) throw new Error('model: already recording');
  active = model;
  const m = () => active;
  const fsp = fs.promises as unknown as Record<string, unknown>;
  const fsy = fs as unknown as Record<string, unknown>;
  // synchronous forms
  wrap(fsy, 'openSync', (o) => (p: fs.PathLike, flags?: unknown, mode?: unknown) => {
    const fd = (o as (...a: unknown[]) => number)(p, flags, mode);
    if (isCreate(flags)) m()?.created(p, fd);
    else m()?.opened(p, fd);
    return fd;
  });
  wrap(fsy, 'writeFileSync', (o) => (p: fs.PathLike, ...rest: unknown[]) => {
    (o as (...a: unknown[]) => void)(p, ...rest);
    m()?.created(p);
  });
  wrap(fsy, 'mkdirSync', (o) => (p: fs.PathLike, ...rest: unknown[]) => {
    const r = (o as (...a: unknown[]) => unknown)(p, ...rest);
    m()?.madeDirs(p);
    return r;
  });
  wrap(fsy, 'renameSync', (o) => (a: fs.PathLike, b: fs.PathLike) => {
    (o as (...x: unknown[]) => void)(a, b);
    m()?.renamed(a, b);
  });
  wrap(fsy, 'linkSync', (o) => (a: fs.PathLike, b: fs.PathLike) => {
    (o as (...x: unknown[]) => void)(a, b);
    m()?.linked(a, b);
  });
  for (const name of ['unlinkSync', 'rmdirSync', 'rmSync']) {
    wrap(fsy, name, (o) => (p: fs.PathLike, ...rest: unknown[]) => {
      const there = fs.existsSync(p);
      (o as (...a: unknown[]) => void)(p, ...rest);
      if (there) m()?.removed(p);
    });
  }
  wrap(fsy, 'copyFileSync', (o) => (a: fs.PathLike, b: fs.PathLike, ...rest: unknown[]) => {
    (o as (...x: unknown[]) => void)(a, b, ...rest);
    m()?.created(b);
  });
  for (const name of ['fsyncSync', 'fdatasyncSync']) {
    wrap(fsy, name, (o) => (fd: number) => {
      const done = m()?.fsyncStarts(fd);
      (o as (...a: unknown[]) => void)(fd);
      done?.();
    });
  }
  // promise forms
  wrap(fsp, 'open', (o) => async (p: fs.PathLike, flags?: unknown, mode?: unknown) => {
    const fh = (await (o as (...a: unknown[]) => Promise<fs.promises.FileHandle>)(
      p,
      flags,
      mode,
    )) as fs.promises.FileHandle;
    if (isCreate(flags)) m()?.created(p, fh.fd);
    else m()?.opened(p, fh.fd);
    return fh;
  });
  for (const name of ['writeFile', 'appendFile']) {
    wrap(fsp, name, (o) => async (p: fs.PathLike, ...rest: unknown[]) => {
      await (o as (...a: unknown[]) => Promise<void>)(p, ...rest);
      if (typeof p === 'string') m()?.created(p);
    });
  }
  wrap(fsp, 'mkdir', (o) => async (p: fs.PathLike, ...rest: unknown[]) => {
    const r = await (o as (...a: unknown[]) => Promise<unknown>)(p, ...rest);
    m()?.madeDirs(p);
    return r;
  });
  wrap(fsp, 'rename', (o) => async (a: fs.PathLike, b: fs.PathLike) => {
    await (o as (...x: unknown[]) => Promise<void>)(a, b);
    m()?.renamed(a, b);
  });
  wrap(fsp, 'link', (o) => async (a: fs.PathLike, b: fs.PathLike) => {
    await (o as (...x: unknown[]) => Promise<void>)(a, b);
    m()?.linked(a, b);
  });
  for (const name of ['unlink', 'rmdir', 'rm']) {
    wrap(fsp, name, (o) => async (p: fs.PathLike, ...rest: unknown[]) => {
      const there = fs.existsSync(p);
      await (o as (...a: unknown[]) => Promise<void>)(p, ...rest);
      if (there) m()?.removed(p);
    });
  }
  wrap(fsp, 'copyFile', (o) => async (a: fs.PathLike, b: fs.PathLike, ...rest: unknown[]) => {
    await (o as (...x: unknown[]) => Promise<void>)(a, b, ...rest);
    m()?.created(b);
  });
  for (const name of ['symlink', 'cp']) {
    wrap(fsp, name, () => async () => {
      throw new Error(`model: fs.promises.${name} is not modelled`);
    });
  }
  // FileHandle.sync / datasync
  const probe = await (
    saved.find(([, n]) => n === 'open')![2] as (p: string, f: string) => Promise<fs.promises.FileHandle>
  )(model.root, 'r');
  const proto = Object.getPrototypeOf(probe) as Record<string, unknown>;
  await probe.close();
  for (const name of ['sync', 'datasync']) {
    wrap(
      proto,
      name,
      (o) =>
        async function (this: fs.promises.FileHandle) {
          const done = m()?.fsyncStarts(this.fd);
          await (o as (this: fs.promises.FileHandle) => Promise<void>).call(this);
          done?.();
        },
    );
  }
  // `sync -f` (durable.ts): syncfs of the installation's file system
  const cpx = childProcess as unknown as Record<string, unknown>;
  wrap(cpx, 'spawn', (o) => (cmd: string, args?: readonly string[], opts?: unknown) => {
    const root = m()?.root;
    const isSyncfs =
      root !== undefined &&
      SYNC_BINARIES.has(cmd) &&
      args?.[0] === '-f' &&
      args.some((a) => a === root || a.startsWith(`${root}/`));
    const done = isSyncfs ? m()?.syncfsStarts() : undefined;
    const child = (o as (...a: unknown[]) => childProcess.ChildProcess)(cmd, args, opts);
    if (done) child.once('close', (code) => code === 0 && done());
    return child;
  });
  syncBuiltinESMExports();
  return () => {
    active = undefined;
    for (const [obj, name, orig] of saved.reverse()) obj[name] = orig;
    saved.length = 0;
    syncBuiltinESMExports();
  };
}

/** Every folder and file on disk under `root`, root-relative, folders with a trailing slash. */
export function diskTree(root: string, exclude: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (abs: string, rel: string) => {
    for (const name of fs.readdirSync(abs)) {
      const r = rel === '' ? name : `${rel}/${name}`;
      if (exclude.includes(r)) continue;
      const st = fs.lstatSync(join(abs, name));
      out.push(st.isDirectory() ? `${r}/` : r);
      if (st.isDirectory()) walk(join(abs, name), r);
    }
  };
  walk(root, '');
  return out.sort();
}

export async function removeTree(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
