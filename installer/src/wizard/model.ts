import type { PackInspection, VerifiedPack } from '@servicepack/core/pack-read';
import type { ModifiedPolicy } from '@servicepack/core/plan';
import type { WizardRequest } from './route.js';

/**
 * The wizard's findings and choices, in a module of their own: the context (context.ts) holds the
 * screen (ui.ts), whose screen map names the views (views.ts), and the views read these, so none of
 * the three imports another's module for them.
 */

/** A pack file as the wizard judged it against the detected installation. */
export interface PackCandidate {
  path: string;
  inspection?: PackInspection;
  /** present when the signature is acceptable */
  pack?: VerifiedPack;
  /** why it is not offered; absent for an applicable pack */
  refusal?: Refusal;
}

export interface Refusal {
  code: string;
  exitCode: number;
  message: string;
}

export interface InstallChoices {
  backup: boolean;
  restart: boolean;
  modified: ModifiedPolicy;
}

/** How the wizard ended: the process exit code (docs/cli.md §5) and what is printed after the screen is gone. */
export interface Outcome {
  code: number;
  lines: string[];
}

/** The part of the context the views read: what was asked, where, and what has been chosen. */
export interface ViewInputs {
  readonly request: WizardRequest;
  readonly cwd: string;
  choices: InstallChoices;
  /** the license text of the chosen pack, when it carries one (license.ts) */
  eula?: { name: string; text: string; packPath: string };
}
