/**
 * Each step alone, with a scripted UI (create-astro's mockPrompt) over real installations and packs
 * made with the core's fixtures; the engine is faked only where a step's timing or outcome must be
 * controlled (the transaction itself).
 */
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { InstallResult } from '@servicepack/core/install';
import type { InstallOptions } from '@servicepack/core/install/context';
import { makeInstallation, makePack, makeVendor, tempDir } from '../../../packages/core/test/install-fixtures.js';
import { ServicepackError } from '../../../packages/core/src/support/errors.js';
import { coreServices, createContext, type WizardContext, type WizardServices } from '../../src/wizard/context.js';
import type { ProgressView } from '../../src/wizard/progress.js';
import { INSTALL_STEPS, runWizardSteps } from '../../src/wizard/steps/index.js';
import { install } from '../../src/wizard/steps/install.js';
import { installation } from '../../src/wizard/steps/installation.js';
import { license } from '../../src/wizard/steps/license.js';
import { options } from '../../src/wizard/steps/options.js';
import { update } from '../../src/wizard/steps/update.js';
import { welcome } from '../../src/wizard/steps/welcome.js';
import { finish } from '../../src/wizard/steps/finish.js';
import type { WizardRequest } from '../../src/wizard/route.js';
import { back, makeInconsistent, makePackWithEula, next, request, ScriptedUi } from './helpers.js';

const vendor = makeVendor();
const dirs: string[] = [];
let packs = '';
let plain = '';
let sp1 = '';
let sp1alpha = '';
let sp1plain = '';
let stranger = '';

before(async () => {
  packs = await tempDir('sp-wiz-packs-');
  plain = await tempDir('sp-wiz-plain-');
  const other = await tempDir('sp-wiz-other-');
  dirs.push(packs, plain, other);
  sp1 = await makePackWithEula(vendor, { level: 1, fromLevels: [0] }, packs);
  sp1alpha = (await makePack(vendor, { level: 1, fromLevels: [0], arch: 'alpha' }, packs)).path;
  sp1plain = (await makePack(vendor, { level: 1, fromLevels: [0] }, plain)).path;
  stranger = (await makePack(makeVendor(), { level: 1, fromLevels: [0] }, other)).path;
});
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function root(level = 0): Promise<string> {
  const r = await makeInstallation(level, vendor);
  dirs.push(r);
  return r;
}

function ctxFor(
  ui: ScriptedUi,
  over: Partial<WizardRequest> = {},
  services: Partial<WizardServices> = {},
  cwd = '/',
): WizardContext {
  return createContext(request(over), { ...coreServices(), ...services }, ui, cwd);
}

/** A context that has been through Installation and Update already. */
async function chosenCtx(ui: ScriptedUi, pack: string, services: Partial<WizardServices> = {}): Promise<WizardContext> {
  const ctx = ctxFor(
    new ScriptedUi().on('installation', () => next('next' as const)).on('update', (v) => next(v.selected)),
    { root: await root(), packs: [pack] },
    services,
  );
  assert.equal(await installation(ctx), 'next');
  assert.equal(await update(ctx), 'next');
  return Object.assign(ctx, { ui });
}

describe('welcome', () => {
  test('says where the updates come from, and goes on', async () => {
    const ui = new ScriptedUi().on('welcome', () => next(undefined));
    assert.equal(await welcome(ctxFor(ui, { packs: ['/x/sp6.tgz'] })), 'next');
    assert.equal(ui.last('welcome').source, 'Updates on offer: the pack you named, sp6.tgz.');
    await welcome(ctxFor(ui, { packsDir: 'dist/packs' }));
    assert.equal(ui.last('welcome').source, 'Updates on offer: the packs (*.tgz) in dist/packs.');
  });
});

