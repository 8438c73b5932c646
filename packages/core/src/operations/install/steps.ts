import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type ApplicabilityTarget, checkApplicable } from '../../rules/applicability.js';
import { type BuildInfo, BUILDINFO_FILE } from '../../installation/buildinfo.js';
import { detectInstallation, hashPaths, type ProblemKind, parseBuildInfo } from '../../installation/detect.js';
import { isServicepackError, ServicepackError } from '../../support/errors.js';
import type { WarningCode } from '../../support/events.js';
import { exists, inRoot, makeDirs, writeFileAtomic } from '../../support/fsutil.js';
import { sha256Bytes } from '../../support/hash.js';
import { journalPath } from '../../transaction/journal.js';
import { licenseDocument } from '../../rules/license.js';
import { openPack, stagePayload } from '../../pack/pack.js';
import { type FileMeta, filesAfter, planInstall } from '../../rules/plan.js';
import { PRIVATE_DIR_MODE } from '../../installation/servicepack-dir.js';
import { acquireLock, assertNoOpenTransaction, BACKUP_DIR, type StepDef } from '../../transaction/transaction.js';
import { createStaging } from '../../transaction/journaled-steps.js';
import { loadTrustStore } from '../../trust/trust.js';
import { type InstallContext, nextLevel, type Unit } from './context.js';
import { buildInstallJournal } from './journal.js';

/**
 * The steps of an install before the journaled half (docs/transactions.md §2): lock → recover →
 * detect → verify → plan → stage. Each one reads and extends the one context; nothing changes the
 * tree until the journal is written.
 */

/** A difference from the record that does not stop an install: warned about, one fixed code per kind. */
const PROBLEM_WARNING: Record<Exclude<ProblemKind, 'buildinfo' | 'state'>, WarningCode> = {
  modified: 'W_MODIFIED',
  missing: 'W_MISSING',
  extra: 'W_EXTRA',
};

export const lockStep: StepDef<InstallContext> = {
  name: 'lock',
  run: async (ctx) => {
    // An interrupted commit can leave BUILDINFO.json in the backup: the journal still marks an installation.
    if (!(await exists(join(ctx.root, BUILDINFO_FILE))) && !(await exists(journalPath(ctx.root)))) {
      // Refuse before creating .servicepack/ in a folder that is not an installation at all.
      throw new ServicepackError(
        'E_NOT_INSTALLED',
        `no inetsrv installation found in ${ctx.root}: pass --root or set SERVICEPACK_ROOT`,
        { root: ctx.root },
      );
    }
    ctx.lock = await acquireLock(ctx.root);
  },
};

export const detectStep: StepDef<InstallContext> = {
  name: 'detect',
  run: async (ctx) => {
    // Files the packs change are read exactly in the plan step (hashPaths), with the folders on
    // their way; the rest are not looked at (see DetectOptions: recordOnly). Listing a 10,000-file
    // tree to change 2,000 of its files costs a tenth of the install, and what it could add is a
    // warning about files the install leaves alone, which the record keeps as they were for
    // `verify` to report.
    const inst = await detectInstallation(ctx.root, { trustRecord: true, recordOnly: true });
    ctx.installation = inst;
    const serious = inst.problems.filter((p) => p.kind === 'buildinfo' || p.kind === 'state');
    if (serious.length > 0) {
      // a record that fails its own rules is invalid (exit 2), not merely out of step with the tree
      const invalid = serious.find((p) => p.kind === 'state');
      if (invalid && !ctx.opts.force)
        throw new ServicepackError(
          'E_INVALID_STATE',
          `${invalid.message}; or pass --force to install anyway, recording the tree as it is`,
          { path: invalid.path, problems: inst.problems },
        );
      if (!ctx.opts.force) {
        throw new ServicepackError(
          'E_INCONSISTENT',
          `the installation in ${ctx.root} is inconsistent (${serious[0]!.message}${serious.length > 1 ? `, and ${serious.length - 1} more` : ''}): run servicepack query --root ${ctx.root} to see what differs, repair it, or pass --force to install anyway`,
          { problems: inst.problems },
        );
      }
      ctx.sink({
        type: 'warning',
        code: 'W_INCONSISTENT',
        message: `installing despite an inconsistent installation (--force): ${serious.map((p) => p.message).join('; ')}`,
      });
    }
    for (const p of inst.problems) {
      if (p.kind !== 'buildinfo' && p.kind !== 'state')
        ctx.sink({ type: 'warning', code: PROBLEM_WARNING[p.kind], message: p.message, path: p.path });
    }
    ctx.sink({
      type: 'info',
      message: `${inst.product} ${inst.version} ${inst.arch}, ${inst.levelName}, in ${inst.root}`,
    });
  },
};

