/** @jsxRuntime automatic @jsxImportSource react */
/**
 * Setup and Security Rollup 1 (issue 17 item 3), over the built packs: on SP6a the Update screen
 * offers the rollup first, labelled as a rollup with what it replaces, then the first hotfix of the
 * chain; once it is installed the screens name the level with it, the next hotfix is offered, and
 * the removal flow calls it by its name.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { render } from 'ink-testing-library';
import { installPacks } from '../../../packages/core/src/operations/install/install.js';
import { detectInstallation } from '../../../packages/core/src/installation/detect.js';
import { UpdateScreen } from '../../src/wizard/components/UpdateScreen.js';
import { coreServices, createContext } from '../../src/wizard/context.js';
import { installation } from '../../src/wizard/steps/installation.js';
import { update } from '../../src/wizard/steps/update.js';
import { installationView, removeView, type UpdateView } from '../../src/wizard/views.js';
import { next, request, ScriptedUi } from './helpers.js';
import { waitFor } from './helpers.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const packsDir = join(repo, 'dist', 'packs');
const sp6a = join(repo, 'dist', 'releases', 'inetsrv-4.0-sp6a-x86');
const srp1 = join(packsDir, 'inetsrv-4.0-sp6a-srp1-x86.tgz');
const FOUR = 'Q248017, Q248395, Q247318, Q247602';
const dirs: string[] = [];

after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function sp6aCopy(): Promise<string> {
  for (const p of [sp6a, srp1]) if (!existsSync(p)) assert.fail(`${p} does not exist: run pnpm build first`);
  const root = join(await mkdtemp(join(tmpdir(), 'sp-wiz-rollup-')), 'inetsrv');
  dirs.push(dirname(root));
  await cp(sp6a, root, { recursive: true });
  return root;
}

/** The Update screen's view for `root` with every built pack on offer. */
async function updateScreenFor(root: string): Promise<UpdateView> {
  const ui = new ScriptedUi().on('installation', () => next('next' as const)).on('update', (v) => next(v.selected));
  const ctx = createContext(request({ root, packsDir }), coreServices(), ui, '/');
  assert.equal(await installation(ctx), 'next');
  assert.equal(await update(ctx), 'next');
  return ui.last('update');
}

test('on SP6a the rollup is offered first, labelled as a rollup with what it replaces; after it, the next hotfix of the chain', async () => {
  const root = await sp6aCopy();
  const v = await updateScreenFor(root);
  assert.deepEqual(
    v.offered.map((p) => [p.id, p.kind, p.level]),
    [
      ['SRP1', 'Rollup', 'rollup for Service Pack 6a'],
      ['Q248017', 'Hotfix', 'hotfix for Service Pack 6a'],
    ],
  );
  assert.equal(v.selected, srp1);
  assert.equal(v.offered[0]?.replaces, `Security Rollup 1: carries and replaces hotfixes ${FOUR}`);
  assert.ok(
    v.refused.some((r) => r.file === 'inetsrv-4.0-sp6a-q248395-x86.tgz' && /Q248017/.test(r.reason)),
    'a later hotfix of the chain is refused for the one it is built on',
  );

  const r = render(<UpdateScreen view={v} active onChoose={() => {}} />);
  const f = await waitFor(r, 'Choose the update to install');
  assert.match(f, /› \(•\) inetsrv 4\.0 Security Rollup Package 1 .* rollup for Service Pack 6a ·/);
  assert.match(f, new RegExp(`Replaces +Security Rollup 1: carries and replaces hotfixes ${FOUR}`));
  r.unmount();

  await installPacks({
    root,
    packs: [srp1],
    acceptEula: true,
    backup: true,
    modified: 'stop',
    restart: 'never',
    dryRun: false,
  });
  const inst = await detectInstallation(root);
  assert.match(
    installationView(inst, { canChangeRoot: false, force: false }).level,
    /^Service Pack 6a \+ Security Rollup 1 \(build /,
  );
  const after1 = await updateScreenFor(root);
  assert.deepEqual(
    after1.offered.map((p) => p.id),
    ['Q248901'],
  );
  const rm1 = removeView(inst, undefined);
  assert.deepEqual(
    rm1.offered.map((o) => [o.packId, o.kind, o.change]),
    [['SRP1', 'Rollup', 'Security Rollup 1 on Service Pack 6a']],
  );
});
