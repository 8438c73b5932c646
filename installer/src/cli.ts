import { Command, CommanderError } from '@commander-js/extra-typings';
import { registerCheck } from './commands/check.js';
import { registerInstall } from './commands/install.js';
import { registerFeedCommands } from './commands/feed.js';
import { registerVendorCommands } from './commands/pack.js';
import { registerQuery } from './commands/query.js';
import { registerRecover } from './commands/recover.js';
import { registerUninstall } from './commands/uninstall.js';
import { registerVerify } from './commands/verify.js';
import { EXAMPLES_HELP, EXIT, EXIT_CODES_HELP } from './exit.js';
import { type Io, processIo, type RunState } from './io.js';

/**
 * The `servicepack` command line. Only commander is loaded up front: each action imports the
 * engine when it runs, so `--help`, usage errors and the wizard's first frame start fast.
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
    })
    .showHelpAfterError('(run servicepack --help for usage)')
    .addHelpText('after', `\n${EXIT_CODES_HELP}\n\n${EXAMPLES_HELP}\n\nThe installation root defaults to $SERVICEPACK_ROOT.\n`);

  registerInstall(program, io, state);
  registerUninstall(program, io, state);
  registerQuery(program, io, state);
  registerCheck(program, io, state);
  registerVerify(program, io, state);
  registerRecover(program, io, state);
  registerVendorCommands(program, io, state);
  registerFeedCommands(program, io, state);
  return program;
}

/** Runs one command line (`argv` as in process.argv) and returns the exit code; never calls process.exit. */
export async function run(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const state: RunState = { exitCode: EXIT.ok };
  const program = createProgram(io, state);
  if (io.interactive) {
    // The wizard and its ink/react load only when it is wanted (route.ts itself is small).
    const { wizardRequest } = await import('./wizard/route.js');
    const request = wizardRequest(argv, io);
    if (request) return (await import('./wizard/index.js')).runWizard(request, io);
  }
  if (argv.length <= 2) {
    // No command and no wizard (no terminal, or CI): usage and exit 2 (a program-level action
    // would also swallow unknown commands and disable `help`).
    io.err.write(program.helpInformation());
    if (io.interactive) io.err.write('\nThe interactive wizard does not run under CI or on TERM=dumb: run servicepack install PACK -u (see above).\n');
    return EXIT.usage;
  }
  try {
    await program.parseAsync([...argv]);
    return state.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version') return EXIT.ok;
      // Usage errors: commander already wrote the message to stderr; --json still gets its document.
      if (argv.includes('--json')) io.out.write(`${JSON.stringify({ ok: false, code: 'E_USAGE', exitCode: EXIT.usage, message: e.message.replace(/^error: /, ''), details: {} }, null, 2)}\n`);
      return EXIT.usage;
    }
    const message = e instanceof Error ? e.message : String(e);
    io.err.write(`servicepack: unexpected error: ${message}\n`);
    if (io.env['DEBUG'] && e instanceof Error && e.stack) io.err.write(`${e.stack}\n`);
    return EXIT.failed;
  }
}
