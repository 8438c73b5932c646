import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fixEdit, fixNew, fixRefresh, fixWorkDirs } from '../src/fix-tools.js';
import { buildRelease, releaseName } from '../src/release.js';
import { loadSeries } from '../src/series.js';
import { readTree } from '../src/tree.js';
import { type FixSpec, makeProduct, RTM_SOURCE, tempDir } from './fixture.js';

const quiet = { log: () => {} };

const FIXES: FixSpec[] = [
  { id: 'Q1', level: 1, change: { 'src/server.ts': RTM_SOURCE['src/server.ts']!.replace('"4.0"', '"4.0 SP1"') } },
  { id: 'Q2', level: 2, change: { 'conf/inetsrv.conf': 'Port 8080\nMaxConnections 200\n' } },
];

async function setup() {
  const root = await tempDir('sp-fixtools-');
  const product = await makeProduct(root, FIXES);
  return { root, product, opts: { ...product, workDir: join(root, '.work'), ...quiet } };
}

function texts(tree: Map<string, Buffer>): Record<string, string> {
  return Object.fromEntries([...tree].map(([p, b]) => [p, b.toString()]));
}

describe('fix new', () => {
  it('creates a valid fix.yaml template and appends the fix to the series', async () => {
    const { opts } = await setup();
    const { fixFile } = await fixNew(
      'Q3',
      { level: 3, title: 'Idle connections are never closed', hotfixBaseLevel: 2 },
      opts,
    );
    const yaml = await readFile(fixFile, 'utf8');
    assert.match(yaml, /^id: Q3\ntitle: "Idle connections are never closed"\n/);
    assert.match(yaml, /\nhotfix: \{ baseLevel: 2 \}\n/);
    const series = await loadSeries(opts.patchesDir, { allowMissingDiffsFor: 'Q3' });
    assert.deepEqual(
      series.fixes.map((f) => [f.id, f.level]),
      [
        ['Q1', 1],
        ['Q2', 2],
        ['Q3', 3],
      ],
    );
    // Until its diff is written, the fix blocks release builds rather than shipping as nothing.
    await assert.rejects(
      loadSeries(opts.patchesDir),
      /Q3[/\\]fix\.yaml: diffs lists .*changes\.diff, which does not exist/,
    );
  });

  it('refuses an existing id, a bad id, and a level below the end of the series', async () => {
    const { opts } = await setup();
    await assert.rejects(fixNew('Q2', { level: 2 }, opts), /patches[/\\]Q2 already exists/);
    await assert.rejects(fixNew('q2', { level: 2 }, opts), /already lists Q2/);
    await assert.rejects(fixNew('Q 3', { level: 2 }, opts), /"Q 3" is not a fix id/);
    await assert.rejects(
      fixNew('Q3', { level: 1 }, opts),
      /level 1 is below the last fix in the series \(Q2, level 2\)/,
    );
    await assert.rejects(fixNew('Q3', { level: 3, hotfixBaseLevel: 3 }, opts), /--hotfix-base must be a level below 3/);
    assert.equal(await readFile(join(opts.patchesDir, 'series'), 'utf8'), '# ship order\nQ1\nQ2\n');
  });
});

