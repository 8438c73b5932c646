import { join } from 'node:path';
import { checkedBackupRecord } from '../../transaction/backup-record.js';
import { hashPaths } from '../../installation/detect.js';
import { isServicepackError, ServicepackError } from '../../support/errors.js';
import { flushToDisk } from '../../transaction/durable.js';
import { errnoCode } from '../../support/fsutil.js';
import { hashFiles } from '../../support/hash.js';
import { at } from '../../transaction/journal.js';
import { checkNoLinkOnTheWay, readRecordFile } from '../../installation/servicepack-dir.js';
import { BUILDINFO_FILE, SERVICEPACK_DIR } from '../../installation/names.js';
import { BACKUP_RECORD, SAVED_DIR, type StepDef } from '../../transaction/transaction.js';
import type { BackupRecord } from '../../transaction/backup-record.js';
import { createStaging } from '../../transaction/journaled-steps.js';
import { detectForChange } from '../change.js';
import { type Detected, type Planned, restorable, type Staged, sameMeta, type UninstallContext } from './context.js';
import { buildUninstallJournal } from './journal.js';

/**
 * The steps of an uninstall before the journaled half: lock → recover → detect → plan → stage (lock is
 * the one every change shares: ../change.ts). The
 * plan step refuses what cannot come off (not the newest, no backup, files changed since) before
 * anything moves.
 */

export const detectStep: StepDef<
  Pick<UninstallContext, 'root' | 'sink'>,
  Pick<Detected, 'installation' | 'state' | 'newest'>
> = {
  name: 'detect',
  run: async (ctx) => {
    // The files the uninstall moves are read exactly in the plan step (hashPaths); the others
    // it neither moves nor answers for, so the tree is not even listed (see DetectOptions).
    let found: Pick<Detected, 'state' | 'newest'> | undefined;
    const installation = await detectForChange(
      ctx,
      {
        invalid: (message) => message,
        inconsistent: ([first]) =>
          `the installation in ${ctx.root} is inconsistent (${first.message}): its uninstall data may not fit it any more; run servicepack verify --root ${ctx.root} and repair it first`,
      },
      (inst) => {
        const newest = inst.state?.installed.at(-1);
        if (!inst.state || newest === undefined) {
          throw new ServicepackError(
            'E_NOT_REMOVABLE',
            `nothing to uninstall: no update was installed in ${ctx.root} by servicepack (it is at ${inst.levelName} as released)`,
            { level: inst.level },
          );
        }
        found = { state: inst.state, newest };
      },
    );
    if (found === undefined) throw new Error('internal: detect accepted nothing');
    return { installation, ...found };
  },
};

async function readRecord(root: string, packId: string, backupRel: string): Promise<BackupRecord> {
  const file = join(root, SERVICEPACK_DIR, ...backupRel.split('/'), BACKUP_RECORD);
  let json: unknown;
  try {
    json = JSON.parse(await readRecordFile(file));
  } catch (e) {
    if (isServicepackError(e)) throw e;
    throw new ServicepackError(
      'E_NO_BACKUP',
      `${packId} cannot be uninstalled: its uninstall data ${file} ${errnoCode(e) === 'ENOENT' ? 'is missing' : `cannot be read (${(e as Error).message})`}; nothing was changed`,
      { packId, path: file },
      { cause: e },
    );
  }
  const checked = checkedBackupRecord(json);
  if (checked !== undefined && checked.packId === packId) return checked;
  // a record the quick check does not vouch for: the schema (and zod) decide and word the error
  const [{ BackupRecordSchema }, { z }] = await Promise.all([
    import('../../transaction/backup-schema.js'),
    import('zod'),
  ]);
  const parsed = BackupRecordSchema.safeParse(json);
  if (!parsed.success || parsed.data.packId !== packId) {
    throw new ServicepackError(
      'E_NO_BACKUP',
      `${packId} cannot be uninstalled: its uninstall data ${file} is damaged (${parsed.success ? `it belongs to ${parsed.data.packId}` : z.prettifyError(parsed.error).replace(/\s*\n\s*/g, '; ')}); nothing was changed`,
      { packId, path: file },
    );
  }
  return parsed.data as BackupRecord;
}

export const planStep: StepDef<
  Pick<Detected, 'root' | 'txid' | 'sink' | 'opts' | 'installation' | 'state' | 'newest'>,
  Pick<Planned, 'target' | 'backupDigests'>
