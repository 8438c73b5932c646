import { Option } from '@commander-js/extra-typings';
import type { Command } from '@commander-js/extra-typings';
import type { InstallResult } from '@servicepack/core/install';
import { EXIT, UsageError } from '../exit.js';
import { faultHooks } from '../fault.js';
import { checkedRoot, chooseFrontEnd, type Io, type RunState, refuseUnconfirmed, reportFailure } from '../io.js';
import { optionsFromFlags, parseHealthTimeout, parseWaitSeconds, restartPolicy, WAIT_HELP } from '../options.js';
import { withTargetView } from '../txlog.js';
import type { TextOutput } from '../front-end.js';
import { joinShown, safe } from '../reporters/printable.js';
import { installChanges, wouldChangeLines } from '../reporters/text.js';

export interface InstallFlags {
  root?: string;
  unattended?: true;
  yes?: true;
  backup: boolean;
  overwriteModified?: true;
  keepModified?: true;
  restart: boolean;
  force?: true;
  dryRun?: true;
  json?: true;
  trust?: string[];
  allowUnsigned?: true;
  acceptEula?: true;
  quiet?: true;
  wait?: number;
  packs?: string;
  healthCheck: boolean;
  healthTimeout?: number;
}

export function registerInstall(program: Command, io: Io, state: RunState): void {
  program
    .command('install')
    .description('install service packs or hotfixes (several packs: one transaction, one restart)')
    .argument(
      '[pack...]',
      'pack files (.tgz, or one-file packs .run), installed in this order; with --feed: latest (the default) or pack ids',
    )
    .option('--root <dir>', 'installation root (default: $SERVICEPACK_ROOT)')
    .option('-u, --unattended', 'no questions: install without Setup (the wizard on a terminal), as scripts need')
    .option('-y, --yes', 'the same as -u: needed to change anything without a terminal to ask on')
    .option('-n, --no-backup', 'keep no uninstall data (the pack cannot be removed afterwards)')
    .addOption(
      new Option(
        '-o, --overwrite-modified',
        'replace locally modified files (the changed files go to the backup)',
      ).conflicts('keepModified'),
    )
    .addOption(new Option('--keep-modified', 'leave locally modified files as they are').conflicts('overwriteModified'))
    .option('-z, --no-restart', 'stop the service for the commit but do not start it again; exit 10')
    .option('--no-health-check', 'do not put the new level on trial (start it, probe it, roll back if it fails)')
    .option(
      '--health-timeout <seconds>',
      "seconds the health probe may take before the update is rolled back (default: the release's)",
      parseHealthTimeout,
    )
    .option('-f, --force', 'install even when the state record and BUILDINFO.json disagree')
    .option('--dry-run', 'verify and plan only; change nothing')
    .option('--json', 'print one JSON document on stdout')
    .option('--trust <file...>', 'also trust these public keys (PEM)')
    .option('--allow-unsigned', 'install packs that are unsigned or signed by unknown keys')
    .option(
      '--accept-eula',
      'accept the license agreement of packs that carry one (read it first: tar -xzOf PACK EULA.txt)',
    )
    .option('-q, --quiet', 'print nothing but warnings, errors and the result')
    .option('--wait <seconds>', WAIT_HELP, parseWaitSeconds)
    .option('--answer-file <file>', 'unattended install as the YAML answer file says (implies -u; see docs/fleet.md)')
    .option('--feed <url>', 'choose the packs from a signed feed (http(s), file: URL or folder): latest, or pack ids')
    .option(
      '--packs <dir>',
      'Setup only: offer every *.tgz in DIR (default: the current folder); also servicepack --packs DIR',
    )
    .addHelpText(
      'after',
      '\nWith --answer-file, each target gets its own transaction and result; the exit code is the highest\nfailure (1, 2, 4, 5, 6, 7) of any target, else 10 if one needs a restart, else 0 if one was installed,\nelse 3. Answer files, feeds and logs: docs/fleet.md.',
    )
    .action(async (packs, flags, cmd) => {
      if (
        packs.length === 0 &&
        flags.trust !== undefined &&
        flags.feed === undefined &&
        flags.answerFile === undefined
      ) {
        // Options come first (operands.ts), which puts --trust right before the packs, and it takes
        // every word up to the next option: say so rather than "no pack given".
        const doc = new UsageError(
          `no pack given: --trust took ${flags.trust.join(' ')} as keys; end the key list with -- before the packs (servicepack install --trust KEY -- PACK...)`,
        );
        state.exitCode = reportFailure(
          await chooseFrontEnd(io, { json: flags.json === true, quiet: flags.quiet === true }),
          io,
          doc,
        );
        return;
      }
      if (flags.packs !== undefined) {
        // Reached only when Setup does not run (route.ts opens it for --packs on a terminal); before
        // the yes, which would not help: -u does not read --packs either.
        const doc = new UsageError(
          `--packs chooses the packs in Setup, which needs a terminal and no -u/--yes/--json/--dry-run/-q: name the packs instead (servicepack install -u -- ${flags.packs}/*.tgz)`,
        );
        state.exitCode = reportFailure(
          await chooseFrontEnd(io, { json: flags.json === true, quiet: flags.quiet === true }),
          io,
          doc,
        );
        return;
      }
      // An answer file is the operator's yes (it implies -u); anything else must say so.
      const refused = flags.answerFile === undefined ? await refuseUnconfirmed('install', flags, io) : undefined;
      if (refused !== undefined) {
        state.exitCode = refused;
        return;
      }
      // Answer files and feeds take the path of runs over targets (per-target results, a total).
      if (flags.answerFile !== undefined || flags.feed !== undefined) {
        const { runUnattendedCommand } = await import('../unattended.js');
        state.exitCode = await runUnattendedCommand(
          packs,
          flags,
          io,
          (name) => cmd.getOptionValueSource(name) === 'cli',
        );
        return;
      }
      state.exitCode = await runInstall(packs, flags, io);
    });
}

