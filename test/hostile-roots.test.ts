/**
 * A corpus of hostile installation roots, the companion of the hostile-pack corpus: the packs are
 * genuine, the installation is not. Each case starts from a fresh copy of a real installation (the
 * RTM x86 release tree; the same at SP6 with its state record and backup, for uninstall; or that
 * install cut off in the middle of its commit, for recover) and a sentinel folder beside it, then
 * plants one thing: a symbolic link at one of the paths of `.servicepack/` pointing into the
 * sentinel, a hard link from the sentinel into the tree, or a forged record. Then it runs the
 * command that would follow the plant (install, uninstall, recover, verify, query).
 *
 * Nothing outside the installation root is ever written or deleted: the sentinel must be unchanged
 * byte for byte (names, types, modes, sizes, content). A link is never followed: the command is
 * refused with E_INVALID_STATE (exit 2), a message that names the path and says to remove the
 * link, and the installation unchanged. A hard link is not a reason to refuse (the tree may hold
 * one), but nothing is ever written through it: renames replace it, the sentinel keeps its content.
 *
 * Also here: staging (or the backup folder, or all of `.servicepack/`) on another file system
 * than the product, which rename(2) cannot cross: refused up front, before the journal.
 *
 * The commands run in process through the installer's run(); a sample spawns the real executable.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  appendFile,
  chmod,
  link,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { installPacks } from '../packages/core/src/operations/install/install.js';
import { cli, jsonDoc, treeSnapshot } from './support/hostile.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const rtmTree = join(repo, 'dist', 'releases', 'inetsrv-4.0-rtm-x86');
const sp6Pack = join(repo, 'dist', 'packs', 'inetsrv-4.0-sp6-x86.tgz');
const bin = join(repo, 'installer', 'bin', 'servicepack');
const SP6 = 'inetsrv-4.0-sp6';

let work: string;
/** fresh copies of these are what each case starts from */
const templates = { rtm: '', sp6: '', crash: '' };
/** the crash template's transaction id and the product file its commit had moved into the backup */
let crashTx: string;
let n = 0;

function cpA(from: string, to: string): void {
  const r = spawnSync('cp', ['-a', from, to], { encoding: 'utf8' });
  assert.equal(r.status, 0, `cp -a ${from} ${to}: ${r.stderr}`);
}

before(async () => {
  for (const p of [rtmTree, sp6Pack, join(repo, 'installer', 'dist', 'cli.js')]) {
    if (!existsSync(p))
      throw new Error(`missing build output ${p}: run pnpm build (npx --yes pnpm@10.34.8 run build) first`);
  }
  work = await mkdtemp(join(tmpdir(), 'sp-hostile-roots-'));
  templates.rtm = join(work, 'tpl-rtm');
  cpA(rtmTree, templates.rtm);

  templates.sp6 = join(work, 'tpl-sp6');
  cpA(templates.rtm, templates.sp6);
  const r = await cli(['install', '--accept-eula', sp6Pack, '--root', templates.sp6, '-u', '--json']);
  assert.equal(r.code, 0, r.out + r.err);

  // An install killed in the middle of its commit: the copy is taken when the first original has
  // gone into the backup (inside staging) and its replacement is not yet in place.
  templates.crash = join(work, 'tpl-crash');
  const live = join(work, 'tpl-crash-live');
  cpA(templates.rtm, live);
  let copied = false;
  await installPacks({
    root: live,
    packs: [sp6Pack],
    backup: true,
    modified: 'stop',
    restart: 'never',
    dryRun: false,
    acceptEula: true,
    hooks: {
      checkpoint: (name) => {
        if (name !== 'commit:backed-up' || copied) return;
        copied = true;
        cpA(live, templates.crash);
      },
    },
  });
  assert.ok(copied, 'the install reached commit:backed-up');
  // the lock names this (live) process: a crashed run's lock names a dead one
  await rm(join(templates.crash, '.servicepack', 'lock'));
  const journal = JSON.parse(await readFile(join(templates.crash, '.servicepack', 'journal.json'), 'utf8')) as {
    id: string;
    phase: string;
  };
  assert.equal(journal.phase, 'committing');
  crashTx = journal.id;
});

