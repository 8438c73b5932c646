/**
 * The servicepack.fleet Ansible collection (integrations/ansible, docs/fleet.md "Rolling a feed out
 * with Ansible") through the real ansible-playbook on localhost (ansible_connection=local), against
 * copies of the built release trees, with the work tree's servicepack. One playbook run per case.
 * Results are read from the default callback's `-v` lines with ANSIBLE_CALLBACK_RESULT_FORMAT=json
 * (one JSON object per task and host) and its PLAY RECAP: ansible-core has no json callback of its
 * own, and nothing outside ansible-core is installed. ansible-core and ansible-lint come from
 * scripts/ensure-ansible.sh (Debian's packages); when they cannot be had, the suite fails.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { newestReleaseTree, repoRoot } from './support/inetsrv.js';
import { bin, distFeed, distPacks, requireBuild, servicepack, Temps } from './support/unattended.js';

const ansibleDir = join(repoRoot, 'integrations', 'ansible');
const collection = join(ansibleDir, 'ansible_collections', 'servicepack', 'fleet');
const rolloutPlaybook = join(ansibleDir, 'playbooks', 'rollout.yml');
const temps = new Temps();
let work = '';
let env: Record<string, string> = {};

interface TaskResult {
  task: string;
  host: string;
  status: string;
  result: Record<string, unknown>;
}

interface Recap {
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  ignored: number;
}

interface PlaybookRun {
  code: number | null;
  out: string;
  err: string;
  plays: string[][];
  results: TaskResult[];
  recap: Record<string, Recap>;
}

/** The results of a default-callback `-v` run: each task's JSON per host, the plays' hosts, the recap. */
function parseRun(out: string): Pick<PlaybookRun, 'plays' | 'results' | 'recap'> {
  const plays: string[][] = [];
  const results: TaskResult[] = [];
  const recap: Record<string, Recap> = {};
  let task = '';
  let inRecap = false;
  const lines = out.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.startsWith('PLAY [')) {
      plays.push([]);
      continue;
    }
    if (line.startsWith('PLAY RECAP')) inRecap = true;
    const header = /^(?:TASK|RUNNING HANDLER) \[(.*)\] \*+$/.exec(line);
    if (header) {
      task = header[1] ?? '';
      continue;
    }
    const res = /^(ok|changed|fatal|failed|skipping): \[([^\]]+)\](?:: FAILED!)? => (\{.*)$/.exec(line);
    if (res) {
      const host = res[2] ?? '';
      // debug and assert results are printed indented: "=> {", the members, then a lone "}"
      let json = res[3] ?? '{}';
      if (json === '{') {
        while (i + 1 < lines.length && lines[i] !== '}') json += `\n${lines[++i]}`;
      }
      results.push({ task, host, status: res[1] ?? '', result: JSON.parse(json) as Record<string, unknown> });
      const play = plays.at(-1);
      if (play && !play.includes(host)) play.push(host);
      continue;
    }
    const stats =
      /^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)\s+skipped=(\d+)\s+rescued=\d+\s+ignored=(\d+)/.exec(
        line,
      );
    if (inRecap && stats) {
      const [, host, ok, changed, failed, skipped, ignored] = stats;
      recap[host ?? ''] = {
        ok: Number(ok),
        changed: Number(changed),
        failed: Number(failed),
        skipped: Number(skipped),
        ignored: Number(ignored),
      };
    }
  }
  return { plays, results, recap };
}

let runCount = 0;

