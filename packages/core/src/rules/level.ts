/**
 * Service pack levels: 0 is the release to manufacturing, 1..n the service packs in the order they
 * shipped. Records, manifests, feeds and BUILDINFO.json store the number, so the order is the order
 * of numbers; what a level is called lives only in LEVEL_TAGS below.
 */
export type Level = number;

/**
 * Levels whose name is not "Service Pack <level>". SP6a replaced SP6 (it is SP6 plus one fix) and
 * takes the next number, so it sorts after SP6 and records written before it existed read as before.
 */
const LEVEL_TAGS: ReadonlyMap<Level, string> = new Map([
  [0, 'rtm'],
  [7, 'sp6a'],
]);

/** The short tag used in release and pack names: rtm, sp1 … sp6, sp6a. */
export function levelTag(level: Level): string {
  return LEVEL_TAGS.get(level) ?? `sp${level}`;
}

/** "RTM", "Service Pack 5", "Service Pack 6a": made from the tag, so the two never disagree. */
export function baseLevelName(level: Level): string {
  const tag = levelTag(level);
  return tag === 'rtm' ? 'RTM' : `Service Pack ${tag.slice(2)}`;
}

/** A rollup installed on a level: its id and the hotfixes it carries (state.json's `installed`). */
export interface RollupOnLevel {
  id: string;
  fixes: readonly string[];
}

/** The rollups a state record lists as installed (its `installed` entries of kind rollup). */
export function rollupsOf(
  state: { installed: readonly { packId: string; kind: string; fixes?: readonly string[] | undefined }[] } | undefined,
): RollupOnLevel[] {
  return (state?.installed ?? []).flatMap((p) =>
    p.kind === 'rollup' && p.fixes !== undefined ? [{ id: p.packId, fixes: p.fixes }] : [],
  );
}

/** "Security Rollup 1" for SRP1, NT 4.0's name for its post-SP6a Security Rollup Package; other ids as they are. */
export function rollupName(id: string): string {
  const m = /^SRP(\d{1,2})$/i.exec(id);
  return m ? `Security Rollup ${Number(m[1])}` : `rollup ${id}`;
}

/** The rollups still whole on an installation: every hotfix each carries is still installed. */
export function rollupsPresent(hotfixes: readonly string[], rollups: readonly RollupOnLevel[]): RollupOnLevel[] {
  return rollups.filter((r) => r.fixes.length > 0 && r.fixes.every((f) => hotfixes.includes(f)));
}

/**
 * "Service Pack 5, hotfix Q236565", "Service Pack 6a + Security Rollup 1, hotfix Q248901": a rollup
 * is named instead of the hotfixes it carries, and only while every one of them is still installed.
 */
export function levelName(
  level: Level,
  hotfixes: readonly string[] = [],
  rollups: readonly RollupOnLevel[] = [],
): string {
  const present = rollupsPresent(hotfixes, rollups);
  const inRollup = new Set(present.flatMap((r) => r.fixes));
  const rest = hotfixes.filter((h) => !inRollup.has(h));
  const base = [baseLevelName(level), ...present.map((r) => rollupName(r.id))].join(' + ');
  if (rest.length === 0) return base;
  return `${base}, ${rest.length === 1 ? 'hotfix' : 'hotfixes'} ${rest.join(', ')}`;
}

const MAX_LEVEL = 99;

/** "rtm", "0", "sp6a", "6a", "Service Pack 6a" …; a name no level carries ("sp7") is undefined. */
export function parseLevel(text: string): Level | undefined {
  const t = text.trim().toLowerCase();
  if (t === 'rtm' || t === '0') return 0;
  const m = /^(?:sp|service pack ?)?(\d{1,2})([a-z]?)$/.exec(t);
  if (!m) return undefined;
  const tag = `sp${Number(m[1])}${m[2]}`;
  for (let level = 1; level <= MAX_LEVEL; level++) if (levelTag(level) === tag) return level;
  return undefined;
}

export const ARCHES = ['x86', 'alpha'] as const;

/**
 * What a pack is. Only a service pack moves the level; a hotfix adds its fix to the level it is
 * built on, and a rollup (NT 4.0's Security Rollup Package) adds a set of such hotfixes at once.
 */
export const PACK_KINDS = ['service-pack', 'hotfix', 'rollup'] as const;
export type PackKind = (typeof PACK_KINDS)[number];
export type Arch = (typeof ARCHES)[number];
