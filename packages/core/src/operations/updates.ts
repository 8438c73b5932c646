import {
  type ApplicabilityPack,
  type ApplicabilityTarget,
  applicablePacks,
  levelAfter,
  rollupsAfter,
} from '../rules/applicability.js';
import { detectInstallation, type Installation } from '../installation/detect.js';
import { ServicepackError } from '../support/errors.js';
import { type EventSink, nullSink } from '../support/events.js';
import type { FeedIndex, FeedPack } from '../feed/schema.js';
import { type LoadedFeed, loadFeed, resolveFeedSource } from '../feed/client.js';
import { exists } from '../support/fsutil.js';
import { journalPath } from '../transaction/journal.js';
import { type Level, levelName, rollupName, rollupsOf } from '../rules/level.js';
import { withoutUserinfo } from '../feed/redact.js';
import type { State } from '../installation/state.js';
import { readState, writeState } from '../installation/state-store.js';
import { acquireLock, assertNoOpenTransaction, releaseLock } from '../transaction/transaction.js';
import { loadTrustStore, type TrustStore } from '../trust/trust.js';

/**
 * Updates from a feed (MBSA's job, and Windows Update's "latest"): which packs of a signed feed
 * apply to an installation and are not installed yet, which of them `latest` installs, and
 * remembering the feed's version so an older index is refused next time (fetching them verified:
 * updates-install.ts).
 */

/** A feed entry judged by the same rules as a pack's signed manifest (the index carries the same facts). */
export function feedPackRules(entry: FeedPack, product: string): ApplicabilityPack {
  return { ...entry, product };
}

export interface UpdateSelection {
  /**
   * What applies now and is not installed: the newest applicable service pack (older ones are
   * left out: a service pack is cumulative) and every hotfix that installs on the current level.
   */
  applicable: FeedPack[];
  /**
   * What `install --feed URL latest` installs, in order, in one transaction: the newest
   * applicable service pack, then the rollups and hotfixes that still apply on top of it, each
   * judged on the installation the ones before it leave (a hotfix may require earlier ones).
   */
  latest: FeedPack[];
}

export function selectUpdates(target: ApplicabilityTarget, index: FeedIndex): UpdateSelection {
  const mine = index.packs.filter((p) => p.arch === target.arch);
  const rules = new Map(mine.map((p) => [feedPackRules(p, index.product), p] as const));
  const judged = [...rules.keys()];
  const now = applicablePacks(target, judged);
  const firstSp = now.find((p) => p.kind === 'service-pack');
  const applicable = now.filter((p) => p.kind !== 'service-pack' || p === firstSp).map((p) => rules.get(p)!);

  const latest: ApplicabilityPack[] = [];
  let t = target;
  // Bounded by the number of entries: each round takes a pack out of the candidates.
  const sps = judged.filter((p) => p.kind === 'service-pack');
  for (let round = 0; round < sps.length; round++) {
    const next = applicablePacks(
      t,
      sps.filter((p) => !latest.includes(p)),
    )[0];
    if (!next) break;
    latest.push(next);
    t = { ...t, ...levelAfter(t, next), rollups: rollupsAfter(t, next) };
  }
  // Rollups rank before hotfixes, so a rollup is taken instead of the hotfixes it carries.
  const hotfixes = judged.filter((p) => p.kind !== 'service-pack');
  for (let round = 0; round < hotfixes.length; round++) {
    const next = applicablePacks(
      t,
      hotfixes.filter((p) => !latest.includes(p)),
    )[0];
    if (!next) break;
    latest.push(next);
    t = { ...t, ...levelAfter(t, next), rollups: rollupsAfter(t, next) };
  }
  return { applicable, latest: latest.map((p) => rules.get(p)!) };
}

