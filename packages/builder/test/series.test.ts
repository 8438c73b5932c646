import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fixesFor, loadSeries, parseFixYaml, parseSeriesText } from '../src/series.js';
import { fixYaml, tempDir, writeFiles } from './fixture.js';

async function patchesWith(files: Record<string, string>): Promise<string> {
  const dir = join(await tempDir('sp-series-'), 'patches');
  await writeFiles(dir, files);
  return dir;
}

const ok = (id: string, level: number, extra: { hotfixBase?: number } = {}) => ({
  [`${id}/fix.yaml`]: fixYaml({ id, level, ...extra }),
  [`${id}/changes.diff`]: '',
});

describe('patches/series', () => {
  it('reads ids in order, ignoring blank lines and comments', () => {
    assert.deepEqual(parseSeriesText('# header\n\nQ1\nQ2   # trailing comment\n  Q3\n', 'series'), ['Q1', 'Q2', 'Q3']);
  });

  it('rejects a duplicate id, naming both lines', () => {
    assert.throws(
      () => parseSeriesText('Q1\nQ2\nQ1\n', 'patches/series'),
      /patches\/series:3: fix Q1 is listed twice \(first on line 1\)/,
    );
  });

  it('rejects something that is not an id', () => {
    assert.throws(
      () => parseSeriesText('Q1\nfix/../Q2\n', 'patches/series'),
      /patches\/series:2: "fix\/\.\.\/Q2" is not a fix id/,
    );
  });
});

describe('fix.yaml', () => {
  const good = fixYaml({ id: 'Q236565', level: 6, hotfixBase: 5 });

  it('parses a complete fix', () => {
    const fix = parseFixYaml(good, 'patches/Q236565/fix.yaml');
    assert.equal(fix.id, 'Q236565');
    assert.equal(fix.level, 6);
    assert.deepEqual(fix.hotfix, { baseLevel: 5 });
    assert.deepEqual(fix.arch, ['x86', 'alpha']);
    assert.deepEqual(fix.diffs, ['changes.diff']);
  });

  it('names the file, the line and the key of an unknown key', () => {
    const text = good.replace('security: false\n', 'security: false\nseverity: high\n');
    assert.throws(
      () => parseFixYaml(text, 'patches/Q236565/fix.yaml'),
      /^Error: patches\/Q236565\/fix\.yaml:7: unknown key severity$/m,
    );
  });

  it('names the line and the key of a wrong value, also in a nested map', () => {
    assert.throws(() => parseFixYaml(good.replace('level: 6', 'level: six'), 'f.yaml'), /f\.yaml:4: level: /);
    assert.throws(
      () => parseFixYaml(good.replace('baseLevel: 5', 'baseLevel: -1'), 'f.yaml'),
      /f\.yaml:5: hotfix\.baseLevel: /,
    );
    assert.throws(
      () => parseFixYaml(good.replace('arch: [x86, alpha]', 'arch: [x86, mips]'), 'f.yaml'),
      /f\.yaml:7: arch\.1: /,
    );
  });

  it('names a missing key', () => {
    const text = good.replace(/^summary: .*\n/m, '');
    assert.throws(() => parseFixYaml(text, 'f.yaml'), /f\.yaml:1: summary: /);
  });

  it('refuses a multi-line title and a diff path that leaves the fix folder', () => {
    assert.throws(
      () => parseFixYaml(good.replace('title: Fix Q236565', 'title: "two\\nlines"'), 'f.yaml'),
      /title: must be one line/,
    );
    assert.throws(
      () => parseFixYaml(good.replace('[changes.diff]', '[../Q1/changes.diff]'), 'f.yaml'),
      /diffs\.0: a file name inside the fix folder/,
    );
  });

  it('reports YAML syntax errors with their line', () => {
    assert.throws(() => parseFixYaml('id: Q1\ntitle: [unclosed\n', 'f.yaml'), /^Error: f\.yaml:\d+: not valid YAML/);
  });
});

describe('loadSeries', () => {
  it('loads fixes in series order and selects them per level and hotfix', async () => {
    const dir = await patchesWith({
      series: 'Q1\nQ2\nQ3\n',
      ...ok('Q1', 1),
      ...ok('Q2', 3),
      ...ok('Q3', 3, { hotfixBase: 2 }),
    });
    const series = await loadSeries(dir);
    assert.deepEqual(
      series.fixes.map((f) => [f.id, f.index, f.level]),
      [
        ['Q1', 0, 1],
        ['Q2', 1, 3],
        ['Q3', 2, 3],
      ],
    );
    assert.equal(series.maxLevel, 3);
    assert.deepEqual(series.fixes[0]?.diffPaths, [join(dir, 'Q1', 'changes.diff')]);
    assert.deepEqual(
      fixesFor(series, 2).map((f) => f.id),
      ['Q1'],
    );
    assert.deepEqual(
      fixesFor(series, 2, ['q3']).map((f) => f.id),
      ['Q1', 'Q3'],
    );
    assert.deepEqual(
      fixesFor(series, 3).map((f) => f.id),
      ['Q1', 'Q2', 'Q3'],
    );
  });

  it('refuses levels that go down along the series', async () => {
    const dir = await patchesWith({ series: 'Q1\nQ2\n', ...ok('Q1', 3), ...ok('Q2', 2) });
    await assert.rejects(
      loadSeries(dir),
      /Q2[/\\]fix\.yaml: level 2 comes after Q1 at level 3 .*levels must not decrease/,
    );
  });

  it('refuses a fix.yaml whose id is not its folder', async () => {
    const dir = await patchesWith({
      series: 'Q1\n',
      'Q1/fix.yaml': fixYaml({ id: 'Q9', level: 1 }),
      'Q1/changes.diff': '',
    });
    await assert.rejects(loadSeries(dir), /Q1[/\\]fix\.yaml: id is Q9 but the folder \(and the series\) say Q1/);
  });

  it('refuses a listed fix without fix.yaml, and a fix folder the series does not list', async () => {
    const missing = await patchesWith({ series: 'Q1\nQ2\n', ...ok('Q1', 1) });
    await assert.rejects(loadSeries(missing), /lists Q2 but .*Q2[/\\]fix\.yaml does not exist/);
    const unlisted = await patchesWith({ series: 'Q1\n', ...ok('Q1', 1), ...ok('Q2', 2) });
    await assert.rejects(loadSeries(unlisted), /Q2[/\\]fix\.yaml exists but .*series does not list Q2/);
  });

  it('refuses a missing diff unless that fix is the one being written', async () => {
    const dir = await patchesWith({ series: 'Q1\n', ...ok('Q1', 1) });
    await rm(join(dir, 'Q1', 'changes.diff'));
    await assert.rejects(
      loadSeries(dir),
      /Q1[/\\]fix\.yaml: diffs lists .*changes\.diff, which does not exist \(write it with: pnpm fix:edit Q1/,
    );
    assert.equal((await loadSeries(dir, { allowMissingDiffsFor: 'Q1' })).fixes.length, 1);
  });

  it('refuses a hotfix base at or above the fix level', async () => {
    const dir = await patchesWith({ series: 'Q1\n', ...ok('Q1', 2, { hotfixBase: 2 }) });
    await assert.rejects(loadSeries(dir), /hotfix\.baseLevel 2 must be below level 2/);
  });

  it('refuses a missing series file with a hint', async () => {
    const dir = await patchesWith({});
    await mkdir(dir, { recursive: true });
    await assert.rejects(loadSeries(dir), /series does not exist: create it/);
    await writeFile(join(dir, 'series'), '');
    assert.deepEqual((await loadSeries(dir)).fixes, []);
  });
});
