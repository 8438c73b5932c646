#!/usr/bin/env node
// `pnpm build`'s step after the bundle: the publishable npm package `servicepack`, laid out in
// installer/dist/npm/ and packed to dist/servicepack-<version>.tgz (docs/architecture.md, "The
// bundle"). It has no dependencies: everything it runs is in the bundle, so `npm install -g` of the
// tarball needs no registry.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { bundledModules } from './bundled-modules.mjs';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const dist = join(repo, 'installer', 'dist');
// the one file's metafile names the modules; the split folder (the same modules) is what the package ships
const bundle = join(dist, 'bundle', 'servicepack.mjs');
const split = join(dist, 'bundle', 'split');
const out = join(dist, 'npm');

function fail(message) {
  process.stderr.write(`build-npm: ${message}\n`);
  process.exit(1);
}

for (const p of [
  bundle,
  `${bundle}.meta.json`,
  join(split, 'servicepack.mjs'),
  join(split, 'lib', 'core.mjs'),
  join(dist, 'share', 'man', 'man1', 'servicepack.1'),
]) {
  if (!existsSync(p)) fail(`${p} is missing: run the whole build (pnpm build)`);
}
const installer = JSON.parse(readFileSync(join(repo, 'installer', 'package.json'), 'utf8'));
const built = JSON.parse(readFileSync(join(dist, 'build-info.json'), 'utf8'));
// --version prints the program's VERSION (recorded in build-info.json); the package must say the same
if (built.version !== installer.version) {
  fail(`installer/package.json says ${installer.version}, the program says ${built.version}: make them agree`);
}

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'bin'), { recursive: true });
// bin/servicepack.mjs imports ./lib/core.mjs; npm links the command to it and node follows the link
copyFileSync(join(split, 'servicepack.mjs'), join(out, 'bin', 'servicepack.mjs'));
chmodSync(join(out, 'bin', 'servicepack.mjs'), 0o755);
cpSync(join(split, 'lib'), join(out, 'bin', 'lib'), { recursive: true });
cpSync(join(dist, 'share'), join(out, 'share'), { recursive: true });
const notices = bundledModules(repo, bundle)
  .map(
    ({ pkg, licenseText }) =>
      `${pkg.name} ${pkg.version} (${pkg.license})\n\n${licenseText.trim() || 'no license file in the package'}\n`,
  )
  .join(`\n${'-'.repeat(72)}\n\n`);
writeFileSync(join(out, 'THIRD-PARTY-NOTICES'), `The servicepack bundle holds these node modules.\n\n${notices}`);
writeFileSync(
  join(out, 'README.md'),
  `# servicepack

Installs, removes, verifies and reports service packs and hotfixes for inetsrv.
bin/servicepack.mjs and the files under bin/lib/ hold the program and everything it uses; it needs
Node ${installer.engines.node}.

    npm install -g ./servicepack-${installer.version}.tgz
    servicepack --help
    man servicepack

Completions for bash, zsh and fish are under share/, laid out as under /usr/share.
`,
);
const pkg = {
  name: 'servicepack',
  version: installer.version,
  description: 'Installs, removes, verifies and reports service packs and hotfixes for inetsrv',
  type: 'module',
  // no license has been chosen for servicepack itself; the bundled modules' are in THIRD-PARTY-NOTICES
  license: 'UNLICENSED',
  engines: installer.engines,
  bin: { servicepack: 'bin/servicepack.mjs' },
  man: ['share/man/man1/servicepack.1'],
  files: ['bin/', 'share/', 'THIRD-PARTY-NOTICES'],
};
writeFileSync(join(out, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);

const tarball = join(repo, 'dist', `servicepack-${installer.version}.tgz`);
mkdirSync(dirname(tarball), { recursive: true });
rmSync(tarball, { force: true });
execFileSync('npm', ['pack', '--pack-destination', dirname(tarball), '--ignore-scripts', '--offline', '--silent'], {
  cwd: out,
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' },
});
if (!existsSync(tarball)) fail(`npm pack wrote no ${tarball}`);
process.stdout.write(`npm: ${tarball}\n`);
