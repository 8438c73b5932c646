import { Command, CommanderError, Option } from '@commander-js/extra-typings';
import type { ModifiedPolicy } from '@servicepack/core/plan';
import { mayAskOperator } from '../interactive.js';
import { optionWordsChecked } from '../operands.js';
import { type OptionFlags, optionsFromFlags, parseHealthTimeout } from '../options.js';

/**
 * Decides whether a command line opens the interactive wizard (docs/cli.md §4: "a terminal and not CI →
 * ink wizard") and, if so, what it was given. Kept free of ink and react so that `query` and the
 * other commands never load them: cli.ts imports this module, and the wizard only when it answers.
 */

/** The command line's rule about options and operands (operands.ts), for the wizard's reading too. */
function withOptionWordsChecked(cmd: Command): Command {
  optionWordsChecked(cmd);
  return cmd;
}

/** What the wizard starts from: flags pre-set the Options screen, they never skip a question. */
export interface WizardRequest {
  flow: 'install' | 'uninstall';
  /** uninstall: the update named on the command line (the newest when absent) */
  id?: string;
  root?: string;
  /** pack files named on the command line */
  packs: string[];
  /** `--packs DIR`: offer every *.tgz in DIR; with neither packs nor DIR, the current folder */
  packsDir?: string;
  trustFiles: string[];
  allowUnsigned: boolean;
  backup: boolean;
  restart: boolean;
  modified: ModifiedPolicy;
  force: boolean;
  /** `--no-health-check`: no trial for the new level (docs/transactions.md §7 "Health check") */
  healthCheck?: false;
  /** `--health-timeout SECONDS` */
  healthTimeoutSeconds?: number;
}

export interface WizardEnvironment {
  /** stdin and stdout are terminals */
  interactive: boolean;
  env: Record<string, string | undefined>;
}

export { isCI } from '../interactive.js';

/** A terminal, not CI, and one that can move its cursor: anything less gets the plain front ends. */
export function canRunWizard(e: WizardEnvironment): boolean {
  return mayAskOperator(e);
}

/**
 * The switches the wizard understands, with the install command's spelling. Flags that mean "no
 * questions" (-u, --json, --dry-run, -q) are parsed only to hand the command line back to the
 * unattended path; anything unknown is handed back too, so the real command reports it.
 */
function wizardParser() {
  return (
    withOptionWordsChecked(new Command())
      .exitOverride()
      .configureOutput({ writeOut: () => {}, writeErr: () => {} })
      .helpOption(false)
      .argument('[pack...]')
      .option('--root <dir>')
      .option('--packs <dir>')
      .option(
        '--trust <file>',
        'a trusted public key (repeatable)',
        (v: string, prev: string[]) => [...prev, v],
        [] as string[],
      )
      .option('--allow-unsigned')
      // accepted on the License screen all the same: a flag never skips a question
      .option('--accept-eula')
      .option('-n, --no-backup')
      .option('-z, --no-restart')
      .addOption(new Option('-o, --overwrite-modified').conflicts('keepModified'))
      .addOption(new Option('--keep-modified').conflicts('overwriteModified'))
      .option('-f, --force')
      .option('--no-health-check')
      // a bad value is a CommanderError here: the command line goes back to the install command, which reports it
      .option('--health-timeout <seconds>', '', parseHealthTimeout)
      .option('-u, --unattended')
      .option('--json')
      .option('--dry-run')
      .option('-q, --quiet')
      // the program's: it does not change the front end, and Setup shows its own progress
      .option('--verbose')
  );
}

/** `servicepack uninstall [ID]`: the switches of the uninstall command. */
function uninstallParser() {
  return withOptionWordsChecked(new Command())
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} })
    .helpOption(false)
    .argument('[id]')
    .option('--root <dir>')
    .option('-o, --overwrite-modified')
    .option('-z, --no-restart')
    .option('-u, --unattended')
    .option('--json')
    .option('-q, --quiet')
    .option('--verbose');
}

/** The switches as the Options screen's starting choices (options.ts maps them for every path). */
function wizardChoices(
  f: OptionFlags,
): Pick<WizardRequest, 'trustFiles' | 'allowUnsigned' | 'backup' | 'restart' | 'modified' | 'force'> {
  const { trustFiles, allowUnsigned, backup, restart, modified, force } = optionsFromFlags(f);
  return { trustFiles, allowUnsigned, backup, restart, modified, force };
}

function uninstallRequest(args: readonly string[], e: WizardEnvironment): WizardRequest | undefined {
  const cmd = uninstallParser();
  try {
    cmd.parse([...args], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return undefined;
    throw err;
  }
  const f = cmd.opts();
  if (f.unattended || f.json || f.quiet) return undefined;
  const id = cmd.processedArgs[0];
  const root = f.root ?? (e.env['SERVICEPACK_ROOT'] || undefined);
  return {
    flow: 'uninstall',
    ...(id !== undefined ? { id } : {}),
    ...(root !== undefined ? { root } : {}),
    packs: [],
    ...wizardChoices(f),
  };
}

/**
 * `servicepack [--root DIR] [--packs DIR] ...` and `servicepack install [flags] PACK...` without
 * -u/--json/--dry-run on a terminal open the wizard, `servicepack uninstall [ID]` without
 * -u/--json its short removal flow; everything else returns undefined and goes through the
 * ordinary command line.
 */
export function wizardRequest(argv: readonly string[], e: WizardEnvironment): WizardRequest | undefined {
  if (!canRunWizard(e)) return undefined;
  const args = argv.slice(2);
  const first = args[0];
  let install: boolean;
  if (first === undefined || first.startsWith('-')) install = false;
  else if (first === 'install') install = true;
  else if (first === 'uninstall') return uninstallRequest(args.slice(1), e);
  else return undefined;
  const cmd = wizardParser();
  try {
    cmd.parse(install ? args.slice(1) : args, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return undefined;
    throw err;
  }
  const f = cmd.opts();
  if (f.unattended || f.json || f.dryRun || f.quiet) return undefined;
  const packs = cmd.processedArgs[0];
  if (install ? packs.length === 0 && f.packs === undefined : packs.length > 0) return undefined;
  const root = f.root ?? (e.env['SERVICEPACK_ROOT'] || undefined);
  return {
    flow: 'install',
    ...(root !== undefined ? { root } : {}),
    packs,
    ...(f.packs !== undefined ? { packsDir: f.packs } : {}),
    ...wizardChoices(f),
    ...(f.healthCheck === false ? { healthCheck: false as const } : {}),
    ...(f.healthTimeout !== undefined ? { healthTimeoutSeconds: f.healthTimeout } : {}),
  };
}