describe('installation', () => {
  test('--root: detected and shown (level, arch, hotfixes, consistency)', async () => {
    const r = await root();
    const ui = new ScriptedUi().on('installation', () => next('next' as const));
    const ctx = ctxFor(ui, { root: r });
    assert.equal(await installation(ctx), 'next');
    const v = ui.last('installation');
    assert.deepEqual(
      [v.root, v.arch, v.level, v.hotfixes, v.consistent],
      [r, 'x86', 'RTM (build 1381.0)', 'none', true],
    );
    assert.equal(ui.product, 'inetsrv web server');
    assert.equal(ctx.installation?.level, 0);
  });

  test('no root: asked for, and asked again with the reason while it is not an installation', async () => {
    const r = await root();
    const ui = new ScriptedUi()
      .on(
        'root',
        () => next('/nonexistent/inetsrv'),
        () => next(r),
      )
      .on('installation', () => next('next' as const));
    const ctx = ctxFor(ui);
    assert.equal(await installation(ctx), 'next');
    assert.deepEqual(ui.names(), ['root', 'root', 'installation']);
    assert.match(
      (ui.asked[1]?.view as { message?: string } | undefined)?.message ?? '',
      /No inetsrv installation in \/nonexistent\/inetsrv/,
    );
    assert.equal(ctx.root, r);
  });

  test('R asks for another folder; Esc goes back', async () => {
    const r = await root();
    const ui = new ScriptedUi()
      .on(
        'installation',
        () => next('change-root' as const),
        () => back(),
      )
      .on('root', () => next(r));
    assert.equal(await installation(ctxFor(ui, { root: r })), 'back');
    assert.deepEqual(ui.names(), ['installation', 'root', 'installation']);
  });

  test('an interrupted transaction is an error screen offering recover (exit 6 when declined)', async () => {
    const r = await root();
    await writeFile(join(r, '.servicepack', 'journal.json'), '{}\n');
    const ui = new ScriptedUi().on('error', () => next('close' as const));
    const out = await installation(ctxFor(ui, { root: r }));
    assert.deepEqual(typeof out === 'object' && out.code, 6);
    const v = ui.last('error');
    assert.equal(v.title, 'An interrupted installation was found');
    assert.equal(v.action, 'Recover now');
    assert.match(v.message, /servicepack recover --root/);
  });

  test('taking the offer runs recover, then shows the installation with what recover did', async () => {
    const r = await root();
    let journal = true;
    const services: Partial<WizardServices> = {
      checkJournal: async () => {
        if (journal) throw new ServicepackError('E_NEEDS_RECOVER', 'interrupted');
      },
      recover: async () => {
        journal = false;
        return 'The interrupted install of inetsrv-4.0-sp6 was rolled back: the installation is at RTM.';
      },
    };
    const ui = new ScriptedUi()
      .on('error', () => next('action' as const))
      .on('installation', () => next('next' as const));
    assert.equal(await installation(ctxFor(ui, { root: r }, services)), 'next');
    assert.match(ui.last('installation').note ?? '', /was rolled back/);
  });

  test('an inconsistent record stops here (exit 4) unless --force', async () => {
    const r = await root();
    await makeInconsistent(r);
    const ui = new ScriptedUi().on('installation', () => next('next' as const));
    await assert.rejects(
      installation(ctxFor(ui, { root: r })),
      (e: { code: string; exitCode: number }) => e.code === 'E_INCONSISTENT' && e.exitCode === 4,
    );
    assert.equal(await installation(ctxFor(ui, { root: r, force: true })), 'next');
  });
});

describe('update', () => {
  async function detected(ui: ScriptedUi, over: Partial<WizardRequest>, level = 0, cwd = '/'): Promise<WizardContext> {
    const ctx = ctxFor(
      new ScriptedUi().on('installation', () => next('next' as const)),
      { root: await root(level), ...over },
      {},
      cwd,
    );
    await installation(ctx);
    return Object.assign(ctx, { ui });
  }

  test('--packs DIR: applicable packs offered, another arch listed with its reason, never offered', async () => {
    const ui = new ScriptedUi().on('update', (v) => next(v.selected));
    const ctx = await detected(ui, { packsDir: packs });
    assert.equal(await update(ctx), 'next');
    const v = ui.last('update');
    assert.deepEqual(
      v.offered.map((p) => p.file),
      ['inetsrv-4.0-sp1-x86.tgz'],
    );
    assert.deepEqual(v.offered[0]?.fixes, [{ id: 'Q101', title: 'a fix' }]);
    assert.match(v.offered[0]?.signers[0]?.status ?? '', /^trusted \(vendor\.pub\)$/);
    assert.equal(v.refused[0]?.file, 'inetsrv-4.0-sp1-alpha.tgz');
    assert.match(v.refused[0]?.reason ?? '', /is for alpha; this installation is x86/);
    assert.equal(ctx.chosen?.path, sp1);
  });

  test('pack files named on the command line resolve against the current folder', async () => {
    const ui = new ScriptedUi().on('update', (v) => next(v.selected));
    const ctx = await detected(ui, { packs: ['inetsrv-4.0-sp1-x86.tgz'] }, 0, plain);
    await update(ctx);
    assert.equal(ctx.chosen?.path, sp1plain);
  });

  test('no packs at all: a usage error (exit 2) that says how to name them', async () => {
    const empty = await tempDir('sp-wiz-empty-');
    dirs.push(empty);
    const ctx = await detected(new ScriptedUi(), { packsDir: empty });
    await assert.rejects(
      update(ctx),
      (e: { code: string; exitCode: number; message: string }) =>
        e.code === 'E_NO_PACKS' && e.exitCode === 2 && /--packs DIR/.test(e.message),
    );
  });

  test('nothing applicable: exit 3 with every pack and its reason', async () => {
    const ctx = await detected(new ScriptedUi(), { packs: [sp1plain, sp1alpha] }, 2);
    await assert.rejects(update(ctx), (e: { code: string; exitCode: number; details: string[] }) => {
      assert.equal(e.code, 'E_NOTHING_APPLICABLE');
      assert.equal(e.exitCode, 3);
      assert.match(e.details.join('\n'), /inetsrv-4.0-sp1-x86\.tgz: .*Service Pack 2/);
      assert.match(e.details.join('\n'), /inetsrv-4.0-sp1-alpha\.tgz is for alpha/);
      return true;
    });
  });

  test('a pack signed by an unknown key is refused (exit 4), or offered with --allow-unsigned and marked', async () => {
    await assert.rejects(
      update(await detected(new ScriptedUi(), { packs: [stranger] })),
      (e: { code: string; exitCode: number }) => e.code === 'E_UNTRUSTED_KEY' && e.exitCode === 4,
    );
    const ui = new ScriptedUi().on('update', (v) => next(v.selected));
    await update(await detected(ui, { packs: [stranger], allowUnsigned: true }));
    assert.equal(ui.last('update').offered[0]?.signers[0]?.status, 'not trusted');
  });

  test('Esc goes back', async () => {
    const ui = new ScriptedUi().on('update', () => back());
    assert.equal(await update(await detected(ui, { packs: [sp1] })), 'back');
  });
});

