import { Command, CommanderError } from '@commander-js/extra-typings';
import { addExamples } from './cli-docs/examples.js';
import { registerCompletion } from './cli-docs/register.js';
import { versionText } from './cli-docs/version.js';
import { registerCheck } from './commands/check.js';
import { registerFacts } from './commands/facts.js';
import { registerInstall } from './commands/install.js';
import { registerFeedCommands } from './commands/feed.js';
import { registerVendorCommands } from './commands/pack.js';
import { registerQuery } from './commands/query.js';
import { registerRecover } from './commands/recover.js';
import { registerUninstall } from './commands/uninstall.js';
import { registerVerify } from './commands/verify.js';
import { EXAMPLES_HELP, EXIT_CODES_HELP } from './exit.js';
import type { Io, RunState } from './io.js';
import { optionsNeverFiles } from './operands.js';
import { commanderMessage } from './reporters/printable.js';

/**
 * The `servicepack` command line (commander). Only commander and the command modules load with
 * it: each action imports the engine when it runs, so `--help`, usage errors and the wizard's
 * first frame start fast. cli.ts loads this module only for command lines quick-argv.ts does not read.
 */
export const VERSION = '0.1.0';

const ENVIRONMENT_HELP = `Environment:
  SERVICEPACK_ROOT   the installation root when --root is not given
  NO_COLOR           no colour
  CI, TERM=dumb      no Setup (wizard) and no task list: plain lines
  DEBUG              the stack trace of an unexpected error, as --verbose shows it`;

export function createProgram(io: Io, state: RunState): Command {
  const program = new Command()
    .name('servicepack')
    .description('Install, remove, verify and report service packs and hotfixes for inetsrv.')
    .option('-V, --version', 'print the version, the commit it was built from and the Node.js version')
    .option('--verbose', 'more detail on stderr: each file as it is staged and committed, stack traces')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out.write(s),
      writeErr: (s) => io.err.write(s),
      // usage errors quote what was typed, and what was typed may come from a hostile file name
      outputError: (s, write) => write(commanderMessage(s)),
    })
    .showHelpAfterError('(run servicepack --help for usage)')
    // the program's options are read anywhere on the line, so each command's help lists them too
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('after', `\n${EXIT_CODES_HELP}\n\n${EXAMPLES_HELP}\n\n${ENVIRONMENT_HELP}\n`);

  registerInstall(program, io, state);
  registerUninstall(program, io, state);
  registerQuery(program, io, state);
  registerCheck(program, io, state);
  registerFacts(program, io, state);
  registerVerify(program, io, state);
  registerRecover(program, io, state);
  registerVendorCommands(program, io, state);
  registerFeedCommands(program, io, state);
  registerCompletion(program, io, state);
  addExamples(program);
  optionsNeverFiles(program);
  // as commander's own --version does: print, then end the parse (runProgram turns it into exit 0)
  program.on('option:version', () => {
    io.out.write(versionText(VERSION));
    throw new CommanderError(0, 'commander.version', VERSION);
  });
  program.hook('preAction', () => {
    if (program.opts().verbose) io.verbose = true;
  });
  return program;
}
