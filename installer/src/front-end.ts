import type { ServicepackEvent } from '@servicepack/core/events';
import type { InstallResult } from '@servicepack/core/install';
import type { PhaseEvent } from '@servicepack/core/log';
import type { ErrorDocument } from './exit.js';

/**
 * What an unattended run shows and how, in a module of its own: unattended.ts loads the front ends
 * (reporters/) lazily and the front ends implement these types, so neither imports the other's module.
 */

export type UiEvent = ServicepackEvent | PhaseEvent;

export interface TargetOutcome {
  root: string;
  ok: boolean;
  exitCode: number;
  transactionId: string;
  /** the JSON-lines logs this target was written to */
  logs: string[];
  /** the pack ids installed (or that would be, with --dry-run), in order */
  packs: string[];
  feed?: { url: string; version: number; lastSeenVersion: number | null };
  result?: InstallResult;
  /** `restart: always` restarted the running service */
  restarted?: boolean;
  error?: ErrorDocument;
}

export interface RunOutcome {
  ok: boolean;
  exitCode: number;
  answerFile?: string;
  dryRun: boolean;
  targets: TargetOutcome[];
}

/** One target on the screen: receives its events, then its outcome. */
export interface TargetView {
  sink(ev: UiEvent): void;
  /** resolves once the view has drawn the outcome (listr finishes its task list) */
  finish(outcome: TargetOutcome): Promise<void>;
}

export interface FrontEnd {
  readonly kind: 'listr' | 'lines' | 'json';
  target(info: { root: string; index: number; count: number; fromFeed: boolean }): TargetView;
  /** the results, once, at the end */
  summary(run: RunOutcome): void;
  /** a failure before any target was touched (an invalid answer file, an unusable log file) */
  failure(doc: ErrorDocument, answerFile?: string): void;
}
