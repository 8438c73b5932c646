/** @jsxRuntime automatic @jsxImportSource react */
import { Box, Text, useInput } from 'ink';
import type { InstallChoices } from '../context.js';
import type { ModifiedChoice } from '../route.js';
import { flagsFor, type OptionsView } from '../views.js';
import { color, mark } from './theme.js';
import { useLatestState } from './use-latest-state.js';

export interface OptionsScreenProps {
  view: OptionsView;
  active: boolean;
  onInstall: (choices: InstallChoices) => void;
}

const FLAG_WIDTH = 20;
const POLICIES: readonly ModifiedChoice[] = ['stop', 'overwrite', 'keep'];

const HELP: readonly string[] = [
  'The files the update replaces are kept in .servicepack/backup/, so that servicepack uninstall can remove the update again. Off (-n): no way back.',
  'inetsrv is stopped before its files are replaced and started again afterwards. Off (-z): the files are replaced under the running server, which keeps the old code until you restart it (exit code 10).',
  'A product file changed on this server: stop installs nothing (default); overwrite (-o) replaces it and keeps the changed file in the backup; keep (--keep-modified) leaves it. Changed config files are never overwritten: the new default is written beside them as .spnew.',
];

/**
 * ```
 * Options for inetsrv 4.0 Service Pack 6                  command line
 * › [x] Back up the replaced files (for uninstall)        off: -n
 *   [x] Stop and restart the server if it runs            off: -z
 *   Changed files: (•) stop  ( ) overwrite  ( ) keep      -o · --keep-modified
 * ```
 */
export function OptionsScreen({ view, active, onInstall }: OptionsScreenProps) {
  const [choices, getChoices, setChoices] = useLatestState<InstallChoices>(view.choices);
  const [focus, getFocus, setFocus] = useLatestState(0);
  const cycle = (by: number) => setChoices((c) => ({ ...c, modified: POLICIES[(POLICIES.indexOf(c.modified) + by + POLICIES.length) % POLICIES.length]! }));
  useInput(
    (input, key) => {
      const f = getFocus();
      const change = input === ' ' || key.leftArrow || key.rightArrow;
      if (key.upArrow || (key.tab && key.shift)) setFocus((n) => (n + 2) % 3);
      else if (key.downArrow || key.tab) setFocus((n) => (n + 1) % 3);
      else if (key.return) onInstall(getChoices());
      else if (f === 0 && change) setChoices((c) => ({ ...c, backup: !c.backup }));
      else if (f === 1 && change) setChoices((c) => ({ ...c, restart: !c.restart }));
      else if (f === 2 && key.leftArrow) cycle(-1);
      else if (f === 2 && change) cycle(1);
    },
    { isActive: active },
  );
  const row = (i: number, label: string, flag: string) => (
    <Box>
      <Box flexGrow={1}>
        <Text color={focus === i ? color.accent : undefined} wrap="truncate-end">
          {focus === i ? mark.pointer : ' '} {label}
        </Text>
      </Box>
      <Box width={FLAG_WIDTH} flexShrink={0}>
        <Text dimColor>{flag}</Text>
      </Box>
    </Box>
  );
  const flags = flagsFor(choices);
  return (
    <Box flexDirection="column">
      <Box>
        <Box flexGrow={1}>
          <Text wrap="truncate-end">
            Options for <Text bold>{view.packTitle}</Text>
          </Text>
        </Box>
        <Box width={FLAG_WIDTH} flexShrink={0}>
          <Text dimColor>command line</Text>
        </Box>
      </Box>
      <Text> </Text>
      {row(0, `${choices.backup ? '[x]' : '[ ]'} Back up the replaced files (for uninstall)`, 'off: -n')}
      {row(1, `${choices.restart ? '[x]' : '[ ]'} Stop and restart the server if it runs`, 'off: -z')}
      {row(2, `Changed files: ${POLICIES.map((p) => `${choices.modified === p ? '(•)' : '( )'} ${p}`).join('  ')}`, '-o · --keep-modified')}
      <Text> </Text>
      <Text dimColor wrap="wrap">
        {HELP[focus]}
      </Text>
      <Text> </Text>
      <Text>The same install without questions:</Text>
      <Box paddingLeft={2}>
        <Text wrap="wrap">{[view.baseCommand, ...flags].join(' ')}</Text>
      </Box>
      <Text> </Text>
      <Text color={color.warn} wrap="wrap">
        Nothing has been changed yet. Enter installs the update now.
      </Text>
    </Box>
  );
}
