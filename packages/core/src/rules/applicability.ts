import { basename } from 'node:path';
import semver from 'semver';
import { ServicepackError } from '../support/errors.js';
import { type Arch, type Level, levelName, type PackKind, rollupName } from './level.js';
import { type ApplicabilityPack, type ApplicabilityTarget, hotfixIds, includedInLevel } from './pack-effect.js';

export {
  type ApplicabilityPack,
  type ApplicabilityTarget,
  hotfixIds,
  includedInLevel,
  levelAfter,
  rollupsAfter,
} from './pack-effect.js';

/** "Service Pack 6a + Security Rollup 1, hotfix Q248901": the installation as its messages name it. */
function nameOf(target: ApplicabilityTarget): string {
  return levelName(target.level, target.hotfixes, target.rollups);
}

/** A pack the caller knows besides the one being judged, e.g. the other packs on the command line or in a feed. */
export interface ApplicabilityCandidate extends ApplicabilityPack {
  /** how the admin finds it: a file name or feed url */
  file?: string;
}

export interface ApplicabilityOptions {
  /** the pack's file name, so messages can name the file that would apply instead */
  packPath?: string;
  /**
   * Other packs the caller knows of. Without them a refusal still says what would apply, from
   * what the manifest itself knows (its levels, fixes and supersedes); with them it also names
   * the newest one that applies here.
   */
  alternatives?: readonly ApplicabilityCandidate[];
  /**
   * The packs named before this one in the same command, already counted in `target`, and those
   * named after it: a refusal that another pack of the command explains says so ("Service Pack 6
   * in this command supersedes Q236565", "put sp5 before the hotfix"), not "installed here".
   */
  earlier?: readonly ApplicabilityCandidate[];
  later?: readonly ApplicabilityCandidate[];
}

/** How a message names another pack of the command: its file, as typed, else its label. */
function named(p: ApplicabilityCandidate): string {
  return p.file !== undefined ? basename(p.file) : packLabel(p);
}

/** The service pack earlier in the command that brought the simulated target to its level. */
function earlierServicePack(
  target: ApplicabilityTarget,
  opts: ApplicabilityOptions,
): ApplicabilityCandidate | undefined {
  return opts.earlier?.findLast((p) => p.kind === 'service-pack' && p.level === target.level);
}

/**
 * A pack later in the command that would make this one apply if it came first: a service pack at
 * one of the levels this pack installs on, which itself applies here.
 */
function laterBase(target: ApplicabilityTarget, m: ApplicabilityPack, opts: ApplicabilityOptions) {
  return opts.later?.find(
    (p) => p.kind === 'service-pack' && m.appliesTo.levels.includes(p.level) && appliesHere(target, p),
  );
}

function packFileFor(manifest: ApplicabilityPack, arch: Arch, packPath: string | undefined): string {
  const name = packPath ? basename(packPath) : undefined;
  const tag = `-${manifest.arch}`;
  if (name?.includes(tag)) {
    const i = name.lastIndexOf(tag);
    return name.slice(0, i) + `-${arch}` + name.slice(i + tag.length);
  }
  return `${manifest.id}-${arch}.tgz`;
}

function spName(level: Level): string {
  return level === 0 ? 'the RTM release' : levelName(level);
}

