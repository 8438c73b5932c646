/** @jsxRuntime automatic @jsxImportSource react */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { render } from 'ink-testing-library';
import { WizardApp } from '../../src/wizard/components/WizardApp.js';
import { initialProgress } from '../../src/wizard/progress.js';
import { type Answer, type AskName, UiController, WizardCancelled } from '../../src/wizard/ui.js';
import { errorView, optionsView, WizardError } from '../../src/wizard/views.js';
import { delay, frame, KEY, press, request, waitFor } from './helpers.js';

const SIZE = { columns: 80, rows: 24 };

function setup() {
  const c = new UiController();
  const r = render(<WizardApp controller={c} size={SIZE} />);
  return { c, r };
}

/** Settles the ask into a value so a test can look at it after pressing keys. */
function track<K extends AskName>(p: Promise<Answer<K>>) {
  const out: { answer?: Answer<K>; error?: unknown } = {};
  p.then(
    (a) => {
      out.answer = a;
    },
    (e: unknown) => {
      out.error = e;
    },
  );
  return out;
}

const welcome = { heading: 'Welcome to Service Pack Setup.', intro: 'intro', steps: [], note: 'note' };
const updateView = { installation: 'inetsrv 4.0.0 x86, RTM', offered: [], refused: [], selected: '' };

