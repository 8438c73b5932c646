/** @jsxRuntime automatic @jsxImportSource react */
import { Box } from 'ink';
import { Text } from './Shown.js';
import type { FinishView } from '../views.js';
import { Field } from './Field.js';
import { color, mark } from './theme.js';

/**
 * ```
 * ✓ inetsrv 4.0 Service Pack 6 was installed in /tmp/inetsrv.
 *   Level         RTM -> Service Pack 6
 *   Files         5 replaced, 0 added, 0 deleted
 *   …
 * ```
 */
export function FinishScreen({ view }: { view: FinishView }) {
  return (
    <Box flexDirection="column">
      <Text wrap="wrap">
        <Text color={color.good}>{mark.done}</Text> <Text bold>{view.headline}</Text>
      </Text>
      <Text> </Text>
      <Box flexDirection="column" paddingLeft={2}>
        {view.rows.map(([label, value]) => (
          <Field key={label} label={label}>
            {label === 'Restart' && view.restartRequired ? <Text color={color.warn}>{value}</Text> : value}
          </Field>
        ))}
      </Box>
      <Text> </Text>
      <Text dimColor>Enter closes Setup (exit code {view.exitCode}).</Text>
    </Box>
  );
}
