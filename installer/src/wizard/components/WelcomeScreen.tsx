/** @jsxRuntime automatic @jsxImportSource react */
import { Box, useInput } from 'ink';
import { Text } from './Shown.js';
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
      <Text bold>{view.heading}</Text>
      <Text> </Text>
      <Text wrap="wrap">{view.intro}</Text>
      {view.steps.map((step, i) => (
        <Text key={step} wrap="wrap">
          {`  ${i + 1}. `}
          {step}
        </Text>
      ))}
      {view.source ? (
        <>
          <Text> </Text>
          <Text wrap="wrap">{view.source}</Text>
        </>
      ) : null}
      <Text> </Text>
      <Text wrap="wrap">{view.note}</Text>
    </Box>
  );
}
