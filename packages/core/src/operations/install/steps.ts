import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  type ApplicabilityCandidate,
  type ApplicabilityTarget,
  checkApplicable,
  rollupsAfter,
} from '../../rules/applicability.js';
import { rollupsOf } from '../../rules/level.js';
import { type BuildInfo, BUILDINFO_FILE } from '../../installation/buildinfo.js';
import { hashPaths, type Installation, type ProblemKind, parseBuildInfo } from '../../installation/detect.js';
import { isServicepackError, ServicepackError } from '../../support/errors.js';
import type { WarningCode } from '../../support/events.js';
import { exists, inRoot, makeDirs, writeFileAtomic } from '../../support/fsutil.js';
import { sha256Bytes } from '../../support/hash.js';
import type { Journal } from '../../transaction/journal.js';
import { licenseDocument } from '../../rules/license.js';
import { openPack } from '../../pack/open.js';
import { type StagedPayload, stagePayload } from '../../pack/stage.js';
import { type FileMeta, filesAfter, planInstall } from '../../rules/plan.js';
import { PRIVATE_DIR_MODE } from '../../installation/servicepack-dir.js';
import { BACKUP_DIR, type StepDef } from '../../transaction/transaction.js';
import { createStaging } from '../../transaction/journaled-steps.js';
import { loadTrustStore } from '../../trust/trust.js';
import { type DetectRefusals, detectForChange } from '../change.js';
import {
  type Detected,
  type InstallContext,
  nextLevel,
  type Planned,
  type PlannedUnit,
  type StagedUnit,
  type Unit,
  type Verified,
} from './context.js';
import { buildInstallJournal } from './journal.js';

/**
 * The steps of an install before the journaled half (docs/transactions.md §2): lock → recover →
 * detect → verify → plan → stage (lock is the one every change shares: ../change.ts). Each one
 * reads a part of the context and says what it adds; nothing changes the tree until the journal is
 * written.
 */

/** A difference from the record that does not stop an install: warned about, one fixed code per kind. */
const PROBLEM_WARNING: Record<Exclude<ProblemKind, 'buildinfo' | 'state'>, WarningCode> = {
  modified: 'W_MODIFIED',
  missing: 'W_MISSING',
  extra: 'W_EXTRA',
};

export const detectStep: StepDef<Pick<InstallContext, 'root' | 'sink' | 'opts'>, { installation: Installation }> = {
  name: 'detect',
  run: async (ctx) => {
    // Files the packs change are read exactly in the plan step (hashPaths), with the folders on
    // their way; the rest are not looked at (see DetectOptions: recordOnly). Listing a 10,000-file
    // tree to change 2,000 of its files costs a tenth of the install, and what it could add is a
    // warning about files the install leaves alone, which the record keeps as they were for
    // `verify` to report.
    const refuse: DetectRefusals = ctx.opts.force
      ? {}
      : {
          invalid: (message) => `${message}; or pass --force to install anyway, recording the tree as it is`,
          inconsistent: ([first, ...more]) =>
            `the installation in ${ctx.root} is inconsistent (${first.message}${more.length > 0 ? `, and ${more.length} more` : ''}): run servicepack query --root ${ctx.root} to see what differs, repair it, or pass --force to install anyway`,
        };
    const installation = await detectForChange(ctx, refuse, (inst, serious) => {
      if (serious.length > 0)
        ctx.sink({
          type: 'warning',
          code: 'W_INCONSISTENT',
          message: `installing despite an inconsistent installation (--force): ${serious.map((p) => p.message).join('; ')}`,
        });
      for (const p of inst.problems) {
        if (p.kind !== 'buildinfo' && p.kind !== 'state')
          ctx.sink({ type: 'warning', code: PROBLEM_WARNING[p.kind], message: p.message, path: p.path });
      }
    });
    return { installation };
  },
};

export const verifyStep: StepDef<
  Pick<Detected, 'root' | 'sink' | 'opts' | 'stagingRoot' | 'installation'>,
  { units: Unit[] }
