import { z } from 'zod';
import { HEALTH_LIMITS } from '../health/contract-rules.js';
import { MAX_LOCK_WAIT_SECONDS } from '../installation/names.js';
import { MODIFIED_POLICIES } from '../rules/plan.js';

/**
 * The answer file of an unattended install (docs/formats.md "Answer file"): YAML an administrator writes once and
 * hands to many machines, so every mistake must be caught before anything is installed and must
 * say where it is — the file, the line and the key — the way msiexec's property errors never did.
 *
 * Choices recorded here and in docs/fleet.md:
 * - the packs come either from `packs` (files, installed in order in one transaction) or from a
 *   signed `feed` together with `latest: true` (the newest applicable service pack plus the hotfixes
 *   that still apply after it, chosen per target); `latest` is spelled out so that pointing a
 *   fleet at a feed never installs "whatever is there" by accident;
 * - relative paths (targets, packs, trust, log, a feed folder) resolve against the answer file's
 *   folder, so a file and its packs can travel together;
 * - `--allow-unsigned` exists only on the command line: a file copied around a fleet must not be
 *   able to switch signature checking off.
 */

const PathSchema = z.string().min(1).max(4096);

export const AnswerFileSchema = z
  .strictObject({
    targets: z
      .array(z.strictObject({ root: PathSchema.describe('installation root') }))
      .min(1)
      .max(256)
      .describe('installations to service, in this order; each gets its own transaction and result'),
    packs: z
      .array(PathSchema)
      .min(1)
      .max(64)
      .optional()
      .describe('pack files installed in this order, in one transaction per target'),
    feed: PathSchema.optional().describe(
      'a signed feed (http(s) or file: URL, or a folder) to choose the packs from; needs latest: true',
    ),
    latest: z
      .boolean()
      .optional()
      .describe('with feed: the newest applicable service pack plus the hotfixes that still apply after it'),
    trust: z
      .array(PathSchema)
      .max(64)
      .optional()
      .describe("public keys (PEM) trusted besides each target's .servicepack/trust/"),
    acceptEula: z.boolean().default(false).describe('must be true when a pack carries a license agreement (EULA.txt)'),
    backup: z.boolean().default(true).describe('keep uninstall data (false is the command line --no-backup)'),
    modified: z
      .enum(MODIFIED_POLICIES)
      .default('stop')
      .describe('locally modified files: stop (refuse), overwrite (the changed file goes to the backup), keep'),
    restart: z
      .enum(['auto', 'always', 'never'])
      .default('auto')
      .describe(
        'auto: restart a running service when a pack needs it; always: also when none does; never: leave it stopped (exit 10)',
      ),
    healthCheck: z
      .boolean()
      .default(true)
      .describe(
        'put the new level on trial when the service ran: started and health-checked, rolled back when it fails (false is --no-health-check)',
      ),
    healthTimeout: z
      .number()
      .int()
      .min(1)
      .max(HEALTH_LIMITS.timeoutSeconds)
      .optional()
      .describe("seconds the health probe may take (as --health-timeout); default: the release's"),
    log: PathSchema.optional().describe("a JSON-lines log every target's events are appended to"),
    wait: z
      .number()
      .int()
      .min(0)
      .max(MAX_LOCK_WAIT_SECONDS)
      .default(0)
      .describe(
        'seconds to wait on each target for another servicepack to release the lock (as --wait); 0: exit 5 at once',
      ),
  })
  .superRefine((a, ctx) => {
    if (a.packs !== undefined && a.feed !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['feed'], message: 'give either packs or feed, not both' });
    }
    if (a.packs === undefined && a.feed === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['packs'],
        message: 'missing: list the pack files under packs, or give a feed with latest: true',
      });
    }
    if (a.feed !== undefined && a.latest !== true) {
      ctx.addIssue({
        code: 'custom',
        path: a.latest === undefined ? ['feed'] : ['latest'],
        message:
          'a feed needs latest: true (install the newest applicable service pack and the hotfixes that still apply)',
      });
    }
    if (a.latest !== undefined && a.feed === undefined) {
      ctx.addIssue({ code: 'custom', path: ['latest'], message: 'latest only makes sense with a feed' });
    }
  });
export type AnswerFileInput = z.input<typeof AnswerFileSchema>;
type AnswerFileData = z.output<typeof AnswerFileSchema>;

/** Top-level keys that get a specific answer instead of "unknown key". */
export const COMMAND_LINE_ONLY: Record<string, string> = {
  allowUnsigned: '--allow-unsigned is accepted only on the command line, never from an answer file',
  'allow-unsigned': '--allow-unsigned is accepted only on the command line, never from an answer file',
  allow_unsigned: '--allow-unsigned is accepted only on the command line, never from an answer file',
};

/** Answer files are a few lines; anything this big is a mistake (or an attempt to exhaust memory). */
export const ANSWER_FILE_MAX_BYTES = 1024 * 1024;

export type RestartChoice = AnswerFileData['restart'];

export interface AnswerFileIssue {
  file: string;
  /** 1-based */
  line: number;
  column: number;
  /** e.g. `targets[1].root`; `(document)` when the problem is the file as a whole */
  key: string;
  message: string;
}
