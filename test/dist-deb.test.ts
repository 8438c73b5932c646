/**
 * The Debian package (issue 16) installed the way an administrator's dpkg would unpack it, into a
 * throwaway root (`dpkg-deb -x`, nothing system-wide): the installed /usr/bin/servicepack runs
 * --version, query and an unattended SP6 install, the installed man page renders with `man -l`,
 * the installed bash completion completes `servicepack ins<TAB>`, and lintian finds no error.
 *
 * The .deb is the one `pnpm build` wrote (scripts/build-deb.mjs); it is rebuilt once here only to
 * prove the same commit gives the same bytes. lintian comes from scripts/ensure-lintian.sh, man and
 * groff from scripts/ensure-doc-tools.sh; when they cannot be had the test fails, it never skips.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { repoRoot } from './support/inetsrv.js';
import { type Run, run } from './support/process.js';
import { distPacks, json, requireBuild, Temps } from './support/unattended.js';

const version = (JSON.parse(readFileSync(join(repoRoot, 'installer', 'package.json'), 'utf8')) as { version: string })
  .version;
const deb = join(repoRoot, 'dist', `servicepack_${version}_all.deb`);

function ensure(script: string, what: string): void {
  const r = spawnSync('sh', [join(repoRoot, 'scripts', script)], { encoding: 'utf8' });
  assert.equal(r.status, 0, `scripts/${script} could not provide ${what}:\n${r.stderr}`);
}

/** The installed command, run as a user runs it: by its path, Node found on PATH as the shebang asks. */
function installed(root: string, args: string[]): Promise<Run> {
  return run(join(root, 'usr', 'bin', 'servicepack'), args, {
    env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin` },
  });
}

describe('the Debian package, unpacked into a throwaway root', () => {
  const temps = new Temps();
  let root = '';
  let control = '';
  before(async () => {
    requireBuild();
    assert.ok(existsSync(deb), `${deb} is missing: run pnpm build (npx --yes pnpm@10.34.8 run build) first`);
    ensure('ensure-lintian.sh', 'lintian');
    ensure('ensure-doc-tools.sh', 'man and groff');
    const work = await temps.dir('sp-deb-');
    root = join(work, 'root');
    control = join(work, 'DEBIAN');
    execFileSync('dpkg-deb', ['-x', deb, root]);
    execFileSync('dpkg-deb', ['-e', deb, control]);
  });
  after(() => temps.cleanup());

  test('holds the command (its entry and lib/ folder), man page, completions, doc files and /etc/servicepack, root-owned with fixed modes', async () => {
    const fields = readFileSync(join(control, 'control'), 'utf8');
    for (const f of [
      'Package: servicepack',
      `Version: ${version}`,
      'Architecture: all',
      'Depends: nodejs (>= 20)',
      'Section: admin',
      'Priority: optional',
    ])
      assert.ok(fields.split('\n').includes(f), `control lacks ${f}:\n${fields}`);
    assert.match(fields, /^Maintainer: .+ <[^@\s]+@[^>\s]+>$/m);
    assert.match(fields, /^Description: .+\n( .+\n)+/m);

    assert.equal(await readlink(join(root, 'usr/bin/servicepack')), '../share/servicepack/servicepack.mjs');
    // the program's modules: the folder scripts/bundle.mjs wrote, file for file, none writable but by root
    const lib = (await readdir(join(repoRoot, 'installer', 'dist', 'bundle', 'split', 'lib'))).sort();
    assert.ok(lib.includes('core.mjs'), `lib/ has no core.mjs: ${lib.join(' ')}`);
    assert.deepEqual((await readdir(join(root, 'usr/share/servicepack/lib'))).sort(), lib);
    assert.equal((await lstat(join(root, 'usr/share/servicepack/lib'))).mode & 0o7777, 0o755);
    const modes: Record<string, number> = {
      'usr/share/servicepack/servicepack.mjs': 0o755,
      ...Object.fromEntries(lib.map((f) => [`usr/share/servicepack/lib/${f}`, 0o644])),
      'usr/share/man/man1/servicepack.1.gz': 0o644,
      'usr/share/bash-completion/completions/servicepack': 0o644,
      'usr/share/zsh/vendor-completions/_servicepack': 0o644,
      'usr/share/fish/vendor_completions.d/servicepack.fish': 0o644,
      'usr/share/doc/servicepack/copyright': 0o644,
      'usr/share/doc/servicepack/changelog.gz': 0o644,
      'etc/servicepack/README': 0o644,
    };
    for (const [rel, mode] of Object.entries(modes)) {
      const s = await lstat(join(root, rel));
      assert.ok(s.isFile(), rel);
      assert.equal(s.mode & 0o7777, mode, rel);
    }
    const listing = execFileSync('dpkg-deb', ['--contents', deb], { encoding: 'utf8' }).trim().split('\n');
    for (const line of listing) assert.match(line, /^\S+ root\/root /, line);

    // md5sums covers every file but the conffiles, which dpkg tracks itself
    const sums = readFileSync(join(control, 'md5sums'), 'utf8').trim().split('\n');
    const listed = sums.map((l) => l.slice(34)).sort();
    assert.deepEqual(
      listed,
      Object.keys(modes)
        .filter((r) => !r.startsWith('etc/'))
        .sort(),
    );
    for (const l of sums) {
      const [sum, rel] = [l.slice(0, 32), l.slice(34)];
      assert.equal(
        createHash('md5')
          .update(await readFile(join(root, rel)))
          .digest('hex'),
        sum,
        rel,
      );
    }
    assert.equal(readFileSync(join(control, 'conffiles'), 'utf8'), '/etc/servicepack/README\n');

    const copyright = readFileSync(join(root, 'usr/share/doc/servicepack/copyright'), 'utf8');
    assert.match(copyright, /^Format: https:\/\/www\.debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0\/\n/);
    assert.match(copyright, /^Files: node_modules\/commander\/\*$/m);
    assert.match(
      gunzipSync(await readFile(join(root, 'usr/share/doc/servicepack/changelog.gz'))).toString(),
      /^servicepack \(/,
    );
    assert.ok((await stat(join(root, 'etc/servicepack'))).isDirectory());
  });

  test('the same commit builds the same bytes (SOURCE_DATE_EPOCH, fixed modes, whatever the umask)', async () => {
    const work = await temps.dir('sp-deb-twice-');
    const sums = [0o022, 0o077].map((umask, i) => {
      const out = join(work, `${i}.deb`);
      execFileSync(
        'sh',
        [
          '-c',
          `umask ${umask.toString(8)} && exec "$0" "$@"`,
          process.execPath,
          join(repoRoot, 'scripts', 'build-deb.mjs'),
          '--out',
          out,
        ],
        {
          stdio: 'ignore',
        },
      );
      return createHash('sha256').update(readFileSync(out)).digest('hex');
    });
    assert.equal(sums[0], sums[1]);
  });

  test('the installed servicepack runs --version, query and an unattended SP6 install', async () => {
    const v = await installed(root, ['--version']);
    assert.equal(v.code, 0, v.err);
    assert.equal(v.out.split('\n')[0], `servicepack ${version}`);

    const target = await temps.installation('rtm-x86');
    const q0 = await installed(root, ['query', '--root', target, '--json']);
    assert.equal(q0.code, 0, q0.err);
    assert.equal(json(q0)['level'], 0);
    const inst = await installed(root, [
      'install',
      '-u',
      '--accept-eula',
      '--root',
      target,
      join(distPacks, 'inetsrv-4.0-sp6-x86.tgz'),
    ]);
    assert.equal(inst.code, 0, inst.err);
    const q1 = await installed(root, ['query', '--root', target, '--json']);
    assert.equal(q1.code, 0, q1.err);
    assert.equal(json(q1)['level'], 6);
    assert.equal(json(q1)['levelName'], 'Service Pack 6');
  });

  test('man -l renders the installed man page without a warning', () => {
    const man = spawnSync('man', ['-l', join(root, 'usr/share/man/man1/servicepack.1.gz')], {
      encoding: 'utf8',
      env: { ...process.env, MANWIDTH: '80', MANPAGER: 'cat', LC_ALL: 'C', LANG: 'C' },
    });
    assert.equal(man.status, 0, man.stderr);
    assert.equal(man.stderr, '');
    assert.match(man.stdout, /NAME\s+servicepack - /);
  });

  test('the installed bash completion completes servicepack ins<TAB> to install', () => {
    const file = join(root, 'usr/share/bash-completion/completions/servicepack');
    const r = spawnSync(
      'bash',
      [
        '--norc',
        '--noprofile',
        '-c',
        `source ${JSON.stringify(file)}
COMP_WORDS=(servicepack ins); COMP_CWORD=1; COMPREPLY=()
_servicepack
echo "\${COMPREPLY[*]}"`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'install\n');
  });

  test('lintian reports no error', (t) => {
    const r = spawnSync('lintian', ['--pedantic', '--display-experimental', deb], { encoding: 'utf8' });
    const tags = r.stdout.split('\n').filter((l) => /^[EWIPX]: /.test(l));
    t.diagnostic(`lintian tags: ${tags.length === 0 ? 'none' : tags.join(' | ')}`);
    assert.deepEqual(
      tags.filter((l) => l.startsWith('E: ')),
      [],
    );
    // lintian exits non-zero on an error tag or when it cannot check the package at all
    assert.equal(r.status, 0, `lintian exit ${r.status}:\n${r.stdout}${r.stderr}`);
  });
});