describe('license', () => {
  test('the pack carries none: nothing to ask', async () => {
    const ui = new ScriptedUi();
    assert.equal(await license(await chosenCtx(ui, sp1plain)), 'skip');
    assert.deepEqual(ui.asked, []);
  });

  test("the pack's EULA.txt, verified against the manifest; accepting is remembered", async () => {
    const ui = new ScriptedUi().on('license', () => next(undefined));
    const ctx = await chosenCtx(ui, sp1);
    assert.equal(await license(ctx), 'next');
    const v = ui.last('license');
    assert.equal(v.document, 'EULA.txt');
    assert.match(v.text, /^inetsrv TEST SERVICE PACK/);
    assert.equal(v.accepted, false);
    assert.equal(ctx.accepted, true);
    await license(ctx);
    assert.equal(ui.last('license').accepted, true);
  });
});

describe('options', () => {
  test('the choices start from the command line and come back from the screen', async () => {
    const ui = new ScriptedUi().on('options', () => next({ backup: false, restart: true, modified: 'keep' as const }));
    const ctx = await chosenCtx(ui, sp1plain);
    ctx.choices = { backup: true, restart: false, modified: 'stop' };
    assert.equal(await options(ctx), 'next');
    assert.deepEqual(ui.last('options').choices, { backup: true, restart: false, modified: 'stop' });
    assert.deepEqual(
      ui.last('options').rows.map((r) => r.key),
      ['backup', 'restart', 'modified'],
    );
    assert.match(ui.last('options').baseCommand, /^servicepack install --root \/\S* -u$/);
    assert.match(ui.last('options').operands, /^-- \S*inetsrv-4\.0-sp1-x86\.tgz$/);
    assert.deepEqual(ctx.choices, { backup: false, restart: true, modified: 'keep' });
  });
});

describe('install', () => {
  const result = {
    root: '/r',
    transactionId: 't',
    restartRequired: false,
    packs: [{ id: 'inetsrv-4.0-sp1', title: 'SP1' }],
    before: { levelName: 'RTM' },
    after: { levelName: 'Service Pack 1' },
  } as unknown as InstallResult;

  test('one transaction with the chosen options, drawn from its events', async () => {
    let got: InstallOptions | undefined;
    const fake: Partial<WizardServices> = {
      install: async (opts) => {
        got = opts;
        opts.sink?.({ type: 'step', step: 'lock', state: 'started' });
        opts.sink?.({ type: 'step', step: 'lock', state: 'done' });
        opts.sink?.({ type: 'progress', step: 'commit', files: 2, totalFiles: 4, bytes: 10, totalBytes: 20 });
        return { result, logFile: '/r/.servicepack/log/t.jsonl' };
      },
    };
    const ui = new ScriptedUi();
    const ctx = await chosenCtx(ui, sp1plain, fake);
    ctx.choices = { backup: false, restart: false, modified: 'overwrite' };
    assert.equal(await install(ctx), 'next');
    assert.deepEqual(
      [got?.packs, got?.backup, got?.restart, got?.modified, got?.dryRun],
      [[sp1plain], false, 'never', 'overwrite', false],
    );
    const views = ui.displayed.map((d) => d.view as ProgressView);
    assert.ok(views.some((v) => v.steps.find((s) => s.step === 'lock')?.state === 'done'));
    assert.ok(views.some((v) => v.files === 2 && v.totalFiles === 4));
    assert.equal(views.at(-1)?.finished, true);
    assert.equal(ctx.result, result);
    assert.equal(ctx.logFile, '/r/.servicepack/log/t.jsonl');
  });

  test('asked to close while it ran: the outcome comes straight after it, without the Finish screen', async () => {
    const ui = new ScriptedUi();
    ui.leave = true;
    const ctx = await chosenCtx(ui, sp1plain, { install: async () => ({ result }) });
    const out = await install(ctx);
    assert.deepEqual(typeof out === 'object' && out.code, 0);
  });

  test('never without the license accepted', async () => {
    const ctx = await chosenCtx(new ScriptedUi(), sp1, { install: async () => assert.fail('must not install') });
    ctx.eula = { name: 'EULA.txt', text: 'x', packPath: sp1 };
    await assert.rejects(install(ctx), /license agreement was not accepted/);
  });
});

