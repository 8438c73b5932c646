import { constants, type Stats } from 'node:fs';
import { type FileHandle, open, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { mimeType } from './mime.js';
import type { RequestHead } from './request-parser.js';
import { errorResponse, httpDate, type Response } from './response.js';

/**
 * Files under the web root. Segments arrive already vetted by url-path; this module adds the second
 * fence: every path is resolved with realpath and must still lie inside the real web root, so a
 * symbolic link placed in wwwroot cannot publish the rest of the disk.
 */
export class StaticFiles {
  readonly #root: string;
  readonly #defaultDocuments: readonly string[];

  private constructor(root: string, defaultDocuments: readonly string[]) {
    this.#root = root;
    this.#defaultDocuments = defaultDocuments;
  }

  static async open(wwwRoot: string, defaultDocuments: readonly string[]): Promise<StaticFiles> {
    return new StaticFiles(await realpath(wwwRoot), defaultDocuments);
  }

  #inside(real: string): boolean {
    return real === this.#root || real.startsWith(this.#root + sep);
  }

  /** Opens a path if it resolves inside the root; undefined when it does not exist or leads elsewhere. */
  async #openInside(path: string): Promise<{ handle: FileHandle; stat: Stats; real: string } | 'outside' | undefined> {
    let real: string;
    try {
      real = await realpath(path);
    } catch {
      return undefined;
    }
    if (!this.#inside(real)) return 'outside';
    let handle: FileHandle;
    try {
      // NOFOLLOW: the last component cannot have become a link since realpath; NONBLOCK: a FIFO
      // planted in the root must not hang the server in open().
      handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch {
      return undefined;
    }
    return { handle, stat: await handle.stat(), real };
  }

  async serve(head: RequestHead, segments: readonly string[], trailingSlash: boolean, rawPath: string, query: string): Promise<Response> {
    const found = await this.#openInside(join(this.#root, ...segments));
    if (found === 'outside') return errorResponse(403);
    if (found === undefined) return errorResponse(404);
    let { handle, stat } = found;
    let name = segments[segments.length - 1] ?? '';
    if (stat.isDirectory()) {
      await handle.close();
      if (!trailingSlash) {
        // Relative links in the folder's default document resolve against the URL, so it must end in "/".
        return errorResponse(301, [['Location', `${rawPath}/${query === '' ? '' : `?${query}`}`]]);
      }
      const doc = await this.#defaultDocument(found.real);
      if (doc === undefined) return errorResponse(403);
      ({ handle, stat, name } = doc);
    }
    if (!stat.isFile()) {
      await handle.close();
      return errorResponse(403);
    }
    return this.#fileResponse(head, handle, stat, name);
  }

  async #defaultDocument(dir: string): Promise<{ handle: FileHandle; stat: Stats; name: string } | undefined> {
    for (const name of this.#defaultDocuments) {
      const found = await this.#openInside(join(dir, name));
      if (found === undefined || found === 'outside') continue;
      if (found.stat.isFile()) return { handle: found.handle, stat: found.stat, name };
      await found.handle.close();
    }
    return undefined;
  }

  async #fileResponse(head: RequestHead, handle: FileHandle, stat: Stats, name: string): Promise<Response> {
    const etag = `"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
    const lastModified = httpDate(stat.mtimeMs);
    const validators: Array<[string, string]> = [
      ['ETag', etag],
      ['Last-Modified', lastModified],
    ];
    if (notModified(head, etag, stat.mtimeMs)) {
      await handle.close();
      return { status: 304, headers: validators, bodyLength: 0 };
    }
    return {
      status: 200,
      headers: [['Content-Type', mimeType(name)], ...validators],
      bodyLength: stat.size,
      file: handle,
    };
  }
}

/** RFC 9110 §13.2.2: If-None-Match decides when present; If-Modified-Since only without it. */
export function notModified(head: RequestHead, etag: string, mtimeMs: number): boolean {
  const inm = head.headers.get('if-none-match');
  if (inm !== undefined) {
    if (inm.trim() === '*') return true;
    // Weak comparison: W/"x" matches "x".
    const bare = etag.replace(/^W\//, '');
    return inm.split(',').some((t) => t.trim().replace(/^W\//, '') === bare);
  }
  const ims = head.headers.get('if-modified-since');
  if (ims === undefined) return false;
  const since = Date.parse(ims);
  // HTTP dates have whole seconds; compare at that resolution or every file looks newer than itself.
  return Number.isFinite(since) && Math.floor(mtimeMs / 1000) * 1000 <= since;
}