function describeLevels(levels: readonly Level[]): string {
  const names = [...new Set(levels)].sort((a, b) => a - b).map((l) => levelName(l));
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

function packLabel(p: ApplicabilityPack): string {
  if (p.kind === 'service-pack') return spName(p.level);
  return p.kind === 'rollup' ? rollupName(p.id) : `hotfix ${p.id}`;
}

/** Service packs first, newest first (each includes the older ones); then rollups, then hotfixes. */
const KIND_RANK: Record<PackKind, number> = { 'service-pack': 2000, rollup: 1000, hotfix: 0 };

function appliesHere(target: ApplicabilityTarget, p: ApplicabilityPack): boolean {
  try {
    checkApplicable(target, p);
    return true;
  } catch (e) {
    // only a refusal means "does not apply"; anything else is a bug to surface, not a filter
    if (e instanceof ServicepackError) return false;
    throw e;
  }
}

/**
 * The packs among `candidates` that install on `target`, best first: service packs by level
 * (newest first, as a newer one includes the older ones' fixes), then hotfixes.
 */
export function applicablePacks<T extends ApplicabilityPack>(
  target: ApplicabilityTarget,
  candidates: readonly T[],
): T[] {
  const rank = (p: ApplicabilityPack) => KIND_RANK[p.kind] + p.level;
  return candidates
    .filter((c) => appliesHere(target, c))
    .sort((a, b) => rank(b) - rank(a) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * The refusal rules of docs/transactions.md §2 "Verify" (and NT's update.exe/hotfix.exe history: a pack for the
 * wrong OS version, the wrong CPU or an older level than installed did real damage before these
 * checks existed). Throws the first rule that fails; every message says why and what would apply.
 */
export function checkApplicable(
  target: ApplicabilityTarget,
  manifest: ApplicabilityPack,
  opts: ApplicabilityOptions = {},
): void {
  const packName = opts.packPath ? basename(opts.packPath) : manifest.id;
  const facts = {
    packId: manifest.id,
    pack: {
      product: manifest.product,
      arch: manifest.arch,
      level: manifest.level,
      kind: manifest.kind,
      appliesTo: manifest.appliesTo,
    },
    installation: {
      product: target.product,
      version: target.version,
      arch: target.arch,
      level: target.level,
      hotfixes: [...target.hotfixes],
    },
  };

  if (manifest.product !== target.product) {
    throw new ServicepackError(
      'E_WRONG_PRODUCT',
      `${packName} is for ${manifest.product}; this installation is ${target.product}: use a ${target.product} pack`,
      facts,
    );
  }
  if (manifest.arch !== target.arch) {
    throw new ServicepackError(
      'E_WRONG_ARCH',
      `${packName} is for ${manifest.arch}; this installation is ${target.arch}: use ${packFileFor(manifest, target.arch, opts.packPath)}`,
      { ...facts, suggestion: packFileFor(manifest, target.arch, opts.packPath) },
    );
  }
  const range = manifest.appliesTo.version;
  if (semver.validRange(range) === null) {
    throw new ServicepackError(
      'E_INVALID_MANIFEST',
      `${packName}: appliesTo.version ${JSON.stringify(range)} is not a semver range: the pack is defective; get a corrected one from the vendor`,
      facts,
    );
  }
  if (!semver.satisfies(target.version, range)) {
    throw new ServicepackError(
      'E_WRONG_VERSION',
      `${packName} applies to ${target.product} ${range}; this installation is ${target.product} ${target.version}: use the update for ${target.product} ${target.version}`,
      facts,
    );
  }

  // What the caller knows would apply instead; computed only when a refusal needs it.
  const instead: Instead = () => {
    const best = opts.alternatives ? applicablePacks(target, opts.alternatives)[0] : undefined;
    if (!best) return undefined;
    const where = best.file !== undefined ? ` (${basename(best.file)})` : '';
    return {
      text: `the newest pack that applies is ${packLabel(best)}${where}`,
      details: { instead: { id: best.id, ...(best.file !== undefined ? { file: best.file } : {}) } },
    };
  };

  const j: Judging = { target, m: manifest, facts, instead, opts, packName };
  if (manifest.kind === 'service-pack') checkServicePack(j);
  else checkHotfix(j);
}

type Facts = Record<string, unknown>;
type Instead = () => { text: string; details: Record<string, unknown> } | undefined;

/** One judgement: the installation, the pack, the facts every refusal carries, and how to name things. */
interface Judging {
  target: ApplicabilityTarget;
  m: ApplicabilityPack;
  facts: Facts;
  instead: Instead;
  opts: ApplicabilityOptions;
  packName: string;
}

function checkServicePack(j: Judging): void {
  const { target, m, facts, instead, opts, packName } = j;
  const here = nameOf(target);
  const by = earlierServicePack(target, opts);
  if (by !== undefined && m.level <= target.level) {
    throw new ServicepackError(
      m.level === target.level ? 'E_ALREADY_INSTALLED' : 'E_DOWNGRADE',
      `${spName(by.level)} in this command (${named(by)}) already includes everything ${packName} brings: leave ${packName} out and run again`,
      { ...facts, supersededBy: by.id },
    );
  }
  if (m.level === target.level) {
    const alt = instead();
    throw new ServicepackError(
      'E_ALREADY_INSTALLED',
      `${m.id} is already installed: this installation is at ${here}; nothing to do (servicepack verify checks its files) — ${
        alt?.text ?? `only a service pack newer than ${spName(target.level)} adds fixes`
      }`,
      { ...facts, ...alt?.details },
    );
  }
  if (m.level < target.level) {
    const alt = instead();
    // Cumulative: the installed, newer service pack carries every fix this one has.
    throw new ServicepackError(
      'E_DOWNGRADE',
      `${m.id} cannot be installed over ${here} (it would downgrade); this installation is already past it and has all its fixes — ${
        alt?.text ?? `only a service pack newer than ${spName(target.level)} applies here`
      }; to go back to ${spName(m.level)}, uninstall the newer service packs`,
      { ...facts, ...alt?.details },
    );
  }
  if (!m.appliesTo.levels.includes(target.level)) {
    const lowest = Math.min(...m.appliesTo.levels);
    const first = laterBase(target, m, opts);
    if (first !== undefined) {
      throw new ServicepackError(
        'E_WRONG_LEVEL',
        `${m.id} installs on ${describeLevels(m.appliesTo.levels)}, which ${named(first)} later in this command brings: put ${named(first)} before ${packName} and run again`,
        { ...facts, putBefore: first.id },
      );
    }
    const alt = instead();
    throw new ServicepackError(
      'E_WRONG_LEVEL',
      `${m.id} installs on ${describeLevels(m.appliesTo.levels)}; this installation is at ${here}: ${
        target.level < lowest
          ? `install ${spName(lowest)} first`
          : 'there is no update path from this level; ask the vendor'
      }${alt ? ` — ${alt.text}` : ''}`,
      { ...facts, ...alt?.details },
    );
  }
  // A service pack is built from the level before it plus its own fixes: a hotfix it does not
  // include would be silently undone by its files. It must be superseded or explicitly tolerated.
  const tolerated = new Set([...m.supersedes, ...(m.appliesTo.hotfixes ?? [])]);
  const foreign = target.hotfixes.filter((h) => !tolerated.has(h));
  if (foreign.length > 0) {
    throw new ServicepackError(
      'E_WRONG_LEVEL',
      `${m.id} does not include hotfix ${foreign.join(', ')} installed here and would undo it: uninstall ${foreign.join(', ')} first, or use a service pack that includes it`,
      { ...facts, hotfixes: foreign },
    );
  }
}

function checkHotfix(j: Judging): void {
  const { target, m, facts, instead, opts, packName } = j;
  const here = nameOf(target);
  const base = m.baseLevel ?? m.level;
  const includedIn = includedInLevel(m);
  const label = packLabel(m);
  // "Service Pack 6, which includes the fix": known from the fix levels the manifest carries.
  const laterSp = includedIn !== undefined && includedIn > base ? spName(includedIn) : undefined;
  // A rollup installed here carries the hotfix: it supersedes it, as a service pack would.
  const rollup =
    m.kind === 'hotfix'
      ? target.rollups?.find(
          (r) => r.fixes.every((f) => target.hotfixes.includes(f)) && hotfixIds(m).every((id) => r.fixes.includes(id)),
        )
      : undefined;
  if (rollup !== undefined) {
    throw new ServicepackError(
      'E_SUPERSEDED',
      `hotfix ${m.id} is superseded: ${rollupName(rollup.id)}, installed here (${here}), includes it; nothing to do`,
      { ...facts, supersededBy: rollup.id },
    );
  }
  if (target.hotfixes.includes(m.id) || hotfixIds(m).every((id) => target.hotfixes.includes(id))) {
    throw new ServicepackError(
      'E_ALREADY_INSTALLED',
      `${label} is already installed: this installation is at ${here}; nothing to do${laterSp ? ` (${laterSp} includes the fix and supersedes the hotfix)` : ''}`,
      facts,
    );
  }
  // Superseded: the installed level already ships every fix this hotfix carries (e.g. Q236565 on SP6).
  if (target.level > base && includedIn !== undefined && includedIn <= target.level) {
    const by = earlierServicePack(target, opts);
    if (by !== undefined)
      throw new ServicepackError(
        'E_SUPERSEDED',
        `${spName(by.level)} in this command (${named(by)}) supersedes hotfix ${m.id}: it includes the fix (first shipped in ${spName(includedIn)}); leave ${packName} out and run again`,
        { ...facts, includedIn, supersededBy: by.id },
      );
    throw new ServicepackError(
      'E_SUPERSEDED',
      `hotfix ${m.id} is superseded: ${spName(target.level)}, installed here, already includes it (it first shipped in ${spName(includedIn)}); nothing to do`,
      { ...facts, includedIn },
    );
  }
  if (!m.appliesTo.levels.includes(target.level)) {
    const including = opts.later?.find(
      (p) => p.kind === 'service-pack' && includedIn !== undefined && p.level >= includedIn && appliesHere(target, p),
    );
    const first = laterBase(target, m, opts);
    if (including !== undefined || first !== undefined) {
      throw new ServicepackError(
        'E_WRONG_LEVEL',
        including !== undefined
          ? `${spName(including.level)} later in this command (${named(including)}) supersedes hotfix ${m.id}: it includes the fix; leave ${packName} out and run again`
          : `${m.id} is for ${describeLevels(m.appliesTo.levels)}, which ${named(first!)} later in this command brings: put ${named(first!)} before ${packName} and run again`,
        { ...facts, ...(including ? { supersededBy: including.id } : { putBefore: first!.id }) },
      );
    }
    const alt = instead();
    const what =
      target.level > Math.max(...m.appliesTo.levels)
        ? laterSp
          ? `install ${laterSp}, which includes the fix`
          : `ask the vendor for a build of ${m.id} for ${spName(target.level)}`
        : `install ${spName(Math.min(...m.appliesTo.levels))} first${laterSp ? `, or ${laterSp}, which includes the fix` : ''}`;
    throw new ServicepackError(
      'E_WRONG_LEVEL',
      `${m.id} is for ${describeLevels(m.appliesTo.levels)}; this installation is at ${here}: ${what}${alt ? ` — ${alt.text}` : ''}`,
      {
        ...facts,
        ...(includedIn !== undefined ? { includedIn } : {}),
        ...alt?.details,
      },
    );
  }
  // Without an explicit list, a hotfix over another hotfix is judged file by file: the other
  // one's files are not in this manifest's `from` lists, so the plan reports them as modified.
  const allowed = new Set([...m.supersedes, ...(m.appliesTo.hotfixes ?? [])]);
  const foreign = target.hotfixes.filter((h) => !allowed.has(h));
  if (m.appliesTo.hotfixes !== undefined && foreign.length > 0) {
    throw new ServicepackError(
      'E_WRONG_LEVEL',
      `${label} was not built to sit beside hotfix ${foreign.join(', ')} installed here: uninstall ${foreign.join(', ')} first, or ask the vendor for a combined build`,
      { ...facts, hotfixes: foreign },
    );
  }
  checkRequired(j, label);
}

/**
 * A hotfix built on earlier hotfixes ships their changes in the files it shares with them; on an
 * installation without them those files would carry changes the record does not list.
 */
function checkRequired(j: Judging, label: string): void {
  const { target, m, facts, instead, opts, packName } = j;
  const missing = (m.appliesTo.requires ?? []).filter((h) => !target.hotfixes.includes(h));
  if (missing.length === 0) return;
  const here = nameOf(target);
  const bringer = opts.later?.find((p) => p.kind !== 'service-pack' && missing.some((h) => hotfixIds(p).includes(h)));
  if (bringer !== undefined) {
    throw new ServicepackError(
      'E_WRONG_LEVEL',
      `${packName} is built on ${missing.join(', ')}, which ${named(bringer)} later in this command brings: put ${named(bringer)} before ${packName} and run again`,
      { ...facts, requires: missing, putBefore: bringer.id },
    );
  }
  const alt = instead();
  throw new ServicepackError(
    'E_WRONG_LEVEL',
    `${label} is built on hotfix ${missing.join(', ')}, which this installation (${here}) does not have: install ${missing.length === 1 ? 'it' : 'them'} first${alt ? ` — ${alt.text}` : ''}`,
    { ...facts, requires: missing, ...alt?.details },
  );
}