describe('finish', () => {
  test('the outcome: 10 while a restart is still required', async () => {
    const ui = new ScriptedUi().on('finish', () => next(undefined));
    const res = {
      root: '/r',
      restartRequired: true,
      restartMessage: 'start it',
      packs: [],
      before: { levelName: 'RTM' },
      after: { levelName: 'SP1' },
      changed: { added: [], replaced: [], deleted: [], spnew: [], kept: [] },
      service: { wasRunning: true, stopped: false, restarted: false },
    } as unknown as InstallResult;
    const out = await finish({ ui, result: res });
    assert.deepEqual(typeof out === 'object' && [out.code, out.lines[1]], [10, 'Restart required: start it']);
  });
});

describe('the runner', () => {
  test('back from Options skips a license that is not there', async () => {
    const ui = new ScriptedUi()
      .on('welcome', () => next(undefined))
      .on('installation', () => next('next' as const))
      .on('update', (v) => next(v.selected))
      .on(
        'options',
        () => back(),
        () => 'cancel',
      );
    const out = await runWizardSteps(ctxFor(ui, { root: await root(), packs: [sp1plain] }), INSTALL_STEPS);
    assert.deepEqual(ui.names(), ['welcome', 'installation', 'update', 'options', 'update', 'options']);
    assert.deepEqual(out, { code: 1, lines: ['Setup was cancelled: nothing was changed.'] });
  });

  test('a refusal becomes an error screen and its exit code', async () => {
    const ui = new ScriptedUi()
      .on('welcome', () => next(undefined))
      .on('installation', () => next('next' as const))
      .on('error', () => next('close' as const));
    const out = await runWizardSteps(ctxFor(ui, { root: await root(), packs: [sp1alpha] }));
    assert.equal(out.code, 3);
    assert.equal(ui.last('error').title, 'This update is for another processor architecture');
    assert.match(out.lines[0] ?? '', /^servicepack: error: .*is for alpha/);
  });

  test('busy (exit 5) offers the way back to Options and a retry', async () => {
    let attempts = 0;
    const busy: Partial<WizardServices> = {
      install: async () => {
        attempts++;
        throw new ServicepackError('E_BUSY', 'another servicepack process (pid 1) is working');
      },
    };
    const ui = new ScriptedUi()
      .on('welcome', () => next(undefined))
      .on('installation', () => next('next' as const))
      .on('update', (v) => next(v.selected))
      .on('options', (v) => next(v.choices))
      .on(
        'error',
        (v) => (v.canGoBack ? back() : next('close' as const)),
        () => next('close' as const),
      );
    const out = await runWizardSteps(ctxFor(ui, { root: await root(), packs: [sp1plain] }, busy));
    assert.equal(attempts, 2);
    assert.equal(out.code, 5);
    assert.deepEqual(ui.names().slice(-4), ['options', 'error', 'options', 'error']);
  });

  test('a cancel anywhere before the commit: exit 1, nothing changed', async () => {
    const ui = new ScriptedUi().on('welcome', () => 'cancel');
    assert.deepEqual(await runWizardSteps(ctxFor(ui, { root: await root(), packs: [sp1plain] })), {
      code: 1,
      lines: ['Setup was cancelled: nothing was changed.'],
    });
  });
});

test('no step writes before the transaction: the folder prompt, detection and pack checks only read', async () => {
  const r = await root();
  await mkdir(join(r, 'logs'), { recursive: true });
  const ui = new ScriptedUi()
    .on('welcome', () => next(undefined))
    .on('installation', () => next('next' as const))
    .on('update', (v) => next(v.selected))
    .on('license', () => next(undefined))
    .on('options', () => 'cancel');
  const { snapshot } = await import('../../../packages/core/test/install-fixtures.js');
  const before = await snapshot(r);
  const out = await runWizardSteps(ctxFor(ui, { root: r, packs: [sp1, sp1alpha] }));
  assert.equal(out.code, 1);
  assert.deepEqual(await snapshot(r), before);
});
