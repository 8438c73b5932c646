/**
 * A one-line editor with readline's keys, fed the raw bytes a terminal sends. Keys typed faster
 * than the app reads them (a paste, an ssh connection, a busy moment) arrive as one chunk, in which
 * Backspace or Ctrl-U are bytes among the letters: each byte is applied in order, so what the field
 * shows is exactly what Enter submits.
 */

export interface LineState {
  /** the text, one code point per element (a cursor never splits a character) */
  chars: readonly string[];
  /** 0 … chars.length */
  cursor: number;
}

export interface LineResult {
  state: LineState;
  /** set when Enter (CR or LF) ended the line: the value submitted */
  submitted?: string;
}

export const lineOf = (value: string): LineState => {
  const chars = [...value];
  return { chars, cursor: chars.length };
};

export const textOf = (s: LineState): string => s.chars.join('');

/** Escape sequences of the keys the editor knows (xterm, VT220 and rxvt spellings). */
const SEQUENCES: Record<string, (s: LineState) => LineState> = {
  '\x1b[D': (s) => ({ ...s, cursor: Math.max(0, s.cursor - 1) }),
  '\x1b[C': (s) => ({ ...s, cursor: Math.min(s.chars.length, s.cursor + 1) }),
  '\x1bOD': (s) => ({ ...s, cursor: Math.max(0, s.cursor - 1) }),
  '\x1bOC': (s) => ({ ...s, cursor: Math.min(s.chars.length, s.cursor + 1) }),
  '\x1b[H': home,
  '\x1bOH': home,
  '\x1b[1~': home,
  '\x1b[7~': home,
  '\x1b[F': end,
  '\x1bOF': end,
  '\x1b[4~': end,
  '\x1b[8~': end,
  '\x1b[3~': deleteForward,
  '\x1bb': wordLeft,
  '\x1bf': wordRight,
  '\x1b\x7f': killWordBack,
  '\x1b\b': killWordBack,
};

function home(s: LineState): LineState {
  return { ...s, cursor: 0 };
}
function end(s: LineState): LineState {
  return { ...s, cursor: s.chars.length };
}
function backspace(s: LineState): LineState {
  if (s.cursor === 0) return s;
  return { chars: [...s.chars.slice(0, s.cursor - 1), ...s.chars.slice(s.cursor)], cursor: s.cursor - 1 };
}
function deleteForward(s: LineState): LineState {
  if (s.cursor >= s.chars.length) return s;
  return { chars: [...s.chars.slice(0, s.cursor), ...s.chars.slice(s.cursor + 1)], cursor: s.cursor };
}
/** Ctrl-W is readline's unix-word-rubout: back to the previous blank, blanks before the cursor first. */
function rubout(s: LineState): LineState {
  let at = s.cursor;
  while (at > 0 && /\s/.test(s.chars[at - 1]!)) at--;
  while (at > 0 && !/\s/.test(s.chars[at - 1]!)) at--;
  return { chars: [...s.chars.slice(0, at), ...s.chars.slice(s.cursor)], cursor: at };
}
const isWord = (c: string | undefined) => c !== undefined && /[\p{L}\p{N}_]/u.test(c);
/** Alt-Backspace is backward-kill-word: letters and digits, so it stops at a `/`. */
function killWordBack(s: LineState): LineState {
  let at = s.cursor;
  while (at > 0 && !isWord(s.chars[at - 1])) at--;
  while (at > 0 && isWord(s.chars[at - 1])) at--;
  return { chars: [...s.chars.slice(0, at), ...s.chars.slice(s.cursor)], cursor: at };
}
function wordLeft(s: LineState): LineState {
  let at = s.cursor;
  while (at > 0 && !isWord(s.chars[at - 1])) at--;
  while (at > 0 && isWord(s.chars[at - 1])) at--;
  return { ...s, cursor: at };
}
function wordRight(s: LineState): LineState {
  let at = s.cursor;
  while (at < s.chars.length && !isWord(s.chars[at])) at++;
  while (at < s.chars.length && isWord(s.chars[at])) at++;
  return { ...s, cursor: at };
}

const CONTROLS: Record<string, (s: LineState) => LineState> = {
  '\x7f': backspace,
  '\b': backspace,
  '\x01': home,
  '\x05': end,
  '\x02': (s) => ({ ...s, cursor: Math.max(0, s.cursor - 1) }),
  '\x06': (s) => ({ ...s, cursor: Math.min(s.chars.length, s.cursor + 1) }),
  '\x04': deleteForward,
  '\x0b': (s) => ({ chars: s.chars.slice(0, s.cursor), cursor: s.cursor }),
  '\x15': (s) => ({ chars: s.chars.slice(s.cursor), cursor: 0 }),
  '\x17': rubout,
};

/**
 * Applies one event as ink splits the input (an escape sequence alone, or a run of other bytes).
 * `complete` answers Tab. Unknown escape sequences and other control bytes change nothing: they
 * are never typed into a path.
 */
export function editLine(s: LineState, raw: string, complete?: (value: string) => string): LineResult {
  if (raw.startsWith('\x1b')) {
    const f = SEQUENCES[raw];
    return { state: f ? f(s) : s };
  }
  let state = s;
  for (const c of raw) {
    if (c === '\r' || c === '\n') return { state, submitted: textOf(state) };
    if (c === '\t') {
      if (complete) state = lineOf(complete(textOf(state)));
      continue;
    }
    const f = CONTROLS[c];
    if (f) state = f(state);
    else if (c >= ' ' && !/[\u0080-\u009f\u2028\u2029]/.test(c)) {
      state = {
        chars: [...state.chars.slice(0, state.cursor), c, ...state.chars.slice(state.cursor)],
        cursor: state.cursor + 1,
      };
    }
  }
  return { state };
}

/**
 * One chunk as the separate keys a terminal sent: escape sequences whole, every other byte alone.
 * (Keys typed while a screen loads are replayed to it one by one.)
 */
export function splitKeys(raw: string): string[] {
  if (raw.startsWith('\x1b')) return [raw];
  return [...raw];
}