after(async () => {
  for (const c of strangers) c.kill('SIGKILL');
  if (work) await rm(work, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// The corpus

type Template = keyof typeof templates;
type Command = 'install' | 'install -n' | 'install -z' | 'uninstall' | 'uninstall -o' | 'recover' | 'verify' | 'query';

interface RootCase {
  name: string;
  template: Template;
  /** plants the hostility in the installation `r`, aimed at the sentinel folder `s` */
  prepare: (r: string, s: string) => Promise<void>;
  command: Command;
  exit: number;
  code?: string;
  message?: RegExp;
  /** a hard link is not followed by a rename: the command goes through; only the sentinel must be unchanged */
  proceeds?: true;
  /** what else must hold afterwards (a process outside the installation was not signalled) */
  afterwards?: () => Promise<void>;
}

const argsOf = (c: Command, r: string): string[] => {
  switch (c) {
    case 'install':
      return ['install', '--accept-eula', sp6Pack, '--root', r, '-u', '--json'];
    case 'install -n':
      return ['install', '--accept-eula', sp6Pack, '--root', r, '-u', '-n', '--json'];
    case 'install -z':
      return ['install', '--accept-eula', sp6Pack, '--root', r, '-u', '-z', '--json'];
    case 'uninstall':
      return ['uninstall', '--root', r, '-u', '--json'];
    case 'uninstall -o':
      return ['uninstall', '--root', r, '-u', '-o', '--json'];
    default:
      return [c, '--root', r, '--json'];
  }
};

const sp = (r: string, ...rel: string[]): string => join(r, '.servicepack', ...rel);

/**
 * Replaces `rel` (under `.servicepack/`) by a symbolic link to `s/name`. What was there moves to
 * `s/name`: the link points at this installation's own data, moved out of the root, which is what
 * a command following it would act on. Without `name` the link points at the sentinel itself.
 */
async function linkOut(r: string, rel: string, s: string, name?: string): Promise<void> {
  const at = rel === '' ? join(r, '.servicepack') : sp(r, ...rel.split('/'));
  const target = name === undefined ? s : join(s, name);
  if (name !== undefined) {
    if (existsSync(at)) await rename(at, target);
    else await mkdir(target);
  } else await rm(at, { recursive: true, force: true });
  await mkdir(dirname(at), { recursive: true });
  await symlink(target, at);
}

const LINK = { exit: 2, code: 'E_INVALID_STATE', message: /is a symbolic link.*remove the link/ } as const;

/** The one installed file the crash template had moved into its backup. */
async function movedByCrash(r: string): Promise<string> {
  const j = JSON.parse(await readFile(sp(r, 'journal.json'), 'utf8')) as {
    steps: { kind: string; from?: string; to?: string }[];
  };
  const first = j.steps[0]!;
  assert.equal(first.kind, 'rename');
  assert.ok(!existsSync(join(r, first.from!)), 'the crash template has the first original moved');
  return first.from!;
}

/** Processes the pid-file cases start; each is stopped when the file ends. */
const strangers: ChildProcess[] = [];

/**
 * Starts `tail -f <root>/logs/access.log` (a process with an argument under the root, the one
 * thing the old check asked for) and names it in the service's pid file. Returns a check that it
 * still runs, unsignalled, once the command is done.
 */
async function foreignPidFile(r: string): Promise<() => Promise<void>> {
  await mkdir(join(r, 'logs'), { recursive: true });
  await appendFile(join(r, 'logs', 'access.log'), '');
  const child = spawn('tail', ['-f', join(r, 'logs', 'access.log')], { stdio: 'ignore', timeout: 120_000 });
  strangers.push(child);
  const signals: string[] = [];
  child.once('exit', (code, signal) => signals.push(`exit ${code} ${signal}`));
  await new Promise<void>((ok, fail) => {
    child.once('spawn', ok);
    child.once('error', fail);
  });
  await mkdir(join(r, 'run'), { recursive: true });
  await writeFile(join(r, 'run', 'inetsrv.pid'), `${child.pid}\n`);
  return async () => {
    await new Promise((ok) => setTimeout(ok, 100));
    assert.deepEqual(signals, [], 'the process the pid file named was signalled');
    assert.equal(child.exitCode, null, 'the process the pid file named is gone');
    assert.equal(child.signalCode, null, 'the process the pid file named was signalled');
    const started = spawnSync('pgrep', ['-f', `${r}/`], { encoding: 'utf8' });
    const others = started.stdout.split('\n').filter((p) => p !== '' && Number(p) !== child.pid);
    assert.deepEqual(others, [], 'a server was started beside the foreign process');
  };
}

/** Rewrites the installation's state record through `edit`. */
async function forgeState(
  r: string,
  edit: (state: { files: Record<string, unknown>; installed: { backup?: string }[] }) => void,
): Promise<void> {
  const state = JSON.parse(await readFile(sp(r, 'state.json'), 'utf8')) as {
    files: Record<string, unknown>;
    installed: { backup?: string }[];
  };
  edit(state);
  await writeFile(sp(r, 'state.json'), JSON.stringify(state));
}

const FORGED = { exit: 2, code: 'E_INVALID_STATE' } as const;

const cases: RootCase[] = [
  // symbolic links at each path of .servicepack/
  {
    name: '.servicepack is a link (install)',
    template: 'rtm',
    prepare: (r, s) => linkOut(r, '', s, 'dotdir'),
    command: 'install',
    ...LINK,
  },
  {
    name: '.servicepack is a link (uninstall)',
    template: 'sp6',
    prepare: (r, s) => linkOut(r, '', s, 'dotdir'),
    command: 'uninstall',
    ...LINK,
  },
  {
    name: '.servicepack is a link (query)',
    template: 'sp6',
    prepare: (r, s) => linkOut(r, '', s, 'dotdir'),
    command: 'query',
    ...LINK,
  },
  {
    name: '.servicepack is a link (verify)',
    template: 'sp6',
    prepare: (r, s) => linkOut(r, '', s, 'dotdir'),
    command: 'verify',
    ...LINK,
  },
  {
    name: 'staging is a link (install)',
    template: 'rtm',
    prepare: (r, s) => linkOut(r, 'staging', s),
    command: 'install',
    ...LINK,
  },
  {
    name: 'staging is a link (uninstall)',
    template: 'sp6',
    prepare: (r, s) => linkOut(r, 'staging', s),
    command: 'uninstall',
    ...LINK,
  },
  {
    name: 'staging is a link (recover)',
    template: 'rtm',
    prepare: (r, s) => linkOut(r, 'staging', s),
    command: 'recover',
    ...LINK,
  },
  {
    name: 'staging/<txid> of an open journal is a link (recover)',
    template: 'crash',
    prepare: async (r, s) => {
      await movedByCrash(r);
      await linkOut(r, `staging/${crashTx}`, s, 'staged');
    },
    command: 'recover',
    ...LINK,
  },
  {
    name: 'staging/<name> left by an earlier run is a link: removed, never followed (install)',
    template: 'rtm',
    prepare: async (r, s) => {
      await mkdir(sp(r, 'staging'));
      await symlink(s, sp(r, 'staging', '20991231T000000Z-abcdef'));
    },
    command: 'install',
    exit: 0,
    proceeds: true,
  },
  {
    name: 'backup is a link (install)',
    template: 'rtm',
    prepare: (r, s) => linkOut(r, 'backup', s),
    command: 'install',
    ...LINK,
  },
  {
    name: 'backup is a link (uninstall)',
    template: 'sp6',
    prepare: (r, s) => linkOut(r, 'backup', s, 'backup'),
    command: 'uninstall',
    ...LINK,
  },
  {
    name: 'backup/<id> is a link (uninstall)',
    template: 'sp6',
    prepare: (r, s) => linkOut(r, `backup/${SP6}`, s, SP6),
    command: 'uninstall',
    ...LINK,
  },
  {
    name: 'backup/<id>/files is a link (uninstall)',
    template: 'sp6',
    prepare: (r, s) => linkOut(r, `backup/${SP6}/files`, s, 'files'),
    command: 'uninstall',
    ...LINK,
  },
  {
    name: 'log is a link (install)',
    template: 'rtm',
    prepare: (r, s) => linkOut(r, 'log', s),
    command: 'install',
    ...LINK,
  },
  {
    name: 'log is a link (uninstall)',
    template: 'sp6',
    prepare: (r, s) => linkOut(r, 'log', s, 'log'),
    command: 'uninstall',
    ...LINK,
  },
  {
    name: 'garbage is a link (uninstall)',
    template: 'sp6',
    prepare: (r, s) => linkOut(r, 'garbage', s),
    command: 'uninstall',
    ...LINK,
  },
  {
    name: 'garbage is a link (install --no-backup)',
    template: 'rtm',
    prepare: (r, s) => linkOut(r, 'garbage', s),
    command: 'install -n',
    ...LINK,
  },
  {
    name: 'saved is a link (uninstall -o of a changed file)',
    template: 'sp6',
    prepare: async (r, s) => {
      await appendFile(join(r, 'lib', 'server.js'), '// changed here\n');
      await linkOut(r, 'saved', s);
    },
    command: 'uninstall -o',
    ...LINK,
  },
  {
    name: 'trust is a link (install)',
    template: 'rtm',
    prepare: (r, s) => linkOut(r, 'trust', s, 'trust'),
    command: 'install',
    ...LINK,
  },
  {
    name: 'lock is a link (install)',
    template: 'rtm',
    prepare: (r, s) => symlink(join(s, 'secret'), sp(r, 'lock')),
    command: 'install',
    ...LINK,
  },
  {
    name: 'journal.json is a link (recover)',
    template: 'crash',
    prepare: (r, s) => linkOut(r, 'journal.json', s, 'journal.json'),
    command: 'recover',
    ...LINK,
  },
  {
    name: 'journal.json is a link (query)',
    template: 'crash',
    prepare: (r, s) => linkOut(r, 'journal.json', s, 'journal.json'),
    command: 'query',
    ...LINK,
  },
  {
    name: 'state.json is a link (uninstall)',
    template: 'sp6',
    prepare: (r, s) => linkOut(r, 'state.json', s, 'state.json'),
    command: 'uninstall',
    ...LINK,
  },
  {
    name: 'state.json is a link (query)',
    template: 'sp6',
    prepare: (r, s) => linkOut(r, 'state.json', s, 'state.json'),
    command: 'query',
    ...LINK,
  },
  {
    name: 'state.json is a link (verify)',
    template: 'sp6',
    prepare: (r, s) => linkOut(r, 'state.json', s, 'state.json'),
    command: 'verify',
    ...LINK,
  },
  {
    name: 'staging is a file, not a folder (install)',
    template: 'rtm',
    prepare: (r) => writeFile(sp(r, 'staging'), 'not a folder\n'),
    command: 'install',
    exit: 2,
    code: 'E_INVALID_STATE',
    message: /staging is not a folder/,
  },

  // hard links from the sentinel into the tree: allowed, never written through
  {
    name: 'a product file the pack replaces is hard-linked outside (install)',
    template: 'rtm',
    prepare: (r, s) => link(join(r, 'lib', 'server.js'), join(s, 'server.js')),
    command: 'install',
    exit: 0,
    proceeds: true,
  },
  {
    name: 'a product file the uninstall replaces is hard-linked outside (uninstall)',
    template: 'sp6',
    prepare: (r, s) => link(join(r, 'lib', 'server.js'), join(s, 'server.js')),
    command: 'uninstall',
    exit: 0,
    proceeds: true,
  },
  {
    name: 'a backed-up original is hard-linked outside (uninstall)',
    template: 'sp6',
    prepare: (r, s) => link(sp(r, 'backup', SP6, 'files', 'lib', 'server.js'), join(s, 'server.js')),
    command: 'uninstall',
    exit: 0,
    proceeds: true,
  },
  {
    name: 'backup.json is hard-linked outside (uninstall)',
    template: 'sp6',
    prepare: (r, s) => link(sp(r, 'backup', SP6, 'backup.json'), join(s, 'backup.json')),
    command: 'uninstall',
    exit: 0,
    proceeds: true,
  },
  {
    name: 'state.json is hard-linked outside (uninstall)',
    template: 'sp6',
    prepare: async (r, s) => {
      await link(sp(r, 'state.json'), join(s, 'state.json'));
      // looser than the installer leaves it: a chmod of the record would reach the sentinel's copy
      await chmod(join(s, 'state.json'), 0o644);
    },
    command: 'uninstall',
    exit: 0,
    proceeds: true,
  },
  {
    name: 'lock is hard-linked outside (install)',
    template: 'rtm',
    prepare: (r, s) => link(join(s, 'secret'), sp(r, 'lock')),
    command: 'install',
    exit: 0,
    proceeds: true,
  },

  // forged records that name paths outside the root
  {
    name: 'journal.json with a step out of the root (recover)',
    template: 'crash',
    prepare: async (r) => {
      const j = JSON.parse(await readFile(sp(r, 'journal.json'), 'utf8')) as { steps: { from?: string }[] };
      j.steps[0]!.from = '../sentinel/secret';
      await writeFile(sp(r, 'journal.json'), JSON.stringify(j));
    },
    command: 'recover',
    exit: 2,
    code: 'E_INVALID_STATE',
    message: /not a path inside the installation/,
  },
  {
    name: 'journal.json with its staging out of the root (recover)',
    template: 'crash',
    prepare: async (r) => {
      const j = JSON.parse(await readFile(sp(r, 'journal.json'), 'utf8')) as { staging: string };
      j.staging = '../sentinel';
      await writeFile(sp(r, 'journal.json'), JSON.stringify(j));
    },
    command: 'recover',
    exit: 2,
    code: 'E_INVALID_STATE',
    message: /not a path inside the installation/,
  },

  // a foreign pid file: the process it names is not the service (item 5)
  ...(['install', 'install -z'] as const).map((command): RootCase => {
    let check: () => Promise<void> = async () => {};
    return {
      name: `run/inetsrv.pid names tail -f <root>/logs/access.log (${command})`,
      template: 'rtm',
      prepare: async (r) => {
        check = await foreignPidFile(r);
      },
      command,
      exit: 0,
      proceeds: true,
      afterwards: () => check(),
    };
  }),

  // forged state records naming paths outside the root (items 8 and 11)
  {
    name: 'state.json lists /etc/hostname among its files (install)',
    template: 'sp6',
    prepare: (r) =>
      forgeState(r, (st) => {
        st.files['/etc/hostname'] = Object.values(st.files)[0];
      }),
    command: 'install',
    ...FORGED,
  },
  {
    name: 'state.json lists /etc/hostname among its files (uninstall)',
    template: 'sp6',
    prepare: (r) =>
      forgeState(r, (st) => {
        st.files['/etc/hostname'] = Object.values(st.files)[0];
      }),
    command: 'uninstall',
    ...FORGED,
  },
  {
    name: 'state.json lists ../sentinel/secret among its files (uninstall)',
    template: 'sp6',
    prepare: (r) =>
      forgeState(r, (st) => {
        st.files['../sentinel/secret'] = Object.values(st.files)[0];
      }),
    command: 'uninstall',
    ...FORGED,
  },
  {
    name: 'state.json names a backup folder outside the root (uninstall)',
    template: 'sp6',
    prepare: async (r, s) => {
      cpA(sp(r, 'backup', SP6), join(s, 'evil-backup'));
      await forgeState(r, (st) => {
        st.installed[st.installed.length - 1]!.backup = '../../sentinel/evil-backup';
      });
    },
    command: 'uninstall',
    ...FORGED,
  },
];

describe('hostile installation roots: nothing outside the root is written, deleted or followed', () => {
  test(`the corpus covers every path of .servicepack/ (${cases.length} cases)`, () => {
    for (const p of [
      '.servicepack is',
      'staging is',
      'staging/<txid>',
      'backup is',
      'backup/<id> is',
      'log is',
      'garbage is',
      'saved is',
      'trust is',
      'lock is',
      'journal.json is',
      'state.json is',
    ]) {
      assert.ok(
        cases.some((c) => c.name.startsWith(p) && c.exit === 2),
        `no refused case for ${p}`,
      );
    }
  });

  test('control: each template goes through the command its cases run', async () => {
    for (const [template, command, exit] of [
      ['rtm', 'install', 0],
      ['sp6', 'uninstall', 0],
      ['crash', 'recover', 0],
      ['sp6', 'query', 0],
      ['sp6', 'verify', 0],
    ] as const) {
      const { r } = await fresh(template);
      const res = await cli(argsOf(command, r));
      assert.equal(res.code, exit, `${template} ${command}: ${res.out}${res.err}`);
    }
  });

  for (const c of cases) {
    // bounded: a record that once hung the installer at 100 % CPU must fail here, not hang
    test(`${c.proceeds ? 'goes through, nothing written outside' : 'refused'}: ${c.name}`, {
      timeout: 120_000,
    }, async (t) => {
      const { r, s } = await fresh(c.template);
      await c.prepare(r, s);
      const sentinelBefore = await treeSnapshot(s);
      const rootBefore = await treeSnapshot(r);
      const res = await cli(argsOf(c.command, r));
      const doc = jsonDoc(res);
      t.diagnostic(`exit ${res.code}${doc['code'] ? ` ${String(doc['code'])}: ${String(doc['message'])}` : ''}`);
      assert.deepEqual(await treeSnapshot(s), sentinelBefore, `${c.name}: something outside the root changed`);
      assert.equal(res.code, c.exit, `${c.name}: ${res.out}`);
      if (c.code) assert.equal(doc['code'], c.code, c.name);
      if (c.message) assert.match(String(doc['message']), c.message);
      if (!c.proceeds)
        assert.deepEqual(await treeSnapshot(r), rootBefore, `${c.name}: the refused command changed the installation`);
      await c.afterwards?.();
    });
  }

  test('after a refusal, removing the link as the message says lets the command through', async () => {
    const { r, s } = await fresh('rtm');
    await linkOut(r, 'staging', s);
    const refused = await cli(argsOf('install', r));
    assert.equal(refused.code, 2, refused.out);
    assert.ok(String(jsonDoc(refused)['message']).includes(sp(r, 'staging')), 'the message names the link');
    await rm(sp(r, 'staging'));
    const again = await cli(argsOf('install', r));
    assert.equal(again.code, 0, again.out);
    assert.deepEqual(await readdir(s), ['secret', 'sub']);
  });

  test('the real executable refuses the same way (a sample, plain output)', async () => {
    for (const name of [
      'staging is a link (install)',
      'backup/<id> is a link (uninstall)',
      'journal.json is a link (recover)',
    ]) {
      const c = cases.find((x) => x.name === name)!;
      const { r, s } = await fresh(c.template);
      await c.prepare(r, s);
      const sentinelBefore = await treeSnapshot(s);
      const args = argsOf(c.command, r).filter((a) => a !== '--json');
      const res = spawnSync(process.execPath, [bin, ...args], {
        encoding: 'utf8',
        env: { PATH: process.env['PATH'] ?? '' },
        input: '',
        timeout: 30_000,
      });
      assert.equal(res.status, c.exit, `${name}: ${res.stderr}`);
      assert.match(res.stderr, /servicepack: error: /, name);
      assert.match(res.stderr, c.message!, name);
      assert.deepEqual(await treeSnapshot(s), sentinelBefore, name);
    }
  });
});

/** A fresh copy of `template` and a sentinel folder beside it. */
async function fresh(template: Template): Promise<{ r: string; s: string }> {
  const dir = join(work, `case-${String(++n).padStart(3, '0')}`);
  await mkdir(dir);
  const r = join(dir, 'inetsrv');
  cpA(templates[template], r);
  const s = join(dir, 'sentinel');
  await mkdir(join(s, 'sub'), { recursive: true });
  await writeFile(join(s, 'secret'), 'do not overwrite or delete\n', { mode: 0o640 });
  await writeFile(join(s, 'sub', 'file'), Buffer.from([0, 1, 2, 3, 255]));
  return { r, s };
}

// ---------------------------------------------------------------------------------------------
// Staging on another file system

/** Mounts an empty tmpfs at `dir` (the tests run as root, as CI does); returns the unmount. */
function mountTmpfs(dir: string): () => void {
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=0700', 'tmpfs', dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, `mount -t tmpfs at ${dir} failed (these tests need root and mount): ${r.stderr}`);
  return () => {
    const u = spawnSync('umount', [dir], { encoding: 'utf8' });
    if (u.status !== 0) spawnSync('umount', ['-l', dir]);
  };
}

const EXDEV = {
  exit: 2,
  code: 'E_INVALID_STATE',
  message: /is on another file system than .*rename\(2\).*nothing was changed/,
} as const;

describe('staging on another file system than the product is refused before anything changes', () => {
  // `at`: root-relative; what was there is copied onto the tmpfs
  const mounts: { name: string; template: Template; at: string; command: Command }[] = [
    {
      name: 'a tmpfs over .servicepack/staging (install)',
      template: 'rtm',
      at: '.servicepack/staging',
      command: 'install',
    },
    {
      name: 'a tmpfs over .servicepack/staging (uninstall)',
      template: 'sp6',
      at: '.servicepack/staging',
      command: 'uninstall',
    },
    {
      name: 'a tmpfs over .servicepack/backup (install)',
      template: 'rtm',
      at: '.servicepack/backup',
      command: 'install',
    },
    { name: 'a tmpfs over .servicepack/ itself (install)', template: 'rtm', at: '.servicepack', command: 'install' },
    // found once the plan names the product's folders, in the journal step: its log is kept
    { name: 'a tmpfs over the product folder lib/ (install)', template: 'rtm', at: 'lib', command: 'install' },
  ];
  /** a refusal in the journal step leaves the transaction's log, like any failure from there on */
  const withoutLogs = (lines: string[]): string[] => lines.filter((l) => !/ \.servicepack\/log(\/|$)/.test(l));
  for (const m of mounts) {
    test(m.name, async (t) => {
      const { r } = await fresh(m.template);
      const dir = join(r, m.at);
      const keep = join(dirname(r), 'kept');
      if (existsSync(dir)) await rename(dir, keep);
      await mkdir(dir, { recursive: true });
      const unmount = mountTmpfs(dir);
      try {
        if (existsSync(keep)) cpA(`${keep}/.`, dir);
        const before = await treeSnapshot(r);
        const res = await cli(argsOf(m.command, r));
        const doc = jsonDoc(res);
        t.diagnostic(`exit ${res.code} ${String(doc['code'])}: ${String(doc['message'])}`);
        assert.equal(res.code, EXDEV.exit, res.out);
        assert.equal(doc['code'], EXDEV.code);
        assert.match(String(doc['message']), EXDEV.message);
        assert.deepEqual(
          withoutLogs(await treeSnapshot(r)),
          withoutLogs(before),
          'the refused command changed the installation',
        );
        const q = await cli(argsOf('query', r));
        assert.equal(q.code, 0, `query after the refusal: ${q.out}`);
      } finally {
        unmount();
      }
    });
  }
});
