/**
 * ansible-playbook and ansible for the tests (test/ansible-collection.test.ts on localhost,
 * test/support/fleet.ts over SSH): the collection of integrations/ansible, Ansible's config, home,
 * temp folders and control sockets in the test's temp folder (nothing lands in ~/.ansible), and
 * every result read from one JSON document the json_results stdout callback
 * (test/support/ansible/callback_plugins) prints at the end of the run.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from './inetsrv.js';
import { type Run, run } from './process.js';

/** The collection: ansible_collections/servicepack/fleet below it. */
export const COLLECTIONS = join(repoRoot, 'integrations', 'ansible');
export const PLAYBOOKS = join(COLLECTIONS, 'playbooks');
const CALLBACKS = join(repoRoot, 'test', 'support', 'ansible', 'callback_plugins');

/**
 * Runs scripts/`script` (ensure-ansible.sh, or ensure-fleet.sh for sshd and ssh besides), which
 * installs what is missing, or throws saying why not: the test fails, it never skips.
 */
export function ensureAnsible(script = 'ensure-ansible.sh'): void {
  const path = join(repoRoot, 'scripts', script);
  const r = spawnSync('sh', [path], { encoding: 'utf8', timeout: 900_000 });
  if (r.status !== 0)
    throw new Error(
      `the Ansible tests need what ${path} installs, and it could not (exit ${r.status}${r.error ? `, ${r.error.message}` : ''}):\n${(r.stderr ?? '').slice(-2000)}`,
    );
}

/** One task's result on one host, as the json_results callback records it. */
export interface TaskResult {
  /** the play's name (a play of serial batches has one per batch) */
  play: string | null;
  /** "ROLE_FQCN : NAME" for a role's tasks and handlers, as ansible-playbook's banner shows them */
  task: string;
  action: string;
  host: string;
  /** `ignored`: failed under ignore_errors */
  status: 'ok' | 'failed' | 'ignored' | 'skipped' | 'unreachable';
  changed: boolean;
  result: Record<string, unknown>;
  /** under --diff, the diff as the default callback prints it */
  diff?: string;
}

export interface PlayReport {
  /** each play run, one per serial batch, with the hosts it reached in order */
  plays: Array<{ name: string; hosts: string[] }>;
  results: TaskResult[];
  /** the PLAY RECAP per host */
  stats: Record<
    string,
    {
      ok: number;
      changed: number;
      failures: number;
      unreachable: number;
      skipped: number;
      rescued: number;
      ignored: number;
    }
  >;
}

export type AnsibleRun = Run & { report: PlayReport };

/**
 * The environment for ansible and ansible-playbook, with its config, home and temp folders in
 * `dir` (made here).
 */
export async function ansibleEnv(dir: string): Promise<NodeJS.ProcessEnv> {
  await mkdir(join(dir, 'tmp'), { recursive: true });
  // an ansible.cfg of our own: without one Ansible reads ./ansible.cfg, ~/.ansible.cfg or /etc/ansible's
  await writeFile(
    join(dir, 'ansible.cfg'),
    [
      '[defaults]',
      'forks = 6',
      `local_tmp = ${join(dir, 'tmp', 'local')}`,
      `remote_tmp = ${join(dir, 'tmp', 'remote')}`,
      'interpreter_python = /usr/bin/python3',
      'retry_files_enabled = False',
      'gathering = explicit',
      '[ssh_connection]',
      'pipelining = True',
      `control_path_dir = ${join(dir, 'cp')}`,
      '',
    ].join('\n'),
  );
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    HOME: dir,
    // the callback plugin is loaded from the work tree: no __pycache__ written beside it
    PYTHONDONTWRITEBYTECODE: '1',
    ANSIBLE_CONFIG: join(dir, 'ansible.cfg'),
    ANSIBLE_HOME: dir,
    ANSIBLE_COLLECTIONS_PATH: COLLECTIONS,
    ANSIBLE_CALLBACK_PLUGINS: CALLBACKS,
    ANSIBLE_STDOUT_CALLBACK: 'json_results',
    ANSIBLE_LOAD_CALLBACK_PLUGINS: 'True',
    ANSIBLE_NOCOLOR: 'True',
    ANSIBLE_FORCE_COLOR: 'False',
    ANSIBLE_DEPRECATION_WARNINGS: 'False',
    ANSIBLE_SSH_CONTROL_PATH_DIR: join(dir, 'cp'),
    ANSIBLE_PERSISTENT_CONTROL_PATH_DIR: join(dir, 'cp'),
  };
}

/**
 * Runs `ansible-playbook` or `ansible` with `env` from ansibleEnv in `cwd`, killed with its process
 * group (forks, ssh control masters) after `timeoutMs`; throws when the callback printed no report.
 */
export async function ansible(
  cmd: 'ansible-playbook' | 'ansible',
  args: string[],
  opts: { env: NodeJS.ProcessEnv; cwd: string; timeoutMs?: number },
): Promise<AnsibleRun> {
  const r = await run(cmd, args, { env: opts.env, cwd: opts.cwd, timeoutMs: opts.timeoutMs ?? 120_000, group: true });
  const line = r.out
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{"plays":'));
  if (line === undefined)
    throw new Error(`${cmd} ${args.join(' ')}: no JSON report on stdout (exit ${r.code}):\n${r.out}\n${r.err}`);
  return { ...r, report: JSON.parse(line) as PlayReport };
}
