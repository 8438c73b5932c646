/** @jsxRuntime automatic @jsxImportSource react */
import { TextInput } from '@inkjs/ui';
import { Box } from 'ink';
import { Text } from './Shown.js';
import type { RootView } from '../views.js';
import { color } from './theme.js';

export interface RootScreenProps {
  view: RootView;
  active: boolean;
  onSubmit: (root: string) => void;
}

/**
 * ```
 * Where is inetsrv installed?
 * Folder: /opt/inetsrv█
 * ```
 */
export function RootScreen({ view, active, onSubmit }: RootScreenProps) {
  return (
    <Box flexDirection="column">
      <Text bold>Where is inetsrv installed?</Text>
      <Text> </Text>
      {view.message ? (
        <Text color={color.warn} wrap="wrap">
          {view.message}
        </Text>
      ) : null}
      <Box>
        <Text>Folder: </Text>
        <TextInput
          isDisabled={!active}
          defaultValue={view.defaultRoot}
          placeholder="/opt/inetsrv"
          onSubmit={onSubmit}
        />
      </Box>
      <Text> </Text>
      <Text dimColor wrap="wrap">
        The installation folder holds BUILDINFO.json, bin/ and lib/. Next time, pass it with --root DIR or set
        SERVICEPACK_ROOT.
      </Text>
    </Box>
  );
}
