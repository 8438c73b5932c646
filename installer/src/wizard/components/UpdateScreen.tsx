/** @jsxRuntime automatic @jsxImportSource react */
import { Box } from 'ink';
import { Text } from './Shown.js';
import type { UpdateView } from '../views.js';
import { Field } from './Field.js';
import { color, mark } from './theme.js';
import { choiceMarker, useChoice } from './use-choice.js';

export interface UpdateScreenProps {
  view: UpdateView;
  active: boolean;
  onChoose: (path: string) => void;
}

/**
 * ```
 * Installed: inetsrv 4.0.0 x86, RTM. Choose the update to install:
 * › (•) inetsrv 4.0 Service Pack 6                 Service Pack 6 · 10.3 KiB
 *
 * inetsrv 4.0 Service Pack 6 (inetsrv-4.0-sp6-x86.tgz)
 *   Fixes       Q236565  TCP connections not released by inetsrv
 *   …
 * Not applicable:
 *   inetsrv-4.0-sp6-alpha.tgz: … is for alpha; this installation is x86 …
 * ```
 */
export function UpdateScreen({ view, active, onChoose }: UpdateScreenProps) {
  const index = useChoice(
    view.offered,
    (p) => p.path === view.selected,
    active,
    (p) => onChoose(p.path),
  );
  const pack = view.offered[index];
  // every fix and every refused pack is listed: the screen scrolls (Scroll) rather than drop rows
  const fixes = pack?.fixes ?? [];
  const refused = view.refused;
  return (
    <Box flexDirection="column">
      <Text wrap="wrap">
        Installed: <Text bold>{view.installation}</Text>. Choose the update to install:
      </Text>
      {view.offered.map((p, i) => (
        <Box key={p.path} justifyContent="space-between">
          <Box flexShrink={1}>
            <Text wrap="truncate-end" color={i === index ? color.accent : undefined}>
              {choiceMarker(i === index)} {p.title}
            </Text>
          </Box>
          <Box flexShrink={0} marginLeft={1}>
            <Text dimColor>
              {p.level} · {p.size}
            </Text>
          </Box>
        </Box>
      ))}
      {pack ? (
        <Box flexDirection="column" marginTop={1}>
          <Text bold wrap="truncate-end">
            {pack.title} ({pack.file})
          </Text>
          <Box flexDirection="column" paddingLeft={2}>
            {fixes.length === 0 ? (
              <Field label="Fixes" width={12}>
                none listed
              </Field>
            ) : null}
            {fixes.map((f, i) => (
              <Box key={f.id}>
                <Box width={12} flexShrink={0}>
                  <Text dimColor>{i === 0 ? 'Fixes' : ''}</Text>
                </Box>
                <Box width={10} flexShrink={0}>
                  <Text bold>{f.id}</Text>
                </Box>
                <Box flexGrow={1} flexShrink={1}>
                  <Text wrap="wrap">{f.title}</Text>
                </Box>
              </Box>
            ))}
            {pack.replaces !== undefined ? (
              <Field label="Replaces" width={12}>
                {pack.replaces}
              </Field>
            ) : null}
            <Field label="Size" width={12}>
              {pack.size} pack; {pack.payload}
            </Field>
            <Field label="Signed by" width={12}>
              {pack.signers.length === 0 ? (
                <Text color={color.warn}>not signed (allowed by --allow-unsigned)</Text>
              ) : (
                pack.signers.map((s) => `${s.keyid} ${s.status}`).join('; ')
              )}
            </Field>
            <Field label="Restart" width={12}>
              {pack.restart}
            </Field>
          </Box>
        </Box>
      ) : null}
      {refused.length > 0 ? (
        <Box flexDirection="column" marginTop={1}>
          <Text>Not applicable here (not offered):</Text>
          {refused.map((r) => (
            <Box key={r.file} paddingLeft={2}>
              <Text dimColor>{mark.failed} </Text>
              <Text dimColor wrap="wrap">
                {r.line}
              </Text>
            </Box>
          ))}
        </Box>
      ) : null}
    </Box>
  );
}
