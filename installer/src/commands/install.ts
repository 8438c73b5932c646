import { Option } from '@commander-js/extra-typings';
import type { Command } from '@commander-js/extra-typings';
import type { InstallResult } from '@servicepack/core/install';
import { EXIT } from '../exit.js';
import { type Io, makeReporter, type RunState, reportFailure, resolveRoot } from '../io.js';
import type { PlainReporter } from '../reporters/plain.js';

export interface InstallFlags {
  root?: string;
  unattended?: true;
  backup: boolean;
  overwriteModified?: true;
  keepModified?: true;
  restart: boolean;
  force?: true;
  dryRun?: true;
  json?: true;
  trust?: string[];
  allowUnsigned?: true;
  quiet?: true;
}

export function registerInstall(program: Command, io: Io, state: RunState): void {
  program
    .command('install')
    .description('install service packs or hotfixes (several packs: one transaction, one restart)')
    .argument('<pack...>', 'pack files (.tgz), installed in this order')
    .option('--root <dir>', 'installation root (default: $SERVICEPACK_ROOT)')
    .option('-u, --unattended', 'no questions (the only mode for now; the wizard comes later)')
    .option('-n, --no-backup', 'keep no uninstall data (the pack cannot be removed afterwards)')
    .addOption(new Option('-o, --overwrite-modified', 'replace locally modified files (the changed files go to the backup)').conflicts('keepModified'))
    .addOption(new Option('--keep-modified', 'leave locally modified files as they are').conflicts('overwriteModified'))
    .option('-z, --no-restart', 'do not stop or restart the service; exit 10 if it still runs the old code')
    .option('-f, --force', 'install even when the state record and BUILDINFO.json disagree')
    .option('--dry-run', 'verify and plan only; change nothing')
    .option('--json', 'print one JSON document on stdout')
    .option('--trust <file...>', 'also trust these public keys (PEM)')
    .option('--allow-unsigned', 'install packs that are unsigned or signed by unknown keys')
    .option('-q, --quiet', 'print nothing but warnings, errors and the result')
    .action(async (packs, flags) => {
      state.exitCode = await runInstall(packs, flags, io);
    });
}

export async function runInstall(packs: string[], flags: InstallFlags, io: Io): Promise<number> {
  const rep = makeReporter(io, flags.json === true, flags.quiet === true);
  try {
    const root = resolveRoot(flags.root, io.env);
    const { installPacks } = await import('@servicepack/core/install');
    const result = await installPacks({
      root,
      packs,
      ...(flags.trust ? { trustFiles: flags.trust } : {}),
      allowUnsigned: flags.allowUnsigned === true,
      backup: flags.backup,
      modified: flags.overwriteModified ? 'overwrite' : flags.keepModified ? 'keep' : 'stop',
      restart: flags.restart ? 'auto' : 'never',
      dryRun: flags.dryRun === true,
      force: flags.force === true,
      sink: rep.r.sink,
    });
    const code = result.restartRequired ? EXIT.restartRequired : EXIT.ok;
    if (rep.kind === 'json') rep.r.result({ exitCode: code, ...result });
    else printResult(rep.r, result);
    return code;
  } catch (e) {
    return reportFailure(rep, io, e);
  }
}

function printResult(r: PlainReporter, res: InstallResult): void {
  const names = res.packs.map((p) => `${p.title} (${p.id})`).join(', ');
  const levels = `${res.before.levelName} -> ${res.after.levelName}`;
  if (res.dryRun) r.print(`Dry run: would install ${names} in ${res.root}: ${levels}. Nothing was changed.`);
  else r.print(`${r.o.green('Installed')} ${names} in ${res.root}: ${levels}`);
  const c = res.changed;
  const verb = res.dryRun ? 'would change' : 'changed';
  r.print(`  ${verb}: ${c.replaced.length} replaced, ${c.added.length} added, ${c.deleted.length} deleted`);
  if (c.spnew.length > 0) r.print(`  new config defaults written beside your changed files: ${c.spnew.join(', ')} (merge them by hand)`);
  if (c.kept.length > 0) r.print(`  kept as they were (changed locally): ${c.kept.join(', ')}`);
  for (const p of res.packs) if (p.backup) r.print(`  uninstall data for ${p.id}: ${p.backup}`);
  if (!res.dryRun && res.packs.every((p) => !p.backup)) r.print('  no uninstall data kept (--no-backup)');
  if (res.restartRequired) r.print(r.o.yellow(`Restart required: ${res.restartMessage ?? 'restart the service to finish'}`));
}
