import { useInput } from 'ink';
import { mark } from './theme.js';
import { useLatestState } from './use-latest-state.js';

/**
 * The highlighted row of a one-of-N list, as the update and remove screens move through theirs:
 * Up/Down and Shift+Tab/Tab wrap around, Return chooses the highlighted row. It starts on the row
 * `isSelected` names, or the first.
 */
export function useChoice<T>(
  rows: readonly T[],
  isSelected: (row: T) => boolean,
  active: boolean,
  onChoose: (row: T) => void,
): number {
  const [index, getIndex, setIndex] = useLatestState(() => Math.max(0, rows.findIndex(isSelected)));
  const count = rows.length;
  useInput(
    (_input, key) => {
      if (count === 0) return;
      if (key.upArrow || (key.tab && key.shift)) setIndex((i) => (i + count - 1) % count);
      else if (key.downArrow || key.tab) setIndex((i) => (i + 1) % count);
      else if (key.return) onChoose(rows[getIndex()]!);
    },
    { isActive: active },
  );
  return index;
}

/** The marker in front of a row of such a list. */
export function choiceMarker(highlighted: boolean): string {
  return highlighted ? `${mark.pointer} (•)` : '  ( )';
}
