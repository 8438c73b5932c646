/**
 * Issue 13, item 1: an option must never arrive through an operand. In a folder where someone else
 * can write, an attacker leaves their public key as `..tgz` (hidden from `*.tgz`), an empty file
 * named `--trust=..tgz` and their pack `evil.tgz`. `servicepack install *.tgz --root R -u` then
 * expands to `install --trust=..tgz evil.tgz --root R -u`, and before the fix installed the
 * attacker's pack, exit 0. The rule (installer/src/operands.ts): an option word that is also a
 * file in the current folder is refused wherever it stands (a wildcard only expands to names that
 * exist), and `--` ends the options.
 *
 * Everything runs through a real shell glob against the real executable.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { wizardRequest } from '../installer/src/wizard/route.js';
import { treeSnapshot } from './support/hostile.js';
import { bin, installationFrom, pack, repo, requireBuild, tempFolders, tempRoot, tree } from './support/servicepack.js';

interface ShellRun {
  code: number | null;
  out: string;
  err: string;
}

/** `script` in `sh` (a real glob), in `cwd`, with `$SP` the servicepack command. */
function sh(cwd: string, script: string): ShellRun {
  const r = spawnSync('sh', ['-c', script], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '', SP: `${process.execPath} ${bin}` },
    input: '',
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function doc(r: ShellRun): Record<string, unknown> {
  try {
    return JSON.parse(r.out) as Record<string, unknown>;
  } catch {
    throw new Error(`not one JSON document on stdout (exit ${r.code}):\n${r.out}\n${r.err}`);
  }
}

/** The attacker's folder: their key as `..tgz`, `--trust=..tgz`, `evil.tgz` signed by them only. */
let drop: string;
/** A folder with nothing but the attacker's pack (no option-named file). */
let clean: string;
let evil: string;

before(async () => {
  requireBuild([tree('rtm-x86'), pack('sp6-x86')]);
  drop = join(await tempRoot('sp-optinj-'), '..', 'drop');
  clean = join(drop, '..', 'clean');
  await mkdir(drop);
  await mkdir(clean);
  const keys = join(drop, '..', 'keys');
  const made = sh(drop, `$SP keygen --out ${keys} --name attacker`);
  assert.equal(made.code, 0, made.err);
  evil = join(drop, 'evil.tgz');
  const built = sh(
    drop,
    `$SP pack build --def ${join(repo, 'manifests', 'packs', 'sp6.yaml')} --arch x86 --key ${join(keys, 'attacker.key')} --out ${evil} --releases ${join(repo, 'dist', 'releases')} --patches ${join(repo, 'patches')}`,
  );
  assert.equal(built.code, 0, built.err);
  await copyFile(join(keys, 'attacker.pub'), join(drop, '..tgz'));
  await writeFile(join(drop, '--trust=..tgz'), '');
  await copyFile(evil, join(clean, 'evil.tgz'));
});

after(async () => {
  for (const d of tempFolders()) await rm(d, { recursive: true, force: true });
});

/** A fresh RTM installation and its snapshot (`.servicepack/` included). */
async function installation(): Promise<{ root: string; before: string[] }> {
  const root = await installationFrom('rtm-x86');
  return { root, before: await treeSnapshot(root) };
}

async function assertUntouched(inst: { root: string; before: string[] }): Promise<void> {
  assert.deepEqual(await treeSnapshot(inst.root), inst.before, 'the installation changed');
}

describe('option injection through a wildcard', () => {
  test('the attacker-signed pack is a real threat: with their key trusted it would install', async () => {
    // The control: what the glob smuggles in is exactly what makes evil.tgz installable.
    const inst = await installation();
    const r = sh(drop, `$SP install --root ${inst.root} -u --accept-eula --json --trust ./..tgz -- ./evil.tgz`);
    assert.equal(r.code, 0, r.err);
    assert.equal((doc(r)['after'] as { level: number }).level, 6);
  });

  test('install *.tgz --root R -u: refused (exit 2), nothing installed, the message names --', async () => {
    const inst = await installation();
    const r = sh(drop, `$SP install *.tgz --root ${inst.root} -u --accept-eula`);
    assert.equal(r.code, 2, `exit ${r.code}\n${r.out}\n${r.err}`);
    assert.match(r.err, / -- /);
    assert.doesNotMatch(r.out, /Installed/);
    await assertUntouched(inst);
    const json = sh(drop, `$SP install *.tgz --root ${inst.root} -u --accept-eula --json`);
    assert.equal(json.code, 2);
    assert.equal(doc(json)['code'], 'E_OPTION_NAMES_FILE', json.out);
    await assertUntouched(inst);
  });

  test('install --root R -u *.tgz (the wildcard after the options): refused as an option that is a file here', async () => {
    const inst = await installation();
    const r = sh(drop, `$SP install --root ${inst.root} -u --accept-eula --json *.tgz`);
    assert.equal(r.code, 2, `exit ${r.code}\n${r.out}\n${r.err}`);
    assert.equal(doc(r)['code'], 'E_OPTION_NAMES_FILE');
    assert.match(String(doc(r)['message']), /--trust=\.\.tgz.*wildcard.*--/);
    await assertUntouched(inst);
  });

  test('after --, the same wildcard is only file names: the option-named file is a (bad) pack, nothing is trusted', async () => {
    const inst = await installation();
    const r = sh(drop, `$SP install --root ${inst.root} -u --accept-eula --json -- *.tgz`);
    assert.notEqual(r.code, 0);
    assert.notEqual(r.code, 2, 'not a usage error: -- made every word an operand');
    assert.match(String(doc(r)['message']), /--trust=\.\.tgz/);
    await assertUntouched(inst);
  });

  test('options may still follow the operands where no file is named like them (install PACK --root R -u, as with apt-get and rpm)', async () => {
    const inst = await installation();
    const dir = join(drop, '..', 'vendor');
    await mkdir(dir);
    await copyFile(pack('sp6-x86'), join(dir, 'sp6.tgz'));
    const r = sh(dir, `$SP install *.tgz --root ${inst.root} -u --accept-eula --json`);
    assert.equal(r.code, 0, `exit ${r.code}\n${r.out}\n${r.err}`);
    assert.equal((doc(r)['after'] as { level: number }).level, 6);
    // the attacker's pack alone, options after it: judged as a pack (untrusted signer, exit 4), no key smuggled in
    const other = await installation();
    const e = sh(clean, `$SP install *.tgz --root ${other.root} -u --accept-eula --json`);
    assert.equal(e.code, 4, `exit ${e.code}\n${e.out}\n${e.err}`);
    assert.equal(doc(e)['code'], 'E_UNTRUSTED_KEY');
    await assertUntouched(other);
  });

  test('query and verify (the quick path) follow the same rule', async () => {
    const inst = await installation();
    const dir = join(drop, '..', 'quick');
    await mkdir(dir);
    await writeFile(join(dir, '--json'), '');
    for (const c of ['query', 'verify']) {
      const r = sh(dir, `$SP ${c} --root ${inst.root} --json`);
      assert.equal(r.code, 2, `${c}: exit ${r.code}\n${r.out}\n${r.err}`);
      assert.equal(doc(r)['code'], 'E_OPTION_NAMES_FILE', c);
      const late = sh(dir, `$SP ${c} --root ${inst.root} -- --json`);
      assert.equal(late.code, 2, `${c}: after --, --json is an operand these commands do not take`);
      const fine = sh(clean, `$SP ${c} --root ${inst.root} --json`);
      assert.equal(fine.code, 0, `${c}: ${fine.err}`);
    }
  });

  test('-- still installs a pack whose file name begins with -', async () => {
    const inst = await installation();
    const dir = join(drop, '..', 'dash');
    await mkdir(dir);
    await copyFile(pack('sp6-x86'), join(dir, '-x.tgz'));
    const refused = sh(dir, `$SP install --root ${inst.root} -u --accept-eula -x.tgz`);
    assert.equal(refused.code, 2, 'without --, -x.tgz is an (unknown) option');
    const r = sh(dir, `$SP install --root ${inst.root} -u --accept-eula -- -x.tgz`);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^Installed .* RTM -> Service Pack 6$/m);
    const q = sh(dir, `$SP query --root ${inst.root} --json`);
    assert.equal(doc(q)['level'] as number, 6);
  });

  test('--trust right before the packs takes them as keys: exit 2, naming --', async () => {
    const inst = await installation();
    const r = sh(clean, `$SP install --root ${inst.root} -u --accept-eula --trust ${join(drop, '..tgz')} evil.tgz`);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /--trust took .*evil\.tgz as keys; end the key list with -- before the packs/);
    await assertUntouched(inst);
  });

  test('the wizard reads a command line by the same rule', () => {
    const tty = { interactive: true, env: {} };
    const argv = (...a: string[]) => ['node', 'servicepack', ...a];
    assert.deepEqual(
      wizardRequest(argv('install', 'a.tgz', '--root', '/r'), tty)?.packs,
      ['a.tgz'],
      'an option after the operand',
    );
    assert.deepEqual(wizardRequest(argv('install', '--root', '/r', '--', '-a.tgz'), tty)?.packs, ['-a.tgz']);
    assert.deepEqual(wizardRequest(argv('install', '--root', '/r', 'a.tgz', 'b.tgz'), tty)?.packs, ['a.tgz', 'b.tgz']);
  });
});
