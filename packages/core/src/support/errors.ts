/**
 * Every failure the engine reports carries a stable `code` (for scripts and tests) and the process
 * exit code it maps to (docs/cli.md §5), so front ends never guess.
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  notApplicable: 3,
  integrity: 4,
  busy: 5,
  needsRecover: 6,
  /** the target root does not exist, is not a folder, or holds no installation (installation/root.ts) */
  noInstallation: 7,
  restartRequired: 10,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorCode =
  | 'E_USAGE'
  | 'E_INVALID_MANIFEST'
  | 'E_INVALID_ANSWER_FILE'
  | 'E_EULA_NOT_ACCEPTED'
  | 'E_CONFIRMATION_REQUIRED'
  | 'E_INVALID_BUILDINFO'
  | 'E_INVALID_STATE'
  | 'E_ROOT_MISSING'
  | 'E_ROOT_NOT_FOLDER'
  | 'E_NOT_INSTALLED'
  | 'E_WRONG_PRODUCT'
  | 'E_WRONG_VERSION'
  | 'E_WRONG_ARCH'
  | 'E_WRONG_LEVEL'
  | 'E_ALREADY_INSTALLED'
  | 'E_SUPERSEDED'
  | 'E_DOWNGRADE'
  | 'E_LOCALLY_MODIFIED'
  | 'E_REQUIREMENT_NOT_MET'
  | 'E_NOT_REMOVABLE'
  | 'E_NO_BACKUP'
  | 'E_UNSIGNED'
  | 'E_UNTRUSTED_KEY'
  | 'E_BAD_SIGNATURE'
  | 'E_HASH_MISMATCH'
  | 'E_UNSAFE_ARCHIVE'
  | 'E_CORRUPT_ARCHIVE'
  | 'E_FEED_EXPIRED'
  | 'E_FEED_ROLLBACK'
  | 'E_FEED_REDIRECT'
  | 'E_FEED'
  | 'E_INCONSISTENT'
  | 'E_BUSY'
  | 'E_NEEDS_RECOVER'
  | 'E_HEALTH_CHECK_FAILED'
  | 'E_HEALTH_CHECK_UNAVAILABLE'
  | 'E_IO'
  | 'E_FAILED'
  | 'E_FACTS_UNREADABLE'
  | 'E_FACTS_BAD_NAME'
  | 'E_FACTS_LINK'
  | 'E_FACTS_NOT_FILE'
  | 'E_FACTS_TOO_LARGE'
  | 'E_FACTS_MALFORMED'
  | 'E_FACTS_INVALID'
  | 'E_FACTS_HOST_FAILED';

const exitFor: Record<ErrorCode, ExitCode> = {
  E_USAGE: 2,
  E_INVALID_MANIFEST: 2,
  E_INVALID_ANSWER_FILE: 2,
  E_EULA_NOT_ACCEPTED: 2,
  E_CONFIRMATION_REQUIRED: 2,
  E_INVALID_BUILDINFO: 2,
  E_INVALID_STATE: 2,
  E_ROOT_MISSING: 7,
  E_ROOT_NOT_FOLDER: 7,
  E_NOT_INSTALLED: 7,
  E_WRONG_PRODUCT: 3,
  E_WRONG_VERSION: 3,
  E_WRONG_ARCH: 3,
  E_WRONG_LEVEL: 3,
  E_ALREADY_INSTALLED: 3,
  E_SUPERSEDED: 3,
  E_DOWNGRADE: 3,
  E_LOCALLY_MODIFIED: 3,
  E_REQUIREMENT_NOT_MET: 3,
  E_NOT_REMOVABLE: 3,
  E_NO_BACKUP: 3,
  E_UNSIGNED: 4,
  E_UNTRUSTED_KEY: 4,
  E_BAD_SIGNATURE: 4,
  E_HASH_MISMATCH: 4,
  E_UNSAFE_ARCHIVE: 4,
  E_CORRUPT_ARCHIVE: 4,
  E_FEED_EXPIRED: 4,
  E_FEED_ROLLBACK: 4,
  E_FEED_REDIRECT: 4,
  E_FEED: 1,
  E_INCONSISTENT: 4,
  E_BUSY: 5,
  E_NEEDS_RECOVER: 6,
  /** the update went in, its health check failed, and it was rolled back: the installation is as before */
  E_HEALTH_CHECK_FAILED: 1,
  E_HEALTH_CHECK_UNAVAILABLE: 2,
  E_IO: 1,
  E_FAILED: 1,
  /** `report`: some hosts' facts files were refused (each with one of the codes below); the report names them */
  E_FACTS_UNREADABLE: 2,
  E_FACTS_BAD_NAME: 2,
  E_FACTS_LINK: 2,
  E_FACTS_NOT_FILE: 2,
  E_FACTS_TOO_LARGE: 2,
  E_FACTS_MALFORMED: 2,
  E_FACTS_INVALID: 2,
  /** the file is the failure document of `facts` on that host: its own code and message are in the report */
  E_FACTS_HOST_FAILED: 2,
};

export class ServicepackError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCode;
  /** Structured facts for --json output and for tests (e.g. the list of modified files). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ServicepackError';
    this.code = code;
    this.exitCode = exitFor[code];
    this.details = details;
  }
}

export function isServicepackError(e: unknown): e is ServicepackError {
  return e instanceof ServicepackError;
}
