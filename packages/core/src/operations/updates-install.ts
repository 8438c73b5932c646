import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BuildInfo, BUILDINFO_FILE, BuildInfoSchema } from '../installation/buildinfo.js';
import { isServicepackError, ServicepackError } from '../support/errors.js';
import { type EventSink, nullSink } from '../support/events.js';
import { checkPackAgainstFeed, type LoadedFeed, openFeedPack } from '../feed/client.js';
import type { FeedPack } from '../feed/schema.js';
import { openPack, type VerifiedPack } from '../pack/open.js';
import { sha256File } from '../support/hash.js';
import { serviceStatus, startService, stopService } from '../installation/service.js';
import type { TrustStore } from '../trust/trust.js';

/**
 * Installing what a feed offers: the chosen packs fetched and verified before use (each target
 * against its own trust), and `restart: always` once they are in.
 */

export interface DownloadOptions {
  trust: TrustStore;
  sink?: EventSink;
  timeoutMs?: number;
  retries?: number;
  /**
   * sha256 -> a pack file already fetched and checked in this run: several targets that need the
   * same pack download it once (each target still opens it against its own trust store)
   */
  cache?: Map<string, string>;
}

/**
 * Downloads each entry into `dir` (resuming interrupted transfers), checks size and sha256 against
 * the signed index, the signature against the installation's trust, and the manifest against the
 * entry (openFeedPack). Nothing unverified is returned.
 */
export async function downloadUpdates(
  feed: LoadedFeed,
  entries: readonly FeedPack[],
  dir: string,
  opts: DownloadOptions,
): Promise<VerifiedPack[]> {
  const sink = opts.sink ?? nullSink;
  const out: VerifiedPack[] = [];
  const totalBytes = entries.reduce((n, e) => n + e.size, 0);
  let bytes = 0;
  for (const [i, entry] of entries.entries()) {
    const cached = opts.cache?.get(entry.sha256);
    const target = join(dir, entry.sha256.slice(0, 16));
    await mkdir(target, { recursive: true });
    if (cached === undefined) sink({ type: 'info', message: `downloading ${entry.url} (${entry.size} bytes)` });
    const pack = cached
      ? await openCached(feed, entry, cached, opts)
      : await openFeedPack(feed, entry, target, {
          trustedKeys: opts.trust.keys,
          revokedKeyIds: opts.trust.revoked,
          sink,
          ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
          ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
        });
    opts.cache?.set(entry.sha256, pack.path);
    bytes += entry.size;
    sink({
      type: 'info',
      message: `${entry.id} (${entry.arch}) ${cached ? 'already downloaded' : 'downloaded'}; size, sha256 and signature verified`,
    });
    sink({
      type: 'progress',
      step: 'verify',
      files: i + 1,
      totalFiles: entries.length,
      bytes,
      totalBytes,
      path: entry.url,
    });
    out.push(pack);
  }
  return out;
}

async function openCached(
  feed: LoadedFeed,
  entry: FeedPack,
  path: string,
  opts: DownloadOptions,
): Promise<VerifiedPack> {
  // The file was checked when it arrived; checking again costs little and keeps "verified before use" literal.
  const digest = await sha256File(path);
  if (digest.sha256 !== entry.sha256 || digest.size !== entry.size) {
    throw new ServicepackError('E_HASH_MISMATCH', `${path} changed after it was downloaded; run again`, { path });
  }
  const pack = await openPack(path, { trustedKeys: opts.trust.keys, revokedKeyIds: opts.trust.revoked });
  checkPackAgainstFeed(pack.manifest, entry, { product: feed.index.product, source: path });
  return pack;
}

// ---------------------------------------------------------------------------------------------------
// restart: always

/**
 * `restart: always`: restarts the service when it runs, even though no pack asked for it (an
 * administrator who wants every change followed by a fresh process). A service that is not
 * running is left stopped. Failures are returned, not thrown: the install itself is done.
 */
export async function restartRunningService(
  root: string,
  opts: { sink?: EventSink; timeoutMs?: number } = {},
): Promise<{ restarted: boolean; message?: string }> {
  const sink = opts.sink ?? nullSink;
  let bi: BuildInfo;
  try {
    bi = BuildInfoSchema.parse(JSON.parse(await readFile(join(root, BUILDINFO_FILE), 'utf8')));
  } catch (e) {
    return {
      restarted: false,
      message: `cannot read ${BUILDINFO_FILE} to restart the service: ${(e as Error).message}`,
    };
  }
  const status = await serviceStatus(root, bi);
  if (!status.running) return { restarted: false };
  try {
    sink({
      type: 'info',
      message: `restarting ${bi.product} (pid ${status.pid}) as the answer file asks (restart: always)`,
    });
    await stopService(root, bi, opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {});
  } catch (e) {
    return { restarted: false, message: isServicepackError(e) ? e.message : String(e) };
  }
  const started = await startService(root, bi);
  if (started.started) return { restarted: true };
  return {
    restarted: false,
    message: `${bi.product} was stopped but could not be started again (${started.message}): start it with bin/inetsrv start`,
  };
}
