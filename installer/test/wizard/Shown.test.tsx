/** @jsxRuntime automatic @jsxImportSource react */
/**
 * Issue 13, item 3 in the wizard: names on its screens (pack files from a folder anyone may write
 * to, engine messages) reach the terminal with their control characters escaped (Shown.tsx).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { render } from 'ink-testing-library';
import { ErrorScreen } from '../../src/wizard/components/ErrorScreen.js';
import { Field } from '../../src/wizard/components/Field.js';
import { Text } from '../../src/wizard/components/Shown.js';
import { errorView, WizardError } from '../../src/wizard/views.js';
import { waitFor } from './helpers.js';

const NAME = 'x\nInstalled inetsrv 4.0 Service Pack 6\x1b[2J\u009b1m\u202e.tgz';
const SHOWN = 'x\\nInstalled inetsrv 4.0 Service Pack 6\\e[2J\\x9b1m\\u{202e}.tgz';

test('a name with a newline, CSI and a bidi override is shown escaped, on its own line', async () => {
  const view = errorView(new WizardError('E_NOTHING_APPLICABLE', 3, `${NAME}: for alpha`, [`${NAME}: older`]));
  const r = render(
    <>
      <ErrorScreen view={view} />
      <Field label="Pack">{NAME}</Field>
      <Text>
        a nested <Text bold>{NAME}</Text> {7}
      </Text>
    </>,
  );
  const f = await waitFor(r, 'No update applies');
  const raw = r.lastFrame() ?? '';
  assert.ok(!raw.includes('\x1b[2J') && !raw.includes('\u009b') && !raw.includes('\u202e'), JSON.stringify(raw));
  assert.ok(!f.split('\n').some((l) => l.trimStart().startsWith('Installed')), f);
  assert.equal(f.split(SHOWN).length - 1, 4, f);
  assert.match(f, /a nested x\\nInstalled.* 7/);
  r.unmount();
});
