/**
 * The engine never prints: it reports what it does as typed events to a sink the caller passes in
 * (pnpm's core-loggers model). Reporters (plain lines, listr2, ink, JSON) render the same stream.
 */
export type Step =
  | 'lock'
  | 'recover'
  | 'detect'
  | 'verify'
  | 'plan'
  | 'stage'
  | 'journal'
  | 'stop-service'
  | 'commit'
  | 'trial'
  | 'record'
  | 'restart'
  | 'cleanup';

/**
 * Every warning code any part of servicepack reports: scripts match on them (`--json`, the logs),
 * so the list is closed and a new one is added here, never built from other data.
 */
export const WARNING_CODES = [
  'W_AFTER_COMMIT',
  'W_CONFIG_KEPT',
  'W_EXTRA',
  'W_FEED_NOT_RECORDED',
  'W_FOREIGN_PID',
  'W_INCONSISTENT',
  'W_KEY_REVOKED',
  'W_LOG',
  'W_MISSING',
  'W_MODIFIED',
  'W_MODIFIED_KEPT',
  'W_MODIFIED_OVERWRITTEN',
  'W_NOT_RECORDED',
  'W_OLD_BACKUP',
  'W_PID_FILE',
  'W_RECOVERED',
  'W_RESTART_FAILED',
  'W_UNSIGNED',
] as const;
export type WarningCode = (typeof WARNING_CODES)[number];

export type ServicepackEvent =
  | { type: 'step'; step: Step; state: 'started' | 'done' | 'skipped' | 'failed'; message?: string }
  | {
      type: 'progress';
      step: Step;
      files: number;
      totalFiles: number;
      bytes: number;
      totalBytes: number;
      path?: string;
    }
  | { type: 'warning'; code: WarningCode; message: string; path?: string }
  | { type: 'info'; message: string };

export type EventSink = (event: ServicepackEvent) => void;

export const nullSink: EventSink = () => {};