describe('the wizard app: shared keys, dialogs, layout', () => {
  test('Enter answers the question on screen', async () => {
    const { c, r } = setup();
    const t = track(c.ask('welcome', welcome));
    await waitFor(r, 'Welcome to Service Pack Setup.');
    await press(r, KEY.enter);
    assert.deepEqual(t.answer, { nav: 'next', value: undefined });
    r.unmount();
  });

  test('q asks before cancelling; n keeps going; y cancels (the question rejects)', async () => {
    const { c, r } = setup();
    const t = track(c.ask('welcome', welcome));
    await waitFor(r, 'Welcome');
    await press(r, 'q');
    await waitFor(r, 'Cancel Setup?');
    assert.match(frame(r), /Nothing has been changed\. Quit Setup now\? \(y\/N\)/);
    assert.match(frame(r), /y Yes · n No/);
    await press(r, 'n');
    await waitFor(r, (f) => !f.includes('Cancel Setup?'));
    assert.equal(t.error, undefined);
    await press(r, KEY.esc);
    await waitFor(r, 'Cancel Setup?');
    await press(r, 'y');
    await waitFor(r, 'Cancelling…');
    assert.ok((t.error as unknown) instanceof WizardCancelled);
    assert.equal(c.getSnapshot().cancelled, true);
    await assert.rejects(c.ask('update', updateView), WizardCancelled);
    r.unmount();
  });

  test('Esc goes back; Ctrl-C asks, a second Ctrl-C confirms', async () => {
    const { c, r } = setup();
    const t = track(c.ask('update', updateView));
    await waitFor(r, 'Choose the update');
    await press(r, KEY.esc);
    assert.deepEqual(t.answer, { nav: 'back' });
    const t2 = track(c.ask('update', updateView));
    await delay(20);
    await press(r, KEY.ctrlC);
    await waitFor(r, 'Cancel Setup?');
    await press(r, KEY.ctrlC);
    await waitFor(r, () => t2.error !== undefined);
    assert.ok(t2.error instanceof WizardCancelled);
    r.unmount();
  });

  test('during the transaction Esc only asks to close when done; the transaction is not touched', async () => {
    const { c, r } = setup();
    c.display('progress', { ...initialProgress('SP6', '/r'), committing: true });
    await waitFor(r, 'Installing SP6 in /r');
    await press(r, KEY.esc);
    await waitFor(r, 'Close Setup when done?');
    assert.match(frame(r), /cannot be stopped halfway/);
    await press(r, 'n');
    await waitFor(r, (f) => !f.includes('Close Setup when done?'));
    assert.equal(c.leaveRequested(), false);
    await press(r, 'q', 'y');
    await waitFor(r, 'Closing when the installation has ended…');
    assert.equal(c.leaveRequested(), true);
    assert.equal(c.getSnapshot().cancelled, false);
    r.unmount();
  });

  test('"Close Setup when done?" disappears when the install ends; y given as it ends closes the finish screen', async () => {
    const { c, r } = setup();
    const running = { ...initialProgress('SP6', '/r'), committing: true };
    c.display('progress', running);
    await waitFor(r, 'Installing SP6 in /r');
    await press(r, KEY.esc);
    await waitFor(r, 'Close Setup when done?');
    // the install ends while the question is open: the finish screen, and no question over it
    c.display('progress', { ...running, finished: true });
    const finish = { headline: 'SP6 was installed in /r.', rows: [], restartRequired: false, exitCode: 0 };
    const t = track(c.ask('finish', finish));
    await waitFor(r, 'SP6 was installed in /r.');
    const f = await waitFor(r, (x) => !x.includes('Close Setup when done?'));
    assert.match(f, /Enter Close/);
    assert.equal(t.answer, undefined, 'the finish screen waits for its own key');
    await press(r, KEY.enter);
    assert.deepEqual(t.answer, { nav: 'next', value: undefined });

    // the y that crosses the end: the controller closes the finish screen instead of waiting forever
    const t2 = track(c.ask('finish', finish));
    c.requestLeave();
    await delay(0);
    assert.deepEqual(t2.answer, { nav: 'next', value: undefined });
    // and one given just before the end closes the screen that reports it as soon as it is asked
    const c2 = new UiController();
    c2.display('progress', running);
    c2.requestLeave();
    const t3 = track(c2.ask('error', errorView(new WizardError('E_BUSY', 5, 'busy'))));
    await delay(0);
    assert.deepEqual(t3.answer, { nav: 'next', value: 'close' });
    r.unmount();
  });

  test("a screen that grows by itself (another option's longer help) is never cut without saying so", async () => {
    const choices = { backup: true, restart: true, modified: 'stop' as const };
    // at some of these heights the screen fits until the longer help of "Changed files" is shown
    for (let rows = 20; rows <= 32; rows++) {
      const c = new UiController();
      const r = render(<WizardApp controller={c} size={{ columns: 60, rows }} />);
      void c.ask('options', optionsView({ request: request(), cwd: '/w', choices }, undefined, '/r', '/w/sp6.tgz'));
      await waitFor(r, 'Options for');
      await delay(150);
      await press(r, KEY.down, KEY.down);
      await waitFor(r, /› Changed files/);
      await delay(250);
      const f = frame(r);
      assert.ok(
        /Enter installs the update\s+now\./.test(f) || /PgDn more below/.test(f),
        `at 60×${rows} the last row is shown or the screen says there is more:\n${f}`,
      );
      r.unmount();
    }
  });

  test('error screens: Enter closes, Esc goes back when offered, R takes the offer', async () => {
    const { c, r } = setup();
    const base = errorView(new WizardError('E_BUSY', 5, 'busy'));
    const t1 = track(c.ask('error', base));
    await waitFor(r, 'Another installation is running');
    await press(r, KEY.esc);
    assert.deepEqual(t1.answer, { nav: 'next', value: 'close' });
    const t2 = track(c.ask('error', { ...base, canGoBack: true }));
    await delay(20);
    await press(r, KEY.esc);
    assert.deepEqual(t2.answer, { nav: 'back' });
    const t3 = track(c.ask('error', { ...base, action: 'Recover now' }));
    await waitFor(r, 'R Recover now · Enter Close');
    await press(r, 'r');
    assert.deepEqual(t3.answer, { nav: 'next', value: 'action' });
    r.unmount();
  });

  test('a key pressed twice answers one question once', async () => {
    const { c, r } = setup();
    const t = track(c.ask('welcome', welcome));
    await waitFor(r, 'Welcome');
    r.stdin.write(KEY.enter);
    r.stdin.write(KEY.enter);
    await delay(30);
    const t2 = track(c.ask('update', updateView));
    await delay(30);
    assert.deepEqual(t.answer, { nav: 'next', value: undefined });
    assert.equal(t2.answer, undefined, 'the second Enter did not answer the next screen');
    r.unmount();
  });

  test('the frame follows the terminal size and redraws on resize', async () => {
    const c = new UiController();
    const r = render(<WizardApp controller={c} />);
    c.display('working', { message: 'Reading the update packs…' });
    let f = await waitFor(r, 'Reading the update packs…');
    assert.equal(Math.max(...f.split('\n').map((l) => l.length)), 99, 'ink-testing-library reports 100 columns');
    Object.defineProperty(r.stdout, 'columns', { value: 60, configurable: true });
    r.stdout.emit('resize');
    f = await waitFor(r, (x) => Math.max(...x.split('\n').map((l) => l.length)) === 59);
    assert.equal(f.split('\n').length, 23);
    r.unmount();
  });
});
