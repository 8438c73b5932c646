import type { RequestHead } from './request-parser.js';
import { errorResponse, type Response } from './response.js';
import type { StaticFiles } from './static-files.js';
import { isLoopback, type StatusSnapshot, statusResponse } from './status.js';
import { parseTarget } from './url-path.js';

const ALLOWED = 'GET, HEAD';

export interface SiteOptions {
  files: StaticFiles;
  statusPage: string | null;
  snapshot: () => StatusSnapshot;
}

/** Maps one parsed request to a response. Knows nothing about sockets, so it is the same for every connection. */
export class Site {
  readonly #options: SiteOptions;

  constructor(options: SiteOptions) {
    this.#options = options;
  }

  async handle(head: RequestHead, remoteAddress: string | undefined): Promise<Response> {
    if (head.method !== 'GET' && head.method !== 'HEAD') return errorResponse(405, [['Allow', ALLOWED]]);
    const target = parseTarget(head.target);
    if (!target.ok) return errorResponse(target.status);
    const { statusPage } = this.#options;
    if (statusPage !== null && target.rawPath === statusPage) {
      // Off the machine the page does not exist, rather than being forbidden: no hint that it is there.
      return isLoopback(remoteAddress) ? statusResponse(this.#options.snapshot()) : errorResponse(404);
    }
    return this.#options.files.serve(head, target.segments, target.trailingSlash, target.rawPath, target.query);
  }
}
