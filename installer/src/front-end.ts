import type { ServicepackEvent } from '@servicepack/core/events';
import type { InstallResult } from '@servicepack/core/install';
import type { PhaseEvent } from '@servicepack/core/log';
import type { ErrorDocument } from './exit.js';
import type { Printable, Shown } from './reporters/printable.js';

/**
 * The one front-end interface every command renders through: the engine's events (warnings among
 * them), the result, a failure. In a module of its own: io.ts chooses the renderer (reporters/) and
 * loads the heavy ones lazily, and the renderers implement these types, so neither imports the other.
 */

export type UiEvent = ServicepackEvent | PhaseEvent;

/** A stream that output goes to: the process's stdout/stderr, or a test's buffer. */
export interface Output {
  write(text: string): void;
  isTTY?: boolean;
}

/** Where a renderer writes and the environment that decides how (NO_COLOR, TERM). */
export interface Streams {
  out: Output;
  err: Output;
  env: Record<string, string | undefined>;
  /** `--verbose`: a line per file as it is staged and committed, and an unexpected error's stack, on stderr */
  verbose?: boolean;
}

export interface Paint {
  red(s: Shown): Printable;
  green(s: Shown): Printable;
  yellow(s: Shown): Printable;
  dim(s: Shown): Printable;
  bold(s: Shown): Printable;
}

/** What a command's text result is written with: results on stdout (`print`), logs on stderr (`log`). */
export interface TextOutput {
  print(line: Printable): void;
  log(line: Printable): void;
  /** colours for stdout and for stderr, each on only when its stream is a terminal that wants them */
  readonly o: Paint;
  readonly e: Paint;
}

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

export interface TargetInfo {
  root: string;
  index: number;
  count: number;
  fromFeed: boolean;
  /** the command's one root (install PACK, uninstall): nothing to tell apart, so no "target 1 of 1" and no root on JSON warnings */
  alone?: boolean;
}

/** One target on the screen: receives its events, then its outcome. */
export interface TargetView {
  sink(ev: UiEvent): void;
  /** resolves once the view has drawn the outcome (listr finishes its task list) */
  finish(outcome: TargetOutcome): Promise<void>;
}

export interface FrontEnd {
  readonly kind: 'plain' | 'lines' | 'listr' | 'json';
  /** the events of a command that is not a run over targets */
  readonly sink: (ev: UiEvent) => void;
  /** a line for a person's log on stderr; `--json` has no such lines */
  log(line: Printable): void;
  /** one target of a run over targets (or of a transaction command) */
  target(info: TargetInfo): TargetView;
  /** a command's result: `doc` under `--json` (ok: true unless it says otherwise), else what `text` prints */
  result(doc: Record<string, unknown>, text: (t: TextOutput) => void): void;
  /** a run over targets: the results, once, at the end */
  summary(run: RunOutcome): void;
  /** every failure leaves through here: one JSON document, or one error line (after what `text` prints) */
  failure(doc: ErrorDocument & Record<string, unknown>, text?: (t: TextOutput) => void): void;
}
