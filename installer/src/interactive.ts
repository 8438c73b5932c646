/**
 * The one interactivity gate: may we ask the operator questions or draw a terminal UI (the wizard,
 * listr2's task list)? Kept free of imports so that route.ts, which `query` loads, stays light.
 */

/**
 * CI or CONTINUOUS_INTEGRATION set to anything but "0" or "false", even to "": the rule of
 * is-in-ci, which ink reads when it is loaded. Any looser rule would start a front end that ink
 * itself treats as CI and never redraws.
 */
export function isCI(env: Record<string, string | undefined>): boolean {
  return ['CI', 'CONTINUOUS_INTEGRATION'].some((k) => {
    const v = env[k];
    return v !== undefined && v !== '0' && v !== 'false';
  });
}

/** stdin and stdout are terminals, this is not CI, and the terminal can move its cursor. */
export function mayAskOperator(e: { interactive: boolean; env: Record<string, string | undefined> }): boolean {
  return e.interactive && !isCI(e.env) && e.env['TERM'] !== 'dumb';
}

/**
 * Nothing changes unless someone said yes: the wizard asks on a terminal, and every other way in (no
 * terminal, CI, --json, -q) needs -u/--yes, as apt-get and dnf refuse when they cannot ask. A dry run
 * changes nothing and needs none. Returns the refusal's message, or undefined when it may go on.
 */
export function unconfirmed(
  command: 'install' | 'uninstall',
  f: { unattended?: true; yes?: true; dryRun?: true },
): string | undefined {
  if (f.unattended || f.yes || f.dryRun) return undefined;
  return `cannot ask for confirmation: pass -u/--yes to ${command} unattended (or --dry-run to see what it would change); nothing was changed`;
}
