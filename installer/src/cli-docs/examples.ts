import type { CommandUnknownOpts } from '@commander-js/extra-typings';

/**
 * Each command's "Examples:" in its --help (and so in the man page, which reads --help's texts).
 * Kept here rather than in commands/*.ts so that the quick `query` path (quick-argv.ts), which
 * loads commands/query.ts, does not load them. Keyed by the command's path under `servicepack`.
 */
type Example = readonly [command: string, comment?: string];

const ROOT = '/opt/inetsrv';
const SP6 = 'inetsrv-4.0-sp6-x86.tgz';
const FEED = 'https://updates.example/inetsrv/';

const EXAMPLES: Readonly<Record<string, readonly Example[]>> = {
  install: [
    [`servicepack install --root ${ROOT} -u --accept-eula ${SP6}`],
    [`servicepack install --root ${ROOT} --dry-run --accept-eula ${SP6}`, 'plan only, change nothing'],
    [
      `servicepack install --root ${ROOT} --yes --accept-eula ${SP6} > sp6.log 2>&1`,
      'from a script or cron: no terminal to ask on, so --yes (or -u) says go',
    ],
    [
      `servicepack install --root ${ROOT} -u inetsrv-4.0-sp5-x86.tgz inetsrv-4.0-sp5-q236565-x86.tgz`,
      'one transaction, one restart',
    ],
    [`servicepack install --feed ${FEED} --root ${ROOT} -u --accept-eula latest`],
    ['servicepack install --answer-file manifests/unattend/sp6.yaml --json', 'several installations'],
    [`servicepack install --root ${ROOT} --packs /media/sp6`, 'Setup, offering /media/sp6/*.tgz'],
  ],
  uninstall: [
    [`servicepack uninstall --root ${ROOT} -u`, 'the newest update'],
    [`servicepack uninstall --root ${ROOT} --dry-run`, 'what it would restore and remove; changes nothing'],
    [`servicepack uninstall --root ${ROOT} --yes --verbose`, 'from a script, each file named as it is put back'],
    [`servicepack uninstall --root ${ROOT} -u Q236565`, 'only when Q236565 is the newest'],
    [`servicepack uninstall --root ${ROOT} -u -z --json`, 'leave the service stopped; exit 10'],
  ],
  query: [
    [`servicepack query --root ${ROOT}`],
    [`servicepack query --root ${ROOT} --json | jq -r .levelName`],
    [`servicepack query --root ${ROOT} --require sp6 || echo "SP6 needed"`, 'exit 3 below SP6'],
  ],
  check: [
    [`servicepack check --feed ${FEED} --root ${ROOT}`],
    [`servicepack check --feed dist/feed --root ${ROOT} --require-none`, 'exit 3 while updates are pending'],
  ],
  facts: [
    [`servicepack facts --root ${ROOT}`],
    [`servicepack facts --root ${ROOT} --feed ${FEED} --json > $(hostname).json`, 'one host of a compliance report'],
    [`servicepack facts --root ${ROOT} --feed ${FEED} --json | jq -r '.updates[] | select(.security) | .id'`],
  ],
  verify: [
    [`servicepack verify --root ${ROOT}`, 'exit 4 on any difference'],
    [`servicepack verify --root ${ROOT} --json | jq '.problems[]'`],
  ],
  recover: [
    [`servicepack recover --root ${ROOT}`, 'after a crash or a power cut'],
    [`servicepack recover --root ${ROOT} --json`],
  ],
  pack: [
    ['servicepack pack build --def manifests/packs/sp6.yaml --arch x86'],
    [`servicepack pack inspect dist/packs/${SP6}`],
  ],
  'pack build': [
    ['servicepack pack build --def manifests/packs/sp6.yaml --arch x86', `writes dist/packs/${SP6}`],
    ['servicepack pack build --def manifests/packs/sp6.yaml --arch alpha --key keys/vendor.key --out sp6-alpha.tgz'],
  ],
  'pack inspect': [
    [`servicepack pack inspect dist/packs/${SP6}`],
    [`servicepack pack inspect --root ${ROOT} --json dist/packs/${SP6}`, "judged by the installation's keys"],
  ],
  'pack sign': [[`servicepack pack sign --key keys/vendor.key dist/packs/${SP6}`, 'adds a signature']],
  keygen: [
    ['servicepack keygen --out keys', 'keys/vendor.key and keys/vendor.pub'],
    ['servicepack keygen --out keys --name vendor-2027'],
  ],
  feed: [['servicepack feed publish --out /srv/www/inetsrv-feed']],
  'feed publish': [
    ['servicepack feed publish', 'dist/packs and dist/releases into dist/feed'],
    ['servicepack feed publish --out /srv/www/inetsrv-feed --key keys/vendor.key --expires-in 365'],
  ],
  completion: [
    ['servicepack completion bash > /etc/bash_completion.d/servicepack'],
    ['servicepack completion zsh > /usr/local/share/zsh/site-functions/_servicepack'],
    ['servicepack completion fish > ~/.config/fish/completions/servicepack.fish'],
  ],
};

/** The "Examples:" block of one command's help; '' for a command with none. */
export function examplesText(path: readonly string[]): string {
  const list = EXAMPLES[path.join(' ')];
  if (!list) return '';
  // a comment above its command, so that each command line can be copied as it is
  const lines = list.map(([c, comment]) => (comment ? `  # ${comment}\n  ${c}` : `  ${c}`));
  return `\nExamples:\n${lines.join('\n')}`;
}

/** Adds its examples to every command under `program` (the program's own are in exit.ts's EXAMPLES_HELP). */
export function addExamples(program: CommandUnknownOpts, path: readonly string[] = []): void {
  for (const c of program.commands) {
    const sub = [...path, c.name()];
    const text = examplesText(sub);
    if (text !== '') c.addHelpText('after', text);
    addExamples(c, sub);
  }
}
