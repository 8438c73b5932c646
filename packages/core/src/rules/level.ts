/** Service pack levels: 0 is the release to manufacturing, 1..n are Service Packs 1..n. */
export type Level = number;

export function levelName(level: Level, hotfixes: readonly string[] = []): string {
  const base = level === 0 ? 'RTM' : `Service Pack ${level}`;
  if (hotfixes.length === 0) return base;
  return `${base}, ${hotfixes.length === 1 ? 'hotfix' : 'hotfixes'} ${hotfixes.join(', ')}`;
}

/** The short tag used in release and pack names: rtm, sp1 … */
export function levelTag(level: Level): string {
  return level === 0 ? 'rtm' : `sp${level}`;
}

export function parseLevel(text: string): Level | undefined {
  const t = text.trim().toLowerCase();
  if (t === 'rtm' || t === '0') return 0;
  const m = /^(?:sp|service pack ?)?(\d{1,2})$/.exec(t);
  return m ? Number(m[1]) : undefined;
}

export const ARCHES = ['x86', 'alpha'] as const;
export type Arch = (typeof ARCHES)[number];
