/**
 * The engine never prints: it reports what it does as typed events to a sink the caller passes in
 * (pnpm's core-loggers model). Reporters (plain lines, listr2, ink, JSON) render the same stream.
 */
export type Step = 'lock' | 'recover' | 'detect' | 'verify' | 'plan' | 'stage' | 'journal' | 'stop-service' | 'commit' | 'record' | 'restart' | 'cleanup';

export type ServicepackEvent =
  | { type: 'step'; step: Step; state: 'started' | 'done' | 'skipped' | 'failed'; message?: string }
  | { type: 'progress'; step: Step; files: number; totalFiles: number; bytes: number; totalBytes: number; path?: string }
  | { type: 'warning'; code: string; message: string; path?: string }
  | { type: 'info'; message: string };

export type EventSink = (event: ServicepackEvent) => void;

export const nullSink: EventSink = () => {};
