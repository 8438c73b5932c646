/** @jsxRuntime automatic @jsxImportSource react */
import { Box, useInput } from 'ink';
import { Text } from './Shown.js';
import type { InstallationView } from '../views.js';
import { Field } from './Field.js';
import { color } from './theme.js';

export interface InstallationScreenProps {
  view: InstallationView;
  active: boolean;
  onNext: () => void;
  onChangeRoot: () => void;
}

/**
 * ```
 * inetsrv was found in /tmp/inetsrv:
 *   Product       inetsrv 4.0 Web Server (inetsrv 4.0.0)
 *   Architecture  x86
 *   Level         RTM (build 1381.0)
 *   …
 * ```
 */
export function InstallationScreen({ view, active, onNext, onChangeRoot }: InstallationScreenProps) {
  useInput(
    (input, key) => {
      if (key.return) onNext();
      else if ((input === 'r' || input === 'R') && view.canChangeRoot) onChangeRoot();
    },
    { isActive: active },
  );
  return (
    <Box flexDirection="column">
      {view.note ? (
        <Text color={color.good} wrap="wrap">
          {view.note}
        </Text>
      ) : null}
      <Text wrap="wrap">
        inetsrv was found in <Text bold>{view.root}</Text>:
      </Text>
      <Text> </Text>
      <Box flexDirection="column" paddingLeft={2}>
        <Field label="Product">
          {view.displayName} ({view.product})
        </Field>
        <Field label="Architecture">{view.arch}</Field>
        <Field label="Level">
          <Text bold>{view.level}</Text>
        </Field>
        <Field label="Hotfixes">{view.hotfixes}</Field>
        <Field label="Consistent">
          {view.consistent ? (
            view.recorded ? (
              'yes: state record, BUILDINFO.json and files agree'
            ) : (
              'yes (as released: nothing installed by servicepack yet)'
            )
          ) : (
            <Text color={color.warn}>
              no: {view.problems.length + view.moreProblems}{' '}
              {view.problems.length + view.moreProblems === 1 ? 'difference' : 'differences'}
            </Text>
          )}
        </Field>
        {view.problems.map((p) => (
          <Text key={p} dimColor wrap="truncate-end">
            {'              '}
            {p}
          </Text>
        ))}
        {view.moreProblems > 0 ? <Text dimColor>{`              … and ${view.moreProblems} more`}</Text> : null}
        <Field label="History">{view.history}</Field>
      </Box>
      <Text> </Text>
      {view.blocking ? (
        <Text color={color.bad} wrap="wrap">
          {view.blocking}
        </Text>
      ) : null}
      <Text dimColor wrap="wrap">
        Enter continues{view.canChangeRoot ? '; R chooses another folder' : ''}.
      </Text>
    </Box>
  );
}
