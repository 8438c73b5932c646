// Peak memory without GNU time: loaded with --import into a node command, it writes the process's
// own maximum resident set (KiB, as GNU time's %M) to BENCH_RSS_FILE when the process exits.
import { writeFileSync } from 'node:fs';

const file = process.env.BENCH_RSS_FILE;
if (file) {
  process.on('exit', () => {
    writeFileSync(file, `${process.resourceUsage().maxRSS}\n`);
  });
}
