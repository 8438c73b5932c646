import { Argument, type Command } from '@commander-js/extra-typings';
import { EXIT } from '../exit.js';
import type { Io, RunState } from '../io.js';
import { completionScript, SHELLS } from './completion.js';
import { describeProgram } from './model.js';

/** `servicepack completion SHELL`: the completion script, generated from this very program. */
export function registerCompletion(program: Command, io: Io, state: RunState): void {
  program
    .command('completion')
    .description('print the shell completion script for bash, zsh or fish')
    .addArgument(new Argument('<shell>', 'the shell: bash, zsh or fish').choices(SHELLS))
    .addHelpText(
      'after',
      '\nThe packages install the scripts where each shell looks for them; by hand, write the output there.',
    )
    .action((shell) => {
      io.out.write(completionScript(shell, describeProgram(program)));
      state.exitCode = EXIT.ok;
    });
}
