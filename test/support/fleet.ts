/**
 * A real fleet for the Ansible tests (issue 19, docs/fleet.md "Tests"): ONE OpenSSH server started
 * here, listening on a free port of several loopback addresses (127.0.0.11, .12, ...), one address
 * per "host", with its own config, host key and authorized client key in a temp folder, stopped by
 * its pid and process group. Each host is its own installation root (a copy of a built release tree)
 * and reaches `servicepack` through the npm tarball (dist/servicepack-0.1.0.tgz) installed into a
 * private prefix, never through the work tree. Ansible runs with its config, temp folders, control
 * sockets and known_hosts in the temp folder, so nothing lands in ~/.ansible or ~/.ssh.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type AnsibleRun, ansible, ansibleEnv, ensureAnsible } from './ansible.js';
import { releaseTree, repoRoot } from './inetsrv.js';
import { killGroup, type Run, run } from './process.js';
import { freePort, killSites, sitePid } from './site.js';

export const SSHD = '/usr/sbin/sshd';
export const TARBALL = join(repoRoot, 'dist', 'servicepack-0.1.0.tgz');

/** One host of the fleet. */
export interface HostSpec {
  name: string;
  /** release tree the installation starts as, by level tag: rtm-x86, sp5-q236565-x86, sp2-alpha */
  tree: string;
  /** its inetsrv server is started (on a free port written into conf/inetsrv.conf) */
  running?: boolean;
  /** conf/inetsrv.conf lines replaced (`Key = value`), before the server starts */
  conf?: Record<string, string>;
  /** text appended to this file (relative to the root): a local modification */
  modify?: string;
  /** more inventory variables for this host */
  vars?: Record<string, unknown>;
}

/**
 * The fleet of the rollout story (issue 19), in inventory order: `serial: [1, 2, "100%"]` takes the
 * canary alone, then the regression host with the one already current, then the rest.
 */
export const STORY_FLEET: HostSpec[] = [
  // runs, and passes SP6's health check: the canary
  { name: 'canary', tree: 'sp5-q236565-x86', running: true },
  // runs with the setting SP6 reads as "no connections" (Q246009): fails SP6's health check
  { name: 'regress', tree: 'sp5-x86', running: true, conf: { MaxConnections: '0' } },
  // at SP6 already: the newest level the feed before SP6a offers
  { name: 'current', tree: 'sp6-x86' },
  { name: 'rtm', tree: 'rtm-x86' },
  { name: 'alpha', tree: 'sp2-alpha' },
  // the admin patched a program file every later service pack replaces; the site's policy for it
  // is the playbook's servicepack_modified: the vendor's file wins, the edit goes to the backup
  { name: 'modified', tree: 'sp3-x86', modify: 'lib/server.js', vars: { servicepack_modified: 'overwrite' } },
];

export interface Host extends HostSpec {
  address: string;
  root: string;
  /** the site's port (every host gets one in its conf) */
  port: number;
}

export interface Fleet {
  readonly dir: string;
  readonly hosts: Host[];
  readonly inventory: string;
  readonly port: number;
  readonly sshdPid: number;
  /** the servicepack command the hosts run (from the npm tarball) */
  readonly executable: string;
  /** environment for ansible/ansible-playbook: config, temp folders and callbacks in the temp folder */
  readonly env: NodeJS.ProcessEnv;
  host(name: string): Host;
  /** Runs `ansible-playbook ARGS -i INVENTORY` with the JSON callback; the report parsed from stdout. */
  playbook(args: string[], opts?: { timeoutMs?: number }): Promise<AnsibleRun>;
  /** Runs an ad-hoc `ansible PATTERN -i INVENTORY ARGS` with the JSON callback. */
  adhoc(pattern: string, args: string[], opts?: { timeoutMs?: number }): Promise<AnsibleRun>;
  /** Runs the hosts' servicepack (the tarball's) locally, as the hosts do. */
  servicepack(args: string[]): Promise<Run>;
  sshdLog(): string;
  /** SIGKILL to the sites' servers and sshd's process group, then the temp folder goes. Safe to call twice. */
  stop(): Promise<void>;
}

