/**
 * Service Pack 6a (issue 17 item 1) through the real `servicepack` and the built feed: `install
 * --feed dist/feed inetsrv-4.0-sp6a` from RTM, SP5 and SP6 on both architectures lands byte for byte
 * on the SP6a release tree (SP6a is the newest level and supersedes SP6), `query` names it "Service
 * Pack 6a" and `query --require sp6a` accepts it, and uninstall walks back one update at a time to
 * the exact starting tree. `latest`, which goes on past SP6a to the rollup and the hotfix chain, is
 * test/rollup.test.ts's. Needs `pnpm build`; a missing build fails, never skips.
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  buildInfoOf,
  digest,
  digestDiff,
  installationFrom,
  pack,
  pool,
  requireBuild,
  type Run,
  sameDigest,
  servicepack,
  tempFolders,
  tree,
} from './support/servicepack.js';
import { distFeed } from './support/unattended.js';
import { CHAIN } from './support/chain.js';

const ARCHES = ['x86', 'alpha'] as const;
const STARTS = ['rtm', 'sp5', 'sp6'] as const;

function ok(r: Run, what: string): void {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.out}\n${r.err}`);
}

async function assertTree(root: string, name: string, what: string): Promise<void> {
  const have = await digest(root);
  const want = await digest(tree(name));
  assert.ok(sameDigest(have, want), `${what}: differs from ${name} in ${digestDiff(have, want).join(', ')}`);
}

async function query(root: string, extra: string[] = []): Promise<{ run: Run; doc: Record<string, unknown> }> {
  const run = await servicepack(['query', '--root', root, '--json', ...extra]);
  return { run, doc: JSON.parse(run.out) as Record<string, unknown> };
}

before(() => {
  requireBuild([distFeed, ...ARCHES.flatMap((a) => [...STARTS, 'sp6a'].map((s) => tree(`${s}-${a}`)))]);
});
after(async () => {
  for (const d of tempFolders()) await rm(d, { recursive: true, force: true });
});

describe('Service Pack 6a from the feed', () => {
  test('the SP6a release tree is level 7 and its product calls itself Service Pack 6a', async () => {
    for (const arch of ARCHES) {
      const dir = tree(`sp6a-${arch}`);
      assert.equal(buildInfoOf(dir).level, 7);
      const { run, doc } = await query(dir, ['--require', 'sp6']);
      ok(run, `query ${dir}`);
      assert.equal(doc['levelName'], 'Service Pack 6a');
      // SP6 is below SP6a: an SP6 tree does not meet --require sp6a (exit 3, E_REQUIREMENT_NOT_MET).
      const sp6 = await query(tree(`sp6-${arch}`), ['--require', 'sp6a']);
      assert.equal(sp6.run.code, 3, sp6.run.out);
      assert.equal(sp6.doc['code'], 'E_REQUIREMENT_NOT_MET');
      assert.equal((sp6.doc['require'] as Record<string, unknown> | undefined)?.['levelName'], 'Service Pack 6a');
    }
  });

  test('install --feed dist/feed inetsrv-4.0-sp6a from RTM, SP5 and SP6 gives exactly SP6a; uninstall walks back', async (t) => {
    const cases = ARCHES.flatMap((arch) => STARTS.map((start) => ({ arch, start })));
    await pool(cases, 2, async ({ arch, start }) => {
      const base = `${start}-${arch}`;
      const root = await installationFrom(base);
      const inst = await servicepack([
        'install',
        '--feed',
        distFeed,
        '--root',
        root,
        '-u',
        '--accept-eula',
        'inetsrv-4.0-sp6a',
      ]);
      ok(inst, `SP6a on ${base}`);
      await assertTree(root, `sp6a-${arch}`, `SP6a on ${base}`);
      const { run, doc } = await query(root, ['--require', 'sp6a']);
      ok(run, `query --require sp6a after SP6a on ${base}`);
      assert.equal(doc['level'], 7);
      assert.equal(doc['levelName'], 'Service Pack 6a');
      assert.equal(doc['consistent'], true, JSON.stringify(doc['problems']));
      assert.deepEqual(doc['require'], { level: 7, levelName: 'Service Pack 6a', met: true });
      // One update at a time: SP6a came straight onto the starting level, so one uninstall undoes it.
      ok(await servicepack(['uninstall', '--root', root, '-u', '-q']), `uninstall SP6a on ${base}`);
      await assertTree(root, base, `uninstall after SP6a on ${base}`);
    });
    t.diagnostic(`${cases.length} installations: ${cases.map((c) => `${c.start}-${c.arch}`).join(', ')}`);
  });

  test('SP6 then SP6a: uninstall takes off SP6a, then SP6, each back to its exact tree', async () => {
    const root = await installationFrom('sp5-x86');
    ok(
      await servicepack(['install', '--feed', distFeed, '--root', root, '-u', '--accept-eula', 'inetsrv-4.0-sp6']),
      'SP6 from the feed',
    );
    await assertTree(root, 'sp6-x86', 'after SP6');
    ok(
      await servicepack(['install', '--feed', distFeed, '--root', root, '-u', '--accept-eula', 'inetsrv-4.0-sp6a']),
      'SP6a from the feed on SP6',
    );
    await assertTree(root, 'sp6a-x86', 'after SP6a on SP6');
    ok(await servicepack(['uninstall', '--root', root, '-u', '-q']), 'uninstall SP6a');
    await assertTree(root, 'sp6-x86', 'after removing SP6a');
    ok(await servicepack(['uninstall', '--root', root, '-u', '-q']), 'uninstall SP6');
    await assertTree(root, 'sp5-x86', 'after removing SP6');
  });

  test('answer files: the SP6a pack by file on Alpha SP6, and latest from the feed on the x86 SP5 + Q236565 build (SP6a supersedes the hotfix; latest goes on to the newest tree)', async () => {
    const alpha = await installationFrom('sp6-alpha');
    const hotfixed = await installationFrom('sp5-q236565-x86');
    const files = await installationFrom('rtm-x86');
    const byFile = join(files, 'sp6a-alpha.yaml');
    await writeFile(byFile, `targets: [{root: ${alpha}}]\npacks: [${pack('sp6a-alpha')}]\nacceptEula: true\n`);
    ok(await servicepack(['install', '--answer-file', byFile]), 'answer file with the SP6a pack');
    await assertTree(alpha, 'sp6a-alpha', 'answer file, SP6a on Alpha SP6');
    const byFeed = join(files, 'latest.yaml');
    await writeFile(byFeed, `targets: [{root: ${hotfixed}}]\nfeed: ${distFeed}\nlatest: true\nacceptEula: true\n`);
    ok(await servicepack(['install', '--answer-file', byFeed]), 'answer file with latest');
    await assertTree(hotfixed, `sp6a-${CHAIN.join('-').toLowerCase()}-x86`, 'answer file, latest on SP5 + Q236565');
    const { doc } = await query(hotfixed);
    // Q236565 is gone from the list: SP6a superseded it; the rollup stands for its four hotfixes
    assert.equal(doc['levelName'], `Service Pack 6a + Security Rollup 1, hotfixes ${CHAIN.slice(4).join(', ')}`);
    assert.deepEqual(doc['hotfixes'], CHAIN);
  });
});
