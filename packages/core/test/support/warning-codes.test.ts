import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ServicepackEvent, WARNING_CODES } from '../../src/support/events.js';

// Checked by `pnpm typecheck` (tsconfig.tests.json): an unused @ts-expect-error is an error there.
test('warning codes are a closed list: a code built from data, or misspelt, does not type-check', () => {
  const kind: string = 'buildinfo';
  // @ts-expect-error a code built by template is not a WarningCode
  const built: ServicepackEvent = { type: 'warning', code: `W_${kind.toUpperCase()}`, message: 'x' };
  // @ts-expect-error a misspelt code
  const typo: ServicepackEvent = { type: 'warning', code: 'W_RESTART_FAILD', message: 'x' };
  assert.equal(new Set(WARNING_CODES).size, WARNING_CODES.length);
  for (const ev of [built, typo])
    assert.ok(ev.type === 'warning' && !(WARNING_CODES as readonly string[]).includes(ev.code));
  for (const code of WARNING_CODES) assert.match(code, /^W_[A-Z_]+$/);
});