> = {
  name: 'verify',
  run: async (ctx) => {
    const inst = ctx.installation;
    const units: Unit[] = [];
    // The revoked list goes to openPack too: a revoked signer must be refused, not merely "unknown",
    // or --allow-unsigned would let its pack through.
    const trust = await loadTrustStore({
      root: ctx.root,
      ...(ctx.opts.trustFiles ? { trustFiles: ctx.opts.trustFiles } : {}),
      sink: ctx.sink,
    });
    let target: ApplicabilityTarget = { ...inst, rollups: rollupsOf(inst.state) };
    const seen = new Set<string>();
    for (const [index, path] of ctx.opts.packs.entries()) {
      // Signature and schema first: nothing of a pack is believed, let alone extracted, before that.
      const pack = await openPack(path, {
        trustedKeys: trust.keys,
        revokedKeyIds: trust.revoked,
        ...(ctx.opts.allowUnsigned ? { allowUnsigned: true } : {}),
      });
      const m = pack.manifest;
      if (pack.unsigned)
        ctx.sink({
          type: 'warning',
          code: 'W_UNSIGNED',
          message: `${path} is not signed by a trusted key and is installed only because of --allow-unsigned`,
          path,
        });
      if (seen.has(m.id))
        throw new ServicepackError('E_USAGE', `${m.id} is listed twice: name each pack once`, { packId: m.id });
      seen.add(m.id);
      const earlier = units.map((u) => ({ ...u.manifest, file: u.path }));
      try {
        checkApplicable(target, m, { packPath: path, earlier });
      } catch (e) {
        // A later pack of the command may be what this one waits for (or includes it): only then
        // are the later packs looked at (their signed heads), so the refusal can say so.
        const rest = ctx.opts.packs.slice(index + 1);
        if (!isServicepackError(e) || e.code !== 'E_WRONG_LEVEL' || rest.length === 0) throw e;
        const later = await laterPacks(rest, trust, ctx.opts.allowUnsigned === true);
        checkApplicable(target, m, { packPath: path, earlier, later });
        throw e;
      }
      const license = licenseDocument(m);
      if (license !== undefined && ctx.opts.acceptEula !== true) {
        throw new ServicepackError(
          'E_EULA_NOT_ACCEPTED',
          `${basename(path)} carries a license agreement (${license}); read it (tar -xzOf ${path} ${license}) and pass --accept-eula (acceptEula: true in an answer file) to install it unattended`,
          { packId: m.id, path, document: license },
        );
      }
      const to = nextLevel(target, m);
      units.push({
        index,
        path,
        pack,
        manifest: m,
        from: target,
        to,
        stagingDir: join(ctx.stagingRoot, `${index}-${m.id}`),
        stagedBackupDir: join(ctx.stagingRoot, 'backup', `${index}-${m.id}`),
        ...(ctx.opts.backup ? { backupRel: `${BACKUP_DIR}/${m.id}` } : {}),
      });
      ctx.sink({
        type: 'info',
        message: `${m.title} (${m.id}, ${m.arch})${pack.signedBy.length > 0 ? `, signed by ${pack.signedBy.join(', ')}` : ''}`,
      });
      target = {
        product: target.product,
        version: target.version,
        arch: target.arch,
        ...to,
        rollups: rollupsAfter(target, m),
      };
    }
    return { units };
  },
};

/** The later packs of the command whose signed manifest can be read, for the wording of a refusal only. */
async function laterPacks(
  paths: readonly string[],
  trust: Awaited<ReturnType<typeof loadTrustStore>>,
  allowUnsigned: boolean,
): Promise<ApplicabilityCandidate[]> {
  const out: ApplicabilityCandidate[] = [];
  for (const path of paths) {
    try {
      const p = await openPack(path, { trustedKeys: trust.keys, revokedKeyIds: trust.revoked, allowUnsigned });
      out.push({ ...p.manifest, file: path });
    } catch {
      // refused in its turn, with its own code, when the command is run in an order that reaches it
    }
  }
  return out;
}

