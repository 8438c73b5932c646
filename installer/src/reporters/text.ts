import type { InstallResult } from '@servicepack/core/install';
import type { Output, Paint, RunOutcome, Streams, TargetOutcome, TextOutput, UiEvent } from '../front-end.js';
import { joinShown, type Printable, safe, sgr } from './printable.js';

/** What every human renderer (plain, lines, listr) writes the same way: colours, results, the run's summary. */

/** ANSI only for a terminal that wants it (NO_COLOR, https://no-color.org, and pipes get none). */
export function colorEnabled(stream: Output, env: Record<string, string | undefined>): boolean {
  return stream.isTTY === true && env['NO_COLOR'] === undefined && env['TERM'] !== 'dumb';
}

export function paint(on: boolean): Paint {
  return {
    red: sgr(on, 31, 39),
    green: sgr(on, 32, 39),
    yellow: sgr(on, 33, 39),
    dim: sgr(on, 2, 22),
    bold: sgr(on, 1, 22),
  };
}

/**
 * A command's text result: lines on stdout, logs through `log` (stderr), colours where the stream is
 * a terminal that wants them unless `colour` is off (renderers whose readers are log files).
 */
export function textOutput(s: Streams, log: (line: Printable) => void, colour = true): TextOutput {
  return {
    print: (line) => s.out.write(`${line.text}\n`),
    log,
    o: paint(colour && colorEnabled(s.out, s.env)),
    e: paint(colour && colorEnabled(s.err, s.env)),
  };
}

export function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function progressText(ev: Extract<UiEvent, { type: 'progress' }>): string {
  const what = ev.step === 'verify' ? 'packs' : 'files';
  return `${ev.files}/${ev.totalFiles} ${what}, ${humanBytes(ev.bytes)} of ${humanBytes(ev.totalBytes)}`;
}

/** `--verbose`: the line of a per-file event ("     stage  lib/x.js"), or undefined: the engine names each file in its progress events. */
export function traceLine(ev: UiEvent): Printable | undefined {
  if (ev.type !== 'progress' || ev.path === undefined) return undefined;
  return safe`     ${ev.step.padEnd(6)} ${ev.path}`;
}

/** One line per target for the end of a run, e.g. "/opt/a: done (exit 0): RTM -> Service Pack 6". */
export function outcomeLine(o: TargetOutcome): Printable {
  if (o.error)
    return safe`${o.root}: ${o.exitCode === 3 ? 'not applicable' : 'failed'} (exit ${o.exitCode}, ${o.error.code}): ${o.error.message}`;
  const r = o.result!;
  const names = joinShown(
    r.packs.map((p) => p.id),
    ', ',
  );
  const verb = r.dryRun ? 'would install' : 'installed';
  const restart =
    o.exitCode === 10 ? safe`; restart required: ${r.restartMessage ?? 'restart the service to finish'}` : '';
  return safe`${o.root}: ${verb} ${names} (exit ${o.exitCode}): ${r.before.levelName} -> ${r.after.levelName}${restart}`;
}

export function summaryLines(run: RunOutcome): Printable[] {
  const lines = run.targets.flatMap((o) => [
    outcomeLine(o),
    ...(o.result?.dryRun ? wouldChangeLines(installChanges(o.result.changed)) : []),
  ]);
  if (run.targets.length > 1) {
    const count = (f: (t: TargetOutcome) => boolean) => run.targets.filter(f).length;
    const done = count((t) => t.exitCode === 0);
    const restart = count((t) => t.exitCode === 10);
    const na = count((t) => t.exitCode === 3);
    const failed = run.targets.length - done - restart - na;
    lines.push(
      safe`${run.targets.length} targets: ${done} done, ${restart} need a restart, ${na} not applicable, ${failed} failed; exit ${run.exitCode}`,
    );
  }
  return lines;
}

/**
 * --dry-run: every file the command would change, one a line ("    replace  bin/inetsrv"), so that
 * what a yes would do can be read before it is given. `changes`: each verb with its paths.
 */
export function wouldChangeLines(changes: readonly (readonly [verb: string, paths: readonly string[]])[]): Printable[] {
  return changes.flatMap(([verb, paths]) => paths.map((p) => safe`    ${verb.padEnd(8)} ${p}`));
}

/** What an install changes, by verb (a config file changed here keeps its place; its new default is written beside it). */
export function installChanges(c: InstallResult['changed']): [string, string[]][] {
  return [
    ['replace', c.replaced],
    ['add', c.added],
    ['delete', c.deleted],
    ['write', c.spnew.map((p) => `${p}.spnew`)],
  ];
}
