/** @jsxRuntime automatic @jsxImportSource react */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Text } from 'ink';
import { render } from 'ink-testing-library';
import { Frame } from '../../src/wizard/components/Frame.js';
import { frame } from './helpers.js';

test('the frame fits 80×24: title, stages with the current one marked, the screen, the keys', () => {
  const r = render(
    <Frame
      title="inetsrv 4.0 Web Server — Service Pack Setup"
      stage="Update"
      stages={['Welcome', 'Installation', 'Update', 'License', 'Options', 'Install', 'Finish']}
      width={79}
      height={23}
      keys={[
        ['Enter', 'Next'],
        ['Esc', 'Back'],
      ]}
    >
      <Text>the screen</Text>
    </Frame>,
  );
  const f = frame(r);
  const lines = f.split('\n');
  assert.equal(lines.length, 23);
  assert.ok(
    lines.every((l) => l.length <= 79),
    'no line wider than the terminal',
  );
  assert.match(lines[0]!, /^inetsrv 4\.0 Web Server — Service Pack Setup +servicepack$/);
  assert.match(lines[1]!, /Welcome › Installation › \[Update\] › License › Options › Install › Finish/);
  assert.match(lines[3]!, /^ the screen/);
  assert.match(lines[22]!, /^Enter Next · Esc Back/);
  r.unmount();
});
