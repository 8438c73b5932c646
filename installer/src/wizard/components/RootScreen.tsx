/** @jsxRuntime automatic @jsxImportSource react */
import { Box } from 'ink';
import { Text } from './Shown.js';
import type { RootView } from '../views.js';
import { TextField } from './TextField.js';
import { color } from './theme.js';

export interface RootScreenProps {
  view: RootView;
  active: boolean;
  onSubmit: (root: string) => void;
  /** Tab completes the folder */
  complete?: (value: string) => string;
}

/**
 * ```
 * Where is inetsrv installed?
 * Folder: /opt/inetsrv█
 * ```
 */
export function RootScreen({ view, active, onSubmit, complete }: RootScreenProps) {
  return (
    <Box flexDirection="column">
      <Text bold>{view.heading ?? 'Where is inetsrv installed?'}</Text>
      <Text> </Text>
      {view.message ? (
        <Text color={color.warn} wrap="wrap">
          {view.message}
        </Text>
      ) : null}
      <TextField
        label="Folder: "
        defaultValue={view.defaultRoot}
        example={view.example ?? '/opt/inetsrv'}
        active={active}
        onSubmit={onSubmit}
        {...(complete ? { complete } : {})}
      />
      <Text> </Text>
      <Text dimColor wrap="wrap">
        {view.help ??
          'The installation folder holds BUILDINFO.json, bin/ and lib/. Tab completes a folder name. Next time, pass it with --root DIR or set SERVICEPACK_ROOT.'}
      </Text>
    </Box>
  );
}
