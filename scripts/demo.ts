/**
 * The built-in demo (`pnpm start`, after the build): the product's story in one run.
 * An RTM installation leaks connections; servicepack installs the newest updates from the vendor's signed
 * feed unattended (Service Pack 6a, Security Rollup 1 and the hotfixes after it); the leak is gone.
 * It uses the same leak probe as test/fixes/Q236565.test.ts, so the numbers shown are the ones tested.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { mayAskOperator } from '../installer/src/interactive.js';
import { type LeakProbeResult, repoRoot, runLeakProbe } from '../test/support/inetsrv.js';

const N = 100;
const arch = process.env['DEMO_ARCH'] === 'alpha' ? 'alpha' : 'x86';
const root = join(repoRoot, 'demo', 'inetsrv');
const cli = join(repoRoot, 'installer', 'bin', 'servicepack');
const feed = join(repoRoot, 'dist', 'feed');
const pack = join(repoRoot, 'dist', 'packs', `inetsrv-4.0-sp6a-${arch}.tgz`);
const rtm = join(repoRoot, 'dist', 'releases', `inetsrv-4.0-rtm-${arch}`);
const plain = !process.stdout.isTTY || process.env['NO_COLOR'] !== undefined;
const bold = (s: string) => (plain ? s : `\u001b[1m${s}\u001b[22m`);

function heading(n: number, text: string): void {
  process.stdout.write(`\n${bold(`== ${n}. ${text}`)}\n`);
}

function servicepack(args: string[]): number {
  process.stdout.write(`$ servicepack ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [cli, ...args], {
    stdio: 'inherit',
    env: { ...process.env, SERVICEPACK_ROOT: root },
  });
  return r.status ?? 1;
}

function showProbe(label: string, r: LeakProbeResult): void {
  const leaked = r.second.connections;
  process.stdout.write(
    `${label}: ${r.n} clients each fetched / and closed their idle keep-alive connection.\n` +
      `  served ${r.served}/${r.n}; 2 s after the last FIN arrived the server still holds:\n` +
      `  connections (server's own count): ${r.second.connections}\n` +
      `  CLOSE_WAIT sockets (ss):           ${r.second.closeWait ?? 'n/a (no ss)'}\n` +
      `  extra file descriptors (/proc):    ${r.second.fdDelta ?? 'n/a (no /proc)'}\n` +
      `  => ${leaked === 0 ? 'no leak' : `${leaked} connections leaked (KB Q236565 "TCP connections not released")`}\n`,
  );
}

async function main(): Promise<number> {
  if (!existsSync(join(feed, 'index.json')) || !existsSync(pack) || !existsSync(rtm)) {
    process.stderr.write(
      'demo: the build output is missing: run `pnpm build` first (or `pnpm start`, which builds).\n',
    );
    return 2;
  }
  process.stdout.write(`${bold('servicepack demo')}: inetsrv 4.0 (${arch}) from RTM to the newest level\n`);

  heading(1, `Lay out an RTM installation in ${root}`);
  rmSync(root, { recursive: true, force: true });
  cpSync(rtm, root, { recursive: true, preserveTimestamps: true });
  process.stdout.write(`copied ${rtm}\n`);

  heading(2, 'What level is it at?');
  if (servicepack(['query', '--root', root]) !== 0) return 1;

  heading(3, 'Run it and watch connections leak');
  const before = await runLeakProbe(root, N);
  showProbe('RTM', before);

  heading(4, 'What does the feed offer?');
  const offered = servicepack(['check', '--root', root, '--feed', feed]);
  if (offered !== 0 && offered !== 3) return offered;

  heading(5, 'Install the newest level from the feed, unattended');
  const code = servicepack(['install', '--accept-eula', '--root', root, '-u', '--feed', feed, 'latest']);
  if (code !== 0 && code !== 10) return code;

  heading(6, 'What level is it at now?');
  if (servicepack(['query', '--root', root]) !== 0) return 1;

  heading(7, 'Run it again');
  const after = await runLeakProbe(root, N);
  showProbe('Now', after);

  const ok = before.second.connections === N && after.second.connections === 0;
  process.stdout.write(
    `\n${bold(ok ? 'Done' : 'Unexpected result')}: RTM leaked ${before.second.connections} of ${N} connections; at the newest level, ${after.second.connections}.\n` +
      `Try next (installer/bin/servicepack, or pnpm exec servicepack):\n` +
      `  servicepack query --root ${root} --json\n` +
      `  servicepack verify --root ${root}\n` +
      `  servicepack uninstall --root ${root} -u\n`,
  );
  if (ok && interactive()) await offerWizard();
  return ok ? 0 : 1;
}

/** The installer's own gate: a person at a terminal, not a CI job. */
function interactive(): boolean {
  return mayAskOperator({
    interactive: process.stdin.isTTY === true && process.stdout.isTTY === true,
    env: process.env,
  });
}

/** On a terminal the demo offers the wizard on a second, fresh RTM copy, so both front ends are seen. */
async function offerWizard(): Promise<void> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await rl.question(`\nOpen the interactive installer (wizard) on a fresh RTM copy? [y/N] `);
  rl.close();
  if (!/^y(es)?$/i.test(answer.trim())) return;
  const wizardRoot = join(repoRoot, 'demo', 'inetsrv-wizard');
  rmSync(wizardRoot, { recursive: true, force: true });
  cpSync(rtm, wizardRoot, { recursive: true, preserveTimestamps: true });
  spawnSync(process.execPath, [cli, 'install', '--root', wizardRoot, pack], { stdio: 'inherit' });
  servicepack(['query', '--root', wizardRoot]);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`demo: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
