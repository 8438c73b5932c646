export * from './installation/buildinfo.js';
export * from './support/errors.js';
export * from './support/events.js';
export * from './rules/fix.js';
export { NOT_OWNED } from './support/fsutil.js';
export * from './support/hash.js';
export * from './rules/level.js';
export * from './rules/license.js';
export * from './pack/manifest.js';
export { isSafeRelPath, MAX_REL_PATH, pathFoldKey, unsafePathReason } from './pack/archive-path.js';
export {
  DOCUMENT_MAX_BYTES,
  inspectPack,
  MAX_DECOMPRESSION_RATIO,
  type OpenPackOptions,
  openPack,
  type PackInspection,
  parseManifestBytes,
  readPackSignatures,
  SIGNATURE_MAX_BYTES,
  type VerifiedPack,
} from './pack/open.js';
export { clampMode, type StagedPayload, stagePayload } from './pack/stage.js';
export { type PayloadHandlers, readPackDocument, walkPack } from './pack/walk.js';
export {
  canonicalManifest,
  normalizeMode,
  serializeManifest,
  signPack,
  type WritePackOptions,
  writePack,
} from './pack/pack-write.js';
export * from './schema-export.js';
export * from './installation/state.js';
export * from './trust/trust.js';
export * from './rules/applicability.js';
export * from './installation/detect.js';
export * from './operations/install/install.js';
export { type InstallOptions, nextLevel } from './operations/install/context.js';
export * from './rules/plan.js';
export * from './installation/query.js';
export * from './installation/service.js';
export * from './installation/state-store.js';
export * from './transaction/transaction.js';
export * from './feed/catalog.js';
export * from './feed/schema.js';
export * from './feed/publish.js';
export * from './feed/verify.js';
export {
  FEED_MIN_BYTES_PER_SECOND,
  FEED_TIMEOUT_MS,
  type FetchOptions,
  fetchBytes,
  fetchToFile,
} from './feed/transport.js';
export * from './feed/client.js';
export * from './transaction/journal.js';
export * from './transaction/journal-apply.js';
export * from './transaction/journaled-steps.js';
export * from './transaction/settle-failure.js';
export * from './transaction/backup-record.js';
export { JournalOpSchema, JournalPhaseSchema, JournalSchema, JournalStepSchema } from './transaction/journal-schema.js';
export * from './operations/recover.js';
export * from './operations/uninstall/uninstall.js';
export type { UninstallOptions } from './operations/uninstall/context.js';
export * from './operations/verify.js';
export * from './fleet/answer-file.js';
export {
  ANSWER_FILE_MAX_BYTES,
  type AnswerFileInput,
  type AnswerFileIssue,
  AnswerFileSchema,
  type RestartChoice,
} from './fleet/answer-file-schema.js';
export * from './fleet/log.js';
export * from './operations/updates.js';
export * from './operations/updates-install.js';