export const planStep: StepDef<Pick<Verified, 'sink' | 'opts' | 'installation' | 'units'>, { units: PlannedUnit[] }> = {
  name: 'plan',
  run: async (ctx) => {
    // every file a pack may replace, delete, back up or write a default beside must be known exactly
    const touched = ctx.units.flatMap((u) => u.manifest.files.flatMap((f) => [f.path, `${f.path}.spnew`]));
    await hashPaths(ctx.installation, [BUILDINFO_FILE, ...touched]);
    let files: ReadonlyMap<string, FileMeta> = ctx.installation.files;
    const units: PlannedUnit[] = [];
    for (const unit of ctx.units) {
      const plan = planInstall({ files }, unit.manifest, { modified: ctx.opts.modified });
      const carriesBuildInfo = unit.manifest.files.some((f) => f.path === BUILDINFO_FILE);
      let buildInfo: BuildInfo | undefined;
      if (!carriesBuildInfo) {
        // The level lives in BUILDINFO.json; a pack that does not ship one gets it written by us,
        // from the current one with the new level, so the product reports what is installed.
        const current = files.get(BUILDINFO_FILE);
        const base = units[unit.index - 1]?.buildInfo ?? ctx.installation.buildInfo;
        const bi: BuildInfo = { ...base, level: unit.to.level, hotfixes: unit.to.hotfixes };
        const bytes = `${JSON.stringify(bi, null, 2)}\n`;
        buildInfo = bi;
        plan.ops.push({
          path: BUILDINFO_FILE,
          op: current ? 'replace' : 'add',
          source: BUILDINFO_FILE,
          ...(current ? { before: current } : {}),
          after: { sha256: sha256Bytes(bytes), size: Buffer.byteLength(bytes), mode: current?.mode ?? 0o644 },
          config: false,
          reason: 'pack',
        });
      }
      units.push({ ...unit, plan, ...(buildInfo ? { buildInfo } : {}) });
      for (const k of plan.kept) {
        ctx.sink({
          type: 'warning',
          code: k.reason === 'config-modified' ? 'W_CONFIG_KEPT' : 'W_MODIFIED_KEPT',
          message:
            k.reason === 'config-modified'
              ? `${k.path} was changed here and is kept; the new default is written beside it as ${k.path}.spnew`
              : `${k.path} was changed here and is kept as it is (--keep-modified)`,
          path: k.path,
        });
      }
      // What happens to plan.overwritten is said once the change is in (reportKeptCopies, install.ts):
      // "kept in the backup" before the backup exists would be a promise, not a fact.
      files = filesAfter(files, plan);
    }
    return { units };
  },
};

export const stageStep: StepDef<
  Pick<Planned, 'root' | 'spDir' | 'stagingRoot' | 'sink' | 'txid' | 'time' | 'opts' | 'installation' | 'units'>,
  { units: StagedUnit[]; draft: Journal }
