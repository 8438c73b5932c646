/** @jsxRuntime automatic @jsxImportSource react */
import { Box, type DOMElement, measureElement, useInput } from 'ink';
import { type ReactNode, useCallback, useEffect, useRef, useState } from 'react';
import { Text } from './Shown.js';
import { useLatestState } from './use-latest-state.js';

export interface ScrollProps {
  /** the rows the screen may take */
  height: number;
  /** PgUp / PgDn move it (off while a dialog is open) */
  active: boolean;
  children: ReactNode;
}

/**
 * A screen taller than the room it has is laid out at its full height and shown through a window,
 * never squeezed: ink shrinks rows that do not fit until they overwrite each other ("warranties
 * ofed,"), and what does not fit would vanish without a word. When it overflows, the last row
 * says so and names the keys that scroll.
 */
export function Scroll({ height, active, children }: ScrollProps) {
  const content = useRef<DOMElement>(null);
  const [total, setTotal] = useState(0);
  const [top, getTop, setTop] = useLatestState(0);
  const measure = useCallback(() => {
    if (content.current) setTotal(measureElement(content.current).height);
  }, []);
  // measured after each render of this frame, and every 100 ms besides: a screen that re-renders
  // by itself (a toggle, another option's help, a progress line) changes its height without us
  useEffect(measure);
  useEffect(() => {
    const t = setInterval(measure, 100);
    return () => clearInterval(t);
  }, [measure]);
  const overflow = total > height;
  const visible = overflow ? Math.max(1, height - 1) : height;
  const maxTop = Math.max(0, total - visible);
  const first = Math.min(top, maxTop);
  useInput(
    (_input, key) => {
      const at = Math.min(getTop(), maxTop);
      const page = Math.max(1, visible - 1);
      if (key.pageDown) setTop(Math.min(maxTop, at + page));
      else if (key.pageUp) setTop(Math.max(0, at - page));
    },
    { isActive: active && overflow },
  );
  return (
    <Box flexDirection="column" height={height} flexShrink={0}>
      <Box flexDirection="column" height={visible} overflow="hidden" flexShrink={0}>
        <Box ref={content} flexDirection="column" flexShrink={0} marginTop={-first}>
          {children}
        </Box>
      </Box>
      {overflow ? (
        <Text dimColor wrap="truncate-end">
          {`rows ${first + 1}–${Math.min(total, first + visible)} of ${total}${first < maxTop ? ' · PgDn more below' : ''}${first > 0 ? ' · PgUp above' : ''}`}
        </Text>
      ) : null}
    </Box>
  );
}
