/** @jsxRuntime automatic @jsxImportSource react */
import { ProgressBar } from '@inkjs/ui';
import { Box } from 'ink';
import { Text } from './Shown.js';
import type { ProgressView, StepState } from '../progress.js';
import { formatBytes } from '../views.js';
import { color, mark } from './theme.js';

const MARK: Record<StepState, { m: string; color?: string; dim?: boolean }> = {
  pending: { m: mark.pending, dim: true },
  running: { m: mark.running, color: color.accent },
  done: { m: mark.done, color: color.good },
  skipped: { m: mark.skipped, dim: true },
  failed: { m: mark.failed, color: color.bad },
};

const VERBS = { install: ['Installing', 'Installed'], uninstall: ['Removing', 'Removed'] } as const;

function percent(n: number, total: number): number {
  return total > 0 ? Math.round((n / total) * 100) : 0;
}

/**
 * ```
 * Installing inetsrv 4.0 Service Pack 6 in /tmp/inetsrv
 *   ✓ Take the lock                      ▸ Replace the files
 *   …
 * Files  ■■■■■■■■■■■■■■■■■■■■░░░░░░░░░░░░░░░░░░░░░░░░    3/5
 * Bytes  ■■■■■■■■■■■■■■■■■■■■■■■■■■░░░░░░░░░░░░░░░░░░    12.3 KiB / 26.2 KiB
 * ```
 */
export function ProgressScreen({ view, width }: { view: ProgressView; width: number }) {
  const half = Math.ceil(view.steps.length / 2);
  const columns = [view.steps.slice(0, half), view.steps.slice(half)];
  const barWidth = Math.max(10, width - 30);
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">
        {VERBS[view.action][view.finished ? 1 : 0]} <Text bold>{view.title}</Text>{' '}
        {view.action === 'install' ? 'in' : 'from'} {view.root}
      </Text>
      <Text> </Text>
      <Box>
        {columns.map((col) => (
          <Box key={col[0]?.step ?? 'empty'} flexDirection="column" width={Math.floor((width - 2) / 2)}>
            {col.map((s) => {
              const k = MARK[s.state];
              return (
                <Text key={s.step} wrap="truncate-end">
                  {'  '}
                  <Text color={k.color} dimColor={k.dim === true}>
                    {k.m}
                  </Text>{' '}
                  <Text dimColor={s.state === 'pending'}>{s.label}</Text>
                </Text>
              );
            })}
          </Box>
        ))}
      </Box>
      <Text> </Text>
      <Box>
        <Text>Files </Text>
        <Box width={barWidth}>
          <ProgressBar value={percent(view.files, view.totalFiles)} />
        </Box>
        <Text>
          {'  '}
          {view.files}/{view.totalFiles}
        </Text>
      </Box>
      <Box>
        <Text>Bytes </Text>
        <Box width={barWidth}>
          <ProgressBar value={percent(view.bytes, view.totalBytes)} />
        </Box>
        <Text>
          {'  '}
          {formatBytes(view.bytes)} / {formatBytes(view.totalBytes)}
        </Text>
      </Box>
      {view.trial !== undefined ? (
        <Text color={color.accent} wrap="wrap">
          {mark.running} {view.trial}
        </Text>
      ) : (
        <Text dimColor wrap="truncate-end">
          {view.path ?? ' '}
        </Text>
      )}
      {view.warnings.map((w) => (
        <Text key={w} color={color.warn} wrap="truncate-end">
          {mark.warning} {w}
        </Text>
      ))}
      <Text dimColor wrap="wrap">
        {view.committing && !view.finished
          ? 'The files are being replaced: the change runs to its end (or rolls back whole). Esc only asks to leave afterwards.'
          : ' '}
      </Text>
    </Box>
  );
}
