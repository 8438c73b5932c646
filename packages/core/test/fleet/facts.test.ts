/**
 * The facts document's "last change" and the report's summary, on histories and facts made here:
 * the cases a real fleet reaches only through slow runs (a change its health check rolled back, a
 * recover that rolled forward, several packs in one transaction).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type FactsDocument, lastChange } from '../../src/fleet/facts.js';
import { fleetReport } from '../../src/fleet/report.js';
import type { HistoryEntry } from '../../src/installation/state.js';

const entry = (
  id: string,
  packId: string,
  action: HistoryEntry['action'],
  result: HistoryEntry['result'],
  time: string,
): HistoryEntry => ({ id, packId, action, result, time, fromLevel: 5, toLevel: 6 });

test('lastChange: the newest transaction in effect, all its packs; a rolled-back one is no change', () => {
  assert.equal(lastChange([]), null);
  const history = [
    entry('t1', 'inetsrv-4.0-sp5', 'install', 'done', '2026-01-01T00:00:00Z'),
    entry('t2', 'inetsrv-4.0-sp6a', 'install', 'done', '2026-02-01T00:00:00Z'),
    entry('t2', 'SRP1', 'install', 'done', '2026-02-01T00:00:00Z'),
    entry('t3', 'Q248901', 'install', 'rolled-back', '2026-03-01T00:00:00Z'),
  ];
  assert.deepEqual(lastChange(history), {
    at: '2026-02-01T00:00:00Z',
    action: 'install',
    ids: ['inetsrv-4.0-sp6a', 'SRP1'],
  });
  const recovered = [...history, entry('t4', 'Q248901', 'recover', 'rolled-forward', '2026-04-01T00:00:00Z')];
  assert.deepEqual(lastChange(recovered), { at: '2026-04-01T00:00:00Z', action: 'recover', ids: ['Q248901'] });
  assert.equal(lastChange([entry('t1', 'x', 'install', 'failed', '2026-01-01T00:00:00Z')]), null);
});

function facts(over: Partial<FactsDocument>): FactsDocument {
  return {
    ok: true,
    schema: 1,
    collected: '2026-12-05T00:00:00.000Z',
    root: '/opt/inetsrv',
    product: 'inetsrv',
    displayName: 'inetsrv 4.0 Web Server',
    version: '4.0.0',
    arch: 'x86',
    level: 6,
    levelName: 'Service Pack 6',
    hotfixes: [],
    rollups: [],
    consistent: true,
    problems: 0,
    restartPending: false,
    lastChange: null,
    lastHealthCheck: null,
    feed: null,
    updates: [],
    latest: [],
    upToDate: null,
    ...over,
  };
}

test('fleetReport: rows in code-point order of host, the summary counts each kind once', () => {
  const sp6a = { id: 'inetsrv-4.0-sp6a', kind: 'service-pack' as const, title: 'Service Pack 6a', security: true };
  const q = { id: 'Q1', kind: 'hotfix' as const, title: 'hotfix Q1', security: false };
  const r = fleetReport(
    [
      { host: 'b', facts: facts({ upToDate: false, updates: [sp6a, q] }) },
      { host: 'B', facts: facts({ upToDate: true }) },
      { host: 'a', facts: facts({ upToDate: false, updates: [q], consistent: false, problems: 2 }) },
      { host: 'c', facts: facts({}) },
    ],
    [{ file: 'z.json', code: 'E_FACTS_MALFORMED', message: 'x' }],
  );
  assert.deepEqual(
    r.rows.map((x) => x.host),
    ['B', 'a', 'b', 'c'],
  );
  assert.deepEqual(r.summary, {
    hosts: 4,
    upToDate: 1,
    missingSecurity: 1,
    unknown: 1,
    inconsistent: 1,
    unreadable: 1,
  });
  assert.equal(r.rows[0]!.levelBase, 'Service Pack 6');
});
