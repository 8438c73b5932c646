import { join } from 'node:path';
import type { PackKind } from '../rules/level.js';
import type { FileMeta, PlannedOp } from '../rules/plan.js';
import { writeFileAtomic } from '../support/fsutil.js';
import { jsonPieces } from '../support/json-pieces.js';
import { BACKUP_RECORD } from '../installation/names.js';
import { int, isObj, KINDS, keysOk, SHA256, str } from '../installation/record-check.js';
import { ownedPathReason } from '../installation/record-paths.js';

/**
 * The backup record (`backup/<pack id>/backup.json`) in one place: what install writes and the
 * hand-written check uninstall reads it back through. Its zod schema stays in backup-schema.ts, a
 * module of its own, so that zod loads only for a record this check cannot vouch for.
 */

/** One file of a backup record: what was at `path` before the pack, and what the pack left there. */
export interface BackupFile {
  path: string;
  op: PlannedOp['op'];
  reason: PlannedOp['reason'];
  before?: FileMeta;
  after?: FileMeta;
  /** relative to the backup folder; absent when nothing was there or with --no-backup */
  backup?: string;
}

/**
 * `backup/<pack id>/backup.json`: enough to put the tree back exactly as it was (uninstall):
 * which files to restore from `files/`, which added files and folders to remove, which removed
 * folders to recreate, and the state record as it was before.
 */
export interface BackupRecord {
  format: 1;
  packId: string;
  kind: PackKind;
  transactionId: string;
  time: string;
  fromLevel: number;
  toLevel: number;
  fromHotfixes: string[];
  toHotfixes: string[];
  files: BackupFile[];
  createdDirs: string[];
  removedDirs: string[];
  spnew: string[];
  kept: string[];
  /** whether the service must restart when this pack's files change (the manifest's `restart`) */
  restart?: boolean;
  /** the state record before this pack (null for a fresh vendor release tree, or for a later pack of one run) */
  previousState: unknown;
}

export async function writeBackupRecord(backupDir: string, record: BackupRecord): Promise<void> {
  // in pieces: with the previous state record in it, one string is megabytes (json-pieces.ts)
  await writeFileAtomic(join(backupDir, BACKUP_RECORD), [...jsonPieces(record, 2).segments[0]!, Buffer.from('\n')]);
}

/**
 * A hand-written check of a backup record (`backup.json`) as uninstall reads it, mirroring
 * BackupRecordSchema (backup-schema.ts) and at least as strict: what passes here passes there, and
 * whatever fails here goes to the schema, which stays the authority and words the error. The schema
 * costs about 0.1 s on the first parse of a 2,000-file record in a one-shot process (zod compiles
 * each object schema on first use), a tenth of a service pack's whole uninstall.
 */

const strArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(str);

/** What could send a restore outside the product's files: the schema's `ownedPath`. */
function ownedPathOk(p: unknown): p is string {
  return str(p) && ownedPathReason(p) === undefined;
}

function metaOk(v: unknown): boolean {
  if (!isObj(v) || !keysOk(v, ['sha256', 'size', 'mode'])) return false;
  const { sha256, size, mode } = v;
  return str(sha256) && SHA256.test(sha256) && int(size) && size >= 0 && int(mode) && mode >= 0 && mode <= 0o7777;
}

const OPS: ReadonlySet<unknown> = new Set(['add', 'replace', 'delete']);
const REASONS: ReadonlySet<unknown> = new Set(['pack', 'overwrite-modified', 'spnew']);

function fileOk(v: unknown): boolean {
  if (!isObj(v) || !keysOk(v, ['path', 'op', 'reason'], ['before', 'after', 'backup'])) return false;
  if (!ownedPathOk(v['path']) || !OPS.has(v['op']) || !REASONS.has(v['reason'])) return false;
  if (Object.hasOwn(v, 'before') && !metaOk(v['before'])) return false;
  if (Object.hasOwn(v, 'after') && !metaOk(v['after'])) return false;
  return !Object.hasOwn(v, 'backup') || v['backup'] === `files/${v['path']}`;
}

/** The record when it certainly passes BackupRecordSchema; undefined when the schema must decide. */
export function checkedBackupRecord(v: unknown): BackupRecord | undefined {
  if (!isObj(v)) return undefined;
  const required = [
    'format',
    'packId',
    'kind',
    'transactionId',
    'time',
    'fromLevel',
    'toLevel',
    'fromHotfixes',
    'toHotfixes',
    'files',
    'createdDirs',
    'removedDirs',
    'spnew',
    'kept',
    'previousState',
  ];
  if (!keysOk(v, required, ['restart'])) return undefined;
  if (v['format'] !== 1 || !str(v['packId']) || !KINDS.has(v['kind']) || !str(v['transactionId']) || !str(v['time']))
    return undefined;
  const { fromLevel, toLevel } = v;
  if (!int(fromLevel) || fromLevel < 0 || !int(toLevel) || toLevel < 0) return undefined;
  if (!strArray(v['fromHotfixes']) || !strArray(v['toHotfixes']) || !strArray(v['spnew']) || !strArray(v['kept']))
    return undefined;
  const files = v['files'];
  if (!Array.isArray(files) || !files.every(fileOk)) return undefined;
  for (const k of ['createdDirs', 'removedDirs']) {
    const dirs = v[k];
    if (!Array.isArray(dirs) || !dirs.every(ownedPathOk)) return undefined;
  }
  if (Object.hasOwn(v, 'restart') && typeof v['restart'] !== 'boolean') return undefined;
  return v as unknown as BackupRecord;
}
