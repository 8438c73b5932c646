/** @jsxRuntime automatic @jsxImportSource react */
import { Box } from 'ink';
import { Text } from './Shown.js';
import type { RemoveView } from '../views.js';
import { Field } from './Field.js';
import { color, mark } from './theme.js';
import { choiceMarker, useChoice } from './use-choice.js';

export interface RemoveScreenProps {
  view: RemoveView;
  active: boolean;
  onChoose: (packId: string) => void;
}

/**
 * ```
 * Installed: inetsrv 4.0.0 x86, Service Pack 6. The update to remove:
 * › (•) inetsrv-4.0-sp6                         Service Pack 6, back to RTM
 *   Uninstall data  .servicepack/backup/inetsrv-4.0-sp6
 * Not removable now:
 *   ✗ inetsrv-4.0-sp1: Service Pack 1, back to RTM; remove inetsrv-4.0-sp6 first
 * ```
 */
export function RemoveScreen({ view, active, onChoose }: RemoveScreenProps) {
  const index = useChoice(
    view.offered,
    (o) => o.packId === view.selected,
    active,
    (o) => onChoose(o.packId),
  );
  const chosen = view.offered[index];
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">
        Installed: <Text bold>{view.installation}</Text>. The update to remove:
      </Text>
      {view.offered.map((o, i) => (
        <Box key={o.packId} justifyContent="space-between">
          <Text color={i === index ? color.accent : undefined}>
            {choiceMarker(i === index)} {o.packId}
          </Text>
          <Text dimColor>
            {o.kind}: {o.change}
          </Text>
        </Box>
      ))}
      {chosen ? (
        <Box flexDirection="column" marginTop={1} paddingLeft={2}>
          <Field label="Uninstall data" width={16}>
            {chosen.backup}
          </Field>
          <Field label="Result" width={16}>
            the files as they were before {chosen.packId}, byte for byte
          </Field>
        </Box>
      ) : null}
      {view.refused.length > 0 ? (
        <Box flexDirection="column" marginTop={1}>
          <Text>Not removable now:</Text>
          {view.refused.map((r) => (
            <Box key={r.packId} paddingLeft={2}>
              <Text dimColor>{mark.failed} </Text>
              <Text dimColor wrap="wrap">
                {r.packId}: {r.reason}
              </Text>
            </Box>
          ))}
        </Box>
      ) : null}
    </Box>
  );
}
