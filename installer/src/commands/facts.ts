import type { Command } from '@commander-js/extra-typings';
import type { FactsDocument } from '@servicepack/core/facts-schema';
import { checkedRoot, chooseFrontEnd, type Io, type RunState, reportFailure } from '../io.js';
import { EXIT } from '../exit.js';
import type { TextOutput } from '../front-end.js';
import { joinShown, safe } from '../reporters/printable.js';

/**
 * `servicepack facts`: one installation's facts for a configuration engine (Ansible's
 * servicepack_facts module) and for `servicepack report` (docs/cli.md, docs/fleet.md).
 */
interface FactsFlags {
  root?: string;
  feed?: string;
  trust?: string[];
  json?: true;
}

export function registerFacts(program: Command, io: Io, state: RunState): void {
  program
    .command('facts')
    .description('print the facts a fleet report needs: level, hotfixes, consistency, and with --feed what is missing')
    .option('--root <dir>', 'installation root (default: $SERVICEPACK_ROOT)')
    .option('--feed <url>', 'also list the updates this feed offers that apply and are not installed')
    .option('--trust <file...>', 'also trust these public keys (PEM) for the feed')
    .option('--json', 'print one JSON document on stdout (the facts document)')
    .action(async (flags) => {
      state.exitCode = await runFacts(flags, io);
    });
}

export async function runFacts(flags: FactsFlags, io: Io): Promise<number> {
  const fe = await chooseFrontEnd(io, { json: flags.json === true, quiet: false });
  try {
    const root = await checkedRoot(flags.root, io.env);
    const { collectFacts } = await import('@servicepack/core/facts');
    const facts = await collectFacts(root, {
      ...(flags.feed !== undefined ? { feed: flags.feed } : {}),
      ...(flags.trust ? { trustFiles: flags.trust } : {}),
      sink: fe.sink,
    });
    fe.result({ ...facts }, (t) => printFacts(t, facts));
    return EXIT.ok;
  } catch (e) {
    return reportFailure(fe, io, e);
  }
}

function printFacts(r: TextOutput, f: FactsDocument): void {
  r.print(
    safe`${r.o.bold(f.displayName)} (${f.product} ${f.version}, ${f.arch}) in ${f.root}: ${r.o.bold(f.levelName)}`,
  );
  r.print(safe`  hotfixes    ${f.hotfixes.length > 0 ? joinShown(f.hotfixes, ', ') : 'none'}`);
  r.print(
    safe`  consistent  ${f.consistent ? 'yes' : r.o.yellow(safe`no (${f.problems} problem(s): servicepack verify)`)}`,
  );
  if (f.restartPending) r.print(safe`  restart     ${r.o.yellow('pending')}`);
  const c = f.lastChange;
  r.print(
    safe`  last change ${c ? safe`${c.at} ${c.action} ${joinShown(c.ids, ', ')}` : 'none (as released by the vendor)'}`,
  );
  if (f.feed === null) return;
  if (f.upToDate) r.print(safe`  updates     ${r.o.green('up to date')} (feed version ${f.feed.version})`);
  else
    r.print(
      safe`  updates     ${joinShown(
        f.updates.map((u) => (u.security ? safe`${u.id} ${r.o.bold('[security]')}` : u.id)),
        ', ',
      )} (feed version ${f.feed.version}); latest installs ${joinShown(f.latest, ', ')}`,
    );
}
