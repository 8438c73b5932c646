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

export function levelName(level: Level, hotfixes: readonly string[] = []): string {
  const base = baseLevelName(level);
  if (hotfixes.length === 0) return base;
  return `${base}, ${hotfixes.length === 1 ? 'hotfix' : 'hotfixes'} ${hotfixes.join(', ')}`;
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
export type Arch = (typeof ARCHES)[number];