/** ansible-playbook -v over an inventory of local hosts; `playbook` is a path or the YAML text of one. */
function ansiblePlaybook(
  playbook: string,
  hosts: Record<string, Record<string, string | boolean>>,
  args: string[] = [],
): Promise<PlaybookRun> {
  runCount += 1;
  const dir = join(work, `run-${runCount}`);
  mkdirSync(dir);
  let path = playbook;
  if (playbook.includes('\n')) {
    path = join(dir, 'playbook.yml');
    writeFileSync(path, playbook);
  }
  const inventory = {
    all: {
      children: {
        inetsrv: {
          hosts: hosts,
          vars: {
            ansible_connection: 'local',
            ansible_python_interpreter: '/usr/bin/python3',
            servicepack_executable: bin,
            servicepack_feed: distFeed,
            servicepack_accept_eula: true,
          },
        },
      },
    },
  };
  // JSON is YAML: the inventory needs no escaping of its own
  writeFileSync(join(dir, 'inventory.yml'), JSON.stringify(inventory));
  return new Promise((resolve) => {
    const child = spawn('ansible-playbook', ['-v', '-i', join(dir, 'inventory.yml'), ...args, path], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err, ...parseRun(out) });
    });
  });
}

/** sha256 of every file under dir, its .servicepack/ included: "byte for byte" means all of it. */
function treeHash(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p);
      else
        out[p] = createHash('sha256')
          .update(readFileSync(join(dir, p)))
          .digest('hex');
    }
  };
  walk('');
  return out;
}

interface Level {
  level: number;
  levelName: string;
  arch: string;
  hotfixes: string[];
}

async function levelOf(root: string): Promise<Level> {
  const q = await servicepack(['query', '--root', root, '--json']);
  assert.equal(q.code, 0, q.err);
  return JSON.parse(q.out) as Level;
}

function only(run: PlaybookRun, task: string): TaskResult {
  const found = run.results.filter((r) => r.task === task);
  assert.equal(found.length, 1, `one result for ${task}:\n${run.out}\n${run.err}`);
  return found[0] as TaskResult;
}

