/**
 * Issue 13, item 3, renderer by renderer: every human front end shows names and engine messages
 * with their control characters escaped (printable.ts), our own line breaks and colours intact.
 * The end-to-end case (a pack file named with a forged "Installed" line): test/output-injection.test.ts.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import type { Io } from '../src/io.js';
import { JsonReporter } from '../src/reporters/json.js';
import { LinesFrontEnd } from '../src/reporters/lines.js';
import { ListrFrontEnd } from '../src/reporters/listr.js';
import { PlainReporter, paint } from '../src/reporters/plain.js';
import { commanderMessage, escapeControls, joinShown, printable, safe } from '../src/reporters/printable.js';
import type { TargetOutcome } from '../src/front-end.js';

const HOSTILE =
  'evil\nInstalled inetsrv 4.0 Service Pack 6\r\x1b[2J\x1b]0;t\x07\x7f\u0085\u009b1m\u2028\u2029\u202ex\u2066\u200f';
const ESCAPED =
  'evil\\nInstalled inetsrv 4.0 Service Pack 6\\r\\e[2J\\e]0;t\\x07\\x7f\\x85\\x9b1m\\u{2028}\\u{2029}\\u{202e}x\\u{2066}\\u{200f}';
/** what may never reach a human's screen or log from a name (SGR colour codes of our own aside) */
const RAW = /[\x00-\x09\x0b-\x1a\x1c-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f]|\x1b(?!\[\d+m)/;

function capture(tty = false): { io: Io; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: {
      out: {
        write: (t) => {
          out += t;
        },
        isTTY: tty,
      },
      err: {
        write: (t) => {
          err += t;
        },
        isTTY: tty,
      },
      env: {},
      interactive: tty,
    },
    out: () => out,
    err: () => err,
  };
}

function noForgery(text: string): void {
  assert.doesNotMatch(text, RAW, JSON.stringify(text));
  assert.ok(!text.split('\n').some((l) => l.startsWith('Installed')), text);
}

describe('the escape rule', () => {
  test('C0, DEL, C1, line and paragraph separators, bidi controls; everything else as it is', () => {
    assert.equal(escapeControls(HOSTILE), ESCAPED);
    assert.equal(escapeControls('plain: ÄÖÜ, 日本, emoji 🙂, tab-less'), 'plain: ÄÖÜ, 日本, emoji 🙂, tab-less');
    assert.equal(escapeControls('a\tb\u0000'), 'a\\tb\\x00');
  });

  test('safe`…` keeps our own text and escapes every value; colours wrap escaped text', () => {
    assert.equal(safe`line one\n  ${HOSTILE}: ${3}`.text, `line one\n  ${ESCAPED}: 3`);
    const p = paint(true);
    assert.equal(safe`${p.green('Installed')} ${HOSTILE}`.text, `\x1b[32mInstalled\x1b[39m ${ESCAPED}`);
    assert.equal(p.bold(HOSTILE).text, `\x1b[1m${ESCAPED}\x1b[22m`);
    assert.equal(joinShown([HOSTILE, printable('b')], ', ').text, `${ESCAPED}, b`);
    assert.equal(printable(printable(HOSTILE)).text, ESCAPED, 'escaped once, not twice');
  });

  test("commander's messages: what was typed is escaped, its own suggestion line stays", () => {
    assert.equal(commanderMessage(`error: unknown option '${HOSTILE}'\n`), `error: unknown option '${ESCAPED}'\n`);
    assert.equal(
      commanderMessage("error: unknown option '--rot'\n(Did you mean --root?)\n"),
      "error: unknown option '--rot'\n(Did you mean --root?)\n",
    );
  });
});

describe('every human renderer escapes', () => {
  test('plain (install, uninstall, query…): events, warnings, results, errors', () => {
    const c = capture(true);
    const r = new PlainReporter({ err: c.io.err, out: c.io.out, quiet: false, env: {} });
    r.sink({ type: 'info', message: HOSTILE });
    r.sink({ type: 'warning', code: 'W_LOG', message: HOSTILE });
    r.print(safe`${r.o.green('Installed')} ${HOSTILE} in /r`);
    r.error(HOSTILE);
    noForgery(c.out() + c.err());
    assert.ok(c.err().includes(`     ${ESCAPED}\n`));
    assert.ok(c.err().includes(ESCAPED));
    assert.equal(c.out(), `\x1b[32mInstalled\x1b[39m ${ESCAPED} in /r\n`);
  });

  test('--json: the warning echoed to stderr is escaped, the document keeps the raw string', () => {
    const c = capture();
    const r = new JsonReporter(c.io.out, c.io.err, false);
    r.sink({ type: 'warning', code: 'W_LOG', message: HOSTILE });
    r.result({});
    noForgery(c.err());
    assert.equal(c.err(), `warning: ${ESCAPED}\n`);
    assert.equal((JSON.parse(c.out()) as { warnings: { message: string }[] }).warnings[0]!.message, HOSTILE);
  });

  test('timestamped lines (answer files, feeds without a terminal), and the summary', async () => {
    const c = capture();
    const fe = new LinesFrontEnd(c.io, false, () => new Date(0));
    const view = fe.target({ root: `/r/${HOSTILE}`, index: 0, count: 1, fromFeed: false });
    view.sink({ type: 'info', message: HOSTILE });
    view.sink({ type: 'warning', code: 'W_LOG', message: HOSTILE });
    view.sink({ type: 'step', step: 'verify', state: 'failed', message: HOSTILE });
    const outcome: TargetOutcome = {
      root: `/r/${HOSTILE}`,
      ok: false,
      exitCode: 3,
      transactionId: 't',
      logs: [],
      packs: [],
      error: { ok: false, code: 'E_WRONG_ARCH', exitCode: 3, message: HOSTILE, details: {} },
    };
    await view.finish(outcome);
    fe.summary({ ok: false, exitCode: 3, dryRun: false, targets: [outcome] });
    fe.failure({ ok: false, code: 'E_USAGE', exitCode: 2, message: HOSTILE, details: {} });
    noForgery(c.out() + c.err());
    assert.ok(
      c
        .err()
        .split('\n')
        .every((l) => l === '' || l.startsWith('1970-01-01T00:00:00.000Z ')),
      c.err(),
    );
    assert.equal(c.out(), `/r/${ESCAPED}: not applicable (exit 3, E_WRONG_ARCH): ${ESCAPED}\n`);
  });

  test('listr2 (-u on a terminal): task title, output and the failed task', async () => {
    const chunks: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk.toString());
        cb();
      },
    });
    const c = capture(true);
    const fe = new ListrFrontEnd(c.io, {
      quiet: false,
      renderer: 'verbose',
      output: sink as unknown as NodeJS.WriteStream,
    });
    const view = fe.target({ root: `/r/${HOSTILE}`, index: 0, count: 1, fromFeed: false });
    view.sink({ type: 'step', step: 'lock', state: 'started' });
    view.sink({ type: 'info', message: HOSTILE });
    view.sink({ type: 'warning', code: 'W_LOG', message: HOSTILE });
    view.sink({ type: 'step', step: 'verify', state: 'failed', message: HOSTILE });
    await view.finish({
      root: '/r',
      ok: false,
      exitCode: 3,
      transactionId: 't',
      logs: [],
      packs: [],
      error: { ok: false, code: 'E', exitCode: 3, message: HOSTILE, details: {} },
    });
    fe.failure({ ok: false, code: 'E_USAGE', exitCode: 2, message: HOSTILE, details: {} });
    const text = chunks.join('') + c.err();
    noForgery(text);
    assert.ok(text.includes(ESCAPED), text);
  });
});
