import type { Command } from '@commander-js/extra-typings';
import type { CheckResult } from '@servicepack/core/updates';
import { EXIT } from '../exit.js';
import { chooseFrontEnd, type Io, type RunState, reportFailure, resolveRoot } from '../io.js';
import type { TextOutput } from '../front-end.js';
import { joinShown, safe } from '../reporters/printable.js';

/**
 * `servicepack check --feed URL`: what MBSA reported — the updates a signed feed offers that
 * apply to this installation and are not installed yet. Read-only, except that the feed's version
 * is remembered in the state record (so an older index is refused from now on).
 */
interface CheckFlags {
  feed: string;
  root?: string;
  json?: true;
  trust?: string[];
  requireNone?: true;
}

export function registerCheck(program: Command, io: Io, state: RunState): void {
  program
    .command('check')
    .description('list the updates a feed offers that apply here and are not installed yet')
    .requiredOption('--feed <url>', 'the feed: an http(s) or file: URL, or a folder')
    .option('--root <dir>', 'installation root (default: $SERVICEPACK_ROOT)')
    .option('--json', 'print one JSON document on stdout')
    .option('--trust <file...>', 'also trust these public keys (PEM)')
    .option('--require-none', 'exit 3 when any update is pending (for monitoring: 0 means up to date)')
    .action(async (flags) => {
      state.exitCode = await runCheck(flags, io);
    });
}

export async function runCheck(flags: CheckFlags, io: Io): Promise<number> {
  const fe = await chooseFrontEnd(io, { json: flags.json === true, quiet: false });
  try {
    const root = resolveRoot(flags.root, io.env);
    const [{ checkUpdates }, { withoutUserinfo }] = await Promise.all([
      import('@servicepack/core/updates'),
      import('@servicepack/core/redact'),
    ]);
    const res = await checkUpdates(root, flags.feed, {
      ...(flags.trust ? { trustFiles: flags.trust } : {}),
      sink: fe.sink,
    });
    const pending = flags.requireNone === true && !res.upToDate;
    // the URL as typed may carry a password; what is printed never does
    const shown = withoutUserinfo(flags.feed);
    const message = pending
      ? `${res.updates.length} update(s) pending for ${res.root}: install them with servicepack install -u --feed ${shown} --root ${res.root} latest`
      : undefined;
    if (pending)
      fe.failure(
        {
          ok: false,
          code: 'E_REQUIREMENT_NOT_MET',
          exitCode: EXIT.notApplicable,
          message: message!,
          details: { pending: res.updates.map((u) => u.id) },
          ...res,
        },
        (t) => printCheck(t, res, shown),
      );
    else fe.result({ ...res }, (t) => printCheck(t, res, shown));
    return pending ? EXIT.notApplicable : EXIT.ok;
  } catch (e) {
    return reportFailure(fe, io, e);
  }
}

function printCheck(r: TextOutput, res: CheckResult, source: string): void {
  const i = res.installation;
  r.print(safe`${i.product} ${i.version} (${i.arch}) in ${res.root}: ${r.o.bold(i.levelName)}`);
  r.print(safe`feed ${res.feed.url}: version ${res.feed.version}, expires ${res.feed.expires}`);
  if (res.upToDate) {
    r.print(r.o.green('Up to date: no update in the feed applies to this installation.'));
    return;
  }
  r.print(
    safe`${res.updates.length} ${res.updates.length === 1 ? 'update applies' : 'updates apply'} and ${res.updates.length === 1 ? 'is' : 'are'} not installed:`,
  );
  const width = Math.max(...res.updates.map((u) => u.id.length));
  for (const u of res.updates) {
    const fixes =
      u.fixes.length > 0
        ? safe`; fixes ${joinShown(
            u.fixes.map((f) => f.id),
            ', ',
          )}`
        : '';
    r.print(safe`  ${u.id.padEnd(width)}  ${u.title}, ${u.size} bytes${fixes}`);
  }
  r.print(
    safe`latest installs: ${joinShown(res.latest, ', ')}  (servicepack install -u --feed ${source} --root ${res.root} latest)`,
  );
}
