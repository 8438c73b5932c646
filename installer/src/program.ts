import { Command } from '@commander-js/extra-typings';
import { registerCheck } from './commands/check.js';
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

export function createProgram(io: Io, state: RunState): Command {
  const program = new Command()
    .name('servicepack')
    .description('Install, remove, verify and report service packs and hotfixes for inetsrv.')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out.write(s),
      writeErr: (s) => io.err.write(s),
      // usage errors quote what was typed, and what was typed may come from a hostile file name
      outputError: (s, write) => write(commanderMessage(s)),
    })
    .showHelpAfterError('(run servicepack --help for usage)')
    .addHelpText(
      'after',
      `\n${EXIT_CODES_HELP}\n\n${EXAMPLES_HELP}\n\nThe installation root defaults to $SERVICEPACK_ROOT.\n`,
    );

  registerInstall(program, io, state);
  registerUninstall(program, io, state);
  registerQuery(program, io, state);
  registerCheck(program, io, state);
  registerVerify(program, io, state);
  registerRecover(program, io, state);
  registerVendorCommands(program, io, state);
  registerFeedCommands(program, io, state);
  optionsNeverFiles(program);
  return program;
}
