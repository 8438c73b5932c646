import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { State } from '../../src/installation/state.js';
import { readState, statePath, writeState } from '../../src/installation/state-store.js';
import { tempDir } from '../install-fixtures.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function root(): Promise<string> {
  const d = await tempDir('sp-state-');
  dirs.push(d);
  return d;
}

const state: State = {
  format: 1,
  product: 'inetsrv',
  version: '4.0.0',
  arch: 'x86',
  level: 6,
  hotfixes: [],
  installed: [
    { packId: 'inetsrv-4.0-sp6', kind: 'service-pack', fromLevel: 0, level: 6, backup: 'backup/inetsrv-4.0-sp6' },
  ],
  files: { 'lib/a.js': { sha256: 'a'.repeat(64), size: 3, mode: 0o644 } },
  history: [
    {
      id: 'tx1',
      packId: 'inetsrv-4.0-sp6',
      action: 'install',
      time: '2026-01-01T00:00:00.000Z',
      result: 'done',
      fromLevel: 0,
      toLevel: 6,
      backup: 'backup/inetsrv-4.0-sp6',
    },
  ],
};

describe('state store', () => {
  test('no record: undefined (a fresh vendor tree), not an error', async () => {
    assert.equal(await readState(await root()), undefined);
  });

  test('write then read gives the same record; .servicepack/ is created; no temp file is left', async () => {
    const r = await root();
    await writeState(r, state);
    assert.deepEqual(await readState(r), state);
    assert.deepEqual(await readdir(join(r, '.servicepack')), ['state.json']);
    assert.ok((await readFile(statePath(r), 'utf8')).endsWith('}\n'));
  });

  test('rewriting replaces the whole record', async () => {
    const r = await root();
    await writeState(r, state);
    await writeState(r, { ...state, level: 5, history: [] });
    const back = await readState(r);
    assert.equal(back?.level, 5);
    assert.deepEqual(back?.history, []);
    assert.deepEqual(await readdir(join(r, '.servicepack')), ['state.json']);
  });

  test('a record that would not read back is never written; the old one stays', async () => {
    const r = await root();
    await writeState(r, state);
    const bad = { ...state, arch: 'mips' } as unknown as State;
    await assert.rejects(writeState(r, bad));
    assert.deepEqual(await readState(r), state);
    assert.deepEqual(await readdir(join(r, '.servicepack')), ['state.json']);
  });

  test('a corrupt or foreign record is E_INVALID_STATE (exit 2), naming the file and what to do', async () => {
    const r = await root();
    await writeState(r, state);
    await writeFile(statePath(r), '{"format":1,');
    await assert.rejects(readState(r), (e: Error & { code?: string; exitCode?: number }) => {
      assert.equal(e.code, 'E_INVALID_STATE');
      assert.equal(e.exitCode, 2);
      assert.match(e.message, /state\.json is not valid JSON: restore it from a backup, or remove it/);
      return true;
    });
    await writeFile(statePath(r), JSON.stringify({ ...state, surprise: true }));
    await assert.rejects(readState(r), { code: 'E_INVALID_STATE' });
  });
});
