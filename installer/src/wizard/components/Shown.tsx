/** @jsxRuntime automatic @jsxImportSource react */
import { Text as InkText, type TextProps } from 'ink';
import { Children } from 'react';
import { escapeControls } from '../../reporters/printable.js';

/**
 * The wizard's Text: ink's, with every string in it escaped by the one rule of printable.ts. The
 * screens show pack file names from a folder anyone may write to, manifest titles and engine
 * messages; ink would pass an ESC or a newline in them straight to the terminal. Styles are props,
 * never characters in the text, so nothing of ours is lost. (biome.json keeps ink's Text out of
 * the other components.)
 */
export function Text({ children, ...props }: TextProps) {
  return <InkText {...props}>{Children.map(children, (c) => (typeof c === 'string' ? escapeControls(c) : c))}</InkText>;
}
