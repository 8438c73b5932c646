import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckpointInfo, TransactionHooks } from '@servicepack/core/transaction';
import type { Output } from './reporters/plain.js';

/**
 * TEST HOOK, inert unless SERVICEPACK_FAULT is set: makes the installer fail at a named
 * checkpoint of a transaction (docs/transactions.md lists them), the way Mender's tests kill the
 * client in every state. It exists so the crash tests can pull the plug at exactly known points.
 *
 *   SERVICEPACK_FAULT=list                  print every checkpoint as it is reached, on stderr:
 *                                           "servicepack-fault: <point> <n>" (n counts the hits)
 *   SERVICEPACK_FAULT=<point>[:<n>][=<act>] at the n-th hit (default 1) of <point>:
 *        act = kill (default)               SIGKILL on itself: no cleanup, no finally, like a power cut
 *        act = ENOSPC | EIO | E...          throw an error with that errno code (a full disk, I/O error)
 *        act = wait:<dir>                   create <dir>/ready.<pid>, then wait (at most 60 s) until
 *                                           <dir>/go exists: lets a test line several processes up
 *   several faults: separated by commas, e.g. "commit:file:3=ENOSPC,rollback:step:2"
 */

interface Fault {
  point: string;
  n: number;
  action: { kind: 'kill' } | { kind: 'errno'; code: string } | { kind: 'wait'; dir: string };
}

export function parseFaults(value: string): { trace: boolean; faults: Fault[] } {
  let trace = false;
  const faults: Fault[] = [];
  for (const raw of value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    if (raw === 'list') {
      trace = true;
      continue;
    }
    const eq = raw.indexOf('=');
    const where = eq < 0 ? raw : raw.slice(0, eq);
    const act = eq < 0 ? 'kill' : raw.slice(eq + 1);
    const parts = where.split(':');
    const last = parts[parts.length - 1] ?? '';
    const counted = parts.length > 1 && /^\d+$/.test(last);
    const point = counted ? parts.slice(0, -1).join(':') : where;
    const n = counted ? Number(last) : 1;
    let action: Fault['action'];
    if (act === 'kill') action = { kind: 'kill' };
    else if (act.startsWith('wait:')) action = { kind: 'wait', dir: act.slice('wait:'.length) };
    else if (/^E[A-Z]+$/.test(act)) action = { kind: 'errno', code: act };
    else
      throw new Error(
        `SERVICEPACK_FAULT: unknown action "${act}" in "${raw}" (kill, an errno code such as ENOSPC, or wait:<dir>)`,
      );
    faults.push({ point, n, action });
  }
  return { trace, faults };
}

async function waitForGo(dir: string): Promise<void> {
  writeFileSync(join(dir, `ready.${process.pid}`), '');
  const deadline = Date.now() + 60_000;
  while (!existsSync(join(dir, 'go'))) {
    if (Date.now() > deadline) throw new Error(`SERVICEPACK_FAULT wait: ${join(dir, 'go')} did not appear within 60 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The checkpoint hook for this run, or undefined when SERVICEPACK_FAULT is not set (the normal case). */
export function faultHooks(env: Record<string, string | undefined>, err: Output): TransactionHooks | undefined {
  const value = env['SERVICEPACK_FAULT'];
  if (value === undefined || value === '') return undefined;
  const { trace, faults } = parseFaults(value);
  const hits = new Map<string, number>();
  return {
    checkpoint: async (name: string, _info: CheckpointInfo) => {
      const n = (hits.get(name) ?? 0) + 1;
      hits.set(name, n);
      if (trace) err.write(`servicepack-fault: ${name} ${n}\n`);
      for (const f of faults) {
        if (f.point !== name || f.n !== n) continue;
        if (f.action.kind === 'kill') {
          process.kill(process.pid, 'SIGKILL');
          // never take another step, even if the signal is delivered a moment late
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10_000);
        } else if (f.action.kind === 'wait') await waitForGo(f.action.dir);
        else
          throw Object.assign(new Error(`${f.action.code}: injected at ${name} ${n} (SERVICEPACK_FAULT)`), {
            code: f.action.code,
          });
      }
    },
  };
}
