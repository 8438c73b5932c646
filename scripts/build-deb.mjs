#!/usr/bin/env node
// Builds dist/servicepack_<version>_all.deb (`pnpm build` runs it after the bundle step): the bundled
// CLI, the man page and completions that installer/dist/share/ already holds, the doc files Debian
// policy asks for and /etc/servicepack/. docs/layout.md §6 says where each file goes and why.
//
// The package is reproducible: every mtime is SOURCE_DATE_EPOCH (else the commit's time), every mode
// is set here (0755 directories and programs, 0644 the rest) whatever the umask, the gzip files carry
// no name or time, and dpkg-deb sorts the members and stamps the ar header from SOURCE_DATE_EPOCH.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, lstat, lutimes, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { bundledModules } from './bundled-modules.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
// the one file's metafile names the modules; the folder beside it (the same modules, split) is what ships
const BUNDLE = join(repo, 'installer', 'dist', 'bundle', 'servicepack.mjs');
const SPLIT = join(repo, 'installer', 'dist', 'bundle', 'split');
const SPLIT_ENTRY = join(SPLIT, 'servicepack.mjs');
const SHARE = join(repo, 'installer', 'dist', 'share');
// the same paths installer/src/cli-docs/build.ts writes (COMPLETION_PATHS, MAN_PATH)
const SHARE_FILES = [
  'bash-completion/completions/servicepack',
  'zsh/vendor-completions/_servicepack',
  'fish/vendor_completions.d/servicepack.fish',
];
const MAN = 'man/man1/servicepack.1';
const MAINTAINER = 'servicepack maintainers <maintainers@servicepack.example.org>';

function fail(message) {
  process.stderr.write(`build-deb: ${message}\n`);
  process.exit(1);
}

for (const f of [
  BUNDLE,
  SPLIT_ENTRY,
  join(SPLIT, 'lib', 'core.mjs'),
  join(SHARE, MAN),
  ...SHARE_FILES.map((s) => join(SHARE, s)),
]) {
  if (!existsSync(f)) fail(`${relative(repo, f)} is missing: run the whole build (pnpm build), which writes it first`);
}
// the entry's own first line (node and its flags, installer/bin/servicepack), which the bundle carries
const SHEBANG = readFileSync(join(repo, 'installer', 'bin', 'servicepack'), 'utf8').split('\n', 1)[0];
if (!SHEBANG.startsWith('#!/usr/bin/env ') || !readFileSync(SPLIT_ENTRY, 'utf8').startsWith(`${SHEBANG}\n`)) {
  fail(`${relative(repo, SPLIT_ENTRY)} does not start with "${SHEBANG}": /usr/bin/servicepack could not run it`);
}
// lib/ is flat: the entry's and the lazy files' imports are ./lib/X.mjs and ./X.mjs
const LIB = readdirSync(join(SPLIT, 'lib'), { withFileTypes: true }).map((e) => {
  if (!e.isFile() || !/^[A-Za-z0-9-]+\.mjs$/.test(e.name))
    fail(`${relative(repo, SPLIT)}/lib/${e.name} is not a module file`);
  return e.name;
});

const version = JSON.parse(readFileSync(join(repo, 'installer', 'package.json'), 'utf8')).version;
// Debian versions of native packages: digits first, then [A-Za-z0-9.+~]; anything else is refused by dpkg-deb
if (typeof version !== 'string' || !/^[0-9][A-Za-z0-9.+~]*$/.test(version)) {
  fail(`installer/package.json's version ${JSON.stringify(version)} is not a Debian version`);
}

