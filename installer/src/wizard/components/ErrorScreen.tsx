/** @jsxRuntime automatic @jsxImportSource react */
import { Box } from 'ink';
import { Text } from './Shown.js';
import type { ErrorView } from '../views.js';
import { color, mark } from './theme.js';

/**
 * An error is a screen, never a stack trace:
 * ```
 * ✗ This update is for another processor architecture
 *   inetsrv-4.0-sp6-alpha.tgz is for alpha; this installation is x86: use …
 *   Nothing was changed. Exit code 3 (not applicable).
 * ```
 */
export function ErrorScreen({ view }: { view: ErrorView }) {
  // every detail is listed: the screen scrolls (Scroll) rather than drop any
  const details = view.details;
  return (
    <Box flexDirection="column">
      <Text wrap="wrap">
        <Text color={color.bad}>{mark.failed}</Text> <Text bold>{view.title}</Text>
      </Text>
      <Text> </Text>
      <Box flexDirection="column" paddingLeft={2}>
        <Text wrap="wrap">{view.message}</Text>
        {details.map((d) => (
          <Text key={d} wrap="wrap">
            {'  '}
            {d}
          </Text>
        ))}
        <Text> </Text>
        {view.nothingChanged ? <Text>Nothing was changed.</Text> : null}
        {view.outcome !== undefined ? <Text wrap="wrap">{view.outcome}</Text> : null}
        <Text dimColor>
          Exit code {view.exitCode}
          {view.exitMeaning ? ` (${view.exitMeaning})` : ''}.
        </Text>
      </Box>
      <Text> </Text>
      {view.action ? (
        <Text color={color.accent} wrap="wrap">
          R: {view.action}.
        </Text>
      ) : null}
      <Text dimColor>
        {view.canGoBack ? 'Esc goes back to the options; Enter closes Setup.' : 'Enter closes Setup.'}
      </Text>
    </Box>
  );
}
