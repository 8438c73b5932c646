/** @jsxRuntime automatic @jsxImportSource react */
import { type Instance, render } from 'ink';
import { WizardApp } from './components/WizardApp.js';
import type { UiController } from './ui.js';

export interface Streams {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/** Mounts the wizard on the terminal. Ctrl-C is the app's to answer (it asks first), not ink's. */
export function mountWizard(controller: UiController, streams: Streams): Instance {
  return render(<WizardApp controller={controller} />, { ...streams, exitOnCtrlC: false, patchConsole: true });
}
