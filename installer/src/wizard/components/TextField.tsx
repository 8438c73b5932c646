/** @jsxRuntime automatic @jsxImportSource react */
import { Box, useInput, useStdin } from 'ink';
import { useEffect } from 'react';
import { editLine, type LineState, lineOf } from './line-edit.js';
import { Text } from './Shown.js';
import { useLatestState } from './use-latest-state.js';

export interface TextFieldProps {
  label: string;
  defaultValue: string;
  /** shown while the field is empty; marked as an example, so that without colour it is not read as a value */
  example?: string;
  active: boolean;
  onSubmit: (value: string) => void;
  /** Tab: the value completed (a path, by its caller) */
  complete?: (value: string) => string;
}

/**
 * ```
 * Folder: /opt/inet█
 * ```
 * It reads the raw events ink splits the input into (useInput's `key` cannot tell a chunk's
 * Backspace from its letters), applies each byte in order, and renders from the same state it
 * submits.
 */
const ignore = () => {};

export function TextField({ label, defaultValue, example, active, onSubmit, complete }: TextFieldProps) {
  const { internal_eventEmitter: input } = useStdin();
  const [line, getLine, setLine] = useLatestState<LineState>(() => lineOf(defaultValue));
  // (only for raw mode, which ink turns on while some useInput is active; the keys are read below)
  useInput(ignore, { isActive: active });
  useEffect(() => {
    if (!active) return;
    const onInput = (raw: string) => {
      const r = editLine(getLine(), raw, complete);
      setLine(r.state);
      if (r.submitted !== undefined) onSubmit(r.submitted);
    };
    input.on('input', onInput);
    return () => {
      input.off('input', onInput);
    };
  }, [active, input, getLine, setLine, onSubmit, complete]);
  const before = line.chars.slice(0, line.cursor).join('');
  const at = line.chars[line.cursor] ?? ' ';
  const after = line.chars.slice(line.cursor + 1).join('');
  return (
    <Box flexDirection="column">
      <Text wrap="wrap">
        {label}
        {before}
        <Text inverse>{at}</Text>
        {after}
      </Text>
      {line.chars.length === 0 && example ? <Text dimColor>{`(empty; for example ${example})`}</Text> : null}
    </Box>
  );
}
