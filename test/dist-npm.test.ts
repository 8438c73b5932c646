/**
 * The npm package (scripts/build-npm.mjs → dist/servicepack-<version>.tgz), installed the way a user
 * would: `npm install -g --prefix TMP` of the tarball, offline (it has no dependencies, so no
 * registry is asked), then the installed command's --version, query and an unattended SP6 install.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { releaseTree, repoRoot } from './support/inetsrv.js';

const version = (JSON.parse(readFileSync(join(repoRoot, 'installer', 'package.json'), 'utf8')) as { version: string })
  .version;
const TARBALL = join(repoRoot, 'dist', `servicepack-${version}.tgz`);
const SP6 = join(repoRoot, 'dist', 'packs', 'inetsrv-4.0-sp6-x86.tgz');

let work = '';
let prefix = '';
let command = '';

function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    // only PATH from the test runner: no registry, cache or proxy settings of its own reach npm
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: work, ...env },
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('the npm package', () => {
  before(() => {
    for (const p of [TARBALL, SP6]) {
      if (!existsSync(p)) throw new Error(`${p} is missing: run pnpm build (npx --yes pnpm@10.34.8 run build) first`);
    }
    work = mkdtempSync(join(tmpdir(), 'sp-npm-'));
    prefix = join(work, 'prefix');
    const r = run(
      'npm',
      ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', '--ignore-scripts', TARBALL],
      // a registry nobody listens on: had npm wanted one, the install would fail, not wait
      { npm_config_cache: join(work, 'npm-cache'), npm_config_registry: 'http://127.0.0.1:9/' },
    );
    assert.equal(r.code, 0, `npm install -g: ${r.err}`);
    command = join(prefix, 'bin', 'servicepack');
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  test('the tarball holds the bundle (its entry and lib/ folder), the man page and the completions, and depends on nothing', () => {
    const pkg = JSON.parse(readFileSync(join(prefix, 'lib', 'node_modules', 'servicepack', 'package.json'), 'utf8'));
    assert.equal(pkg.name, 'servicepack');
    assert.equal(pkg.version, version);
    assert.equal(pkg.engines?.node, '>=20.19');
    assert.equal(pkg.dependencies, undefined);
    const listed = run('tar', ['-tzf', TARBALL]).out.split('\n').filter(Boolean).sort();
    const lib = readdirSync(join(repoRoot, 'installer', 'dist', 'bundle', 'split', 'lib'));
    assert.ok(lib.includes('core.mjs'), `the bundle's lib/ has no core.mjs: ${lib.join(' ')}`);
    assert.deepEqual(listed, [
      'package/README.md',
      'package/THIRD-PARTY-NOTICES',
      ...lib.map((f) => `package/bin/lib/${f}`).sort(),
      'package/bin/servicepack.mjs',
      'package/package.json',
      'package/share/bash-completion/completions/servicepack',
      'package/share/fish/vendor_completions.d/servicepack.fish',
      'package/share/man/man1/servicepack.1',
      'package/share/zsh/vendor-completions/_servicepack',
    ]);
    // npm links the `man` page into the prefix, where `man` looks
    assert.match(readFileSync(join(prefix, 'share', 'man', 'man1', 'servicepack.1'), 'utf8'), /^\.TH SERVICEPACK 1/m);
  });

  test('the installed command: --version names the build commit and node', () => {
    const info = JSON.parse(readFileSync(join(repoRoot, 'installer', 'dist', 'build-info.json'), 'utf8')) as {
      commit: string;
    };
    const r = run(command, ['--version']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out.split('\n').slice(0, 3), [
      `servicepack ${version}`,
      `commit ${info.commit}`,
      `node ${process.version}`,
    ]);
  });

  test('the installed command: query, then an unattended SP6 install of a copy of the RTM tree', () => {
    const root = join(mkdtempSync(join(work, 'root-')), 'inetsrv');
    cpSync(releaseTree('inetsrv-4.0-rtm-x86'), root, { recursive: true });
    const before = run(command, ['query', '--root', root, '--json']);
    assert.equal(before.code, 0, before.err);
    assert.equal(JSON.parse(before.out).level, 0);
    const install = run(command, ['install', '-u', '--accept-eula', '--root', root, SP6]);
    assert.equal(install.code, 0, install.err);
    const afterInstall = run(command, ['query', '--root', root, '--json']);
    assert.equal(afterInstall.code, 0, afterInstall.err);
    const state = JSON.parse(afterInstall.out) as {
      level: number;
      consistent: boolean;
      installed: { packId: string }[];
    };
    assert.equal(state.level, 6);
    assert.equal(state.consistent, true);
    assert.deepEqual(
      state.installed.map((p) => p.packId),
      ['inetsrv-4.0-sp6'],
    );
  });
});
