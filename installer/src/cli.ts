import { runQuery } from './commands/query.js';
import { EXIT } from './exit.js';
import { type Io, processIo, quickIo, type RunState, stackLines, wantsStack } from './io.js';
import { quickCommand } from './quick-argv.js';
import { escapeControls } from './reporters/printable.js';

/**
 * The `servicepack` entry. Command lines quick-argv.ts reads (`query`, `verify` and their own
 * options) run their command directly; everything else goes through the commander program
 * (program.ts), loaded only then: commander and the other command modules cost about as much as
 * node's own start-up, which a script asking `query` would pay on every call. For the same reason
 * nothing here re-exports program.ts.
 *
 * Runs one command line (`argv` as in process.argv) and returns the exit code; never calls process.exit.
 */
export async function run(argv: readonly string[], given?: Io): Promise<number> {
  return runQuick(argv, quickCommand(argv), given);
}

/**
 * The process's entry (installer/bin/servicepack, and so the bundle): `run`, with V8 set up for a
 * one-shot command. Everything but the quick commands runs without V8's optimizing compiler: an
 * install's time is zlib, sha256 and the kernel, and its JavaScript is glue that runs a few
 * thousand times at most, while the optimizing compiler's work zones took about 10 MiB of the
 * install's peak memory (docs/performance.md, item 23). `query` and `verify` keep it: their loops
 * run once per file of the installation. Set at run time, not on the first line: a V8 flag there
 * costs every command node's code cache for its own modules (item 20).
 */
export async function main(argv: readonly string[]): Promise<number> {
  const quick = quickCommand(argv);
  if (!quick) (await import('node:v8')).setFlagsFromString('--no-opt');
  return runQuick(argv, quick, undefined);
}

async function runQuick(
  argv: readonly string[],
  quick: ReturnType<typeof quickCommand>,
  given: Io | undefined,
): Promise<number> {
  if (!quick) return runProgram(argv, given ?? processIo());
  // stdout and stderr without node's stream modules (io.ts, descriptorOutput)
  const io = given ?? quickIo();
  try {
    // Neither command opens the wizard, so runProgram's terminal check does not apply to them.
    return quick.command === 'query'
      ? await runQuery(quick.flags, io)
      : await (await import('./commands/verify.js')).runVerify(quick.flags, io);
  } catch (e) {
    return unexpected(e, io);
  }
}

/** The full command line through commander, for whatever quick-argv.ts does not read (and for tests). */
export async function runProgram(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const state: RunState = { exitCode: EXIT.ok };
  const [{ createProgram }, { CommanderError }] = await Promise.all([
    import('./program.js'),
    import('@commander-js/extra-typings'),
  ]);
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
    if (io.interactive)
      io.err.write(
        '\nThe interactive wizard does not run under CI or on TERM=dumb: run servicepack install -u PACK (see above).\n',
      );
    return EXIT.usage;
  }
  // commander's exit code for help depends on process.exitCode; whether it was shown as an error does not
  let helpAsError = false;
  program.on('beforeAllHelp', (context: { error: boolean }) => {
    if (context.error) helpAsError = true;
  });
  try {
    await program.parseAsync([...argv]);
    return state.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT.ok;
      // help asked for (`servicepack help`) is exit 0; help instead of a missing command
      // (`servicepack --verbose`, `servicepack pack`) is a usage error, as `servicepack` alone is
      if (e.code === 'commander.help') return helpAsError ? EXIT.usage : EXIT.ok;
      // Usage errors: commander already wrote the message to stderr; --json still gets its document.
      // The command line's own refusals (operands.ts) keep their codes; commander's are E_USAGE.
      const code = e.code.startsWith('E_') ? e.code : 'E_USAGE';
      if (argv.includes('--json'))
        io.out.write(
          `${JSON.stringify({ ok: false, code, exitCode: EXIT.usage, message: e.message.replace(/^error: /, ''), details: {} }, null, 2)}\n`,
        );
      return EXIT.usage;
    }
    return unexpected(e, io);
  }
}

function unexpected(e: unknown, io: Io): number {
  const message = e instanceof Error ? e.message : String(e);
  io.err.write(`servicepack: unexpected error: ${escapeControls(message)}\n`);
  if (wantsStack(io) && e instanceof Error && e.stack) io.err.write(stackLines(e.stack));
  return EXIT.failed;
}