/** Resolves when a TCP connect to every address:port succeeds; throws after `timeoutMs`. */
async function waitListening(addresses: string[], port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const host of addresses) {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error('sshd exited');
      const ok = await new Promise<boolean>((res) => {
        const s = connect({ host, port }, () => {
          s.destroy();
          res(true);
        });
        s.on('error', () => res(false));
      });
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`sshd not listening on ${host}:${port} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function setConf(conf: string, key: string, value: string): string {
  const re = new RegExp(`^${key} = .*$`, 'm');
  if (!re.test(conf)) throw new Error(`conf/inetsrv.conf has no ${key} line`);
  return conf.replace(re, `${key} = ${value}`);
}

async function startSite(root: string): Promise<void> {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'inetsrv'), 'start', '--detach'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (r.status !== 0) throw new Error(`inetsrv start --detach in ${root}: exit ${r.status}\n${r.stderr}`);
  if ((await sitePid(root)) === undefined) throw new Error(`inetsrv in ${root} does not run after start --detach`);
}

export interface FleetOptions {
  /** public keys (PEM files) copied into every host's .servicepack/trust/ */
  trust?: string[];
  /** inventory variables for every host (group `inetsrv`) */
  vars?: Record<string, unknown>;
}

/**
 * Starts sshd and lays out the hosts in inventory order (the order Ansible's waves take them).
 * On any failure everything started so far is stopped before the error is thrown.
 */
export async function startFleet(specs: HostSpec[], opts: FleetOptions = {}): Promise<Fleet> {
  ensureAnsible('ensure-fleet.sh');
  if (!existsSync(TARBALL))
    throw new Error(`${TARBALL} is missing: run pnpm build (npx --yes pnpm@10.34.8 run build) first`);
  if (specs.length > 200) throw new Error('at most 200 hosts (127.0.0.11 and up)');
  const dir = await mkdtemp(join(tmpdir(), 'sp-fleet-'));
  let sshd: ChildProcess | undefined;
  const hosts: Host[] = [];
  const cleanup = async () => {
    for (const h of hosts) await sitePid(h.root);
    killSites();
    // ansible's ssh control masters outlive it (ControlPersist); closing them ends their sshd sessions
    const cpDir = join(dir, 'ansible', 'cp');
    for (const sock of existsSync(cpDir) ? readdirSync(cpDir) : []) {
      spawnSync('ssh', ['-F', '/dev/null', '-S', join(cpDir, sock), '-O', 'exit', 'fleet'], {
        stdio: 'ignore',
        timeout: 5000,
      });
    }
    killGroup(sshd?.pid);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // servicepack as a user installs it: the npm tarball into a prefix, offline, no registry asked
    const prefix = join(dir, 'prefix');
    const npm = await run(
      'npm',
      ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', '--ignore-scripts', TARBALL],
      {
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: dir,
          npm_config_cache: join(dir, 'npm-cache'),
          npm_config_registry: 'http://127.0.0.1:9/',
        },
        cwd: tmpdir(),
        timeoutMs: 120_000,
        group: true,
      },
    );
    if (npm.code !== 0) throw new Error(`npm install -g of ${TARBALL}: exit ${npm.code}\n${npm.err}`);
    const executable = join(prefix, 'bin', 'servicepack');

    const ssh = join(dir, 'ssh');
    await mkdir(ssh, { mode: 0o700 });
    for (const k of ['host_ed25519', 'client_ed25519']) {
      const r = spawnSync(
        'ssh-keygen',
        ['-q', '-t', 'ed25519', '-N', '', '-C', `servicepack-fleet-${k}`, '-f', join(ssh, k)],
        {
          encoding: 'utf8',
        },
      );
      if (r.status !== 0) throw new Error(`ssh-keygen ${k}: exit ${r.status}\n${r.stderr}`);
    }
    await cp(join(ssh, 'client_ed25519.pub'), join(ssh, 'authorized_keys'));
    // privilege separation needs its empty chroot folder; a package's sshd.service would make it
    if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

    const addresses = specs.map((_, i) => `127.0.0.${11 + i}`);
    const sshdLog = join(ssh, 'sshd.log');
    let port = 0;
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      const config = [
        `Port ${port}`,
        ...addresses.map((a) => `ListenAddress ${a}`),
        `HostKey ${join(ssh, 'host_ed25519')}`,
        `AuthorizedKeysFile ${join(ssh, 'authorized_keys')}`,
        `PidFile ${join(ssh, 'sshd.pid')}`,
        'PermitRootLogin prohibit-password',
        'AuthenticationMethods publickey',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'HostbasedAuthentication no',
        'UsePAM no',
        // the keys live in a temp folder under /tmp, whose sticky 1777 mode StrictModes refuses
        'StrictModes no',
        'AllowTcpForwarding no',
        'X11Forwarding no',
        'PermitTunnel no',
        'PermitUserEnvironment no',
        // the hosts run the node that runs the tests (CI's may live outside the default PATH)
        `SetEnv PATH=${dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
        'MaxStartups 64:30:128',
        'MaxSessions 64',
        'LogLevel VERBOSE',
        '',
      ].join('\n');
      await writeFile(join(ssh, 'sshd_config'), config, { mode: 0o600 });
      sshd = spawn(SSHD, ['-D', '-E', sshdLog, '-f', join(ssh, 'sshd_config')], { detached: true, stdio: 'ignore' });
      try {
        await waitListening(addresses, port, sshd, 10_000);
        break;
      } catch (e) {
        // another process took the port between freePort and sshd's bind: a new port, a bounded number of times
        killGroup(sshd.pid);
        if (attempt >= 2) throw new Error(`${(e as Error).message}:\n${readLog(sshdLog)}`);
      }
    }

    for (const [i, spec] of specs.entries()) {
      const root = join(dir, 'hosts', spec.name, 'inetsrv');
      await cp(releaseTree(`inetsrv-4.0-${spec.tree}`), root, { recursive: true });
      for (const key of opts.trust ?? []) {
        await cp(key, join(root, '.servicepack', 'trust', key.split('/').at(-1)!));
      }
      const port = await freePort();
      const confPath = join(root, 'conf', 'inetsrv.conf');
      let conf = setConf(await readFile(confPath, 'utf8'), 'Port', String(port));
      for (const [k, v] of Object.entries(spec.conf ?? {})) conf = setConf(conf, k, v);
      await writeFile(confPath, conf);
      if (spec.modify !== undefined)
        appendFileSync(join(root, ...spec.modify.split('/')), '\n// patched by the admin\n');
      const host: Host = { ...spec, address: addresses[i]!, root, port };
      hosts.push(host);
      if (spec.running) await startSite(root);
    }

    const knownHosts = join(ssh, 'known_hosts');
    const sshArgs = [
      '-F /dev/null',
      `-o UserKnownHostsFile=${knownHosts}`,
      '-o GlobalKnownHostsFile=/dev/null',
      '-o StrictHostKeyChecking=accept-new',
      '-o IdentitiesOnly=yes',
      '-o BatchMode=yes',
    ].join(' ');
    const inventory = join(dir, 'inventory.yml');
    // JSON is YAML: the inventory needs no YAML writer, and every value is quoted as it should be
    const doc = {
      inetsrv: {
        vars: { servicepack_executable: executable, ...opts.vars },
        hosts: Object.fromEntries(
          hosts.map((h) => [
            h.name,
            {
              ansible_host: h.address,
              ansible_port: port,
              ansible_user: 'root',
              ansible_ssh_private_key_file: join(ssh, 'client_ed25519'),
              ansible_ssh_common_args: sshArgs,
              ansible_python_interpreter: '/usr/bin/python3',
              servicepack_root: h.root,
              ...h.vars,
            },
          ]),
        ),
      },
    };
    await writeFile(inventory, `${JSON.stringify(doc, null, 2)}\n`);

    const env = await ansibleEnv(join(dir, 'ansible'));

    const sshdPid = sshd!.pid!;
    let stopped = false;
    const fleet: Fleet = {
      dir,
      hosts,
      inventory,
      port,
      sshdPid,
      executable,
      env,
      host(name) {
        const h = hosts.find((x) => x.name === name);
        if (h === undefined) throw new Error(`no host ${name} in the fleet`);
        return h;
      },
      playbook: (args, o = {}) =>
        ansible('ansible-playbook', ['-i', inventory, ...args], { env, cwd: dir, timeoutMs: o.timeoutMs }),
      adhoc: (pattern, args, o = {}) =>
        ansible('ansible', [pattern, '-i', inventory, ...args], { env, cwd: dir, timeoutMs: o.timeoutMs }),
      servicepack: (args) =>
        run(executable, args, {
          env: { PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}` },
          cwd: tmpdir(),
          timeoutMs: 120_000,
          group: true,
        }),
      sshdLog: () => readLog(sshdLog),
      async stop() {
        if (stopped) return;
        stopped = true;
        await cleanup();
      },
    };
    return fleet;
  } catch (e) {
    await cleanup();
    throw e;
  }
}

function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
