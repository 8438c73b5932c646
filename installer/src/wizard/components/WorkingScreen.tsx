/** @jsxRuntime automatic @jsxImportSource react */
import { Spinner } from '@inkjs/ui';
import { Box } from 'ink';
import { escapeControls } from '../../reporters/printable.js';
import type { WorkingView } from '../views.js';

/** Shown while a step reads something (the installation, the packs, a document). */
export function WorkingScreen({ view }: { view: WorkingView }) {
  return (
    <Box>
      <Spinner label={escapeControls(view.message)} />
    </Box>
  );
}
