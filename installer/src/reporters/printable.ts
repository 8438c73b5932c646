/**
 * The one rule for text that people read (plain lines, listr, the wizard, warnings on stderr under
 * --json): every character that could move the cursor, start a new line or reorder what is read is
 * shown escaped. Names come from hostile places (a pack file in a folder others can write, a feed, a
 * manifest): a newline in one would forge a line such as "Installed … Service Pack 6" in a log, an
 * ESC or CSI would drive the terminal, a bidi override would make a name read backwards.
 *
 * Escaped: C0 (newline, CR, tab and ESC included), DEL, C1, the Unicode line and paragraph separators
 * and the bidi controls. JSON output needs none of this: JSON.stringify escapes what JSON must.
 *
 * Human renderers take `Printable` text, never a bare string: our own wording is written with the
 * `safe` template tag, which escapes every interpolated value, and the colours come from `paint`,
 * so no call site can hand a name to the screen unescaped (the compiler refuses a plain string).
 */

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\x1b': '\\e' };

function hex(c: string): string {
  const n = c.codePointAt(0) ?? 0;
  return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`;
}

/** `s` with every control character shown as an escape (`\n`, `\e`, `\x9b`, `\u{202e}`). */
export function escapeControls(s: string): string {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(s) ? s.replace(UNSAFE, (c) => NAMED[c] ?? hex(c)) : s;
}

const MINT: unique symbol = Symbol('printable');

/** Text cleared for a person's screen or log: only `safe`, `printable`, `joinShown` and `sgr` make one. */
export class Printable {
  readonly #text: string;
  constructor(mint: typeof MINT, text: string) {
    if (mint !== MINT) throw new TypeError('Printable text is made by safe`…` or printable()');
    this.#text = text;
  }
  get text(): string {
    return this.#text;
  }
  toString(): string {
    return this.#text;
  }
}

const make = (text: string): Printable => new Printable(MINT, text);

export type Shown = string | number | Printable;

function shown(v: Shown): string {
  return v instanceof Printable ? v.text : escapeControls(String(v));
}

/**
 * A value from outside, escaped. Messages from the engine too: they embed names, so their own line
 * breaks go as well (a list of issues reads `…:\n  id: …` on one line; that is the price of a name
 * never starting a line, and the JSON document keeps the list in `details`).
 */
export function printable(v: Shown): Printable {
  return v instanceof Printable ? v : make(shown(v));
}

/** Tag for our own wording: the literal parts are kept as written, every `${value}` is escaped. */
export function safe(strings: TemplateStringsArray, ...values: readonly Shown[]): Printable {
  let out = strings[0] ?? '';
  for (const [i, v] of values.entries()) out += shown(v) + (strings[i + 1] ?? '');
  return make(out);
}

/** `parts` joined by `separator` (our own text), each part escaped unless it is Printable already. */
export function joinShown(parts: readonly Shown[], separator: string): Printable {
  return make(parts.map(shown).join(separator));
}

/** SGR colours around already escaped text, or nothing when colour is off. */
export function sgr(on: boolean, open: number, close: number): (s: Shown) => Printable {
  return (s) => make(on ? `\x1b[${open}m${shown(s)}\x1b[${close}m` : shown(s));
}

/**
 * Commander's usage errors quote what was typed (`unknown option '…'`): escaped like the rest, but
 * the "(Did you mean …?)" it adds on a line of its own stays there; it names our own options.
 */
export function commanderMessage(text: string): string {
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  return `${escapeControls(body).replace(/\\n(\(Did you mean [^()\\]*\?\))$/, '\n$1')}\n`;
}