function git(args) {
  try {
    return execFileSync('git', args, { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}
const envEpoch = process.env.SOURCE_DATE_EPOCH;
const epoch = /^\d+$/.test(envEpoch ?? '') ? Number(envEpoch) : Number(git(['log', '-1', '--format=%ct']));
if (!Number.isSafeInteger(epoch) || epoch <= 0) {
  fail('no SOURCE_DATE_EPOCH and no git commit to take the time from: set SOURCE_DATE_EPOCH');
}
const commit = git(['rev-parse', '--verify', 'HEAD']) || 'unknown';

const gz = (text) => gzipSync(text, { level: 9 }); // zlib's header has no name and mtime 0, as gzip -9n

/**
 * The node modules the bundle holds, with their licences, for the DEP-5 copyright file: read from the
 * bundle's metafile (scripts/bundle.mjs writes it; esbuild's input paths, relative to the repository),
 * so the file names exactly what is in /usr/share/servicepack/ (the split folder holds the same modules:
 * scripts/bundle.mjs checks).
 */
function bundledPackages() {
  let modules;
  try {
    modules = bundledModules(repo, BUNDLE);
  } catch (e) {
    fail(e.message);
  }
  const out = new Map();
  for (const { pkg: m, licenseText: text } of modules) {
    const holders = text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^copyright\s*(\(c\)|©|\d)/i.test(l))
      .map((l) => l.replace(/^copyright\s*(\(c\)|©)?\s*/i, ''));
    const author = typeof m.author === 'string' ? m.author : m.author?.name;
    out.set(m.name, {
      license: String(m.license ?? '').replace(/^\((.*)\)$/, '$1'),
      holders: [...new Set(holders.length > 0 ? holders : [author ?? `the ${m.name} authors`])],
    });
  }
  return [...out].sort(([a], [b]) => (a < b ? -1 : 1));
}

// SPDX names as Debian's copyright format spells them, and the licence texts the file must carry
const DEP5_NAME = {
  MIT: 'Expat',
  ISC: 'ISC',
  'BSD-3-Clause': 'BSD-3-clause',
  'Apache-2.0': 'Apache-2.0',
  'BlueOak-1.0.0': 'BlueOak-1.0.0',
  'CC0-1.0': 'CC0-1.0',
};
const LICENSE_TEXT = {
  Expat: `Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction, including
without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the
following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial
portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT
LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO
EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN
AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE
OR OTHER DEALINGS IN THE SOFTWARE.`,
  ISC: `Permission to use, copy, modify, and/or distribute this software for any purpose with or without fee is
hereby granted, provided that the above copyright notice and this permission notice appear in all copies.

THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES WITH REGARD TO THIS SOFTWARE
INCLUDING ALL IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES WHATSOEVER RESULTING FROM LOSS OF
USE, DATA OR PROFITS, WHETHER IN AN ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.`,
  'BSD-3-clause': `Redistribution and use in source and binary forms, with or without modification, are permitted provided
that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this list of conditions and the
   following disclaimer.
2. Redistributions in binary form must reproduce the above copyright notice, this list of conditions and
   the following disclaimer in the documentation and/or other materials provided with the distribution.
3. Neither the name of the copyright holder nor the names of its contributors may be used to endorse or
   promote products derived from this software without specific prior written permission.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS OR IMPLIED
WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A
PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE FOR ANY
DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO,
PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION)
HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING
NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE
POSSIBILITY OF SUCH DAMAGE.`,
  'Apache-2.0': `On Debian systems the full text of the Apache License, Version 2.0 is in
/usr/share/common-licenses/Apache-2.0.`,
  'BlueOak-1.0.0': `The Blue Oak Model License, Version 1.0.0: permission is granted to any person to do everything with
this software that would otherwise infringe the contributors' copyright or patents, provided that each
copy carries a notice of the licence and of where to find its full text:
https://blueoakcouncil.org/license/1.0.0. The software comes as is, without any warranty or condition,
and no contributor is liable to anyone for any damages related to it or to this licence.`,
  'CC0-1.0': `On Debian systems the full text of the Creative Commons CC0 1.0 Universal licence is in
/usr/share/common-licenses/CC0-1.0.`,
  'servicepack-none': `The servicepack repository carries no licence file: no licence has been granted to copy, change or
redistribute servicepack's own code beyond what its copyright holders allow. Ask the maintainers.`,
};

/** debian/copyright in Debian's machine-readable format 1.0 */
function copyright() {
  const paras = [
    `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: servicepack
Upstream-Contact: ${MAINTAINER}
Comment: /usr/share/servicepack/ (servicepack.mjs and lib/) is bundled from servicepack's code and
 the node modules below (the Files patterns name them as they are in the source tree).`,
    `Files: *
Copyright: servicepack maintainers
License: servicepack-none`,
  ];
  const used = new Set(['servicepack-none']);
  for (const [name, p] of bundledPackages()) {
    // an SPDX choice "A OR B" is Debian's "A or B"
    const names = p.license.split(' OR ').map((l) => DEP5_NAME[l]);
    const lic = names.includes(undefined) ? undefined : names.join(' or ');
    if (lic === undefined) fail(`bundled ${name} has the licence ${p.license}, which build-deb.mjs cannot name`);
    for (const n of names) used.add(n);
    const holders = p.holders.map((h) => h.replace(/\s+/g, ' ')).join('\n ');
    paras.push(`Files: node_modules/${name}/*\nCopyright: ${holders}\nLicense: ${lic}`);
  }
  for (const lic of [...used].sort()) {
    const body = LICENSE_TEXT[lic]
      .split('\n')
      .map((l) => (l === '' ? ' .' : ` ${l}`))
      .join('\n');
    paras.push(`License: ${lic}\n${body}`);
  }
  return `${paras.join('\n\n')}\n`;
}

const changelog = `servicepack (${version}) unstable; urgency=medium

  * servicepack ${version}, built from commit
    ${commit}.

 -- ${MAINTAINER}  ${new Date(epoch * 1000).toUTCString().replace('GMT', '+0000')}
`;

const etcReadme = `servicepack's configuration folder (the Debian package creates it; see servicepack(1)).

Keep here what the administrator hands to servicepack by path:
  - answer files for unattended installs, e.g.
      servicepack install --answer-file /etc/servicepack/site.yaml
  - trust keys (vendor public keys, PEM) that --trust names beside the installation's own store, e.g.
      servicepack check --feed https://updates.example/feed --trust /etc/servicepack/vendor.pem

servicepack never reads this folder on its own: every file is named on the command line. The files
hold targets and keys, so keep them owned by root and not writable by anyone else.
`;

const control = (installedKib) => `Package: servicepack
Version: ${version}
Architecture: all
Maintainer: ${MAINTAINER}
Installed-Size: ${installedKib}
Depends: nodejs (>= 20)
Section: admin
Priority: optional
Description: build, sign and install service packs for inetsrv
 servicepack installs signed service packs and hotfixes on inetsrv
 installations, unattended (answer files, NT-style switches -u -q -z -n -o -f)
 or through a terminal wizard, keeps backups to uninstall them, recovers an
 interrupted install, and queries the level of an installation.
 .
 It also builds and signs packs and feeds for the vendor. The package holds
 one bundled program (it needs Node.js 20 or newer), its manual page and
 bash, zsh and fish completions.
`;

const stage = await mkdtemp(join(tmpdir(), 'servicepack-deb-'));
try {
  const root = join(stage, `servicepack_${version}_all`);
  /** [path in the package, content, mode] */
  const files = [
    ['usr/share/servicepack/servicepack.mjs', readFileSync(SPLIT_ENTRY), 0o755],
    ...LIB.map((f) => [`usr/share/servicepack/lib/${f}`, readFileSync(join(SPLIT, 'lib', f)), 0o644]),
    [`usr/share/${MAN}.gz`, gz(readFileSync(join(SHARE, MAN))), 0o644],
    ...SHARE_FILES.map((s) => [`usr/share/${s}`, readFileSync(join(SHARE, s)), 0o644]),
    ['usr/share/doc/servicepack/copyright', copyright(), 0o644],
    ['usr/share/doc/servicepack/changelog.gz', gz(changelog), 0o644],
    ['etc/servicepack/README', etcReadme, 0o644],
  ];
  for (const [rel, data, mode] of files) {
    const f = join(root, rel);
    await mkdir(dirname(f), { recursive: true });
    await writeFile(f, data);
    await chmod(f, mode);
  }
  await symlink('../share/servicepack/servicepack.mjs', join(root, 'usr/bin/servicepack')).catch(async (e) => {
    if (e.code !== 'ENOENT') throw e;
    await mkdir(join(root, 'usr/bin'), { recursive: true });
    await symlink('../share/servicepack/servicepack.mjs', join(root, 'usr/bin/servicepack'));
  });

  const md5 = files
    .filter(([rel]) => !rel.startsWith('etc/'))
    .map(([rel, data]) => `${createHash('md5').update(data).digest('hex')}  ${rel}\n`)
    .sort()
    .join('');
  const kib = files.reduce((n, [, data]) => n + Math.ceil(Buffer.byteLength(data) / 1024), 0);
  const debian = join(root, 'DEBIAN');
  await mkdir(debian);
  for (const [name, text] of [
    ['control', control(kib)],
    ['md5sums', md5],
    [
      'conffiles',
      files
        .filter(([rel]) => rel.startsWith('etc/'))
        .map(([rel]) => `/${rel}\n`)
        .join(''),
    ],
  ]) {
    await writeFile(join(debian, name), text);
    await chmod(join(debian, name), 0o644);
  }

  // directories 0755 and every mtime the epoch, symlinks included (lutimes)
  const walk = async (dir) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        await walk(p);
        await chmod(p, 0o755);
      }
      await lutimes(p, epoch, epoch);
    }
  };
  await walk(root);
  await chmod(root, 0o755);
  await lutimes(root, epoch, epoch);
  if (!(await lstat(join(root, 'usr/bin/servicepack'))).isSymbolicLink()) fail('usr/bin/servicepack is not a symlink');

  // `--out FILE` builds elsewhere (the reproducibility test compares two builds without touching dist/)
  const at = process.argv.indexOf('--out');
  const out =
    at > 0 && process.argv[at + 1] ? process.argv[at + 1] : join(repo, 'dist', `servicepack_${version}_all.deb`);
  await mkdir(dirname(out), { recursive: true });
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', root, out], {
    env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  process.stdout.write(`build-deb: ${out}\n`);
} finally {
  await rm(stage, { recursive: true, force: true });
}
