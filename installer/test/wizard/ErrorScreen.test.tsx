/** @jsxRuntime automatic @jsxImportSource react */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { render } from 'ink-testing-library';
import { ErrorScreen } from '../../src/wizard/components/ErrorScreen.js';
import { errorView, WizardError } from '../../src/wizard/views.js';
import { waitFor } from './helpers.js';

test('an error is a screen: title, the message, nothing changed, the exit code — no stack trace', async () => {
  const view = errorView(
    new WizardError('E_NOTHING_APPLICABLE', 3, 'None of the 2 packs can be installed here:', [
      'a.tgz: for alpha',
      'b.tgz: older',
    ]),
  );
  const r = render(<ErrorScreen view={view} />);
  const f = await waitFor(r, '✗ No update applies to this installation');
  assert.match(f, /a\.tgz: for alpha/);
  assert.match(f, /Nothing was changed\./);
  assert.match(f, /Exit code 3 \(not applicable\)\./);
  assert.doesNotMatch(f, /at .*\.ts:\d+/);
  r.unmount();
});

test('an offer (recover) and a way back are spelled out', async () => {
  const view = {
    ...errorView(new WizardError('E_NEEDS_RECOVER', 6, 'an interrupted install left /r unfinished')),
    action: 'Recover now',
    canGoBack: true,
  };
  const r = render(<ErrorScreen view={view} />);
  const f = await waitFor(r, 'An interrupted installation was found');
  assert.match(f, /R: Recover now\./);
  assert.match(f, /Esc goes back to the options/);
  r.unmount();
});
