import type { Io } from '../src/io.js';

/** An Io whose output is kept in strings, for running the command line in-process in tests. */
export function captureIo(
  env: Record<string, string | undefined>,
  tty = false,
): { io: Io; output: () => { out: string; err: string } } {
  let out = '';
  let err = '';
  const io: Io = {
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
    env,
    interactive: tty,
  };
  return { io, output: () => ({ out, err }) };
}
