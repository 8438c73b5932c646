import type { Io } from '../io.js';
import { EXIT } from '../exit.js';
import { printable } from '../reporters/printable.js';
import type { Outcome, WizardServices } from './context.js';
import { choicesProblem, packsProblem } from './preflight.js';
import type { WizardRequest } from './route.js';

/**
 * The interactive installer's entry (docs/cli.md §4: "a terminal and not CI → ink wizard"). cli.ts
 * imports it only when the wizard is wanted, so ink and react never slow the other commands.
 *
 * Terminal etiquette: the wizard draws on the alternate screen and leaves the terminal as it found
 * it (raw mode off, cursor shown, screen restored) on every exit, Ctrl-C included, then prints one
 * summary on the normal screen. NO_COLOR turns every style off. The exit code is the outcome's
 * (docs/cli.md §5): 0 done, 10 restart still required, the engine's code for a refusal, and 1 "nothing
 * changed" for a cancel before the commit.
 */

const ALT_SCREEN_ON = '\x1b[?1049h\x1b[H';
const ALT_SCREEN_OFF = '\x1b[?1049l';
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export interface RunWizardOptions {
  services?: WizardServices;
}

export async function runWizard(request: WizardRequest, io: Io, opts: RunWizardOptions = {}): Promise<number> {
  if (process.stdin.isTTY !== true || process.stdout.isTTY !== true) {
    // Never wait for keys that cannot come (an Io that claims a terminal the process does not have).
    io.err.write(
      'servicepack: the interactive wizard needs a terminal: run servicepack install -u PACK (see servicepack --help)\n',
    );
    return 2;
  }
  // Checked on the normal screen, before ink: a named pack that is not there, or options the
  // install would refuse, is a plain usage error.
  const problem = choicesProblem(request) ?? (await packsProblem(request, process.cwd()));
  if (problem !== undefined) {
    io.err.write(`servicepack: error: ${printable(problem).text}\n`);
    return EXIT.usage;
  }
  // chalk reads the colour level once, when it is first imported: decide before ink loads it.
  if (io.env['NO_COLOR'] !== undefined && io.env['NO_COLOR'] !== '') process.env['FORCE_COLOR'] = '0';
  const [{ mountWizard }, { UiController }, { coreServices, createContext }, { runWizardSteps }] = await Promise.all([
    import('./app.js'),
    import('./ui.js'),
    import('./context.js'),
    import('./steps/index.js'),
  ]);
  const controller = new UiController();
  const ctx = createContext(request, opts.services ?? coreServices(), controller);
  const stdout = process.stdout;

  let onAltScreen = true;
  const leaveAltScreen = () => {
    if (!onAltScreen) return;
    onAltScreen = false;
    stdout.write(ALT_SCREEN_OFF);
  };
  // A vanished terminal (SIGHUP) must not crash the process mid-transaction with EIO on a write.
  const ignoreWriteErrors = () => {};
  const onSignal = () => controller.interrupt();
  stdout.on('error', ignoreWriteErrors);
  for (const s of SIGNALS) process.on(s, onSignal);
  process.once('exit', leaveAltScreen);
  stdout.write(ALT_SCREEN_ON);

  const app = mountWizard(controller, { stdin: process.stdin, stdout, stderr: process.stderr });
  let outcome: Outcome;
  try {
    const steps = runWizardSteps(ctx);
    // If the app itself ends first (a rendering failure), the steps are told so and still finish:
    // a running transaction is never abandoned halfway.
    const appGone = app.waitUntilExit().then(
      () => undefined,
      () => undefined,
    );
    const first = await Promise.race([steps, appGone]);
    if (first === undefined) controller.interrupt();
    outcome = first ?? (await steps);
  } finally {
    app.unmount();
    await app.waitUntilExit().catch(() => {});
    leaveAltScreen();
    for (const s of SIGNALS) process.off(s, onSignal);
    process.off('exit', leaveAltScreen);
    stdout.off('error', ignoreWriteErrors);
  }
  io.out.write(outcome.lines.map((l) => `${printable(l).text}\n`).join(''));
  return outcome.code;
}
