/** @jsxRuntime automatic @jsxImportSource react */
import { Box, Text, useInput } from 'ink';
import type { WelcomeView } from '../views.js';

export interface WelcomeScreenProps {
  view: WelcomeView;
  active: boolean;
  onNext: () => void;
}

/**
 * ```
 * Welcome to Service Pack Setup.
 *
 * This wizard installs a service pack or hotfix on an inetsrv installation. …
 * ```
 */
export function WelcomeScreen({ view, active, onNext }: WelcomeScreenProps) {
  useInput(
    (_input, key) => {
      if (key.return) onNext();
    },
    { isActive: active },
  );
  return (
    <Box flexDirection="column">
      <Text bold>Welcome to Service Pack Setup.</Text>
      <Text> </Text>
      <Text>This wizard installs a service pack or hotfix on an inetsrv installation. It will:</Text>
      <Text>  1. find the installation and show its level, hotfixes and consistency;</Text>
      <Text>  2. show what each update fixes, its size and who signed it;</Text>
      <Text>  3. show the update's license agreement, which you must accept;</Text>
      <Text>  4. ask about backup, restart and files changed on this server;</Text>
      <Text>  5. replace the files in one transaction: all of them, or none.</Text>
      <Text> </Text>
      <Text wrap="wrap">Updates on offer: {view.source}.</Text>
      <Text> </Text>
      <Text wrap="wrap">Nothing is changed until you press Enter on the Options screen; until then you can go back (Esc) or cancel (q) at any time.</Text>
    </Box>
  );
}
