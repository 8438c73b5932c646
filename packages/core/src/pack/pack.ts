/**
 * The pack format (docs/formats.md "Pack"): a gzip tar whose first entry is the manifest, second the signatures
 * over the manifest's exact bytes, then payload/<path> for every added or replaced file, then
 * documents. Reading lives in open.ts (verify first), walk.ts (a deny-by-default walk) and stage.ts
 * (extraction into a staging folder), writing in pack-write.ts (deterministic bytes), the tar codec in
 * tar-format.ts.
 */
export { isSafeRelPath, MAX_REL_PATH, pathFoldKey, unsafePathReason } from './archive-path.js';
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
} from './open.js';
export { clampMode, type StagedPayload, stagePayload } from './stage.js';
export { type PayloadHandlers, readPackDocument, walkPack } from './walk.js';
export {
  canonicalManifest,
  normalizeMode,
  serializeManifest,
  signPack,
  type WritePackOptions,
  writePack,
} from './pack-write.js';
