import type { Arch, Level, PackKind, RollupOnLevel } from './level.js';

/**
 * What installing a pack does to an installation's level, hotfixes and rollups, and the two shapes
 * the rules judge: the installation and the pack. applicability.ts decides whether a pack may go
 * on; this module says where it leaves the installation when it does.
 */

/** The part of an installation the rules look at (a detected one, or one simulated after an earlier pack in the same run). */
export interface ApplicabilityTarget {
  product: string;
  version: string;
  arch: Arch;
  level: Level;
  hotfixes: readonly string[];
  /** the rollups its state record lists (rollupsOf), so a refusal can say a rollup brought a hotfix */
  rollups?: readonly RollupOnLevel[] | undefined;
}

/**
 * What the rules need to know about a pack: a signed manifest has all of it, and so has a feed
 * entry plus the feed's product, so `check` and `install` judge a pack by the same rules.
 */
export interface ApplicabilityPack {
  id: string;
  kind: PackKind;
  product: string;
  /** the level reached; for a hotfix the level it is built on */
  level: Level;
  baseLevel?: Level;
  arch: Arch;
  appliesTo: {
    version: string;
    levels: readonly Level[];
    hotfixes?: readonly string[] | undefined;
    requires?: readonly string[] | undefined;
  };
  supersedes: readonly string[];
  /** `level`: the first service pack that ships the fix; how a hotfix knows which service pack includes it */
  fixes: readonly { id: string; level?: number | undefined }[];
}

/** The ids a hotfix adds to an installation's hotfix list: the fixes it ships, or its own id. */
export function hotfixIds(m: Pick<ApplicabilityPack, 'id' | 'fixes'>): string[] {
  return m.fixes.length > 0 ? m.fixes.map((f) => f.id) : [m.id];
}

/**
 * The level and hotfix ids an installation has after `p`: a service pack moves the level and keeps
 * the hotfixes it does not supersede; a hotfix or rollup adds the fixes it ships (usually a
 * hotfix's own id).
 */
export function levelAfter(
  from: Pick<ApplicabilityTarget, 'level' | 'hotfixes'>,
  p: Pick<ApplicabilityPack, 'id' | 'kind' | 'level' | 'supersedes' | 'fixes'>,
): { level: Level; hotfixes: string[] } {
  const kept = from.hotfixes.filter((h) => !p.supersedes.includes(h));
  if (p.kind === 'service-pack') return { level: p.level, hotfixes: kept };
  return { level: from.level, hotfixes: [...new Set([...kept, ...hotfixIds(p)])] };
}

/** The rollups still whole after `p` (levelAfter's hotfixes), `p` itself when it is one. */
export function rollupsAfter(
  from: Pick<ApplicabilityTarget, 'level' | 'hotfixes' | 'rollups'>,
  p: Pick<ApplicabilityPack, 'id' | 'kind' | 'level' | 'supersedes' | 'fixes'>,
): RollupOnLevel[] {
  const { hotfixes } = levelAfter(from, p);
  const all = [...(from.rollups ?? []), ...(p.kind === 'rollup' ? [{ id: p.id, fixes: hotfixIds(p) }] : [])];
  return all.filter((r) => r.fixes.every((f) => hotfixes.includes(f)));
}

/**
 * The first service pack that ships every fix of a hotfix, from the fix levels in its manifest;
 * undefined when a fix does not say (then nothing can be claimed about which service pack includes it).
 */
export function includedInLevel(m: Pick<ApplicabilityPack, 'fixes'>): Level | undefined {
  if (m.fixes.length === 0) return undefined;
  let max = 0;
  for (const f of m.fixes) {
    if (f.level === undefined) return undefined;
    max = Math.max(max, f.level);
  }
  return max;
}