describe('fix edit / fix refresh', () => {
  it('lays out the tree before the fix, and the fix applied, and refreshes it back to the same diff', async () => {
    const { opts } = await setup();
    const { work, base, appliedDiff } = await fixEdit('Q2', opts);
    assert.deepEqual([work, base], [join(opts.workDir, 'fix', 'Q2'), join(opts.workDir, 'fix', 'Q2.base')]);
    assert.equal(appliedDiff, true);
    const baseTree = texts(await readTree(base));
    assert.equal(
      baseTree['src/server.ts'],
      RTM_SOURCE['src/server.ts']!.replace('"4.0"', '"4.0 SP1"'),
      'Q1 is applied below Q2',
    );
    assert.equal(baseTree['conf/inetsrv.conf'], RTM_SOURCE['conf/inetsrv.conf']);
    assert.equal(texts(await readTree(work))['conf/inetsrv.conf'], 'Port 8080\nMaxConnections 200\n');
    assert.equal((await stat(join(work, 'bin/inetsrv'))).mode & 0o777, 0o755);

    const diffFile = join(opts.patchesDir, 'Q2', 'changes.diff');
    const before = await readFile(diffFile, 'utf8');
    const { changes } = await fixRefresh('Q2', opts);
    assert.deepEqual(changes, [{ path: 'conf/inetsrv.conf', kind: 'modify' }]);
    assert.equal(await readFile(diffFile, 'utf8'), before, 'an unchanged work copy refreshes to the same bytes');
  });

  it('turns edits (change, add, delete) into the fix’s diff, which then ships in its level', async () => {
    const { root, opts, product } = await setup();
    await fixNew('Q3', { level: 3 }, opts);
    const { work, appliedDiff } = await fixEdit('Q3', opts);
    assert.equal(appliedDiff, false);
    assert.equal(
      texts(await readTree(work))['conf/inetsrv.conf'],
      'Port 8080\nMaxConnections 200\n',
      'Q1 and Q2 below Q3',
    );
    const server = join(work, 'src/server.ts');
    await writeFile(server, (await readFile(server, 'utf8')).replace('"4.0 SP1"', '"4.0 SP3"'));
    await writeFile(join(work, 'src/limits.ts'), 'export const MAX = 1;\n');
    await unlink(join(work, 'wwwroot/index.html'));
    // What editors leave behind is not part of the fix (an Emacs lock is even a dangling symlink).
    await writeFile(join(work, 'src/server.ts~'), 'backup\n');
    await writeFile(join(work, 'src/.server.ts.swp'), 'swap\n');
    await symlink('nobody@host.1234', join(work, 'src/.#server.ts'));

    const logged: string[] = [];
    const { diffFile, changes } = await fixRefresh('Q3', { ...opts, log: (l) => logged.push(l) });
    assert.ok(
      logged.some((l) =>
        l.includes('ignoring editor and merge leftovers: src/.#server.ts, src/.server.ts.swp, src/server.ts~'),
      ),
      logged.join('\n'),
    );
    assert.deepEqual(changes, [
      { path: 'src/limits.ts', kind: 'create' },
      { path: 'src/server.ts', kind: 'modify' },
      { path: 'wwwroot/index.html', kind: 'delete' },
    ]);
    const diff = await readFile(diffFile, 'utf8');
    assert.match(diff, /^diff --git a\/src\/limits\.ts b\/src\/limits\.ts\nnew file mode 100644\n/);
    assert.match(diff, /\n-export const VERSION: string = "4\.0 SP1";\n\+export const VERSION: string = "4\.0 SP3";\n/);

    // Refreshing twice gives the same bytes: diffs do not churn in version control.
    await fixRefresh('Q3', opts);
    assert.equal(await readFile(diffFile, 'utf8'), diff);

    const out = join(root, 'releases');
    await buildRelease({ ...product, outDir: out, level: 3, arch: 'x86' });
    const sp3 = join(out, releaseName(3, 'x86'));
    assert.ok(existsSync(join(sp3, 'lib/limits.js')));
    assert.ok(!existsSync(join(sp3, 'wwwroot/index.html')));
    assert.match(await readFile(join(sp3, 'lib/server.js'), 'utf8'), /"4\.0 SP3"/);

    // fix edit on a fix that has a diff now lays out the edits again.
    await rm(join(opts.workDir, 'fix'), { recursive: true });
    await fixEdit('Q3', opts);
    assert.ok(existsSync(join(work, 'src/limits.ts')));
  });

  it('will not overwrite a work copy without --force', async () => {
    const { opts } = await setup();
    await fixEdit('Q1', opts);
    const edited = join(fixWorkDirs(opts.workDir, 'Q1').work, 'conf/inetsrv.conf');
    await writeFile(edited, 'precious edit\n');
    await assert.rejects(fixEdit('Q1', opts), /already exists and may hold unsaved edits: run `pnpm fix:refresh Q1`/);
    assert.equal(await readFile(edited, 'utf8'), 'precious edit\n');
    await fixEdit('Q1', { ...opts, force: true });
    assert.equal(await readFile(edited, 'utf8'), RTM_SOURCE['conf/inetsrv.conf']);
  });

  it('refuses to refresh against a base that earlier fixes have since changed', async () => {
    const { opts } = await setup();
    await fixEdit('Q2', opts);
    const q1 = join(opts.patchesDir, 'Q1', 'changes.diff');
    await writeFile(q1, (await readFile(q1, 'utf8')).replaceAll('4.0 SP1', '4.0 SP1a'));
    await assert.rejects(fixRefresh('Q2', opts), /the tree below Q2 changed since `fix edit` \(src\/server\.ts\)/);
  });

  it('refuses to refresh without a work copy, or with nothing changed', async () => {
    const { opts } = await setup();
    await assert.rejects(fixRefresh('Q1', opts), /is not laid out: run `pnpm fix:edit Q1` first/);
    await fixNew('Q3', { level: 3 }, opts);
    await fixEdit('Q3', opts);
    await assert.rejects(fixRefresh('Q3', opts), /does not differ from .*nothing to write/);
    await assert.rejects(fixEdit('Q9', opts), /fix Q9 is not in .*series \(known: Q1, Q2, Q3\)/);
  });
});

describe('builder CLI', () => {
  const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli.ts');
  const run = (args: string[]) =>
    new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      child.on('close', (status) => resolve({ status, stderr }));
    });

  it('answers usage mistakes in the fix commands with exit 2 and the usage text', async () => {
    const cases = [
      ['fix', 'frobnicate', 'Q1'],
      ['fix', 'new', 'Q1', '--level', 'six'],
      ['fix', 'edit', 'Q1', '--bogus'],
    ];
    const results = await Promise.all(cases.map(run));
    results.forEach((r, i) => {
      assert.equal(r.status, 2, `${cases[i]?.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /usage: builder build-all/);
      assert.match(r.stderr, /fix edit ID \[--force\]/);
    });
  });
});
