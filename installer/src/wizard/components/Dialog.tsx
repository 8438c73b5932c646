/** @jsxRuntime automatic @jsxImportSource react */
import { Box } from 'ink';
import { Text } from './Shown.js';
import { color } from './theme.js';

/**
 * A yes/no question over the current screen (the keys are the app's: y, n, Enter = no, Esc = no):
 * ```
 * ┌ Cancel Setup? ───────────────────────────────┐
 * │ Nothing has been changed. Quit Setup? (y/N)  │
 * └──────────────────────────────────────────────┘
 * ```
 */
export function Dialog({ title, message }: { title: string; message: string }) {
  return (
    <Box flexDirection="column" borderStyle="round" borderColor={color.warn} paddingX={1}>
      <Text bold color={color.warn}>
        {title}
      </Text>
      <Text wrap="wrap">{message} (y/N)</Text>
    </Box>
  );
}
