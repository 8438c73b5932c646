/** @jsxRuntime automatic @jsxImportSource react */
// (The pragma: tsx transforms tests with the root tsconfig, which sets no jsx; tsc uses react-jsx.)
import { Box } from 'ink';
import { Text } from './Shown.js';
import type { ReactNode } from 'react';
import type { Stage } from '../ui.js';
import { color } from './theme.js';

export type KeyHint = readonly [key: string, label: string];

export interface FrameProps {
  title: string;
  stage: Stage;
  stages: readonly Stage[];
  width: number;
  height: number;
  keys: readonly KeyHint[];
  /** a line on the right of the key bar (e.g. "Leaving when done…") */
  status?: string;
  children: ReactNode;
}

/** The rows the frame itself takes: title, stages, two rules, keys. */
export const FRAME_ROWS = 5;

/**
 * The wizard's chrome, sized to the terminal:
 * ```
 * inetsrv 4.0 Web Server — Service Pack Setup                     servicepack
 * Welcome › Installation › [Update] › License › Options › Install › Finish
 * ───────────────────────────────────────────────────────────────────────────
 *  (the screen)
 * ───────────────────────────────────────────────────────────────────────────
 * Enter Next · Esc Back · q Cancel
 * ```
 */
export function Frame({ title, stage, stages, width, height, keys, status, children }: FrameProps) {
  const current = stages.indexOf(stage);
  const rule = '─'.repeat(width);
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Box justifyContent="space-between">
        <Text bold wrap="truncate-end">
          {title}
        </Text>
        <Text dimColor>servicepack</Text>
      </Box>
      <Text wrap="truncate-end">
        {stages.map((s, i) => (
          <Text key={s}>
            {i > 0 ? <Text dimColor> › </Text> : null}
            {i === current ? (
              <Text bold color={color.accent}>
                [{s}]
              </Text>
            ) : (
              <Text dimColor={i > current}>{s}</Text>
            )}
          </Text>
        ))}
      </Text>
      <Text dimColor>{rule}</Text>
      <Box flexDirection="column" height={Math.max(1, height - FRAME_ROWS)} paddingX={1} overflow="hidden">
        {children}
      </Box>
      <Text dimColor>{rule}</Text>
      <Box justifyContent="space-between">
        <Text wrap="truncate-end">
          {keys.map(([k, label], i) => (
            <Text key={k}>
              {i > 0 ? <Text dimColor> · </Text> : null}
              <Text bold>{k}</Text> {label}
            </Text>
          ))}
        </Text>
        {status ? <Text color={color.warn}>{status}</Text> : null}
      </Box>
    </Box>
  );
}
