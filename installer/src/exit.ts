import { ExitCode } from '@servicepack/core/errors';

/**
 * Exit codes (docs/cli.md §5) and the one shape every failure takes on the way out. The numbers are core's
 * one table (errors.ts, which imports nothing, so `--help` and usage errors stay fast).
 */
export const EXIT = ExitCode;

export const EXIT_CODES_HELP = `Exit codes:
  0   done
  1   failed and rolled back (nothing changed)
  2   usage error, invalid answer file / manifest, or a license
      not accepted (--accept-eula)
  3   not applicable (wrong product, version, arch or level; already installed;
      superseded; locally modified files; query --require not met)
  4   integrity or trust failure (signature, hash, unsafe archive, stale or
      rolled-back feed)
  5   busy (another transaction holds the lock)
  6   an interrupted transaction needs \`servicepack recover\`
  7   no installation at the target (the root does not exist, is not a
      folder, or holds no inetsrv)
  10  done, restart still required`;

export const EXAMPLES_HELP = `Examples:
  servicepack query --root /opt/inetsrv
  servicepack query --json --require sp6
  servicepack install --root /opt/inetsrv -u --accept-eula inetsrv-4.0-sp6-x86.tgz
  SERVICEPACK_ROOT=/opt/inetsrv servicepack install -u -z --accept-eula --json inetsrv-4.0-sp6-x86.tgz
  servicepack install --dry-run --accept-eula inetsrv-4.0-sp6-x86.tgz
  servicepack uninstall --root /opt/inetsrv -u          (newest update first)
  servicepack verify --root /opt/inetsrv                (exit 4 on any difference)
  servicepack recover --root /opt/inetsrv               (after a crash or power cut)

An option word that is also a file here (what *.tgz can expand to) is refused;
-- ends the options (servicepack install -u -- -x.tgz, or -- *.tgz).`;

/** What `--json` prints for a failure, and what plain mode turns into one line. */
export type ErrorDocument = {
  ok: false;
  code: string;
  exitCode: number;
  message: string;
  details: Record<string, unknown>;
};

interface CodedError {
  code: string;
  exitCode: number;
  message: string;
  details: Readonly<Record<string, unknown>>;
}

function isCoded(e: unknown): e is CodedError {
  return (
    e instanceof Error &&
    e.name === 'ServicepackError' &&
    typeof (e as Partial<CodedError>).code === 'string' &&
    typeof (e as Partial<CodedError>).exitCode === 'number'
  );
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export function errorDocument(e: unknown): ErrorDocument {
  if (isCoded(e))
    return { ok: false, code: e.code, exitCode: e.exitCode, message: e.message, details: { ...e.details } };
  if (e instanceof UsageError)
    return { ok: false, code: 'E_USAGE', exitCode: EXIT.usage, message: e.message, details: {} };
  // Not one of ours: a bug or an environment failure. One line; the stack only with DEBUG.
  const message = e instanceof Error ? e.message : String(e);
  return {
    ok: false,
    code: 'E_UNEXPECTED',
    exitCode: EXIT.failed,
    message: `unexpected error: ${message}`,
    details: {},
  };
}
