/**
 * The command lines that skip commander (quick-argv.ts): each form it accepts must give exactly
 * what the full program gives (stdout, stderr, exit code), and anything else must be left to the
 * full program. Also what `query` loads: none of the heavy libraries, commander included.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFile, chmod, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  copyTree,
  makeInstallation,
  makePack,
  makeVendor,
  recordAsIs,
  tempDir,
} from '../../packages/core/test/install-fixtures.js';
import { run, runProgram } from '../src/cli.js';
import { captureIo } from './capture-io.js';
import { quickCommand } from '../src/quick-argv.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(repo, 'installer', 'bin', 'servicepack');

interface Captured {
  code: number;
  out: string;
  err: string;
}

async function both(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<{ quick: Captured; full: Captured }> {
  const argv = ['node', 'servicepack', ...args];
  const a = captureIo(env);
  const quick = { code: await run(argv, a.io), ...a.output() };
  const b = captureIo(env);
  const full = { code: await runProgram(argv, b.io), ...b.output() };
  return { quick, full };
}

describe('quickCommand: what it reads', () => {
  const argv = (...a: string[]) => ['node', 'servicepack', ...a];
  test('query and verify with their own options, in any order, both spellings of a value', () => {
    assert.deepEqual(quickCommand(argv('query')), { command: 'query', flags: {} });
    assert.deepEqual(quickCommand(argv('query', '--root', '/r', '--json', '--require', 'sp6')), {
      command: 'query',
      flags: { root: '/r', json: true, require: 'sp6' },
    });
    assert.deepEqual(quickCommand(argv('query', '--require=6', '--root=/r=x')), {
      command: 'query',
      flags: { root: '/r=x', require: '6' },
    });
    assert.deepEqual(quickCommand(argv('verify', '--json', '--root', 'r')), {
      command: 'verify',
      flags: { root: 'r', json: true },
    });
    assert.deepEqual(quickCommand(argv('verify')), { command: 'verify', flags: {} });
  });

  test('anything else goes to the full program', () => {
    for (const a of [
      [],
      ['install', 'x.tgz'],
      ['--root', '/r', 'query'],
      ['query', '--help'],
      ['query', '-h'],
      ['query', 'help'],
      ['query', '--bogus'],
      ['query', '--root'],
      ['query', '--root', '--json'],
      ['query', '--root', '-x'],
      ['query', '--root', ''],
      ['query', '--root='],
      ['query', '--root', 'a', '--root', 'b'],
      ['query', '--json', '--json'],
      ['query', '--json=1'],
      ['query', '--root', 'a', 'extra'],
      ['query', '--', '--json'],
      ['query', '-V'],
      ['query', '--__proto__', 'x'],
      ['query', '--toString', 'x'],
      ['verify', '--require', 'sp6'],
      ['Query'],
    ]) {
      assert.equal(quickCommand(argv(...a)), undefined, a.join(' '));
    }
  });
});

describe('run: the quick path answers exactly as the full program', () => {
  const vendor = makeVendor();
  const dirs: string[] = [];
  const trees: Record<string, string> = {};
  before(async () => {
    const packs = await tempDir('sp-quick-packs-');
    dirs.push(packs);
    const sp1 = (await makePack(vendor, { level: 1, fromLevels: [0] }, packs)).path;
    const rtm = await makeInstallation(0, vendor);
    dirs.push(rtm);
    trees['vendor release (no state record)'] = rtm;
    const installed = await tempDir('sp-quick-root-');
    dirs.push(installed);
    await copyTree(rtm, installed);
    const install = captureIo({ CI: 'true' });
    const r = await run(['node', 'servicepack', 'install', '--root', installed, '-u', '-z', sp1], install.io);
    assert.ok(r === 0 || r === 10, `install exited ${r}: ${install.output().err}`);
    trees['installed'] = installed;
    const variant = async (name: string, change: (root: string) => Promise<void>) => {
      const root = await tempDir('sp-quick-root-');
      dirs.push(root);
      await copyTree(installed, root);
      await change(root);
      trees[name] = root;
    };
    await variant('modified, missing, extra, mode', async (root) => {
      await appendFile(join(root, 'lib', 'a.js'), '// local\n');
      await unlink(join(root, 'lib', 'b.js'));
      await writeFile(join(root, 'lib', 'extra.js'), 'x\n');
      await chmod(join(root, 'conf', 'inetsrv.conf'), 0o600);
    });
    await variant('open journal', (root) => writeFile(join(root, '.servicepack', 'journal.json'), '{}'));
    await variant('state record not JSON', (root) => writeFile(join(root, '.servicepack', 'state.json'), '{'));
    await variant('not an installation', (root) => rm(join(root, 'BUILDINFO.json')));
    trees['no such folder'] = join(installed, 'nowhere');
  });
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  test('query and verify, every option combination, on trees in every state', async () => {
    for (const [name, root] of Object.entries(trees)) {
      const lines: string[][] = [];
      for (const json of [[], ['--json']]) {
        lines.push(
          ['query', '--root', root, ...json],
          ['query', ...json, `--root=${root}`],
          ['verify', '--root', root, ...json],
          ['verify', ...json, `--root=${root}`],
        );
        for (const level of ['rtm', 'sp1', '2', 'nonsense'])
          lines.push(
            ['query', '--require', level, '--root', root, ...json],
            ['query', ...json, `--require=${level}`, '--root', root],
          );
      }
      for (const args of lines) {
        assert.ok(quickCommand(['node', 'servicepack', ...args]), `not read quickly: ${args.join(' ')}`);
        const { quick, full } = await both(args);
        assert.deepEqual(quick, full, `${name}: ${args.join(' ')}`);
      }
      // the root from the environment, and none at all
      for (const json of [[], ['--json']]) {
        const fromEnv = await both(['query', ...json], { SERVICEPACK_ROOT: root });
        assert.deepEqual(fromEnv.quick, fromEnv.full, `${name}: SERVICEPACK_ROOT query ${json.join(' ')}`);
      }
    }
    for (const args of [['query'], ['query', '--json'], ['verify'], ['verify', '--json']]) {
      const { quick, full } = await both(args);
      assert.equal(quick.code, 2);
      assert.deepEqual(quick, full, args.join(' '));
    }
  });

  test('what it does not read still gets commander: usage errors and help as before', async () => {
    const root = trees['installed']!;
    for (const args of [
      ['query', '--bogus', '--root', root],
      ['query', '--root'],
      ['query', '--root', root, 'extra'],
      ['query', '--json', '--root'],
      ['query', '--help'],
      ['verify', '--require', 'sp1', '--root', root, '--json'],
    ]) {
      const { quick, full } = await both(args);
      assert.deepEqual(quick, full, args.join(' '));
    }
    const help = await both(['query', '--help']);
    assert.equal(help.quick.code, 0);
    assert.match(help.quick.out, /--require <level>/);
    assert.equal((await both(['query', '--bogus'])).quick.code, 2);
  });
});

describe('what `query` loads', () => {
  test('no commander, zod, ink, react, listr2, tar, node:crypto or node:child_process', async () => {
    // with a state record: without one (a vendor release tree) every file is read and hashed
    const root = await makeInstallation(0, makeVendor());
    await recordAsIs(root);
    const work = await tempDir('sp-quick-hook-');
    try {
      const log = join(work, 'loaded.txt');
      // every module URL the ESM loader resolves, and at exit node's own modules and the CommonJS cache
      const hook = `import { appendFileSync } from 'node:fs';\nexport async function resolve(s, c, next) { const r = await next(s, c); appendFileSync(${JSON.stringify(log)}, r.url + '\\n'); return r; }`;
      const preload = join(work, 'preload.mjs');
      await writeFile(
        preload,
        `import { register, createRequire } from 'node:module';
import { appendFileSync } from 'node:fs';
register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});
const require = createRequire(import.meta.url);
process.on('exit', () => {
  const builtins = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => 'node:' + m.slice(13));
  appendFileSync(${JSON.stringify(log)}, [...builtins, ...Object.keys(require.cache)].join('\\n') + '\\n');
});
`,
      );
      for (const args of [
        ['query', '--root', root],
        ['query', '--root', root, '--json', '--require', 'sp1'],
      ]) {
        await rm(log, { force: true });
        const r = spawnSync(process.execPath, ['--import', pathToFileURL(preload).href, bin, ...args], {
          encoding: 'utf8',
          env: { PATH: process.env['PATH'] ?? '', CI: 'true' },
        });
        assert.ok(r.status === 0 || r.status === 3, r.stderr);
        assert.match(r.stdout, /consistent/);
        const loaded = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
        assert.ok(
          loaded.some((u) => u.includes('/core/dist/installation/query.js')),
          'the hook saw the query module',
        );
        const heavy = loaded.filter((u) =>
          /commander|[/@]zod[/@]|[/@]ink[/@]|[/@]react[/@]|listr2|[/@]tar[/@]|^node:crypto$|^node:child_process$|\/wizard\/|\/program\.js$/.test(
            u,
          ),
        );
        assert.deepEqual(heavy, [], `query ${args.join(' ')} loaded: ${heavy.join(', ')}`);
      }
    } finally {
      await rm(work, { recursive: true, force: true });
      await rm(root, { recursive: true, force: true });
    }
  });
});
