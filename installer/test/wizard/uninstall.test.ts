/**
 * The removal flow's steps alone (scripted UI) over real installations that the core's install
 * serviced first, and the views they show.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { installPacks } from '../../../packages/core/src/operations/install/install.js';
import { detectInstallation } from '../../../packages/core/src/installation/detect.js';
import { makeInstallation, makePack, makeVendor, tempDir } from '../../../packages/core/test/install-fixtures.js';
import { coreServices, createContext, type WizardContext } from '../../src/wizard/context.js';
import { runWizardSteps } from '../../src/wizard/steps/index.js';
import { chooseRemoval } from '../../src/wizard/steps/uninstall.js';
import { removeView } from '../../src/wizard/views.js';
import { back, next, request, ScriptedUi } from './helpers.js';

const vendor = makeVendor();
const dirs: string[] = [];
let sp1 = '';
let sp2 = '';

before(async () => {
  const out = await tempDir('sp-wizrm-packs-');
  dirs.push(out);
  sp1 = (await makePack(vendor, { level: 1, fromLevels: [0] }, out)).path;
  sp2 = (await makePack(vendor, { level: 2, fromLevels: [0, 1] }, out)).path;
});
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function serviced(packs: string[], backup = true): Promise<string> {
  const root = await makeInstallation(0, vendor);
  dirs.push(root);
  for (const p of packs)
    await installPacks({ root, packs: [p], backup, modified: 'stop', restart: 'never', dryRun: false });
  return root;
}

async function detected(ui: ScriptedUi, root: string, id?: string): Promise<WizardContext> {
  const ctx = createContext(request({ flow: 'uninstall', root, ...(id ? { id } : {}) }), coreServices(), ui, '/');
  ctx.installation = await detectInstallation(root);
  return ctx;
}

describe('removal', () => {
  test('the view: newest first, only the newest with uninstall data offered', async () => {
    const v = removeView(await detectInstallation(await serviced([sp1, sp2])), undefined);
    assert.deepEqual(
      v.offered.map((o) => [o.packId, o.change, o.backup]),
      [['inetsrv-4.0-sp2', 'Service Pack 2, back to Service Pack 1', '.servicepack/backup/inetsrv-4.0-sp2']],
    );
    assert.deepEqual(v.refused, [
      { packId: 'inetsrv-4.0-sp1', reason: 'Service Pack 1, back to RTM; remove inetsrv-4.0-sp2 first' },
    ]);
  });

  test('nothing installed by servicepack, or no uninstall data: exit 3 with the reason', async () => {
    const released = await serviced([]);
    await assert.rejects(
      chooseRemoval(await detected(new ScriptedUi(), released)),
      (e: { code: string; exitCode: number }) => e.code === 'E_NOT_REMOVABLE' && e.exitCode === 3,
    );
    const noBackup = await serviced([sp1], false);
    await assert.rejects(
      chooseRemoval(await detected(new ScriptedUi(), noBackup)),
      (e: { code: string; message: string }) => e.code === 'E_NO_BACKUP' && /--no-backup/.test(e.message),
    );
  });

  test('the chosen update is remembered; Esc goes back', async () => {
    const root = await serviced([sp1]);
    const ui = new ScriptedUi().on(
      'remove',
      (v) => next(v.selected),
      () => back(),
    );
    const ctx = await detected(ui, root);
    assert.equal(await chooseRemoval(ctx), 'next');
    assert.equal(ctx.removal, 'inetsrv-4.0-sp1');
    assert.equal(await chooseRemoval(ctx), 'back');
  });

  test('the whole flow removes the newest update and reports the level it went back to', async () => {
    const root = await serviced([sp1, sp2]);
    const ui = new ScriptedUi()
      .on('welcome', () => next(undefined))
      .on('installation', () => next('next' as const))
      .on('remove', (v) => next(v.selected))
      .on('options', (v) => next(v.choices))
      .on('finish', () => next(undefined));
    const out = await runWizardSteps(createContext(request({ flow: 'uninstall', root }), coreServices(), ui, '/'));
    assert.equal(out.code, 0);
    assert.match(out.lines[0] ?? '', /^Uninstalled inetsrv-4\.0-sp2 from .*: Service Pack 2 -> Service Pack 1$/);
    assert.deepEqual(ui.stages, ['Welcome', 'Installation', 'Update', 'Options', 'Remove', 'Finish']);
    const rows = Object.fromEntries(ui.last('finish').rows);
    assert.equal(rows['Level'], 'Service Pack 2 -> Service Pack 1');
    assert.equal((await detectInstallation(root)).level, 1);
  });
});
