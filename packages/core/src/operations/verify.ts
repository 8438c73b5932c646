import { detectInstallation, type Installation, type ProblemKind } from '../installation/detect.js';
import type { CatalogRelease } from '../feed/catalog.js';
import { ServicepackError } from '../support/errors.js';
import type { Level } from '../rules/level.js';
import { assertNoOpenTransaction } from '../transaction/open-transaction.js';
import { checkServicepackDir } from '../installation/servicepack-dir.js';

/**
 * `servicepack verify`: every file the product owns against the state record, rpm -V style
 * (docs/transactions.md describes the output). The state record holds the sha256, size and mode
 * of each owned file as the installer left it, so any difference is a change made outside the
 * installer: an edit, a restore from an old copy, damage, or tampering.
 */

/**
 * The names `query --json` gives the same differences (detect.ts ProblemKind): one name per fact.
 * (`changed` before issue 15; `record` is still the plain line's status for buildinfo and state.)
 */
export type VerifyKind = ProblemKind;

export interface VerifyProblem {
  path: string;
  kind: VerifyKind;
  /**
   * rpm -V columns for a modified file: `S` size, `M` mode, `5` sha256 content, `.` for a test
   * that passed, `?` for one the baseline cannot make (a catalog holds no size or mode);
   * "missing" / "extra" for files absent from disk / from the baseline; "record" for a
   * disagreement between the state record (or the catalog) and BUILDINFO.json
   */
  flags: string;
  message: string;
  recorded?: { sha256: string; size: number; mode: number };
  /** with --feed: what the catalog says of the file (only its sha256) */
  catalog?: { sha256: string };
  actual?: { sha256: string; size: number; mode: number };
}

export interface VerifyResult {
  root: string;
  product: string;
  version: string;
  arch: string;
  level: Level;
  levelName: string;
  hotfixes: string[];
  /** false for a vendor release tree nothing was ever installed on: there is nothing to verify against */
  stateRecord: boolean;
  /** with --feed: the signed feed and the release of its catalog the files were compared with */
  catalog?: { feed: string; feedVersion: number; release: string };
  /** owned files compared */
  checked: number;
  problems: VerifyProblem[];
  clean: boolean;
  note?: string;
}

/** One line of the plain output: status (8 columns) then the path, as `rpm -V` prints. */
export function verifyLine(p: VerifyProblem): string {
  return `${p.flags.padEnd(8)} ${p.path}${p.flags === 'record' ? `  (${p.message})` : ''}`;
}

export const NO_STATE_NOTE =
  'no state record: nothing to verify against; run servicepack verify --feed URL to compare the files with the vendor catalog of a signed feed';

export async function verifyInstallation(root: string): Promise<VerifyResult> {
  checkServicepackDir(root);
  // Half-moved files would be reported as damage: an open transaction is settled first.
  await assertNoOpenTransaction(root);
  const inst = await detectInstallation(root);
  const base = identity(inst);
  const unreadable = inst.problems.find((p) => p.kind === 'state');
  if (!inst.state && unreadable)
    throw new ServicepackError('E_INVALID_STATE', unreadable.message, { path: unreadable.path });
  if (!inst.state) {
    // A vendor release tree carries no hashes of its own; BUILDINFO.json says only what it claims
    // to be. Reporting "clean" with a note beats inventing a baseline from the very files under test.
    return { ...base, stateRecord: false, checked: 0, problems: [], clean: true, note: NO_STATE_NOTE };
  }
  const recorded = inst.state.files;
  const problems: VerifyProblem[] = [];
  let checked = 0;
  // once per owned file (10,000 in the benchmark) after the hashing: nothing is built for a file that matches
  for (const path in recorded) {
    checked++;
    const want = recorded[path]!;
    const have = inst.files.get(path);
    if (have && have.size === want.size && have.mode === want.mode && have.sha256 === want.sha256) continue;
    const rec = { sha256: want.sha256, size: want.size, mode: want.mode };
    if (!have) {
      problems.push({
        path,
        kind: 'missing',
        flags: 'missing',
        message: `${path} is recorded but missing`,
        recorded: rec,
      });
      continue;
    }
    const flags = `${have.size !== want.size ? 'S' : '.'}${have.mode !== want.mode ? 'M' : '.'}${have.sha256 !== want.sha256 ? '5' : '.'}`;
    problems.push({
      path,
      kind: 'modified',
      flags,
      message: `${path} differs from the state record (${describe(flags)})`,
      recorded: rec,
      actual: { sha256: have.sha256, size: have.size, mode: have.mode },
    });
  }
  for (const [path, have] of inst.files) {
    if (!Object.hasOwn(recorded, path)) {
      problems.push({
        path,
        kind: 'extra',
        flags: 'extra',
        message: `${path} is not part of the recorded installation`,
        actual: { sha256: have.sha256, size: have.size, mode: have.mode },
      });
    }
  }
  for (const p of inst.problems) {
    if (p.kind === 'buildinfo' || p.kind === 'state')
      problems.push({ path: p.path, kind: p.kind, flags: 'record', message: p.message });
  }
  sortProblems(problems);
  return { ...base, stateRecord: true, checked, problems, clean: problems.length === 0 };
}

function describe(flags: string): string {
  const out: string[] = [];
  if (flags.includes('S')) out.push('size');
  if (flags.includes('M')) out.push('mode');
  if (flags.includes('5')) out.push('content');
  return out.join(', ');
}

function identity(inst: Installation) {
  return {
    root: inst.root,
    product: inst.product,
    version: inst.version,
    arch: inst.arch,
    level: inst.level,
    levelName: inst.levelName,
    hotfixes: inst.hotfixes,
  };
}

function sortProblems(problems: VerifyProblem[]): void {
  problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.kind < b.kind ? -1 : 1));
}

/**
 * The owned files against one release of the vendor catalog, `rpm -V` against the package
 * database: a tree servicepack never touched has no state record, and the signed feed's catalog
 * holds every shipped release's sha256. Content only: a catalog knows no size or mode.
 */
export function compareWithCatalog(
  inst: Installation,
  release: CatalogRelease,
  catalog: { feed: string; feedVersion: number },
): VerifyResult {
  const problems: VerifyProblem[] = [];
  for (const [path, sha256] of Object.entries(release.files)) {
    const have = inst.files.get(path);
    if (!have) {
      problems.push({
        path,
        kind: 'missing',
        flags: 'missing',
        message: `${path} is part of ${release.name} but missing`,
        catalog: { sha256 },
      });
    } else if (have.sha256 !== sha256) {
      problems.push({
        path,
        kind: 'modified',
        flags: '??5',
        message: `${path} differs from ${release.name} as shipped (content)`,
        catalog: { sha256 },
        actual: { sha256: have.sha256, size: have.size, mode: have.mode },
      });
    }
  }
  for (const [path, have] of inst.files) {
    if (!Object.hasOwn(release.files, path))
      problems.push({
        path,
        kind: 'extra',
        flags: 'extra',
        message: `${path} is not part of ${release.name}`,
        actual: { sha256: have.sha256, size: have.size, mode: have.mode },
      });
  }
  // a name the path rules refuse is never in the tree's map: detect reports it, and so does this
  for (const p of inst.problems)
    if (p.kind === 'extra' && !inst.files.has(p.path))
      problems.push({ path: p.path, kind: 'extra', flags: 'extra', message: p.message });
  sortProblems(problems);
  return {
    ...identity(inst),
    stateRecord: inst.state !== undefined,
    catalog: { ...catalog, release: release.name },
    checked: Object.keys(release.files).length,
    problems,
    clean: problems.length === 0,
  };
}
