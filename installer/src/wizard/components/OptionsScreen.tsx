/** @jsxRuntime automatic @jsxImportSource react */
import { Box, useInput } from 'ink';
import { useState } from 'react';
import { Text } from './Shown.js';
import type { InstallChoices } from '../context.js';
import { changeChoices, choicesRefusal, flagsFor, type OptionRow, type OptionsView } from '../views.js';
import { color, mark } from './theme.js';
import { useLatestState } from './use-latest-state.js';

export interface OptionsScreenProps {
  view: OptionsView;
  active: boolean;
  onConfirm: (choices: InstallChoices) => void;
}

const FLAG_WIDTH = 22;

function rowText(row: OptionRow, c: InstallChoices, policies: OptionsView['policies']): string {
  if (row.key === 'modified')
    return `${row.label} ${policies.map((p) => `${c.modified === p ? '(•)' : '( )'} ${p}`).join('  ')}`;
  return `${c[row.key] ? '[x]' : '[ ]'} ${row.label}`;
}

/**
 * Each option beside its command-line switch, and the unattended command that does the same:
 * ```
 * Options for inetsrv 4.0 Service Pack 6                    command line
 * › [x] Back up the replaced files (for uninstall)          off: -n
 *   [x] Stop and restart the server if it runs              off: -z
 *   Changed files: (•) stop  ( ) overwrite  ( ) keep        -o · --keep-modified
 * ```
 */
export function OptionsScreen({ view, active, onConfirm }: OptionsScreenProps) {
  const [choices, getChoices, setChoices] = useLatestState<InstallChoices>(view.choices);
  const [focus, getFocus, setFocus] = useLatestState(0);
  // why the last change moved another option too, or why Enter was refused
  const [note, setNote] = useState<string | undefined>(undefined);
  const n = view.rows.length;
  const choose = (what: Partial<InstallChoices>) => {
    const next = changeChoices(getChoices(), what);
    setChoices(next.choices);
    setNote(next.note);
  };
  const cycle = (by: number) => {
    const p = view.policies;
    choose({ modified: p[(Math.max(0, p.indexOf(getChoices().modified)) + by + p.length) % p.length]! });
  };
  const confirm = () => {
    const c = getChoices();
    const refused = choicesRefusal(c);
    if (refused !== undefined) setNote(refused);
    else onConfirm(c);
  };
  useInput(
    (input, key) => {
      const row = view.rows[getFocus()];
      const change = input === ' ' || key.leftArrow || key.rightArrow;
      if (key.upArrow || (key.tab && key.shift)) setFocus((f) => (f + n - 1) % n);
      else if (key.downArrow || key.tab) setFocus((f) => (f + 1) % n);
      else if (key.return) confirm();
      else if (!row || !change) return;
      else if (row.key === 'modified') cycle(key.leftArrow ? -1 : 1);
      else choose({ [row.key]: !getChoices()[row.key] });
    },
    { isActive: active },
  );
  return (
    <Box flexDirection="column">
      <Box>
        <Box flexGrow={1}>
          <Text bold wrap="truncate-end">
            {view.heading}
          </Text>
        </Box>
        <Box width={FLAG_WIDTH} flexShrink={0} marginLeft={1}>
          <Text dimColor>command line</Text>
        </Box>
      </Box>
      <Text> </Text>
      {view.rows.map((row, i) => (
        <Box key={row.key}>
          <Box width={2} flexShrink={0}>
            <Text color={focus === i ? color.accent : undefined}>{focus === i ? mark.pointer : ' '}</Text>
          </Box>
          <Box flexGrow={1} flexShrink={1}>
            {/* wrapped, never cut: a narrow terminal must still show every choice (keep, too) */}
            <Text color={focus === i ? color.accent : undefined} wrap="wrap">
              {rowText(row, choices, view.policies)}
            </Text>
          </Box>
          <Box width={FLAG_WIDTH} flexShrink={0} marginLeft={1}>
            <Text dimColor>{row.flag}</Text>
          </Box>
        </Box>
      ))}
      <Text> </Text>
      <Text dimColor wrap="wrap">
        {view.rows[focus]?.help}
      </Text>
      {note !== undefined ? (
        <Text color={color.warn} wrap="wrap">
          {note}
        </Text>
      ) : null}
      <Text> </Text>
      <Text>The same without questions:</Text>
      <Box paddingLeft={2}>
        <Text wrap="wrap">{[view.baseCommand, ...flagsFor(choices), view.operands].join(' ')}</Text>
      </Box>
      <Text> </Text>
      <Text color={color.warn} wrap="wrap">
        {view.confirm}
      </Text>
    </Box>
  );
}