/** Entries of the feed by id for the installation's arch, in the order given (`install --feed URL ID...`). */
export function selectByIds(
  target: ApplicabilityTarget,
  index: FeedIndex,
  ids: readonly string[],
  source: string,
): FeedPack[] {
  return ids.map((id) => {
    const entry = index.packs.find((p) => p.arch === target.arch && p.id.toLowerCase() === id.toLowerCase());
    if (!entry) {
      const other = index.packs.find((p) => p.id.toLowerCase() === id.toLowerCase());
      throw new ServicepackError(
        other ? 'E_WRONG_ARCH' : 'E_USAGE',
        other
          ? `${source} has ${other.id} only for ${index.packs
              .filter((p) => p.id === other.id)
              .map((p) => p.arch)
              .join(', ')}; this installation is ${target.arch}`
          : `${source} has no pack ${id}: run servicepack check --feed ${source} to see what it offers, or use latest`,
        { id, arch: target.arch },
      );
    }
    return entry;
  });
}

/** A name for people: "Service Pack 6", "Security Rollup 1 (Q248017, …)", "hotfix Q236565 (TCP connections not released)". */
export function feedPackTitle(p: FeedPack): string {
  if (p.kind === 'service-pack') return levelName(p.level);
  if (p.kind === 'rollup') return `${rollupName(p.id)} (${p.fixes.map((f) => f.id).join(', ')})`;
  const fix = p.fixes.find((f) => f.id === p.id) ?? p.fixes[0];
  return `hotfix ${p.id}${fix ? ` (${fix.title})` : ''}`;
}

// ---------------------------------------------------------------------------------------------------
// One installation and one feed

export interface FeedForTargetOptions {
  /** public keys trusted besides the installation's own .servicepack/trust/ */
  trustFiles?: string[];
  /** what a relative feed folder resolves against */
  cwd?: string;
  sink?: EventSink;
  now?: Date;
  timeoutMs?: number;
}

export interface FeedForTarget {
  installation: Installation;
  trust: TrustStore;
  feed: LoadedFeed;
  /** the version this installation had accepted from the feed before, if any */
  lastSeenVersion?: number;
  /** whether the new version is now in the state record */
  recorded: boolean;
}

/**
 * Loads `source` for the installation in `root`: trusted by the installation's keys, refused when
 * older than the version this installation accepted last (E_FEED_ROLLBACK) or expired
 * (E_FEED_EXPIRED), and for this product only. A version seen for the first time is recorded
 * right away (before anything is installed), so a mirror that turns stale later is caught even
 * if this run installs nothing.
 */
export async function openFeedForTarget(
  root: string,
  source: string,
  opts: FeedForTargetOptions = {},
): Promise<FeedForTarget> {
  const sink = opts.sink ?? nullSink;
  const installation = await detectInstallation(root);
  const trust = await loadTrustStore({
    root: installation.root,
    ...(opts.trustFiles ? { trustFiles: opts.trustFiles } : {}),
    sink,
  });
  const lastSeenVersion = feedFloor(
    installation.state?.feeds,
    withoutUserinfo(resolveFeedSource(source, opts.cwd).indexUrl),
  );
  const feed = await loadFeed(source, {
    trustedKeys: trust.keys,
    revokedKeyIds: trust.revoked,
    ...(lastSeenVersion !== undefined ? { lastSeenVersion } : {}),
    product: installation.product,
    sink,
    ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
    ...(opts.now !== undefined ? { now: opts.now } : {}),
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
  });
  const recorded = await recordFeedVersion(installation.root, feed.url, feed.index.version, {
    sink,
    ...(opts.now ? { now: opts.now } : {}),
  });
  return { installation, trust, feed, ...(lastSeenVersion !== undefined ? { lastSeenVersion } : {}), recorded };
}

type Feeds = NonNullable<State['feeds']>;

/**
 * The last version accepted from the feed whose index URL without userinfo is `key`. Records
 * written before userinfo was taken out keyed the feed by the URL as typed, password and all:
 * those keys still count, so a rollback floor is not lost on the way.
 */
function feedFloor(feeds: Feeds | undefined, key: string): number | undefined {
  let floor: number | undefined;
  for (const [url, f] of Object.entries(feeds ?? {}))
    if (withoutUserinfo(url) === key && (floor === undefined || f.version > floor)) floor = f.version;
  return floor;
}

/** `feeds` keyed without userinfo (the highest version of keys that then meet): how the record is written from now on. */
function feedsWithoutUserinfo(feeds: Feeds | undefined): Feeds {
  const out: Feeds = {};
  for (const [url, f] of Object.entries(feeds ?? {})) {
    const key = withoutUserinfo(url);
    const have = out[key];
    if (have === undefined || f.version > have.version) out[key] = f;
  }
  return out;
}

