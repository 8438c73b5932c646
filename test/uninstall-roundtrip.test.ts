/**
 * Install → uninstall → install for every pack in dist/packs, on a copy of the release tree it
 * applies to, through the real `servicepack`: the install gives the pack's release tree byte for
 * byte, the uninstall gives back the exact base tree (modes too), and installing again gives the
 * same tree as the first time. Then the order rules on real packs: SP5 and hotfix Q236565 in one
 * run come off newest first, and SP6 (which supersedes Q236565) comes off back to the hotfix.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hotfixIds } from '../packages/core/src/rules/applicability.js';
import { releaseName } from '../packages/builder/src/release.js';
import type { Manifest } from '../packages/core/src/pack/manifest.js';
import { inspectPack } from '../packages/core/src/pack/open.js';
import { loadTrustedKeys } from '../packages/core/src/trust/trust.js';
import { verifyInstallation } from '../packages/core/src/operations/verify.js';
import {
  builtPacks,
  digest,
  digestDiff,
  freezeBuild,
  installationFrom,
  pack,
  pool,
  type Run,
  sameDigest,
  servicepack,
  tempFolders,
  tree,
} from './support/servicepack.js';

interface Case {
  file: string;
  manifest: Manifest;
  base: string;
  target: string;
}

const cases: Case[] = [];

before(async () => {
  const all = builtPacks().map((p) => basename(p, '.tgz').replace(/^inetsrv-4\.0-/, ''));
  assert.ok(all.includes('sp6-x86') && all.includes('sp6-alpha'), `dist/packs has the SP6 packs (${all.join(', ')})`);
  // every tree a pack is installed on or reaches, and the packs, frozen for the whole suite
  const trees = new Set<string>();
  const keys = await loadTrustedKeys({ root: tree('rtm-x86') });
  const found: Case[] = [];
  // the tree a pack sits on and the one it reaches: a service pack from its lowest level; a hotfix or
  // rollup from its level plus the hotfixes it requires (the post-SP6a chain), to those plus its own
  const treeOf = (level: number, arch: Manifest['arch'], hotfixes: readonly string[]) =>
    releaseName(level, arch, hotfixes).replace(/^inetsrv-4\.0-/, '');
  for (const name of all) {
    const m = (await inspectPack(pack(name), { trustedKeys: keys })).manifest;
    const required = m.appliesTo.requires ?? [];
    const base =
      m.kind === 'service-pack'
        ? treeOf(Math.min(...m.appliesTo.levels), m.arch, [])
        : treeOf(m.baseLevel ?? m.level, m.arch, required);
    const target = m.kind === 'service-pack' ? name : treeOf(m.level, m.arch, [...required, ...hotfixIds(m)]);
    trees.add(base).add(target);
    found.push({ manifest: m, base, target, file: pack(name) });
  }
  await freezeBuild([...trees, ...['rtm-x86', 'sp5-x86', 'sp5-q236565-x86'].filter((t) => existsSync(tree(t)))], all);
  cases.push(...found);
});
after(async () => {
  for (const d of tempFolders()) await rm(d, { recursive: true, force: true });
});

function ok(r: Run, what: string): void {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.out}\n${r.err}`);
}

async function assertTree(root: string, name: string, what: string): Promise<void> {
  const have = await digest(root);
  const want = await digest(tree(name));
  assert.ok(sameDigest(have, want), `${what}: differs from ${name} in ${digestDiff(have, want).join(', ')}`);
}

describe('install → uninstall → install round trips', () => {
  test('every pack in dist/packs, on the tree it applies to', async (t) => {
    const t0 = performance.now();
    await pool(cases, 2, async (c) => {
      const root = await installationFrom(c.base);
      const label = `${c.manifest.id} (${c.manifest.arch}) on ${c.base}`;
      ok(await servicepack(['install', '--accept-eula', '--root', root, '-u', '-q', c.file]), `${label}: install`);
      await assertTree(root, c.target, `${label}: after install`);
      ok(await servicepack(['uninstall', '--root', root, '-u', '-q']), `${label}: uninstall`);
      await assertTree(root, c.base, `${label}: after uninstall`);
      const left = await readdir(join(root, '.servicepack'));
      for (const gone of ['backup', 'staging', 'journal.json', 'lock'])
        assert.ok(!left.includes(gone), `${label}: .servicepack/${gone} left after the uninstall`);
      ok(
        await servicepack(['install', '--accept-eula', '--root', root, '-u', '-q', c.file]),
        `${label}: install again`,
      );
      await assertTree(root, c.target, `${label}: after the second install`);
      const v = await verifyInstallation(root);
      assert.equal(v.clean, true, `${label}: verify ${JSON.stringify(v.problems)}`);
    });
    t.diagnostic(
      `${cases.length} packs: ${cases.map((c) => `${c.base} -> ${c.target}`).join(', ')} (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
  });

  test('SP5 and Q236565 in one run: one restart, then off newest first, each back to its exact tree', async (t) => {
    if (!cases.some((c) => c.target === 'sp5-q236565-x86') || !cases.some((c) => c.target === 'sp5-x86')) {
      t.skip('dist/packs has no SP5 or Q236565 pack for x86 yet');
      return;
    }
    const root = await installationFrom('rtm-x86');
    const inst = await servicepack([
      'install',
      '--accept-eula',
      '--root',
      root,
      '-u',
      '--json',
      pack('sp5-x86'),
      pack('sp5-q236565-x86'),
    ]);
    ok(inst, 'install SP5 + Q236565');
    assert.deepEqual(
      (JSON.parse(inst.out) as { packs: { id: string }[] }).packs.map((p) => p.id),
      ['inetsrv-4.0-sp5', 'Q236565'],
    );
    await assertTree(root, 'sp5-q236565-x86', 'after the chained install');

    const wrong = await servicepack(['uninstall', '--root', root, '-u', 'inetsrv-4.0-sp5']);
    assert.equal(wrong.code, 3);
    assert.match(wrong.err, /uninstall Q236565 first, then inetsrv-4\.0-sp5/);
    await assertTree(root, 'sp5-q236565-x86', 'a refused uninstall changes nothing');

    ok(await servicepack(['uninstall', '--root', root, '-u', '-q', 'Q236565']), 'uninstall Q236565');
    await assertTree(root, 'sp5-x86', 'after removing the hotfix');
    ok(await servicepack(['uninstall', '--root', root, '-u', '-q']), 'uninstall SP5');
    await assertTree(root, 'rtm-x86', 'after removing SP5');
    const none = await servicepack(['uninstall', '--root', root, '-u']);
    assert.equal(none.code, 3);
    assert.match(none.err, /nothing to uninstall/);
  });

  test('SP6 over the hotfix it supersedes comes off back to SP5 + Q236565', async (t) => {
    if (!cases.some((c) => c.target === 'sp5-q236565-x86')) {
      t.skip('dist/packs has no Q236565 pack for x86 yet');
      return;
    }
    const root = await installationFrom('sp5-q236565-x86');
    const q = await servicepack(['install', '--accept-eula', '--root', root, '-u', '-q', pack('sp6-x86')]);
    ok(q, 'SP6 on SP5 + Q236565');
    await assertTree(root, 'sp6-x86', 'after SP6');
    ok(await servicepack(['uninstall', '--root', root, '-u', '-q']), 'uninstall SP6');
    await assertTree(root, 'sp5-q236565-x86', 'after removing SP6');
    const query = JSON.parse((await servicepack(['query', '--root', root, '--json'])).out) as {
      level: number;
      hotfixes: string[];
    };
    assert.equal(query.level, 5);
    assert.deepEqual(query.hotfixes, ['Q236565']);
  });

  test('installed with --no-backup: uninstall refuses, says why, exit 3', async () => {
    const root = await installationFrom('rtm-x86');
    ok(
      await servicepack(['install', '--accept-eula', '--root', root, '-u', '-n', '-q', pack('sp6-x86')]),
      'install -n',
    );
    const r = await servicepack(['uninstall', '--root', root, '-u', '--json']);
    assert.equal(r.code, 3);
    const doc = JSON.parse(r.out) as { code: string; message: string };
    assert.equal(doc.code, 'E_NO_BACKUP');
    assert.match(doc.message, /--no-backup \(-n\), so no uninstall data was kept/);
    await assertTree(root, 'sp6-x86', 'nothing changed');
  });
});
