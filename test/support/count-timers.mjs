// Preloaded into a server under test (node --import): counts the process's setTimeout calls and keeps
// the count in the file COUNT_TIMERS_FILE names, rewritten at every call, so a test can read it while
// the server runs. The timers themselves behave exactly as before.
import { writeFileSync } from 'node:fs';

const file = process.env.COUNT_TIMERS_FILE;
if (file) {
  const original = globalThis.setTimeout;
  let calls = 0;
  writeFileSync(file, '0');
  globalThis.setTimeout = function setTimeout(...args) {
    calls++;
    writeFileSync(file, String(calls));
    return original.apply(this, args);
  };
}
