/**
 * The servicepack.fleet Ansible collection (integrations/ansible, docs/fleet.md "Rolling a feed out
 * with Ansible") through the real ansible-playbook on localhost (ansible_connection=local), against
 * copies of the built release trees, with the work tree's servicepack. One playbook run per case.
 * Ansible runs and its results are read through test/support/ansible.ts (the tests' json_results
 * callback). ansible-core and ansible-lint come from scripts/ensure-ansible.sh (Debian's packages);
 * when they cannot be had, the suite fails.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type AnsibleRun,
  ansible,
  ansibleEnv,
  COLLECTIONS,
  ensureAnsible,
  PLAYBOOKS,
  type TaskResult,
} from './support/ansible.js';
import { newestReleaseTree, repoRoot } from './support/inetsrv.js';
import { buildInfoOf, expectedServerHeader, NOT_COMPARED } from './support/servicepack.js';
import { freePort, killSites, serverHeader, sitePid } from './support/site.js';
import { bin, distFeed, distPacks, requireBuild, servicepack, Temps } from './support/unattended.js';

const collection = join(COLLECTIONS, 'ansible_collections', 'servicepack', 'fleet');
const rolloutPlaybook = join(PLAYBOOKS, 'rollout.yml');
const temps = new Temps();
let work = '';
let env: NodeJS.ProcessEnv = {};

let runCount = 0;

/** ansible-playbook over an inventory of local hosts; `playbook` is a path or the YAML text of one. */
async function ansiblePlaybook(
  playbook: string,
  hosts: Record<string, Record<string, string | boolean | string[]>>,
  args: string[] = [],
): Promise<AnsibleRun> {
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
  return ansible('ansible-playbook', ['-i', join(dir, 'inventory.yml'), ...args, path], { env, cwd: dir });
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
  restartPending: boolean;
  levelName: string;
  arch: string;
  hotfixes: string[];
}

async function levelOf(root: string): Promise<Level> {
  const q = await servicepack(['query', '--root', root, '--json']);
  assert.equal(q.code, 0, q.err);
  return JSON.parse(q.out) as Level;
}

/** A copy of release tree `name` serving on a free loopback port (`MaxConnections = 0` when `trigger`). */
async function runningSite(name: string, trigger: boolean): Promise<{ root: string; port: number }> {
  const root = await temps.installation(name);
  const port = await freePort();
  const confPath = join(root, 'conf', 'inetsrv.conf');
  let conf = readFileSync(confPath, 'utf8').replace(/^Port = \d+$/m, `Port = ${port}`);
  if (trigger) conf = conf.replace(/^MaxConnections = \d+$/m, 'MaxConnections = 0');
  writeFileSync(confPath, conf);
  spawnSync(process.execPath, [join(root, 'bin', 'inetsrv'), 'start', '--detach'], { cwd: root, timeout: 20_000 });
  assert.ok(await sitePid(root), `${name} runs`);
  return { root, port };
}

function only(run: AnsibleRun, task: string): TaskResult {
  const found = run.report.results.filter((r) => r.task === task);
  assert.equal(found.length, 1, `one result for ${task}:\n${run.out}\n${run.err}`);
  return found[0] as TaskResult;
}

