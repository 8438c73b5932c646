import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * The layer rules `pnpm lint` enforces (.dependency-cruiser.cjs, docs/architecture.md) are only as
 * good as their patterns: a rule whose path never matches passes forever. The fixture breaks each
 * rule once, laid out like the repository, and is cruised with the project's own config.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = join(root, 'test/fixtures/depcruise');
const config = join(root, '.dependency-cruiser.cjs');
const depcruise = join(root, 'node_modules/.bin/depcruise');

interface Violation {
  from: string;
  to: string;
  rule: { name: string; severity: string };
}

function cruise(cwd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(depcruise, ['--config', config, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('layer violations are caught by the dependency-cruiser rules in pnpm lint', () => {
  it('reports every rule the fixture breaks, and nothing else', () => {
    const r = cruise(fixture, ['--output-type', 'json', 'packages', 'installer']);
    const violations = (JSON.parse(r.stdout) as { summary: { violations: Violation[] } }).summary.violations;
    const found = violations
      .map((v) => `${v.rule.name} ${v.from} -> ${v.to.replace(/^.*\/node_modules\//, 'node_modules/')}`)
      .sort();
    assert.deepEqual(found, [
      'builder-not-to-installer packages/builder/src/build.ts -> @servicepack/installer/screen',
      'core-not-to-front-ends packages/core/src/engine.ts -> installer/src/screen.ts',
      'core-not-to-terminals packages/core/src/terminal.ts -> ink',
      'core-rules-pure packages/core/src/rules/plan.ts -> fs',
      // core's exports map (the fixture's packages/core/package.json) lists src/engine.ts only
      'front-ends-through-core-api installer/src/deep.ts -> packages/core/src/cycle-b.ts',
      'front-ends-through-core-api installer/src/unexported.ts -> packages/core/lib/hidden.ts',
      'inetsrv-not-to-servicepack packages/inetsrv/src/server.ts -> @servicepack/core/cycle-a',
      'installer-not-to-tar installer/src/tarry.ts -> tar',
      // cycle-a.ts and cycle-b.ts import each other's types only: type-only imports count
      'no-circular packages/core/src/cycle-a.ts -> packages/core/src/cycle-b.ts',
      'src-not-to-dev-dependencies installer/src/bench.ts -> node_modules/autocannon/autocannon.js',
      'src-not-to-tests installer/src/helped.ts -> installer/test/helper.ts',
      'through-package-name installer/src/deep.ts -> packages/core/src/cycle-b.ts',
      'through-package-name packages/core/src/engine.ts -> installer/src/screen.ts',
    ]);
    assert.ok(violations.every((v) => v.rule.severity === 'error'));
  });

  it('fails pnpm lint: a non-zero exit, and the rule and the import named in the text it prints', () => {
    const r = cruise(fixture, ['packages', 'installer']);
    // depcruise exits with the number of errors it found
    assert.equal(r.status, 13, r.stdout + r.stderr);
    assert.match(r.stdout, /error no-circular: packages\/core\/src\/cycle-a\.ts/);
    assert.match(
      r.stdout,
      /error core-not-to-front-ends: packages\/core\/src\/engine\.ts → installer\/src\/screen\.ts/,
    );
  });

  it('pnpm lint runs dependency-cruiser with this config, and the real run leaves the fixture out', () => {
    const lint = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
      .scripts['lint'];
    assert.match(lint ?? '', /&& depcruise --config \.dependency-cruiser\.cjs /);
    const r = cruise(root, ['--output-type', 'json', 'test/fixtures/depcruise']);
    const out = JSON.parse(r.stdout) as { summary: { violations: Violation[]; totalCruised: number } };
    assert.deepEqual([out.summary.totalCruised, out.summary.violations], [0, []]);
  });
});
