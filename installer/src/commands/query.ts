import type { Command } from '@commander-js/extra-typings';
import type { QueryResult } from '@servicepack/core/query';
import { EXIT, UsageError } from '../exit.js';
import { checkedRoot, chooseFrontEnd, type Io, type RunState, reportFailure } from '../io.js';
import type { TextOutput } from '../front-end.js';
import { joinShown, safe } from '../reporters/printable.js';

interface QueryFlags {
  root?: string;
  json?: true;
  require?: string;
}

export function registerQuery(program: Command, io: Io, state: RunState): void {
  program
    .command('query')
    .description('show the installed product, version, arch, service pack level, hotfixes and history')
    .option('--root <dir>', 'installation root (default: $SERVICEPACK_ROOT)')
    .option('--json', 'print one JSON document on stdout')
    .option('--require <level>', 'exit 3 unless the installed level is at least LEVEL (rtm, sp6, sp6a, 6)')
    .action(async (flags) => {
      state.exitCode = await runQuery(flags, io);
    });
}

export async function runQuery(flags: QueryFlags, io: Io): Promise<number> {
  // Asked for before the renderer (chooseFrontEnd imports it), so that all are read at once: each
  // import is a file read on the thread pool. Awaited in the try below, which reports a failure.
  const modules = Promise.all([import('@servicepack/core/level'), import('@servicepack/core/query')]);
  modules.catch(() => undefined);
  const fe = await chooseFrontEnd(io, { json: flags.json === true, quiet: false });
  try {
    const root = await checkedRoot(flags.root, io.env);
    const [{ parseLevel, levelName }, { queryInstallation }] = await modules;
    let required: number | undefined;
    if (flags.require !== undefined) {
      required = parseLevel(flags.require);
      if (required === undefined)
        throw new UsageError(`--require ${flags.require}: expected a level such as rtm, sp6, sp6a or 6`);
    }
    const q = await queryInstallation(root);
    const met = required === undefined || q.level >= required;
    const message =
      required !== undefined && !met
        ? `${q.product} in ${q.root} is at ${q.levelName}; ${levelName(required)} or later is required`
        : undefined;
    const requirement =
      required !== undefined ? { require: { level: required, levelName: levelName(required), met } } : {};
    if (met) fe.result({ ...q, ...requirement }, (t) => printQuery(t, q));
    else
      fe.failure(
        {
          ok: false,
          code: 'E_REQUIREMENT_NOT_MET',
          exitCode: EXIT.notApplicable,
          message: message!,
          details: { level: q.level, required },
          // The query itself stays at the top level, so `jq .level` works whether or not it passed.
          ...q,
          ...requirement,
        },
        (t) => printQuery(t, q),
      );
    return met ? EXIT.ok : EXIT.notApplicable;
  } catch (e) {
    return reportFailure(fe, io, e);
  }
}

function printQuery(r: TextOutput, q: QueryResult): void {
  const b = r.o.bold;
  r.print(safe`${b(q.displayName)} (${q.product} ${q.version}, ${q.arch}): ${b(q.levelName)}`);
  r.print(safe`  build      ${q.build}`);
  r.print(safe`  hotfixes   ${q.hotfixes.length > 0 ? joinShown(q.hotfixes, ', ') : 'none'}`);
  r.print(safe`  root       ${q.root}`);
  r.print(
    safe`  consistent ${q.consistent ? 'yes' : r.o.yellow(`no (${q.problems.length} ${q.problems.length === 1 ? 'problem' : 'problems'})`)}`,
  );
  for (const p of q.problems.slice(0, 20)) r.print(safe`    ${p.kind.padEnd(9)} ${p.message}`);
  if (q.problems.length > 20) r.print(safe`    … and ${q.problems.length - 20} more`);
  const rs = q.restart;
  if (rs?.pending)
    r.print(
      safe`  restart    ${r.o.yellow(safe`pending since ${rs.since}`)} (${rs.reason === 'no-restart' ? 'installed with --no-restart' : 'the service could not be started again'}): start it with bin/inetsrv start`,
    );
  else if (rs)
    r.print(
      safe`  restart    done: the service runs again${rs.startedAt !== undefined ? safe` (started ${rs.startedAt})` : ''}; pending since ${rs.since}`,
    );
  const hc = q.lastHealthCheck;
  if (hc?.rolledBack)
    r.print(
      safe`  health     ${r.o.yellow(safe`the last update (${joinShown(hc.packIds, ', ')}, level ${hc.fromLevel} -> ${hc.toLevel}) was rolled back by its health check`)} on ${hc.time}: ${hc.summary}`,
    );
  else if (hc) r.print(safe`  health     the last update passed its health check on ${hc.time}: ${hc.summary}`);
  if (q.history.length > 0) {
    r.print(safe`  history`);
    for (const h of q.history)
      r.print(
        safe`    ${h.time}  ${h.action} ${h.packId}  level ${h.fromLevel} -> ${h.toLevel}  ${h.result}${h.health ? (h.health.passed ? '  (health check passed)' : '  (health check failed)') : ''}${h.backup ? safe`  (backup: .servicepack/${h.backup})` : ''}`,
      );
  } else if (!q.stateRecord) r.print(safe`  history    none (as released by the vendor)`);
}