describe('the servicepack.fleet Ansible collection', { concurrency: false }, () => {
  before(async () => {
    requireBuild();
    ensureAnsible();
    work = await temps.dir('sp-ansible-');
    env = await ansibleEnv(join(work, 'ansible'));
  });
  after(async () => {
    killSites();
    await temps.cleanup();
  });

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
      first.report.plays.map((p) => p.hosts.length),
      [1, 2, 1],
      'serial: [1, 2, "100%"]',
    );
    for (const h of ['www-rtm', 'www-sp5', 'alpha-sp2'])
      assert.equal(first.report.stats[h]?.changed, 1, `${h} changed`);
    assert.equal(first.report.stats['www-current']?.changed, 0, 'the current host had nothing to do');
    assert.equal(first.report.stats['www-current']?.failures, 0);
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
      assert.equal(second.report.stats[h]?.changed, 0, `${h}: nothing changed the second time\n${second.out}`);
      assert.equal(second.report.stats[h]?.failures, 0, h);
    }
    const install = second.report.results.filter((r) => r.task.endsWith('Install the newest level the feed offers'));
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
    assert.deepEqual([install.status, install.changed], ['ok', true]);
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
      // restart: always goes through an answer file (the command line has no switch for it)
      task('install sp6', 'present', `        packs: ["${sp6}"]\n        restart: always\n`) +
      task('install sp6 again', 'present', `        packs: ["${sp6}"]\n`) +
      task('remove sp6', 'absent', '        id: inetsrv-4.0-sp6\n') +
      task('remove sp6 again', 'absent', '        id: inetsrv-4.0-sp6\n');
    const run = await ansiblePlaybook(playbook, { www: { servicepack_root: root } }, ['--diff']);
    assert.equal(run.code, 0, `${run.out}\n${run.err}`);
    assert.deepEqual(
      run.report.results.map((r) => [r.task, r.status, r.changed]),
      [
        ['install sp6', 'ok', true],
        ['install sp6 again', 'ok', false],
        ['remove sp6', 'ok', true],
        ['remove sp6 again', 'ok', false],
      ],
    );
    assert.equal(run.report.stats['www']?.changed, 2);
    const installDiff = only(run, 'install sp6').diff ?? '';
    assert.match(installDiff, /^-level: RTM$/m);
    assert.match(installDiff, /^\+level: Service Pack 6$/m);
    assert.match(installDiff, /^\+replaced lib\/server\.js$/m);
    const removeDiff = only(run, 'remove sp6').diff ?? '';
    assert.match(removeDiff, /^-level: Service Pack 6$/m);
    assert.match(removeDiff, /^\+level: RTM$/m);
    assert.match(removeDiff, /^\+restored lib\/server\.js$/m);
    assert.deepEqual(only(run, 'remove sp6').result['packs'], ['inetsrv-4.0-sp6']);
    // uninstall restores the release byte for byte; only servicepack's own records remain
    assert.deepEqual(outsideRecords(treeHash(root)), released);
  });

  it('present takes a feed id and installs it once; absent in check mode reports the removal and changes nothing', async () => {
    const root = await temps.installation('sp5-x86');
    const task = (name: string, state: string, extra: string): string =>
      `    - name: ${name}\n      servicepack.fleet.servicepack:\n        root: "{{ servicepack_root }}"\n` +
      `        executable: "{{ servicepack_executable }}"\n        accept_eula: true\n        state: ${state}\n${extra}`;
    const fromFeed = '        feed: "{{ servicepack_feed }}"\n        packs: [Q236565]\n';
    const playbook =
      '- hosts: inetsrv\n  gather_facts: false\n  tasks:\n' +
      task('from the feed', 'present', fromFeed) +
      task('from the feed again', 'present', fromFeed) +
      task('remove, checked only', 'absent', '        id: Q236565\n      check_mode: true\n');
    const run = await ansiblePlaybook(playbook, { www: { servicepack_root: root } });
    assert.equal(run.code, 0, `${run.out}\n${run.err}`);
    assert.deepEqual(
      run.report.results.map((r) => [r.task, r.status, r.changed]),
      [
        ['from the feed', 'ok', true],
        ['from the feed again', 'ok', false],
        ['remove, checked only', 'ok', true],
      ],
    );
    assert.deepEqual(only(run, 'from the feed').result['packs'], ['Q236565']);
    assert.deepEqual((await levelOf(root)).hotfixes, ['Q236565'], 'the checked removal removed nothing');
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
    assert.equal(run.report.stats['www']?.ignored, 3);
    const expect: Array<[string, string, number]> = [
      ['wrong arch', 'E_WRONG_ARCH', 3],
      ['tampered', 'E_CORRUPT_ARCHIVE', 4],
      ['modified', 'E_LOCALLY_MODIFIED', 3],
    ];
    for (const [name, code, exitCode] of expect) {
      const r = only(run, name);
      assert.equal(r.status, 'ignored', name);
      assert.equal(r.result['code'], code, name);
      assert.equal(r.result['exit_code'], exitCode, name);
      assert.match(String(r.result['msg']), new RegExp(`^${code}: `), name);
    }
    assert.deepEqual(treeHash(root), before);
  });

  it("exit 10: restart never leaves the service stopped, and the role's handler starts it on the new level", async () => {
    const root = await runningSite('sp5-x86', false);
    const run = await ansiblePlaybook(rolloutPlaybook, {
      www: {
        servicepack_root: root.root,
        servicepack_restart: 'never',
        servicepack_restart_command: [process.execPath, join(root.root, 'bin', 'inetsrv'), 'start', '--detach'],
      },
    });
    assert.equal(run.code, 0, `${run.out}\n${run.err}`);
    const install = only(run, 'servicepack.fleet.rollout : Install the newest level the feed offers');
    assert.deepEqual([install.status, install.changed], ['ok', true]);
    assert.equal(install.result['exit_code'], 10);
    assert.equal(install.result['restart_required'], true);
    const restart = only(run, 'servicepack.fleet.rollout : Restart inetsrv');
    assert.deepEqual([restart.status, restart.changed], ['ok', true]);
    assert.ok(await sitePid(root.root), 'the handler started the server');
    assert.equal(await serverHeader(root.port), expectedServerHeader(buildInfoOf(root.root)));
    assert.equal(buildInfoOf(root.root).level, (await levelOf(newestReleaseTree('x86'))).level);
    assert.equal((await levelOf(root.root)).restartPending, false);
  });

  it('a failed health check fails the task with its evidence and the rollback; the old level serves again', async () => {
    // SP6 reads MaxConnections = 0 as "no connections" (Q246009): it never answers the probe
    const site = await runningSite('sp5-x86', true);
    const before = treeHash(site.root);
    const playbook =
      '- hosts: inetsrv\n  gather_facts: false\n  tasks:\n' +
      '    - name: sp6\n      servicepack.fleet.servicepack:\n        root: "{{ servicepack_root }}"\n' +
      '        executable: "{{ servicepack_executable }}"\n        accept_eula: true\n        state: present\n' +
      `        packs: ["${join(distPacks, 'inetsrv-4.0-sp6-x86.tgz')}"]\n        health_timeout: 3\n`;
    const run = await ansiblePlaybook(playbook, { www: { servicepack_root: site.root } });
    assert.equal(run.code, 2, `${run.out}\n${run.err}`);
    const r = only(run, 'sp6');
    assert.equal(r.status, 'failed');
    assert.equal(r.result['code'], 'E_HEALTH_CHECK_FAILED');
    assert.equal(r.result['exit_code'], 1);
    assert.equal(r.result['rolled_back'], true);
    const health = r.result['health'] as { passed: boolean; level: number };
    assert.deepEqual([health.passed, health.level], [false, 6]);
    const again = r.result['after_rollback'] as { passed: boolean; level: number };
    assert.deepEqual([again.passed, again.level], [true, 5]);
    assert.equal((await levelOf(site.root)).level, 5);
    assert.ok(await sitePid(site.root), 'SP5 was started again (and is stopped after the suite)');
    assert.equal(await serverHeader(site.port), expectedServerHeader(buildInfoOf(site.root)));
    // the product's files as they were; servicepack's records and what the server writes (logs/, run/) aside
    const now = treeHash(site.root);
    const product = (p: string): boolean => !NOT_COMPARED.some((d) => p.startsWith(`${d}/`));
    for (const p of new Set([...Object.keys(before), ...Object.keys(now)]))
      if (product(p)) assert.equal(now[p], before[p], p);
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
    assert.equal(run.report.stats['www']?.changed, 0);
  });

  it("report.yml keeps every host's facts on the controller and writes the report; a host name that is a path is refused", async () => {
    const reportDir = join(work, 'reports', 'today');
    mkdirSync(reportDir, { recursive: true });
    const sp5 = await temps.installation('sp5-q236565-x86');
    const run = await ansiblePlaybook(
      join(PLAYBOOKS, 'report.yml'),
      { 'www-sp5': { servicepack_root: sp5 }, '../escape': { servicepack_root: sp5 } },
      ['-e', `report_dir=${reportDir}`, '-e', `report_executable=${bin}`],
    );
    assert.equal(run.code, 2, 'the host with a path for a name failed');
    assert.equal(run.report.stats['../escape']?.failures, 1);
    const refused = run.report.results.find((r) => r.host === '../escape');
    assert.deepEqual([refused?.task, refused?.status], ['The host name is a safe file name in report_dir', 'failed']);
    assert.deepEqual(readdirSync(join(work, 'reports')), ['today'], 'nothing was written beside report_dir');
    assert.deepEqual(readdirSync(reportDir).sort(), ['report.html', 'www-sp5.json']);
    const facts = JSON.parse(readFileSync(join(reportDir, 'www-sp5.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual([facts['root'], facts['level'], facts['hotfixes']], [sp5, 5, ['Q236565']]);
    const shown = only(run, 'Show the report').result['msg'] as string[];
    assert.match(shown.join('\n'), /^www-sp5 +inetsrv +x86 +Service Pack 5 +Q236565 +inetsrv-4\.0-sp6a \[security\]/m);
    assert.match(readFileSync(join(reportDir, 'report.html'), 'utf8'), /www-sp5/);
  });

  it('ansible-lint, the ansible-test sanity tests that run offline, pycodestyle and yamllint pass; ansible-doc reads both modules', () => {
    const copy = join(work, 'lint');
    cpSync(COLLECTIONS, copy, { recursive: true });
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
    // two of those seven run here from Debian's packages, with ansible-test's own settings for them
    const collection = join('ansible_collections', 'servicepack', 'fleet');
    run('pycodestyle', ['--max-line-length=160', '--ignore=E402,W503,W504,E741', join(collection, 'plugins')], copy);
    run(
      'yamllint',
      ['-s', '-d', '{extends: default, rules: {line-length: {max: 160}, document-start: disable}}', '.'],
      copy,
    );
    const docs = spawnSync(
      'ansible-doc',
      ['-t', 'module', '--json', 'servicepack.fleet.servicepack', 'servicepack.fleet.servicepack_facts'],
      { env: { ...env, ANSIBLE_COLLECTIONS_PATH: copy }, encoding: 'utf8' },
    );
    assert.equal(docs.status, 0, docs.stderr);
    const parsed = JSON.parse(docs.stdout) as Record<string, { doc: { options: Record<string, unknown> } }>;
    const options = (module: string): string[] =>
      Object.keys(parsed[`servicepack.fleet.${module}`]?.doc.options ?? {}).sort();
    // every parameter the modules take (docs/fleet.md) is documented
    assert.deepEqual(options('servicepack'), [
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
    ]);
    assert.deepEqual(options('servicepack_facts'), ['executable', 'feed', 'root', 'trust']);
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