export const verifyStep: StepDef<InstallContext> = {
  name: 'verify',
  run: async (ctx) => {
    const inst = ctx.installation!;
    // The revoked list goes to openPack too: a revoked signer must be refused, not merely "unknown",
    // or --allow-unsigned would let its pack through.
    const trust = await loadTrustStore({
      root: ctx.root,
      ...(ctx.opts.trustFiles ? { trustFiles: ctx.opts.trustFiles } : {}),
      sink: ctx.sink,
    });
    let target: ApplicabilityTarget = inst;
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
      checkApplicable(target, m, { packPath: path });
      const license = licenseDocument(m);
      if (license !== undefined && ctx.opts.acceptEula !== true) {
        throw new ServicepackError(
          'E_EULA_NOT_ACCEPTED',
          `${basename(path)} carries a license agreement (${license}); read it (tar -xzOf ${path} ${license}) and pass --accept-eula (acceptEula: true in an answer file) to install it unattended`,
          { packId: m.id, path, document: license },
        );
      }
      const to = nextLevel(target, m);
      ctx.units.push({
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
      target = { product: target.product, version: target.version, arch: target.arch, ...to };
    }
  },
};

export const planStep: StepDef<InstallContext> = {
  name: 'plan',
  run: async (ctx) => {
    // every file a pack may replace, delete, back up or write a default beside must be known exactly
    const touched = ctx.units.flatMap((u) => u.manifest.files.flatMap((f) => [f.path, `${f.path}.spnew`]));
    await hashPaths(ctx.installation!, [BUILDINFO_FILE, ...touched]);
    let files: ReadonlyMap<string, FileMeta> = ctx.installation!.files;
    for (const unit of ctx.units) {
      const plan = planInstall({ files }, unit.manifest, { modified: ctx.opts.modified });
      const carriesBuildInfo = unit.manifest.files.some((f) => f.path === BUILDINFO_FILE);
      if (!carriesBuildInfo) {
        // The level lives in BUILDINFO.json; a pack that does not ship one gets it written by us,
        // from the current one with the new level, so the product reports what is installed.
        const current = files.get(BUILDINFO_FILE);
        const base = ctx.units[unit.index - 1]?.buildInfo ?? ctx.installation!.buildInfo;
        const bi: BuildInfo = { ...base, level: unit.to.level, hotfixes: unit.to.hotfixes };
        const bytes = `${JSON.stringify(bi, null, 2)}\n`;
        unit.buildInfo = bi;
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
      unit.plan = plan;
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
      // What happens to plan.overwritten is said once the change is in (reportOverwritten):
      // "kept in the backup" before the backup exists would be a promise, not a fact.
      files = filesAfter(files, plan);
    }
  },
};

export const stageStep: StepDef<InstallContext> = {
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
    let failure: { error: unknown } | undefined;
    try {
      await makeBackupDirs(ctx, made);
      for (const unit of ctx.units) {
        unit.staged = await stagePayload(unit.pack, unit.stagingDir, ctx.sink, {
          deferFlush: true,
          ...(unit.index === 0 ? { alsoFlush: made } : {}),
        });
        if (unit.staged.flushed) flushes.push(unit.staged.flushed);
        if (unit.buildInfo) {
          const file = join(ctx.stagingRoot, `${unit.index}-generated-${BUILDINFO_FILE}`);
          const mode = unit.plan!.ops.find((o) => o.path === BUILDINFO_FILE)?.after?.mode ?? 0o644;
          await writeFileAtomic(file, `${JSON.stringify(unit.buildInfo, null, 2)}\n`, mode);
          unit.generatedBuildInfo = file;
        } else {
          unit.buildInfo = await checkStagedBuildInfo(ctx, unit);
        }
      }
      ctx.draft = await buildInstallJournal(ctx);
    } catch (e) {
      failure = { error: e };
    }
    const flushed = await Promise.allSettled(flushes);
    if (failure) throw failure.error;
    for (const r of flushed) if (r.status === 'rejected') throw r.reason;
  },
};

/** The folders each pack's originals collect in during the commit: `<staged backup>/files/<folder of each replaced or deleted file>`. */
async function makeBackupDirs(ctx: InstallContext, made: Set<string>): Promise<void> {
  for (const unit of ctx.units) {
    const dirs = new Set([unit.stagedBackupDir]);
    for (const op of unit.plan!.ops)
      if (op.before) dirs.add(dirname(join(unit.stagedBackupDir, 'files', ...op.path.split('/'))));
    for (const d of dirs) await makeDirs(d, made, PRIVATE_DIR_MODE);
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** A pack that ships BUILDINFO.json must say what the rules computed; a mismatch is a defective pack, caught before any change. */
async function checkStagedBuildInfo(ctx: InstallContext, unit: Unit): Promise<BuildInfo> {
  const staged = inRoot(unit.staged!.dir, BUILDINFO_FILE);
  const fallback = ctx.units[unit.index - 1]?.buildInfo ?? ctx.installation!.buildInfo;
  if (!(await exists(staged))) return { ...fallback, level: unit.to.level, hotfixes: unit.to.hotfixes };
  let parsed: BuildInfo;
  try {
    // the rules the record is read back with, every field: one this pack could install but no later run accept would be a trap
    parsed = await parseBuildInfo(
      await readFile(staged, 'utf8'),
      `${unit.path}: its ${BUILDINFO_FILE}`,
      'the pack is defective, nothing was changed; get a corrected one from the vendor',
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

/** --dry-run changes nothing, not even by recovering: an open journal is reported (exit 6) instead. */
export const dryRecoverStep: StepDef<InstallContext> = {
  name: 'recover',
  run: async (ctx) => {
    await assertNoOpenTransaction(ctx.root);
    return 'skipped';
  },
};