describe('the servicepack.fleet Ansible collection', { concurrency: false }, () => {
  before(async () => {
    requireBuild();
    const ensure = spawnSync('sh', [join(repoRoot, 'scripts', 'ensure-ansible.sh')], { encoding: 'utf8' });
    if (ensure.status !== 0)
      throw new Error(`ansible-core and ansible-lint are required and could not be installed: ${ensure.stderr}`);
    work = await temps.dir('sp-ansible-');
    for (const d of ['home', 'local-tmp', 'remote-tmp', 'cp']) mkdirSync(join(work, d));
    env = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      // nothing lands in the runner's ~/.ansible or ~/.cache
      HOME: join(work, 'home'),
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      ANSIBLE_CONFIG: join(work, 'no-ansible.cfg'),
      ANSIBLE_LOCAL_TEMP: join(work, 'local-tmp'),
      ANSIBLE_REMOTE_TEMP: join(work, 'remote-tmp'),
      ANSIBLE_PERSISTENT_CONTROL_PATH_DIR: join(work, 'cp'),
      ANSIBLE_COLLECTIONS_PATH: ansibleDir,
      ANSIBLE_CALLBACK_RESULT_FORMAT: 'json',
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_RETRY_FILES_ENABLED: 'false',
      ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
    };
  });
  after(() => temps.cleanup());

  it('rollout.yml is idempotent: canary waves of 1, 2 and the rest install; the second run changes nothing', async () => {
    const hosts = {
      'www-rtm': await temps.installation('rtm-x86'),
      'www-sp5': await temps.installation('sp5-q236565-x86'),
      'alpha-sp2': await temps.installation('sp2-alpha'),
      'www-current': join(await temps.dir('sp-root-'), 'inetsrv'),
    };
    cpSync(newestReleaseTree('x86'), hosts['www-current'], { recursive: true });
    const inventory = Object.fromEntries(Object.entries(hosts).map(([h, root]) => [h, { servicepack_root: root }]));

    const first = await ansiblePlaybook(rolloutPlaybook, inventory);
    assert.equal(first.code, 0, `${first.out}\n${first.err}`);
    assert.deepEqual(
      first.plays.map((p) => p.length),
      [1, 2, 1],
      'serial: [1, 2, "100%"]',
    );
    for (const h of ['www-rtm', 'www-sp5', 'alpha-sp2']) assert.equal(first.recap[h]?.changed, 1, `${h} changed`);
    assert.equal(first.recap['www-current']?.changed, 0, 'the current host had nothing to do');
    assert.equal(first.recap['www-current']?.failed, 0);
    const newestX86 = await levelOf(newestReleaseTree('x86'));
    const newestAlpha = await levelOf(newestReleaseTree('alpha'));
    for (const [h, root] of Object.entries(hosts)) {
      const now = await levelOf(root);
      const newest = h === 'alpha-sp2' ? newestAlpha : newestX86;
      assert.deepEqual([now.level, [...now.hotfixes].sort()], [newest.level, [...newest.hotfixes].sort()], h);
    }

    const second = await ansiblePlaybook(rolloutPlaybook, inventory);
    assert.equal(second.code, 0, `${second.out}\n${second.err}`);
    for (const h of Object.keys(hosts)) {
      assert.equal(second.recap[h]?.changed, 0, `${h}: nothing changed the second time\n${second.out}`);
      assert.equal(second.recap[h]?.failed, 0, h);
    }
    const install = second.results.filter((r) => r.task.endsWith('Install the newest level the feed offers'));
    assert.equal(install.length, 4);
    for (const r of install) {
      assert.equal(r.result['exit_code'], 3);
      assert.equal(r.result['code'], 'E_ALREADY_INSTALLED');
    }
  });

  it('check mode (--check) reports what would change and leaves the tree byte for byte as it was', async () => {
    // a vendor tree: with no state record even the feed's version is not noted (docs/fleet.md)
    const root = await temps.installation('rtm-x86');
    const before = treeHash(root);
    const run = await ansiblePlaybook(rolloutPlaybook, { 'www-rtm': { servicepack_root: root } }, ['--check']);
    assert.equal(run.code, 0, `${run.out}\n${run.err}`);
    const install = only(run, 'servicepack.fleet.rollout : Install the newest level the feed offers');
    assert.equal(install.status, 'changed');
    assert.equal((install.result['before'] as Level).levelName, 'RTM');
    const newest = await levelOf(newestReleaseTree('x86'));
    const after = install.result['after'] as Level;
    assert.deepEqual([after.level, [...after.hotfixes].sort()], [newest.level, [...newest.hotfixes].sort()]);
    assert.deepEqual(treeHash(root), before);
  });

  it('diff mode (--diff) shows the level before and after and the files; present and absent are idempotent', async () => {
    const root = await temps.installation('rtm-x86');
    const outsideRecords = (hashes: Record<string, string>): Record<string, string> =>
      Object.fromEntries(Object.entries(hashes).filter(([p]) => !p.startsWith('.servicepack/')));
    const released = outsideRecords(treeHash(root));
    const sp6 = join(distPacks, 'inetsrv-4.0-sp6-x86.tgz');
    const task = (name: string, state: string, extra: string): string =>
      `    - name: ${name}\n      servicepack.fleet.servicepack:\n        root: "{{ servicepack_root }}"\n` +
      `        executable: "{{ servicepack_executable }}"\n        accept_eula: true\n        state: ${state}\n${extra}`;
    const playbook =
      '- hosts: inetsrv\n  gather_facts: false\n  tasks:\n' +
      task('install sp6', 'present', `        packs: ["${sp6}"]\n`) +
      task('install sp6 again', 'present', `        packs: ["${sp6}"]\n`) +
      task('remove sp6', 'absent', '        id: inetsrv-4.0-sp6\n') +
      task('remove sp6 again', 'absent', '        id: inetsrv-4.0-sp6\n');
    const run = await ansiblePlaybook(playbook, { www: { servicepack_root: root } }, ['--diff']);
    assert.equal(run.code, 0, `${run.out}\n${run.err}`);
    assert.deepEqual(
      run.results.map((r) => [r.task, r.status]),
      [
        ['install sp6', 'changed'],
        ['install sp6 again', 'ok'],
        ['remove sp6', 'changed'],
        ['remove sp6 again', 'ok'],
      ],
    );
    assert.equal(run.recap['www']?.changed, 2);
    const installDiff = run.out.slice(
      run.out.indexOf('TASK [install sp6]'),
      run.out.indexOf('TASK [install sp6 again]'),
    );
    assert.match(installDiff, /^-level: RTM$/m);
    assert.match(installDiff, /^\+level: Service Pack 6$/m);
    assert.match(installDiff, /^\+replaced lib\/server\.js$/m);
    const removeDiff = run.out.slice(run.out.indexOf('TASK [remove sp6]'), run.out.indexOf('TASK [remove sp6 again]'));
    assert.match(removeDiff, /^-level: Service Pack 6$/m);
    assert.match(removeDiff, /^\+level: RTM$/m);
    assert.match(removeDiff, /^\+restored lib\/server\.js$/m);
    assert.deepEqual(only(run, 'remove sp6').result['packs'], ['inetsrv-4.0-sp6']);
    // uninstall restores the release byte for byte; only servicepack's own records remain
    assert.deepEqual(outsideRecords(treeHash(root)), released);
  });

  it('refusals fail with the CLI code and exit code: wrong arch, a tampered pack, a locally modified file', async () => {
    const root = await temps.installation('rtm-x86');
    writeFileSync(
      join(root, 'lib', 'server.js'),
      `${readFileSync(join(root, 'lib', 'server.js'), 'utf8')}// changed here\n`,
    );
    const before = treeHash(root);
    const tampered = join(work, 'tampered.tgz');
    const bytes = readFileSync(join(distPacks, 'inetsrv-4.0-sp6-x86.tgz'));
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0xff;
    writeFileSync(tampered, bytes);
    const task = (name: string, state: string, extra: string): string =>
      `    - name: ${name}\n      servicepack.fleet.servicepack:\n        root: "{{ servicepack_root }}"\n` +
      `        executable: "{{ servicepack_executable }}"\n        accept_eula: true\n        state: ${state}\n${extra}` +
      '      ignore_errors: true\n';
    const playbook =
      '- hosts: inetsrv\n  gather_facts: false\n  tasks:\n' +
      task('wrong arch', 'present', `        packs: ["${join(distPacks, 'inetsrv-4.0-sp6-alpha.tgz')}"]\n`) +
      task('tampered', 'present', `        packs: ["${tampered}"]\n`) +
      task('modified', 'latest', '        feed: "{{ servicepack_feed }}"\n');
    const run = await ansiblePlaybook(playbook, { www: { servicepack_root: root } });
    assert.equal(run.code, 0, `${run.out}\n${run.err}`);
    assert.equal(run.recap['www']?.ignored, 3);
    const expect: Array<[string, string, number]> = [
      ['wrong arch', 'E_WRONG_ARCH', 3],
      ['tampered', 'E_CORRUPT_ARCHIVE', 4],
      ['modified', 'E_LOCALLY_MODIFIED', 3],
    ];
    for (const [name, code, exitCode] of expect) {
      const r = only(run, name);
      assert.equal(r.status, 'fatal', name);
      assert.equal(r.result['code'], code, name);
      assert.equal(r.result['exit_code'], exitCode, name);
      assert.match(String(r.result['msg']), new RegExp(`^${code}: `), name);
    }
    assert.deepEqual(treeHash(root), before);
  });

  it('servicepack_facts returns the FactsDocument as ansible_facts.servicepack, with what the feed still offers', async () => {
    const root = await temps.installation('sp5-q236565-x86');
    const playbook =
      '- hosts: inetsrv\n  gather_facts: false\n  tasks:\n' +
      '    - name: gather\n      servicepack.fleet.servicepack_facts:\n        root: "{{ servicepack_root }}"\n' +
      '        feed: "{{ servicepack_feed }}"\n        executable: "{{ servicepack_executable }}"\n' +
      "    - name: the facts are the host's\n      ansible.builtin.assert:\n" +
      "        that: ansible_facts.servicepack.hotfixes == ['Q236565'] and not ansible_facts.servicepack.upToDate\n";
    const run = await ansiblePlaybook(playbook, { www: { servicepack_root: root } });
    assert.equal(run.code, 0, `${run.out}\n${run.err}`);
    assert.equal(only(run, "the facts are the host's").status, 'ok');
    const gathered = only(run, 'gather').result['ansible_facts'] as { servicepack: Record<string, unknown> };
    const facts = gathered.servicepack;
    assert.equal(facts['root'], root);
    assert.equal(facts['arch'], 'x86');
    assert.equal(facts['level'], 5);
    assert.deepEqual(facts['hotfixes'], ['Q236565']);
    assert.equal(facts['upToDate'], false);
    const updates = facts['updates'] as Array<{ id: string; security: boolean }>;
    assert.ok(
      updates.some((u) => u.id === 'inetsrv-4.0-sp6a'),
      JSON.stringify(updates),
    );
    const direct = await servicepack(['check', '--feed', distFeed, '--root', root, '--json']);
    assert.deepEqual(facts['latest'], (JSON.parse(direct.out) as { latest: string[] }).latest);
    assert.equal(run.recap['www']?.changed, 0);
  });

  it('ansible-lint and the ansible-test sanity tests that run offline pass; ansible-doc reads both modules', () => {
    const copy = join(work, 'lint');
    cpSync(ansibleDir, copy, { recursive: true });
    const run = (cmd: string, args: string[], cwd: string): void => {
      const r = spawnSync(cmd, args, { cwd, env: { ...env, ANSIBLE_COLLECTIONS_PATH: copy }, encoding: 'utf8' });
      assert.equal(r.status, 0, `${cmd} ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
    };
    run('ansible-lint', ['--offline', '--nocolor', '-p', 'ansible_collections/servicepack/fleet', 'playbooks'], copy);
    // these seven build a virtual environment with pip from PyPI, which CI cannot reach (docs/fleet.md)
    const needPyPI = ['ansible-doc', 'import', 'pep8', 'pylint', 'runtime-metadata', 'validate-modules', 'yamllint'];
    run(
      'ansible-test',
      ['sanity', '--local', '--python', '3.11', ...needPyPI.flatMap((t) => ['--skip-test', t])],
      join(copy, 'ansible_collections', 'servicepack', 'fleet'),
    );
    for (const module of ['servicepack', 'servicepack_facts']) {
      const r = spawnSync('ansible-doc', ['-t', 'module', '--json', `servicepack.fleet.${module}`], {
        env: { ...env, ANSIBLE_COLLECTIONS_PATH: copy },
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as Record<string, { doc: { options: Record<string, unknown> } }>;
      const options = Object.keys(doc[`servicepack.fleet.${module}`]?.doc.options ?? {}).sort();
      assert.deepEqual(
        options,
        module === 'servicepack'
          ? [
              'accept_eula',
              'executable',
              'feed',
              'health_check',
              'health_timeout',
              'id',
              'modified',
              'packs',
              'restart',
              'root',
              'state',
              'trust',
              'wait',
            ]
          : ['executable', 'feed', 'root', 'trust'],
      );
    }
  });

  it('docs/fleet.md shows rollout.yml and the rollout role verbatim', () => {
    const doc = readFileSync(join(repoRoot, 'docs', 'fleet.md'), 'utf8');
    const shown = (file: string): string => {
      const at = doc.indexOf(`\`${file}\`:\n\n\`\`\`yaml\n`);
      assert.ok(at >= 0, `docs/fleet.md shows ${file}`);
      const start = doc.indexOf('```yaml\n', at) + '```yaml\n'.length;
      return doc.slice(start, doc.indexOf('```\n', start));
    };
    assert.equal(shown('integrations/ansible/playbooks/rollout.yml'), readFileSync(rolloutPlaybook, 'utf8'));
    for (const part of ['tasks', 'handlers', 'defaults'])
      assert.equal(
        shown(`roles/rollout/${part}/main.yml`),
        readFileSync(join(collection, 'roles', 'rollout', part, 'main.yml'), 'utf8'),
      );
  });
});
