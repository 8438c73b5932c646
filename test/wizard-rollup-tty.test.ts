/**
 * Setup on SP6a in a real terminal (tmux, 120×40) with every built pack on offer: Security Rollup 1
 * is offered first and labelled as a rollup with what it replaces, before the first hotfix of the
 * chain; installing it, the Finish screen names the level with the rollup.
 */
import assert from 'node:assert/strict';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cleanup, ensureTmux, keys, packsDir, repo, scratch, start, stop, waitScreen } from './wizard-tmux.js';

const SIZE = { columns: 120, rows: 40 };
const INSTALL_MS = 120_000;

before(ensureTmux);
after(cleanup);

test('on SP6a Setup offers Security Rollup 1 first, as a rollup, and Finish names the level with it', async () => {
  const root = join(await scratch(), 'inetsrv');
  await cp(join(repo, 'dist', 'releases', 'inetsrv-4.0-sp6a-x86'), root, { recursive: true });
  try {
    start(['install', '--root', root, '--packs', packsDir], SIZE);
    await waitScreen('Welcome to Service Pack Setup.');
    await keys('Enter');
    await waitScreen('was found in');
    await keys('Enter');
    // waited for: the packs are judged one by one, the hotfix below the rollup may come later
    let s = await waitScreen(/Choose the update to install[\s\S]*Q248017 for Service Pack 6a/);
    const offered = s.split('\n').filter((l) => /\(•\)|\( \)/.test(l));
    assert.match(offered[0] ?? '', /› \(•\) inetsrv 4\.0 Security Rollup Package 1 .*rollup for Service Pack 6a ·/, s);
    assert.match(
      offered[1] ?? '',
      /\( \) inetsrv 4\.0 Hotfix Q248017 for Service Pack 6a +hotfix for Service Pack 6a ·/,
      s,
    );
    assert.match(s, /Replaces +Security Rollup 1: carries and replaces hotfixes Q248017, Q248395, Q247318, Q247602/);

    await keys('Enter');
    await waitScreen('License agreement:');
    await keys('PageDown', 'Space', 'Enter');
    await waitScreen('Options for inetsrv 4.0 Security Rollup Package 1');
    await keys('Enter');
    s = await waitScreen('was installed in', INSTALL_MS);
    assert.match(s, /Level +Service Pack 6a -> Service Pack 6a \+ Security Rollup 1/);
  } finally {
    stop();
  }
});
