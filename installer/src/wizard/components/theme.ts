/**
 * The wizard's few colours. Meaning never rests on colour alone (markers and brackets carry it),
 * so NO_COLOR, which turns every style off, loses nothing but decoration.
 */
export const color = {
  accent: 'cyan',
  good: 'green',
  warn: 'yellow',
  bad: 'red',
} as const;

export const mark = {
  pointer: '›',
  done: '✓',
  failed: '✗',
  skipped: '–',
  running: '▸',
  pending: '·',
  warning: '!',
} as const;
