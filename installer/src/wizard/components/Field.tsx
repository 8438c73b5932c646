/** @jsxRuntime automatic @jsxImportSource react */
import { Box } from 'ink';
import { Text } from './Shown.js';
import type { ReactNode } from 'react';

/** One "label  value" row of a details list; the value wraps under itself, not under the label. */
export function Field({ label, width = 14, children }: { label: string; width?: number; children: ReactNode }) {
  return (
    <Box>
      <Box width={width} flexShrink={0}>
        <Text dimColor>{label}</Text>
      </Box>
      <Box flexGrow={1}>
        <Text wrap="wrap">{children}</Text>
      </Box>
    </Box>
  );
}
