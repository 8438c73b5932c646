/**
 * Two to eight installers started at once on one installation (docs/transactions.md §6): exactly one
 * proceeds; every other one exits 5 naming the holder's pid, and the installation ends as the
 * SP6 release tree, whole. The processes are lined up with the test-only fault hook
 * (SERVICEPACK_FAULT=begin=wait:DIR) so that they really do reach for the lock together, and the
 * one that gets it waits after taking it until every other one has given up, so the test does
 * not depend on how fast this machine starts processes.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { verifyInstallation } from '../packages/core/src/operations/verify.js';
import {
  digest,
  freezeBuild,
  installationFrom,
  pack,
  type Run,
  sameDigest,
  servicepack,
  tempFolders,
  tree,
} from './support/servicepack.js';

const extra: string[] = [];
before(async () => {
  await freezeBuild(['rtm-x86', 'sp6-x86'], ['sp6-x86']);
});
after(async () => {
  for (const d of [...tempFolders(), ...extra]) await rm(d, { recursive: true, force: true });
});

async function waitFor(what: string, cond: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('concurrent installers on one installation', () => {
  for (const n of [2, 8]) {
    test(`${n} at once: one proceeds, ${n - 1} exit 5 naming its pid, the tree is SP6`, async () => {
      const root = await installationFrom('rtm-x86');
      const gate = await mkdtemp(join(tmpdir(), 'sp-gate-'));
      const held = await mkdtemp(join(tmpdir(), 'sp-held-'));
      extra.push(gate, held);
      const env = { SERVICEPACK_FAULT: `begin=wait:${gate},after:lock=wait:${held}` };
      const runs: Promise<Run>[] = Array.from({ length: n }, () =>
        servicepack(['install', '--accept-eula', '--root', root, '-u', '--json', pack('sp6-x86')], { env }),
      );
      await waitFor(
        `${n} installers at the start line`,
        async () => (await readdir(gate)).filter((f) => f.startsWith('ready.')).length === n,
      );
      const ready = (await readdir(gate)).map((f) => Number(f.slice('ready.'.length)));
      await writeFile(join(gate, 'go'), '');
      // exactly one takes the lock and parks right after it
      await waitFor('the lock holder', async () => (await readdir(held)).some((f) => f.startsWith('ready.')));
      const winner = Number((await readdir(held)).find((f) => f.startsWith('ready.'))!.slice('ready.'.length));
      assert.ok(ready.includes(winner));
      // the others give up while it holds the lock; then it may finish
      const settled = new Map<number, Run>();
      for (const [i, r] of runs.entries()) void r.then((x) => settled.set(i, x));
      await waitFor(`${n - 1} installers to give up`, async () => settled.size === n - 1);
      await writeFile(join(held, 'go'), '');
      const results = await Promise.all(runs);

      const won = results.filter((r) => r.code === 0);
      const busy = results.filter((r) => r.code === 5);
      assert.equal(won.length, 1, results.map((r) => `${r.code}: ${r.err}`).join('\n'));
      assert.equal(busy.length, n - 1, results.map((r) => `${r.code}: ${r.err}`).join('\n'));
      for (const b of busy) {
        const doc = JSON.parse(b.out) as { code: string; message: string; details: { pid: number } };
        assert.equal(doc.code, 'E_BUSY');
        assert.equal(doc.details.pid, winner);
        assert.match(doc.message, new RegExp(`pid ${winner}\\)`));
      }
      assert.ok(sameDigest(await digest(root), await digest(tree('sp6-x86'))), 'the tree is SP6');
      assert.equal((await verifyInstallation(root)).clean, true);
      assert.ok(!existsSync(join(root, '.servicepack', 'lock')));
      assert.ok(!existsSync(join(root, '.servicepack', 'journal.json')));
    });
  }
});
