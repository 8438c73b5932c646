import { basename } from 'node:path';
import semver from 'semver';
import { ServicepackError } from './errors.js';
import { type Arch, type Level, levelName } from './level.js';
import type { Manifest } from './manifest.js';

/** The part of an installation the rules look at (a detected one, or one simulated after an earlier pack in the same run). */
export interface ApplicabilityTarget {
  product: string;
  version: string;
  arch: Arch;
  level: Level;
  hotfixes: readonly string[];
}

export interface ApplicabilityOptions {
  /** the pack's file name, so messages can name the file that would apply instead */
  packPath?: string;
}

function packFileFor(manifest: Manifest, arch: Arch, packPath: string | undefined): string {
  const name = packPath ? basename(packPath) : undefined;
  const tag = `-${manifest.arch}`;
  if (name?.includes(tag)) {
    const i = name.lastIndexOf(tag);
    return name.slice(0, i) + `-${arch}` + name.slice(i + tag.length);
  }
  return `${manifest.id}-${arch}.tgz`;
}

function spName(level: Level): string {
  return level === 0 ? 'the RTM release' : `Service Pack ${level}`;
}

function describeLevels(levels: readonly Level[]): string {
  const sorted = [...new Set(levels)].sort((a, b) => a - b);
  return sorted.map((l) => levelName(l)).join(', ');
}

/**
 * The refusal rules of DESIGN §5 step 3 (and NT's update.exe/hotfix.exe history: a pack for the
 * wrong OS version, the wrong CPU or an older level than installed did real damage before these
 * checks existed). Throws the first rule that fails; every message says why and what would apply.
 */
export function checkApplicable(target: ApplicabilityTarget, manifest: Manifest, opts: ApplicabilityOptions = {}): void {
  const packName = opts.packPath ? basename(opts.packPath) : manifest.id;
  const facts = {
    packId: manifest.id,
    pack: { product: manifest.product, arch: manifest.arch, level: manifest.level, kind: manifest.kind, appliesTo: manifest.appliesTo },
    installation: { product: target.product, version: target.version, arch: target.arch, level: target.level, hotfixes: [...target.hotfixes] },
  };

  if (manifest.product !== target.product) {
    throw new ServicepackError('E_WRONG_PRODUCT', `${packName} is for ${manifest.product}; this installation is ${target.product}: use a ${target.product} pack`, facts);
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
    throw new ServicepackError('E_INVALID_MANIFEST', `${packName}: appliesTo.version ${JSON.stringify(range)} is not a semver range: the pack is defective; get a corrected one from the vendor`, facts);
  }
  if (!semver.satisfies(target.version, range)) {
    throw new ServicepackError(
      'E_WRONG_VERSION',
      `${packName} applies to ${target.product} ${range}; this installation is ${target.product} ${target.version}: use the update for ${target.product} ${target.version}`,
      facts,
    );
  }

  if (manifest.kind === 'service-pack') checkServicePack(target, manifest, packName, facts);
  else checkHotfix(target, manifest, facts);
}

function checkServicePack(target: ApplicabilityTarget, m: Manifest, packName: string, facts: Record<string, unknown>): void {
  if (m.level === target.level) {
    throw new ServicepackError('E_ALREADY_INSTALLED', `${spName(m.level)} is already installed in this installation: nothing to do (servicepack verify checks its files)`, facts);
  }
  if (m.level < target.level) {
    throw new ServicepackError(
      'E_DOWNGRADE',
      `${packName} installs ${spName(m.level)}, older than ${spName(target.level)} installed here, which already contains its fixes: nothing to do (to go back, uninstall the newer service pack)`,
      facts,
    );
  }
  if (!m.appliesTo.levels.includes(target.level)) {
    const lowest = Math.min(...m.appliesTo.levels);
    throw new ServicepackError(
      'E_WRONG_LEVEL',
      `${packName} installs on ${describeLevels(m.appliesTo.levels)}; this installation is at ${levelName(target.level)}: ${
        target.level < lowest ? `install ${spName(lowest)} first` : 'there is no update path from this level; ask the vendor'
      }`,
      facts,
    );
  }
  // A service pack is built from the level before it plus its own fixes: a hotfix it does not
  // include would be silently undone by its files. It must be superseded or explicitly tolerated.
  const tolerated = new Set([...m.supersedes, ...(m.appliesTo.hotfixes ?? [])]);
  const foreign = target.hotfixes.filter((h) => !tolerated.has(h));
  if (foreign.length > 0) {
    throw new ServicepackError(
      'E_WRONG_LEVEL',
      `${packName} does not include hotfix ${foreign.join(', ')} installed here and would undo it: uninstall ${foreign.join(', ')} first, or use a service pack that includes it`,
      { ...facts, hotfixes: foreign },
    );
  }
}

/** The ids a hotfix adds to an installation's hotfix list: the fixes it ships, or its own id. */
export function hotfixIds(m: Manifest): string[] {
  return m.fixes.length > 0 ? m.fixes.map((f) => f.id) : [m.id];
}

function checkHotfix(target: ApplicabilityTarget, m: Manifest, facts: Record<string, unknown>): void {
  if (target.hotfixes.includes(m.id) || hotfixIds(m).every((id) => target.hotfixes.includes(id))) {
    throw new ServicepackError('E_ALREADY_INSTALLED', `hotfix ${m.id} is already installed in this installation: nothing to do`, facts);
  }
  const base = m.baseLevel ?? m.level;
  // Superseded: the installed level already ships every fix this hotfix carries (e.g. Q236565 on SP6).
  const fixLevels = m.fixes.map((f) => f.level);
  const includedIn = fixLevels.length > 0 && fixLevels.every((l) => l !== undefined) ? Math.max(...(fixLevels as number[])) : undefined;
  if (target.level > base && includedIn !== undefined && includedIn <= target.level) {
    throw new ServicepackError(
      'E_SUPERSEDED',
      `hotfix ${m.id} is superseded: ${spName(target.level)}, installed here, already includes it (it first shipped in ${spName(includedIn)}); nothing to do`,
      { ...facts, includedIn },
    );
  }
  if (!m.appliesTo.levels.includes(target.level)) {
    const want = describeLevels(m.appliesTo.levels);
    throw new ServicepackError(
      'E_WRONG_LEVEL',
      target.level > Math.max(...m.appliesTo.levels)
        ? `hotfix ${m.id} is built for ${want}; this installation is at ${levelName(target.level)}, newer: install the service pack that includes ${m.id}, or the ${m.id} build for ${levelName(target.level)}`
        : `hotfix ${m.id} is built for ${want}; this installation is at ${levelName(target.level)}: install ${spName(Math.min(...m.appliesTo.levels))} first`,
      facts,
    );
  }
  // Without an explicit list, a hotfix over another hotfix is judged file by file: the other
  // one's files are not in this manifest's `from` lists, so the plan reports them as modified.
  const allowed = new Set([...m.supersedes, ...(m.appliesTo.hotfixes ?? [])]);
  const foreign = target.hotfixes.filter((h) => !allowed.has(h));
  if (m.appliesTo.hotfixes !== undefined && foreign.length > 0) {
    throw new ServicepackError(
      'E_WRONG_LEVEL',
      `hotfix ${m.id} was not built to sit beside hotfix ${foreign.join(', ')} installed here: uninstall ${foreign.join(', ')} first, or ask the vendor for a combined build`,
      { ...facts, hotfixes: foreign },
    );
  }
}
