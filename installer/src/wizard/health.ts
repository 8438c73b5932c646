import type { InstallResult } from '@servicepack/core/install';

/**
 * What the wizard shows of a health check (docs/transactions.md §7 "Health check"): the rows of
 * the Finish screen when it passed, and the error screen of a trial that failed and was rolled
 * back. The verdicts are the engine's own sentences (its summaries and its error message); only
 * the evidence is laid out here, one line per thing asked, answered and found.
 */

type HealthCheck = NonNullable<InstallResult['health']>;

/** The Finish screen's row for a level that passed its trial, in the words the engine logs it with. */
export function healthPassedRow(h: HealthCheck): [string, string] {
  return ['Server check', `health check passed: ${h.summary}`];
}

export interface HealthFailedView {
  title: string;
  /** the evidence, one line each: what was asked, what came back, the old level's check */
  details: string[];
  /** the state the rollback left, said instead of "Nothing was changed." */
  outcome: string;
}

export const HEALTH_FAILED_TITLE = 'The update failed its health check and was rolled back';

/**
 * E_HEALTH_CHECK_FAILED's details (`health`, `afterRollback`, `rolledBackTo`, settle-failure.ts)
 * as the lines of its screen. They come from the engine in this process; each field is still
 * checked before it is shown, and a detail that is missing is left out, never guessed.
 */
export function healthFailedView(details: Readonly<Record<string, unknown>>): HealthFailedView {
  const health = asCheck(details['health']);
  const again = asCheck(details['afterRollback']);
  const to = typeof details['rolledBackTo'] === 'string' ? details['rolledBackTo'] : 'the previous level';
  const lines: string[] = [];
  if (health) lines.push(...evidence(health));
  if (again) lines.push(`${to} again: ${again.passed ? 'serving' : 'NOT serving'}: ${again.summary}`);
  return {
    title: HEALTH_FAILED_TITLE,
    details: lines,
    // what to do next is the engine's message (shown above these lines): one wording for every front end
    outcome: `The installation is at ${to} again${again?.passed === true ? ', serving' : ''}.`,
  };
}

function evidence(h: HealthCheck): string[] {
  const lines: string[] = [];
  const p = h.probe;
  if (p) {
    const where = h.target ? ` (address from ${h.target.from})` : '';
    lines.push(
      `asked: ${p.exchanges.map((e) => e.request).join(', then ') || `GET ${p.path}`} at ${p.host}:${p.port}${where}, within ${Math.round(p.timeoutMs / 1000)} s`,
    );
    const answers = p.exchanges.map((e) => e.statusLine ?? e.error ?? 'no answer');
    lines.push(
      `came back: ${answers.length > 0 ? answers.join('; ') : 'nothing'}${p.reason && !answers.includes(p.reason) ? ` (${p.reason})` : ''}, after ${p.ms} ms`,
    );
  }
  if (h.stillRunning && !h.stillRunning.running)
    lines.push(`still running: no, ${h.stillRunning.afterSeconds} s after its start`);
  if (!p) lines.push(`found: ${h.summary}`);
  return lines;
}

function asCheck(v: unknown): HealthCheck | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const c = v as Partial<HealthCheck>;
  return typeof c.passed === 'boolean' && typeof c.summary === 'string' ? (v as HealthCheck) : undefined;
}
