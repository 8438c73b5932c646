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

/** The rows the frame itself takes with a one-row key bar: title, stages, two rules, keys. */
export const FRAME_ROWS = 5;

const SEP = ' · ';
const width$ = (s: string) => [...s].length;

/**
 * The key bar, in as many rows as the terminal's width needs: a key cut off at the edge is a key
 * the administrator is never told about. The status goes on the last row if it fits, else its own.
 */
export function keyRows(keys: readonly KeyHint[], width: number, status?: string): KeyHint[][] {
  const rows: KeyHint[][] = [[]];
  let used = 0;
  for (const k of keys) {
    const w = width$(`${k[0]} ${k[1]}`);
    const row = rows[rows.length - 1]!;
    if (row.length > 0 && used + width$(SEP) + w > width) {
      rows.push([k]);
      used = w;
    } else {
      used += (row.length > 0 ? width$(SEP) : 0) + w;
      row.push(k);
    }
  }
  if (status !== undefined && used + 1 + width$(status) > width) rows.push([]);
  return rows;
}

/** The rows the frame takes around the screen for these keys. */
export function frameRows(keys: readonly KeyHint[], width: number, status?: string): number {
  return FRAME_ROWS - 1 + keyRows(keys, width, status).length;
}

/**
 * The stages that fit, always including the current one: the bar is cut at its ends ("… ›"), not
 * wherever the terminal's edge falls, which at 60 columns would hide "[Install]".
 */
export function stageWindow(stages: readonly Stage[], current: number, width: number): { from: number; to: number } {
  const w = (from: number, to: number) =>
    stages.slice(from, to).reduce((n, s, i) => n + width$(s) + (i > 0 ? 3 : 0), 0) +
    (from > 0 ? 4 : 0) +
    (to < stages.length ? 4 : 0) +
    (current >= from && current < to ? 2 : 0);
  let from = 0;
  let to = stages.length;
  const at = Math.max(0, current);
  while (w(from, to) > width && to - from > 1) {
    if (to - 1 > at) to--;
    else from++;
  }
  return { from, to };
}

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
  const { from, to } = stageWindow(stages, current, width);
  const rows = keyRows(keys, width, status);
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Box justifyContent="space-between">
        <Text bold wrap="truncate-end">
          {title}
        </Text>
        <Text dimColor>servicepack</Text>
      </Box>
      <Text wrap="truncate-end">
        {from > 0 ? <Text dimColor>… › </Text> : null}
        {stages.slice(from, to).map((s, j) => {
          const i = from + j;
          return (
            <Text key={s}>
              {j > 0 ? <Text dimColor> › </Text> : null}
              {i === current ? (
                <Text bold color={color.accent}>
                  [{s}]
                </Text>
              ) : (
                <Text dimColor={i > current}>{s}</Text>
              )}
            </Text>
          );
        })}
        {to < stages.length ? <Text dimColor> › …</Text> : null}
      </Text>
      <Text dimColor>{rule}</Text>
      <Box
        flexDirection="column"
        height={Math.max(1, height - FRAME_ROWS + 1 - rows.length)}
        flexShrink={0}
        paddingX={1}
        overflow="hidden"
      >
        {children}
      </Box>
      <Text dimColor>{rule}</Text>
      {rows.map((row, r) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: rows are positions in the bar
        <Box key={r} justifyContent="space-between" flexShrink={0}>
          <Text wrap="truncate-end">
            {row.map(([k, label], i) => (
              <Text key={k}>
                {i > 0 ? <Text dimColor> · </Text> : null}
                <Text bold>{k}</Text> {label}
              </Text>
            ))}
          </Text>
          {status && r === rows.length - 1 ? <Text color={color.warn}>{status}</Text> : null}
        </Box>
      ))}
    </Box>
  );
}
