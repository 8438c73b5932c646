import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface FileDigest {
  sha256: string;
  size: number;
}

export function sha256Bytes(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Streams the file: memory stays flat whatever its size. */
export async function sha256File(path: string): Promise<FileDigest> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const buf = chunk as Buffer;
    size += buf.length;
    hash.update(buf);
  }
  return { sha256: hash.digest('hex'), size };
}

export interface TreeEntry extends FileDigest {
  mode: number;
}

/**
 * Every regular file under `dir` (relative POSIX paths, sorted by code unit), skipping top-level
 * folders in `exclude`. Symlinks and other special files are reported as an error: a product tree
 * we service holds only regular files and folders.
 */
export async function hashTree(dir: string, exclude: readonly string[] = []): Promise<Map<string, TreeEntry>> {
  const out = new Map<string, TreeEntry>();
  async function walk(rel: string): Promise<void> {
    const entries = await readdir(join(dir, rel), { withFileTypes: true });
    for (const e of entries) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (!rel && exclude.includes(e.name)) continue;
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        const st = await lstat(join(dir, p));
        out.set(p, { ...(await sha256File(join(dir, p))), mode: st.mode & 0o777 });
      } else throw new Error(`${join(dir, p)}: not a regular file or folder`);
    }
  }
  await walk('');
  return new Map([...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
