/** @jsxRuntime automatic @jsxImportSource react */
import { Box, useInput } from 'ink';
import { Text } from './Shown.js';
import { useMemo } from 'react';
import type { LicenseView } from '../views.js';
import { reflowText } from './text.js';
import { color } from './theme.js';
import { useLatestState } from './use-latest-state.js';

export interface LicenseScreenProps {
  view: LicenseView;
  width: number;
  height: number;
  active: boolean;
  onAccept: () => void;
}

/** heading, the box's two borders, the accept line */
const CHROME_ROWS = 4;

/**
 * ```
 * License agreement: inetsrv 4.0 Service Pack 6 (EULA.txt)          lines 1–14 of 20
 * ┌──────────────────────────────────────────────────────────────────────────┐
 * │ inetsrv 4.0 SERVICE PACK …                                               │
 * └──────────────────────────────────────────────────────────────────────────┘
 * [ ] I accept the agreement                    Space accepts · q declines and quits
 * ```
 */
export function LicenseScreen({ view, width, height, active, onAccept }: LicenseScreenProps) {
  const lines = useMemo(() => reflowText(view.text, width - 4), [view.text, width]);
  const visible = Math.max(3, height - CHROME_ROWS);
  const maxTop = Math.max(0, lines.length - visible);
  const [top, getTop, setTop] = useLatestState(0);
  const [accepted, getAccepted, setAccepted] = useLatestState(view.accepted);
  const [nudge, , setNudge] = useLatestState(false);
  const first = Math.min(top, maxTop);
  useInput(
    (input, key) => {
      const page = visible - 1;
      const at = Math.min(getTop(), maxTop);
      if (key.upArrow) setTop(Math.max(0, at - 1));
      else if (key.downArrow) setTop(Math.min(maxTop, at + 1));
      else if (key.pageUp) setTop(Math.max(0, at - page));
      else if (key.pageDown) setTop(Math.min(maxTop, at + page));
      else if (key.home) setTop(0);
      else if (key.end) setTop(maxTop);
      else if (input === ' ' || input === 'a' || input === 'A') {
        setAccepted((a) => !a);
        setNudge(false);
      } else if (key.return) {
        if (getAccepted()) onAccept();
        else setNudge(true);
      }
    },
    { isActive: active },
  );
  const shown = lines.slice(first, first + visible);
  const last = Math.min(lines.length, first + visible);
  return (
    // Every row is exactly one terminal row (cut, never wrapped, never shrunk): the box's height is
    // counted from them, and a row that wrapped would push the text over itself.
    <Box flexDirection="column" flexShrink={0}>
      <Box justifyContent="space-between" flexShrink={0}>
        <Box flexShrink={1}>
          <Text wrap="truncate-end">
            License agreement: <Text bold>{view.title}</Text> ({view.document})
          </Text>
        </Box>
        <Box flexShrink={0} marginLeft={1}>
          <Text dimColor>
            {lines.length > visible ? `lines ${first + 1}–${last} of ${lines.length}` : `${lines.length} lines`}
          </Text>
        </Box>
      </Box>
      <Box flexDirection="column" borderStyle="single" paddingX={1} height={visible + 2} flexShrink={0}>
        {shown.map((l, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: lines are positions in a viewport, not items
          <Text key={i} wrap="truncate-end">
            {l === '' ? ' ' : l}
          </Text>
        ))}
      </Box>
      <Box justifyContent="space-between" flexShrink={0}>
        <Box flexShrink={0} marginRight={1}>
          <Text color={accepted ? color.good : undefined} bold={accepted}>
            {accepted ? '[x]' : '[ ]'} I accept the agreement
          </Text>
        </Box>
        <Box flexShrink={1}>
          {nudge ? (
            <Text color={color.warn} wrap="truncate-end">
              Accept with Space to continue, or q to quit
            </Text>
          ) : (
            <Text dimColor wrap="truncate-end">
              Space accepts · q declines and quits
            </Text>
          )}
        </Box>
      </Box>
    </Box>
  );
}