> = {
  name: 'stage',
  run: async (ctx) => {
    // Every folder made here (staging/<tx>, the backup folders the commit moves the originals
    // into) is flushed with the first payload, before the journal can name anything in them. The
    // root and .servicepack/ too: the lock step may have created .servicepack/.
    const made = new Set<string>([ctx.root, ctx.spDir]);
    await createStaging(ctx, made);
    // The staged files reach the disk (fsync) while the journal is worked out, and the journal
    // is written only once they are there: a crash never leaves a journal naming unflushed files.
    const flushes: Promise<void>[] = [];
    const units: StagedUnit[] = [];
    let built: { ok: true; draft: Journal } | { ok: false; error: unknown };
    try {
      await makeBackupDirs(ctx.units, made);
      for (const unit of ctx.units) {
        const staged = await stagePayload(unit.pack, unit.stagingDir, ctx.sink, {
          deferFlush: true,
          ...(unit.index === 0 ? { alsoFlush: made } : {}),
        });
        if (staged.flushed) flushes.push(staged.flushed);
        if (unit.buildInfo) {
          const file = join(ctx.stagingRoot, `${unit.index}-generated-${BUILDINFO_FILE}`);
          const mode = unit.plan.ops.find((o) => o.path === BUILDINFO_FILE)?.after?.mode ?? 0o644;
          await writeFileAtomic(file, `${JSON.stringify(unit.buildInfo, null, 2)}\n`, mode);
          units.push({ ...unit, staged, buildInfo: unit.buildInfo, generatedBuildInfo: file });
        } else {
          const fallback = units[unit.index - 1]?.buildInfo ?? ctx.installation.buildInfo;
          units.push({ ...unit, staged, buildInfo: await checkStagedBuildInfo(unit, staged, fallback) });
        }
      }
      built = { ok: true, draft: await buildInstallJournal({ ...ctx, units }) };
    } catch (e) {
      built = { ok: false, error: e };
    }
    const flushed = await Promise.allSettled(flushes);
    if (!built.ok) throw built.error;
    for (const r of flushed) if (r.status === 'rejected') throw r.reason;
    return { units, draft: built.draft };
  },
};

/** The folders each pack's originals collect in during the commit: `<staged backup>/files/<folder of each replaced or deleted file>`. */
async function makeBackupDirs(units: readonly PlannedUnit[], made: Set<string>): Promise<void> {
  for (const unit of units) {
    const dirs = new Set([unit.stagedBackupDir]);
    for (const op of unit.plan.ops)
      if (op.before) dirs.add(dirname(join(unit.stagedBackupDir, 'files', ...op.path.split('/'))));
    for (const d of dirs) await makeDirs(d, made, PRIVATE_DIR_MODE);
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** A pack that ships BUILDINFO.json must say what the rules computed; a mismatch is a defective pack, caught before any change. */
async function checkStagedBuildInfo(unit: Unit, payload: StagedPayload, fallback: BuildInfo): Promise<BuildInfo> {
  const staged = inRoot(payload.dir, BUILDINFO_FILE);
  if (!(await exists(staged))) return { ...fallback, level: unit.to.level, hotfixes: unit.to.hotfixes };
  let parsed: BuildInfo;
  try {
    // the rules the record is read back with, every field: one this pack could install but no later run accept would be a trap
    parsed = await parseBuildInfo(
      await readFile(staged, 'utf8'),
      `${unit.path}: its ${BUILDINFO_FILE}`,
      'the pack is defective, nothing was changed; get a corrected one from the vendor',
      {
        product: unit.from.product,
        foreign: `the pack is not for ${unit.from.product}, nothing was changed; use a ${unit.from.product} pack`,
      },
    );
  } catch (e) {
    if (!isServicepackError(e) || e.code !== 'E_INVALID_BUILDINFO') throw e;
    throw new ServicepackError(
      'E_INVALID_MANIFEST',
      e.message,
      { packId: unit.manifest.id, ...e.details },
      { cause: e },
    );
  }
  const want = { product: unit.from.product, arch: unit.from.arch, level: unit.to.level };
  if (
    parsed.product !== want.product ||
    parsed.arch !== want.arch ||
    parsed.level !== want.level ||
    !sameSet(parsed.hotfixes, unit.to.hotfixes)
  ) {
    throw new ServicepackError(
      'E_INVALID_MANIFEST',
      `${unit.path}: its ${BUILDINFO_FILE} says ${parsed.product} ${parsed.arch} level ${parsed.level} hotfixes [${parsed.hotfixes.join(', ')}], but installing it here gives level ${want.level} hotfixes [${unit.to.hotfixes.join(', ')}]: the pack is defective; nothing was changed`,
      { packId: unit.manifest.id, buildInfo: parsed, expected: { ...want, hotfixes: unit.to.hotfixes } },
    );
  }
  return parsed;
}
