/**
 * Forged records in `.servicepack/` (ISSUE 13 items 8 and 11): a state record is read back with the
 * path rules, so a forged one is refused as invalid (E_INVALID_STATE, exit 2) by install and
 * uninstall, in bounded time, with the lock released and nothing changed inside the installation or
 * beside it. Each run goes through the real executable, killed after a timeout: a regression that
 * loops fails here instead of hanging the suite.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { State } from '../packages/core/src/installation/state.js';
import { treeSnapshot } from './support/hostile.js';
import { freezeBuild, installationFrom, pack, repo, servicepack, tempFolders } from './support/servicepack.js';

const TIMEOUT_MS = 20_000;

let root: string;
/** beside the installation: a copy of its real backup folder, where a forged record points */
let evil: string;
let good: string;

before(async () => {
  await freezeBuild(['rtm-x86'], ['sp5-x86', 'sp6-x86']);
  root = await installationFrom('rtm-x86');
  const r = await servicepack(['install', '--accept-eula', pack('sp5-x86'), '--root', root, '-u', '-q'], {
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 0, r.err);
  good = await readFile(join(root, '.servicepack', 'state.json'), 'utf8');
  evil = join(dirname(root), 'evil');
  await cp(join(root, '.servicepack', 'backup', 'inetsrv-4.0-sp5'), evil, { recursive: true });
});
after(async () => {
  for (const d of tempFolders()) await rm(d, { recursive: true, force: true });
});

/** The installation (its transaction logs aside: a refusal may leave one) and the folder beside it. */
async function snapshot(): Promise<string[]> {
  return [
    ...(await treeSnapshot(root)).filter((l) => !/ \.servicepack\/log(\/|$)/.test(l)),
    ...(await treeSnapshot(evil)).map((l) => `evil ${l}`),
  ];
}

function forge(edit: (s: State) => void): string {
  const s = JSON.parse(good) as State;
  edit(s);
  return `${JSON.stringify(s, null, 2)}\n`;
}

const FORGED: [string, (s: State) => void][] = [
  // posix.dirname('/') is '/': planning the removal of a folder above such a key never ended
  [
    'a files key "/etc/hostname"',
    (s) => {
      s.files['/etc/hostname'] = s.files['lib/server.js']!;
    },
  ],
  [
    'a files key "../x"',
    (s) => {
      s.files['../x'] = s.files['lib/server.js']!;
    },
  ],
  [
    'a files key under .servicepack/',
    (s) => {
      s.files['.servicepack/trust/vendor.pub'] = s.files['lib/server.js']!;
    },
  ],
  [
    'a keptModified entry "../../etc/passwd"',
    (s) => {
      s.keptModified = ['../../etc/passwd'];
    },
  ],
  // the backup folder is read, restored from and finally deleted by uninstall
  [
    'installed[].backup "../../evil" (a valid backup folder outside the installation)',
    (s) => {
      s.installed[s.installed.length - 1]!.backup = '../../evil';
    },
  ],
  [
    'installed[].backup "/etc"',
    (s) => {
      s.installed[s.installed.length - 1]!.backup = '/etc';
    },
  ],
  [
    'installed[].backup "trust" (a folder of .servicepack/ that is not a backup)',
    (s) => {
      s.installed[s.installed.length - 1]!.backup = 'trust';
    },
  ],
  [
    'history[].backup "backup/../../evil"',
    (s) => {
      s.history[s.history.length - 1]!.backup = 'backup/../../evil';
    },
  ],
];

describe('forged state records: refused as invalid (exit 2), in bounded time, lock released, nothing changed', () => {
  for (const [name, edit] of FORGED) {
    test(name, async () => {
      await writeFile(join(root, '.servicepack', 'state.json'), forge(edit));
      const before_ = await snapshot();
      for (const args of [
        ['install', '--accept-eula', pack('sp6-x86'), '--root', root, '-u', '--json'],
        ['uninstall', '--root', root, '-u', '--json'],
      ]) {
        const r = await servicepack(args, { timeoutMs: TIMEOUT_MS });
        assert.equal(r.signal, null, `${args[0]}: still running after ${TIMEOUT_MS} ms (killed)`);
        assert.equal(r.code, 2, `${args[0]}: exit ${r.code}\n${r.out}\n${r.err}`);
        const doc = JSON.parse(r.out) as { code: string; message: string };
        assert.equal(doc.code, 'E_INVALID_STATE', doc.message);
        assert.match(doc.message, /state\.json/);
        assert.ok(!existsSync(join(root, '.servicepack', 'lock')), `${args[0]}: the lock was not released`);
        assert.deepEqual(await snapshot(), before_, `${args[0]}: something changed`);
      }
    });
  }

  test('control: the unforged record still installs and uninstalls', async () => {
    await writeFile(join(root, '.servicepack', 'state.json'), good);
    for (const args of [
      ['install', '--accept-eula', pack('sp6-x86'), '--root', root, '-u', '-q'],
      ['uninstall', '--root', root, '-u', '-q'],
    ]) {
      const r = await servicepack(args, { timeoutMs: 60_000 });
      assert.equal(r.code, 0, `${args[0]}: ${r.err}`);
    }
  });
});

describe('predictEmptied ends on any input', () => {
  test('absolute and ".." paths (records are checked before, this is the second line)', () => {
    // run in a child: the loop it guards against is synchronous, no test timeout could stop it
    const script = `
      import { mkdtempSync } from 'node:fs';
      import { tmpdir } from 'node:os';
      import { join } from 'node:path';
      import { predictEmptied } from ${JSON.stringify(join(repo, 'packages', 'core', 'src', 'transaction', 'journaled-steps.ts'))};
      const root = mkdtempSync(join(tmpdir(), 'sp-predict-'));
      const out = await predictEmptied(root, ['/etc/hostname', '../x', 'lib/a.js', '//x', '/'], ['/usr/lib/x', '../../y', 'lib/b/c.js']);
      console.log(JSON.stringify(out));
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: repo,
      encoding: 'utf8',
      timeout: 15_000,
    });
    assert.equal(r.signal, null, 'predictEmptied did not return within 15 s');
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as string[];
    assert.ok(!out.includes('/') && !out.includes('.'), r.stdout);
  });
});