export async function runInstall(packs: string[], flags: InstallFlags, io: Io): Promise<number> {
  const fe = await chooseFrontEnd(io, { json: flags.json === true, quiet: flags.quiet === true, taskList: true });
  try {
    const root = await checkedRoot(flags.root, io.env);
    const { code, result } = await withTargetView(
      fe,
      { root, request: { packs, options: { ...flags, json: undefined, quiet: undefined } } },
      async (log) => {
        const hooks = faultHooks(io.env, io.err);
        const { installPacks } = await import('@servicepack/core/install');
        const {
          trustFiles,
          allowUnsigned,
          backup,
          modified,
          restart,
          dryRun,
          force,
          acceptEula,
          lockWait,
          healthCheck,
          healthTimeoutSeconds,
        } = optionsFromFlags(flags);
        const result = await installPacks({
          root,
          packs,
          ...(trustFiles.length > 0 ? { trustFiles } : {}),
          allowUnsigned,
          backup,
          modified,
          restart: restartPolicy(restart),
          dryRun,
          force,
          acceptEula,
          lockWait,
          healthCheck,
          ...(healthTimeoutSeconds !== undefined ? { healthTimeoutSeconds } : {}),
          sink: log.sink,
          transactionId: log.transactionId,
          ...(hooks ? { hooks } : {}),
        });
        const code = result.restartRequired ? EXIT.restartRequired : EXIT.ok;
        return {
          value: { code, result },
          result: {
            exitCode: code,
            ok: true,
            packs: result.packs.map((p) => p.id),
            before: result.before,
            after: result.after,
            changed: result.changed,
            restartRequired: result.restartRequired,
          },
        };
      },
    );
    fe.result({ exitCode: code, ...result }, (t) => printResult(t, result));
    return code;
  } catch (e) {
    return reportFailure(fe, io, e);
  }
}

function printResult(r: TextOutput, res: InstallResult): void {
  const names = joinShown(
    res.packs.map((p) => safe`${p.title} (${p.id})`),
    ', ',
  );
  const levels = safe`${res.before.levelName} -> ${res.after.levelName}`;
  if (res.dryRun) r.print(safe`Dry run: would install ${names} in ${res.root}: ${levels}. Nothing was changed.`);
  else r.print(safe`${r.o.green('Installed')} ${names} in ${res.root}: ${levels}`);
  const c = res.changed;
  const verb = res.dryRun ? 'would change' : 'changed';
  r.print(safe`  ${verb}: ${c.replaced.length} replaced, ${c.added.length} added, ${c.deleted.length} deleted`);
  if (res.dryRun) for (const l of wouldChangeLines(installChanges(c))) r.print(l);
  if (c.spnew.length > 0)
    r.print(
      safe`  new config defaults written beside your changed files: ${joinShown(c.spnew, ', ')} (merge them by hand)`,
    );
  if (c.kept.length > 0) r.print(safe`  kept as they were (changed locally): ${joinShown(c.kept, ', ')}`);
  for (const p of res.packs) if (p.backup) r.print(safe`  uninstall data for ${p.id}: ${p.backup}`);
  if (!res.dryRun && res.packs.every((p) => !p.backup)) r.print(safe`  no uninstall data kept (--no-backup)`);
  if (res.restartRequired)
    r.print(r.o.yellow(safe`Restart required: ${res.restartMessage ?? 'restart the service to finish'}`));
}