> = {
  name: 'plan',
  run: async (ctx) => {
    const { state, newest } = ctx;
    const installed = state.installed;
    const wanted = ctx.opts.id ?? newest.packId;
    const at_ = installed.map((i) => i.packId.toLowerCase()).lastIndexOf(wanted.toLowerCase());
    const found = installed[at_];
    if (found === undefined) {
      throw new ServicepackError(
        'E_NOT_REMOVABLE',
        `${wanted} is not installed in ${ctx.root} (installed, oldest first: ${installed.map((i) => i.packId).join(', ')}): nothing was changed`,
        { packId: wanted, installed: installed.map((i) => i.packId) },
      );
    }
    if (at_ !== installed.length - 1) {
      // newest first: an older update's backup holds the files as they were before it, and
      // restoring them under a newer update would undo part of the newer one.
      const first = installed
        .slice(at_ + 1)
        .reverse()
        .map((i) => i.packId);
      const order = [...first, found.packId];
      throw new ServicepackError(
        'E_NOT_REMOVABLE',
        `${found.packId} is not the newest update here: uninstall ${order[0]} first, then ${order.slice(1).join(', then ')}`,
        { packId: found.packId, order },
      );
    }
    if (newest.backup === undefined) {
      throw new ServicepackError(
        'E_NO_BACKUP',
        `${newest.packId} was installed with --no-backup (-n), so no uninstall data was kept and it cannot be removed; to go back, reinstall the earlier level from its release: nothing was changed`,
        { packId: newest.packId },
      );
    }
    // The backup folder and every folder in it on the way to a file it restores: the restore
    // moves those files, and through a link it would move them out of wherever the link points.
    const seen = new Set<string>();
    checkNoLinkOnTheWay(ctx.root, [`${SERVICEPACK_DIR}/${newest.backup}/${BACKUP_RECORD}`], seen);
    const record = await readRecord(ctx.root, newest.packId, newest.backup);
    const target = { packId: newest.packId, backupRel: newest.backup, record };
    const sources = restorable(record).map((f) => `${SERVICEPACK_DIR}/${newest.backup}/${f.backup}`);
    checkNoLinkOnTheWay(ctx.root, sources, seen);
    // Both reads at once (the stage step checks the backup): each keeps a worker thread and this
    // one busy, and together they leave neither idle while the other finishes its share.
    const backupDigests = hashFiles(sources.map((p) => at(ctx.root, p)));
    // a refusal below must not leave this unobserved
    backupDigests.catch(() => {});
    await hashPaths(ctx.installation, [BUILDINFO_FILE, ...record.files.map((f) => f.path)]);

    // Files changed since the pack installed them would be lost by the restore.
    const disk = ctx.installation.files;
    const modified = record.files.filter((f) => !sameMeta(disk.get(f.path), f.after)).map((f) => f.path);
    if (modified.length > 0 && ctx.opts.modified !== 'overwrite') {
      const shown = modified.slice(0, 8);
      throw new ServicepackError(
        'E_LOCALLY_MODIFIED',
        `${modified.length === 1 ? '1 file was' : `${modified.length} files were`} changed since ${newest.packId} installed ${modified.length === 1 ? 'it' : 'them'}, and removing ${newest.packId} would replace ${modified.length === 1 ? 'it' : 'them'}: ${shown.join(', ')}${modified.length > shown.length ? ` and ${modified.length - shown.length} more` : ''}. Nothing was changed. Pass --overwrite-modified (-o) to uninstall anyway (the changed files are kept in .servicepack/${SAVED_DIR}/)`,
        { packId: newest.packId, files: modified },
      );
    }
    for (const p of modified)
      ctx.sink({
        type: 'warning',
        code: 'W_MODIFIED_OVERWRITTEN',
        message: `${p} was changed since ${newest.packId} was installed; the changed file is kept in .servicepack/${SAVED_DIR}/${ctx.txid}/`,
        path: p,
      });
    return { target, backupDigests };
  },
};

export const stageStep: StepDef<
  Pick<Planned, 'root' | 'spDir' | 'stagingRoot' | 'txid' | 'time' | 'opts' | 'installation' | 'state'> &
    Pick<Planned, 'target' | 'backupDigests'>,
  Pick<Staged, 'draft' | 'after' | 'changed'>
> = {
  name: 'stage',
  run: async (ctx) => {
    // the folders made here must be on disk before the journal names anything in them
    const made = new Set<string>([ctx.root, ctx.spDir]);
    await createStaging(ctx, made);
    const built = await buildUninstallJournal(ctx, made);
    await flushToDisk(ctx.root, [], made);
    return { draft: built.journal, after: built.levelAfter, changed: built.changed };
  },
};
