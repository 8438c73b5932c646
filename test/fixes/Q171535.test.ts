/**
 * Q171535 "Denial of service through request headers with long runs of blanks" (security), run
 * against every built release tree. The same requests go to each server twice: once with a 16 KB
 * header of letters, once with a header whose value holds a 16 KB run of blanks not at its end.
 * Below SP3 the blanks must cost the server's only thread at least 50 ms of CPU per request more
 * than the letters (the bug: time quadratic in the run); from SP3 on, no measurable difference.
 * CPU time of the server process (from /proc) does not depend on what else the machine is doing;
 * without /proc the wall time of the exchange stands in for it. A missing build fails the test
 * (run `pnpm build`), it is never skipped.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { exchange, startTree, fixTrees } from '../support/inetsrv.js';

const ID = 'Q171535';
const LEVEL = 3;

/** Requests per measurement, pipelined on one connection: each is parsed on its own. */
const REQUESTS = 3;
/** Fills the default MaxRequestBytes (16384) with room for the request line and Host. */
const RUN = 16_200;
/** Extra CPU per crafted request: what the bug costs at least, and what the fix may cost at most. */
const BUG_MS = 50;
const FIXED_MS = 25;

const request = (filler: string) => `GET / HTTP/1.1\r\nHost: localhost\r\nX-Filler: a${filler}b\r\n\r\n`;

/** CPU milliseconds the process has used (user + system), or undefined without /proc. */
function cpuMs(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th, in ticks of 10 ms.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

describe(`${ID}: denial of service through request headers with long runs of blanks`, { concurrency: 8 }, () => {
  for (const tree of fixTrees(ID, LEVEL)) {
    test(`${tree.name} (${tree.fixed ? 'fixed' : 'has the bug'})`, { timeout: 30_000 }, async (t) => {
      const server = await startTree(tree.dir);
      /** CPU (or wall) milliseconds the server spends answering REQUESTS copies of one request. */
      const cost = async (filler: string): Promise<number> => {
        const cpu0 = cpuMs(server.pid);
        const t0 = performance.now();
        const r = await exchange(server.port, request(filler).repeat(REQUESTS), Array(REQUESTS).fill('GET'), {
          timeoutMs: 20_000,
        });
        const wall = performance.now() - t0;
        // The crafted header is a valid one: the request must be answered, whatever it costs.
        assert.deepEqual(
          r.responses.map((x) => x.status),
          Array(REQUESTS).fill(200),
        );
        const cpu1 = cpuMs(server.pid);
        return cpu0 === undefined || cpu1 === undefined ? wall : cpu1 - cpu0;
      };
      try {
        await cost('a'.repeat(RUN)); // warm-up: code paths compiled before anything is measured
        const letters = await cost('a'.repeat(RUN));
        const blanks = await cost(' '.repeat(RUN));
        const extraPerRequest = (blanks - letters) / REQUESTS;
        t.diagnostic(
          `letters ${letters} ms, blanks ${blanks} ms for ${REQUESTS} requests: ${extraPerRequest.toFixed(0)} ms more per request`,
        );
        if (tree.fixed) {
          assert.ok(
            extraPerRequest <= FIXED_MS,
            `${extraPerRequest.toFixed(0)} ms more per request with blanks (at most ${FIXED_MS} expected)`,
          );
        } else {
          assert.ok(
            extraPerRequest >= BUG_MS,
            `${extraPerRequest.toFixed(0)} ms more per request with blanks (the bug costs at least ${BUG_MS})`,
          );
        }
      } finally {
        await server.dispose();
      }
    });
  }
});
