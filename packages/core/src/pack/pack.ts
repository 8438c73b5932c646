/**
 * The pack format (docs/formats.md "Pack"): a gzip tar whose first entry is the manifest, second the signatures
 * over the manifest's exact bytes, then payload/<path> for every added or replaced file, then
 * documents. Reading lives in pack-read.ts (verify first, then a deny-by-default walk), writing in
 * pack-write.ts (deterministic bytes), the tar codec in tar-format.ts.
 */
export { isSafeRelPath, MAX_REL_PATH, pathFoldKey, unsafePathReason } from './archive-path.js';
export {
  clampMode,
  DOCUMENT_MAX_BYTES,
  inspectPack,
  MAX_DECOMPRESSION_RATIO,
  type OpenPackOptions,
  openPack,
  type PackInspection,
  type PayloadHandlers,
  parseManifestBytes,
  readPackDocument,
  readPackSignatures,
  SIGNATURE_MAX_BYTES,
  type StagedPayload,
  stagePayload,
  type VerifiedPack,
  walkPack,
} from './pack-read.js';
export {
  canonicalManifest,
  normalizeMode,
  serializeManifest,
  signPack,
  type WritePackOptions,
  writePack,
} from './pack-write.js';