/** Whether the record still names a feed with its userinfo: written again, without it, at the next chance. */
const leaksUserinfo = (feeds: Feeds | undefined): boolean =>
  Object.keys(feeds ?? {}).some((url) => withoutUserinfo(url) !== url);

/**
 * Keeps `version` as the last seen version of the feed at `url` in the state record's `feeds`
 * (never lowering it). Taken under the transaction lock, and never while a transaction is open
 * (recovery may put the previous record back). Returns false when there is nothing to write into
 * yet (a vendor release tree without a state record: the first install writes one, and the
 * caller records again after it) or the record is busy; the reason goes to the sink.
 */
export async function recordFeedVersion(
  root: string,
  urlArg: string,
  version: number,
  opts: { sink?: EventSink; now?: Date } = {},
): Promise<boolean> {
  const sink = opts.sink ?? nullSink;
  const url = withoutUserinfo(urlArg);
  const before = await readState(root).catch(() => undefined);
  if (!before) return false;
  if ((feedFloor(before.feeds, url) ?? 0) >= version && !leaksUserinfo(before.feeds)) return true;
  let lock: Awaited<ReturnType<typeof acquireLock>> | undefined;
  try {
    lock = await acquireLock(root);
    if (await exists(journalPath(root))) {
      sink({
        type: 'warning',
        code: 'W_FEED_NOT_RECORDED',
        message: `feed version ${version} was not recorded: an interrupted transaction is open in ${root} (run servicepack recover)`,
      });
      return false;
    }
    const state = await readState(root);
    if (!state) return false;
    const floor = feedFloor(state.feeds, url) ?? 0;
    if (floor >= version && !leaksUserinfo(state.feeds)) return true;
    const feeds = feedsWithoutUserinfo(state.feeds);
    if (floor < version) feeds[url] = { version, seen: (opts.now ?? new Date()).toISOString() };
    await writeState(root, { ...state, feeds });
    return true;
  } catch (e) {
    sink({
      type: 'warning',
      code: 'W_FEED_NOT_RECORDED',
      message: `feed version ${version} was not recorded in ${root}: ${e instanceof Error ? e.message : String(e)}`,
    });
    return false;
  } finally {
    if (lock) await releaseLock(lock).catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------------
// check

export interface CheckResult {
  root: string;
  installation: {
    product: string;
    version: string;
    arch: string;
    level: Level;
    levelName: string;
    hotfixes: string[];
    consistent: boolean;
  };
  feed: { url: string; version: number; expires: string; lastSeenVersion: number | null; recorded: boolean };
  /**
   * applicable and not installed (see UpdateSelection.applicable); `security`: at least one of its
   * fixes is a security fix (the signed index's `fixes[].security`, from the vendor's fix records)
   */
  updates: (FeedPack & { title: string; security: boolean })[];
  /** ids `install --feed URL latest` would install, in order */
  latest: string[];
  upToDate: boolean;
}

export async function checkUpdates(
  root: string,
  source: string,
  opts: FeedForTargetOptions = {},
): Promise<CheckResult> {
  // Half old, half new files would give a wrong answer: busy (5) or needs recover (6) instead.
  await assertNoOpenTransaction(root);
  const t = await openFeedForTarget(root, source, opts);
  const inst = t.installation;
  const sel = selectUpdates({ ...inst, rollups: rollupsOf(inst.state) }, t.feed.index);
  return {
    root: inst.root,
    installation: {
      product: inst.product,
      version: inst.version,
      arch: inst.arch,
      level: inst.level,
      levelName: inst.levelName,
      hotfixes: inst.hotfixes,
      consistent: inst.consistent,
    },
    feed: {
      url: t.feed.url,
      version: t.feed.index.version,
      expires: t.feed.index.expires,
      lastSeenVersion: t.lastSeenVersion ?? null,
      recorded: t.recorded,
    },
    updates: sel.applicable.map((p) => ({
      ...p,
      title: feedPackTitle(p),
      security: p.fixes.some((f) => f.security === true),
    })),
    latest: sel.latest.map((p) => p.id),
    upToDate: sel.applicable.length === 0,
  };
}
