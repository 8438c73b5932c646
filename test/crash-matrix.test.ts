/**
 * Pull the plug everywhere (docs/transactions.md §5; Mender's Killed_in_<State> tests): the real `servicepack`
 * executable is killed with SIGKILL at every named checkpoint of an install, a chained install
 * (two packs, one transaction) and an uninstall, at 50 seeded random moments of their commits,
 * and inside recovery itself. After `servicepack recover` the installation must equal the old or
 * the new release tree byte for byte and mode for mode (outside .servicepack/, logs/, run/), the
 * one the recovery rule names (rolled back before the journal says committed, forward after),
 * with query and verify agreeing and the product reporting that level; a sample is started and
 * must answer with that level's Server header.
 *
 * CRASH_SEED=<n> replays the random picks of a failed run (the seed is printed as a diagnostic);
 * CRASH_PARALLEL=<n> runs n cases at a time (default 2: the suite's machine has 2 cores).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { installPacks } from '../packages/core/src/operations/install/install.js';
import { queryInstallation } from '../packages/core/src/installation/query.js';
import { recoverInstallation } from '../packages/core/src/operations/recover.js';
import { verifyInstallation } from '../packages/core/src/operations/verify.js';
import { startTree } from './support/inetsrv.js';
import {
  buildInfoOf,
  type Digest,
  digest,
  digestDiff,
  expectedServerHeader,
  freezeBuild,
  installationFrom,
  pack,
  pool,
  productVersion,
  requireBuild,
  sameDigest,
  seeded,
  servicepack,
  tempFolders,
  traceOf,
  tree,
} from './support/servicepack.js';
import { freePort, killSites, serverHeader, sitePid } from './support/site.js';

const SEED = Number(process.env['CRASH_SEED'] ?? 236565);
const RANDOM_MOMENTS = 50;
/** runs at a time; CRASH_PARALLEL=<n> on a machine with more cores */
const PARALLEL = Math.max(1, Number(process.env['CRASH_PARALLEL'] ?? 2) || 2);
/**
 * Trial cases at a time: most of a trial is waiting (a server starting, the still-running window of
 * the release's contract, 3 s, then the same for the old level), not CPU, so twice PARALLEL.
 */
const TRIAL_PARALLEL = 2 * PARALLEL;
/** installations on a RAM file system when there is one (see tempRoot in support/servicepack.ts) */
const RAM = { ram: true };

type Hit = [string, number];

interface Scenario {
  name: string;
  /** a fresh installation at the old level */
  setup: () => Promise<string>;
  args: (root: string) => string[];
  oldTree: string;
  newTree: string;
  hits: Hit[];
  /** ms from the journal being written to the commit point, in the trace run */
  commitMs: number;
}

interface Level {
  digest: Digest;
  version: string;
  header: string;
  level: number;
  hotfixes: string[];
}

const levels = new Map<string, Level>();
const scenarios: Scenario[] = [];
const extraPacks: string[] = [];

async function levelOf(name: string): Promise<Level> {
  let l = levels.get(name);
  if (!l) {
    const info = buildInfoOf(tree(name));
    l = {
      digest: await digest(tree(name)),
      version: await productVersion(tree(name)),
      header: expectedServerHeader(info),
      level: info.level,
      hotfixes: info.hotfixes,
    };
    levels.set(name, l);
  }
  return l;
}

/** SP5 and its hotfix from dist/packs, or built from the release trees when this checkout has not made them. */
async function chainPacks(): Promise<string[]> {
  const wanted = [pack('sp5-x86'), pack('sp5-q236565-x86')];
  if (wanted.every(existsSync)) return wanted;
  const out = await mkdtemp(join(tmpdir(), 'sp-crash-packs-'));
  extraPacks.push(out);
  const { buildAllPacks } = await import('../packages/builder/src/pack-build.js');
  await buildAllPacks({ outDir: out, log: () => {} });
  return wanted.map((p) => join(out, basename(p)));
}

/** The trace of an uninterrupted run: every checkpoint with its hit count, and how long the commit took. */
async function trace(s: Omit<Scenario, 'hits' | 'commitMs'>): Promise<Scenario> {
  const root = await s.setup();
  let journalAt = 0;
  let committedAt = 0;
  const r = await servicepack(s.args(root), {
    env: { SERVICEPACK_FAULT: 'list' },
    onStderr: (text) => {
      if (text.includes('servicepack-fault: after:journal ')) journalAt = performance.now();
      if (text.includes('servicepack-fault: record:committed ')) committedAt = performance.now();
    },
  });
  assert.equal(r.code, 0, `${s.name}: ${r.out}\n${r.err}`);
  assert.ok(
    sameDigest(await digest(root), (await levelOf(s.newTree)).digest),
    `${s.name}: the uninterrupted run reaches ${s.newTree}`,
  );
  const hits = traceOf(r.err);
  // one transaction however many packs: each step once (one journal, one stop, one restart)
  for (const step of ['after:journal', 'after:stop-service', 'after:commit', 'after:restart']) {
    assert.equal(hits.filter(([n]) => n === step).length, 1, `${s.name}: ${step} once`);
  }
  return { ...s, hits, commitMs: Math.max(5, committedAt - journalAt) };
}

before(async () => {
  requireBuild([tree('rtm-x86'), tree('sp6-x86'), tree('sp5-q236565-x86'), pack('sp6-x86')]);
  const haveChain = existsSync(pack('sp5-x86')) && existsSync(pack('sp5-q236565-x86'));
  await freezeBuild(
    ['rtm-x86', 'sp6-x86', 'sp5-q236565-x86', 'sp5-x86'],
    ['sp6-x86', ...(haveChain ? ['sp5-x86', 'sp5-q236565-x86'] : [])],
  );
  const chain = await chainPacks();
  const base = [
    {
      name: 'install SP6',
      setup: () => installationFrom('rtm-x86', RAM),
      args: (root: string) => ['install', '--accept-eula', '--root', root, '-u', '-q', pack('sp6-x86')],
      oldTree: 'rtm-x86',
      newTree: 'sp6-x86',
    },
    {
      name: 'chained install SP5 + Q236565',
      setup: () => installationFrom('rtm-x86', RAM),
      args: (root: string) => ['install', '--accept-eula', '--root', root, '-u', '-q', ...chain],
      oldTree: 'rtm-x86',
      newTree: 'sp5-q236565-x86',
    },
    {
      name: 'uninstall SP6',
      setup: async () => {
        const root = await installationFrom('rtm-x86', RAM);
        await installPacks({
          root,
          packs: [pack('sp6-x86')],
          backup: true,
          modified: 'stop',
          restart: 'auto',
          dryRun: false,
          acceptEula: true,
        });
        return root;
      },
      args: (root: string) => ['uninstall', '--root', root, '-u', '-q'],
      oldTree: 'sp6-x86',
      newTree: 'rtm-x86',
    },
  ];
  for (const s of base) scenarios.push(await trace(s));
});

after(async () => {
  killSites();
  for (const d of [...tempFolders(), ...extraPacks]) await rm(d, { recursive: true, force: true });
});

/** Which side of the commit point a hit is on: the recovery rule, from the trace. */
function isAfterCommitPoint(s: Scenario, hit: Hit): boolean {
  const at = s.hits.findIndex(([n, c]) => n === hit[0] && c === hit[1]);
  return at >= s.hits.findIndex(([n]) => n === 'record:committed');
}

interface Outcome {
  side: 'old' | 'new';
}

const started = new Set<string>();
let checked = 0;
const cliRecovered = new Set<string>();
let recovered = 0;

/**
 * After a crash: `servicepack recover`, then the tree is one of the two release trees (the one
 * `expect` names, when known), and everything that reports a level agrees with it.
 */
async function settleAndCheck(
  s: Scenario,
  root: string,
  label: string,
  expect: 'old' | 'new' | 'either',
): Promise<Outcome> {
  // The CLI's `recover` runs for the first case of each scenario and every eighth case after; the
  // others call the same engine function in-process, which keeps the matrix's cost in the killed
  // runs themselves (one node start each) rather than in re-launching the CLI to settle them.
  if (!cliRecovered.has(s.name) || recovered++ % 8 === 0) {
    cliRecovered.add(s.name);
    const rec = await servicepack(['recover', '--root', root, '--json']);
    assert.equal(rec.code, 0, `${label}: recover ${rec.out}\n${rec.err}`);
    const doc = JSON.parse(rec.out) as { ok: boolean };
    assert.equal(doc.ok, true, label);
  } else {
    await recoverInstallation({ root });
  }

  const d = await digest(root);
  const old = await levelOf(s.oldTree);
  const neu = await levelOf(s.newTree);
  const side = sameDigest(d, old.digest) ? 'old' : sameDigest(d, neu.digest) ? 'new' : undefined;
  assert.ok(
    side !== undefined,
    `${label}: the tree is neither ${s.oldTree} nor ${s.newTree}; differs from old in ${digestDiff(d, old.digest).join(', ')}; from new in ${digestDiff(d, neu.digest).join(', ')}`,
  );
  if (expect !== 'either') assert.equal(side, expect, `${label}: recovery went the wrong way`);
  const want = side === 'old' ? old : neu;

  for (const left of ['journal.json', 'staging', 'lock'])
    assert.ok(!existsSync(join(root, '.servicepack', left)), `${label}: .servicepack/${left} left behind`);
  const v = await verifyInstallation(root);
  assert.equal(v.clean, true, `${label}: verify ${JSON.stringify(v.problems)}`);
  const q = await queryInstallation(root);
  assert.equal(q.level, want.level, `${label}: query level`);
  assert.deepEqual(q.hotfixes, want.hotfixes, `${label}: query hotfixes`);
  assert.equal(q.consistent, true, label);

  // once per scenario and outcome, and for every eighth case: the product's own --version; once
  // per scenario and outcome: the CLI's own query and verify, and a real start of the server
  const key = `${s.name}/${side}`;
  if (!started.has(key) || checked++ % 8 === 0)
    assert.equal(await productVersion(root), want.version, `${label}: inetsrv --version`);
  if (!started.has(key)) {
    started.add(key);
    const cq = await servicepack(['query', '--root', root, '--json']);
    assert.equal(cq.code, 0, `${label}: ${cq.err}`);
    assert.equal((JSON.parse(cq.out) as { level: number }).level, want.level);
    const cv = await servicepack(['verify', '--root', root]);
    assert.equal(cv.code, 0, `${label}: verify ${cv.out}${cv.err}`);
    const server = await startTree(root);
    try {
      assert.equal(
        await serverHeader(server.port),
        want.header,
        `${label}: the recovered server answers as ${want.header}`,
      );
    } finally {
      await server.dispose();
    }
  }
  return { side };
}

/** Kills the scenario's run at the n-th hit of `point` and checks the recovered tree. */
async function crashAt(s: Scenario, hit: Hit): Promise<Outcome> {
  const root = await s.setup();
  const label = `${s.name}, killed at ${hit[0]} ${hit[1]}`;
  const r = await servicepack(s.args(root), { env: { SERVICEPACK_FAULT: `${hit[0]}:${hit[1]}` } });
  assert.equal(r.signal, 'SIGKILL', `${label}: the run was not killed (exit ${r.code}): ${r.err}`);
  return settleAndCheck(s, root, label, isAfterCommitPoint(s, hit) ? 'new' : 'old');
}

function tally(outcomes: Outcome[]): string {
  const old = outcomes.filter((o) => o.side === 'old').length;
  return `${old} rolled back to the old tree, ${outcomes.length - old} forward to the new one`;
}

describe('SIGKILL at every checkpoint, then servicepack recover', () => {
  test('every named point of install, chained install and uninstall', async (t) => {
    const cases: { s: Scenario; hit: Hit }[] = [];
    for (const [i, s] of scenarios.entries()) {
      // Before the journal nothing has changed and every command passes the same points: the
      // first scenario covers them, the others start at the journal.
      const from = i === 0 ? 0 : s.hits.findIndex(([n]) => n === 'journal:prepared');
      const names = [...new Set(s.hits.slice(from).map(([n]) => n))];
      for (const name of names) {
        const all = s.hits.filter(([n]) => n === name);
        cases.push({ s, hit: all[0]! });
        // the last file of the commit as well as the first (the random moments cover the rest)
        if (i === 0 && name.startsWith('commit:') && all.length > 1) cases.push({ s, hit: all[all.length - 1]! });
      }
    }
    const distinct = new Set(cases.map((c) => `${c.s.name} ${c.hit[0]}`));
    assert.ok(distinct.size >= 20, `${distinct.size} distinct points`);
    const t0 = performance.now();
    const outcomes = await pool(cases, PARALLEL, (c) => crashAt(c.s, c.hit));
    t.diagnostic(
      `${cases.length} kills at ${distinct.size} distinct (scenario, point) pairs: ${tally(outcomes)}, ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  });

  test(`${RANDOM_MOMENTS} seeded random moments of the commit`, async (t) => {
    t.diagnostic(`CRASH_SEED=${SEED}`);
    const rand = seeded(SEED);
    // Half from the checkpoints inside the commit (every file, and between the two renames of a
    // file), drawn without replacement; the rest a SIGKILL from outside after a random delay
    // from the moment the journal is written, which can land between any two instructions.
    const pointsPool: { s: Scenario; hit: Hit }[] = scenarios.flatMap((s) =>
      s.hits.filter(([n]) => n.startsWith('commit:') || n === 'record:committed').map((hit) => ({ s, hit })),
    );
    for (let i = pointsPool.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [pointsPool[i], pointsPool[j]] = [pointsPool[j]!, pointsPool[i]!];
    }
    const byPoint = pointsPool.slice(0, Math.min(pointsPool.length, RANDOM_MOMENTS / 2));
    const byDelay = Array.from({ length: RANDOM_MOMENTS - byPoint.length }, (_, i) => {
      const s = scenarios[i % scenarios.length]!;
      return { s, delay: Math.floor(rand() * s.commitMs * 1.3) };
    });
    const t0 = performance.now();
    const a = await pool(byPoint, PARALLEL, (c) => crashAt(c.s, c.hit));
    let completed = 0;
    const b = await pool(byDelay, PARALLEL, async (c) => {
      const root = await c.s.setup();
      const label = `${c.s.name}, killed ${c.delay} ms after the journal was written`;
      let armed = false;
      const r = await servicepack(c.s.args(root), {
        env: { SERVICEPACK_FAULT: 'list' },
        onStderr: (text, child) => {
          if (!armed && text.includes('servicepack-fault: after:journal ')) {
            armed = true;
            setTimeout(() => child.kill('SIGKILL'), c.delay);
          }
        },
      });
      if (r.signal === null) {
        completed++;
        assert.equal(r.code, 0, `${label}: ${r.err}`);
      }
      // where exactly the kill landed is not known: the tree must be one of the two, and agree with everything else
      return settleAndCheck(c.s, root, label, r.signal === null ? 'new' : 'either');
    });
    t.diagnostic(
      `${a.length} at random checkpoints (${tally(a)}); ${b.length} by delay (${tally(b)}; ${completed} finished before the kill); ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  });

  test('a crash during recovery, then recover again, still ends whole', async (t) => {
    const s = scenarios[0]!;
    const cases: { at: Hit; rp: Hit }[] = [];
    for (const at of [['commit:backed-up', 3] as Hit, ['record:committed', 1] as Hit]) {
      const root = await s.setup();
      const killed = await servicepack(s.args(root), { env: { SERVICEPACK_FAULT: `${at[0]}:${at[1]}` } });
      assert.equal(killed.signal, 'SIGKILL');
      const r = await servicepack(['recover', '--root', root, '-q'], { env: { SERVICEPACK_FAULT: 'list' } });
      assert.equal(r.code, 0, r.err);
      const hits = traceOf(r.err).filter(([n]) => n.startsWith('recover:'));
      const steps = hits.filter(([n]) => n === 'recover:step');
      for (const rp of hits)
        if (
          rp[0] !== 'recover:step' ||
          rp === steps[0] ||
          rp === steps[Math.floor(steps.length / 2)] ||
          rp === steps[steps.length - 1]
        )
          cases.push({ at, rp });
    }
    const outcomes = await pool(cases, PARALLEL, async ({ at, rp }) => {
      const root = await s.setup();
      const label = `${s.name} killed at ${at.join(' ')}, recovery killed at ${rp.join(' ')}`;
      assert.equal(
        (await servicepack(s.args(root), { env: { SERVICEPACK_FAULT: `${at[0]}:${at[1]}` } })).signal,
        'SIGKILL',
      );
      const r = await servicepack(['recover', '--root', root], { env: { SERVICEPACK_FAULT: `${rp[0]}:${rp[1]}` } });
      assert.equal(r.signal, 'SIGKILL', `${label}: ${r.err}`);
      // the journal is still there until recovery's very last act
      assert.ok(existsSync(join(root, '.servicepack', 'journal.json')), label);
      const q = await servicepack(['query', '--root', root]);
      assert.equal(q.code, 6, `${label}: query while a journal is open`);
      assert.match(q.err, /run servicepack recover --root/);
      return settleAndCheck(s, root, label, isAfterCommitPoint(s, at) ? 'new' : 'old');
    });
    t.diagnostic(`${cases.length} recoveries killed at their own checkpoints: ${tally(outcomes)}`);
  });

  test('a killed install leaves a stale lock: the next run sees its holder is dead and proceeds', async () => {
    const s = scenarios[0]!;
    const root = await s.setup();
    assert.equal((await servicepack(s.args(root), { env: { SERVICEPACK_FAULT: 'after:lock:1' } })).signal, 'SIGKILL');
    const pid = Number((await readFile(join(root, '.servicepack', 'lock'), 'utf8')).split(' ')[0]);
    assert.ok(pid > 0);
    const r = await servicepack(s.args(root));
    assert.equal(r.code, 0, r.err);
    assert.ok(sameDigest(await digest(root), (await levelOf(s.newTree)).digest));
  });
});

// ---------------------------------------------------------------------------------------------
// On trial (docs/transactions.md §7 "Health check"): an install that stops a running server puts
// the new level on trial before its commit point. A kill anywhere in the trial, or in the rollback
// of a failed one, is settled by recover as a failed trial: exactly the old tree, the old level
// serving, the rollback in the history. The sites run their own server, so they differ from the
// release tree in conf/inetsrv.conf (their port), which is compared with what was written instead.

const CONF = 'conf/inetsrv.conf';

interface Site {
  root: string;
  port: number;
  conf: string;
}

/** An SP5 site running its server on a port of its own; `MaxConnections = 0` makes SP6 fail its trial (Q246009). */
async function runningSp5(trigger: boolean): Promise<Site> {
  const root = await installationFrom('sp5-x86', RAM);
  const port = await freePort();
  let conf = (await readFile(join(root, CONF), 'utf8')).replace(/^Port = \d+$/m, `Port = ${port}`);
  if (trigger) conf = conf.replace(/^MaxConnections = \d+$/m, 'MaxConnections = 0');
  await writeFile(join(root, CONF), conf);
  execFileSync(process.execPath, [join(root, 'bin', 'inetsrv'), 'start', '--detach'], {
    cwd: root,
    stdio: 'pipe',
    timeout: 20_000,
  });
  assert.ok(await sitePid(root), 'the SP5 server runs');
  return { root, port, conf };
}

const trialArgs = (root: string) => ['install', '--accept-eula', '--root', root, '-u', '-q', pack('sp6-x86')];

function withoutConf(d: Digest): Digest {
  const { [CONF]: _conf, ...rest } = d;
  return rest;
}

/** After a kill on trial: `servicepack recover`, then exactly SP5 (the site's own conf), serving as SP5, the rollback on record. */
async function settleTrial(site: Site, label: string): Promise<void> {
  const rec = await servicepack(['recover', '--root', site.root, '--json']);
  assert.equal(rec.code, 0, `${label}: recover ${rec.out}\n${rec.err}`);
  const doc = JSON.parse(rec.out) as { outcome?: { direction: string } };
  assert.equal(doc.outcome?.direction, 'rolled-back', `${label}: a trial is never rolled forward`);
  const old = await levelOf('sp5-x86');
  const d = await digest(site.root);
  assert.ok(
    sameDigest(withoutConf(d), withoutConf(old.digest)),
    `${label}: not SP5; differs in ${digestDiff(withoutConf(d), withoutConf(old.digest)).join(', ')}`,
  );
  assert.equal(await readFile(join(site.root, CONF), 'utf8'), site.conf, `${label}: the site's conf`);
  for (const left of ['journal.json', 'staging', 'lock'])
    assert.ok(!existsSync(join(site.root, '.servicepack', left)), `${label}: .servicepack/${left} left behind`);
  const v = await verifyInstallation(site.root);
  assert.equal(v.clean, true, `${label}: verify ${JSON.stringify(v.problems)}`);
  const q = await queryInstallation(site.root);
  assert.equal(q.level, 5, `${label}: query level`);
  const state = JSON.parse(await readFile(join(site.root, '.servicepack', 'state.json'), 'utf8')) as {
    history: { action: string; result: string; health?: { passed: boolean } }[];
  };
  const last = state.history.at(-1);
  assert.equal(last?.result, 'rolled-back', label);
  assert.equal(last?.health?.passed, false, `${label}: the history says the trial did not pass`);
  const pid = await sitePid(site.root);
  assert.ok(pid, `${label}: recovery left the server running`);
  assert.equal(await serverHeader(site.port), old.header, `${label}: the old level serves`);
  process.kill(pid, 'SIGKILL');
}

interface TrialTrace {
  hits: Hit[];
  /** ms from trial:begun to the commit point (or to the end of the rollback) */
  trialMs: number;
}

async function traceTrial(trigger: boolean): Promise<TrialTrace> {
  const site = await runningSp5(trigger);
  let begun = 0;
  let ended = 0;
  const r = await servicepack(trialArgs(site.root), {
    env: { SERVICEPACK_FAULT: 'list' },
    onStderr: (text) => {
      if (text.includes('servicepack-fault: trial:begun ')) begun = performance.now();
      if (text.includes('servicepack-fault: record:committed ') || text.includes('servicepack-fault: after:restart '))
        ended ||= performance.now();
    },
  });
  ended ||= performance.now();
  assert.equal(r.code, trigger ? 1 : 0, `${r.out}${r.err}`);
  const pid = await sitePid(site.root);
  if (pid) process.kill(pid, 'SIGKILL');
  return { hits: traceOf(r.err), trialMs: Math.max(50, ended - begun) };
}

describe('SIGKILL on trial (a health-checked install), then servicepack recover', () => {
  let healthy: TrialTrace;
  let failing: TrialTrace;
  before(async () => {
    healthy = await traceTrial(false);
    failing = await traceTrial(true);
  });

  test('every checkpoint of the trial and of the rollback of a failed one: exactly the old level, serving', async (t) => {
    const named = (trace: TrialTrace, names: readonly string[]): Hit[] => {
      const out: Hit[] = [];
      for (const name of names) {
        const all = trace.hits.filter(([n]) => n === name);
        assert.ok(all.length > 0, `the trace passes ${name}`);
        for (const h of new Set([all[0]!, all[Math.floor(all.length / 2)]!, all[all.length - 1]!])) out.push(h);
      }
      return out;
    };
    const cases = [
      ...named(healthy, ['trial:begun', 'trial:started', 'after:trial']).map((hit) => ({ trigger: false, hit })),
      ...named(failing, [
        'trial:begun',
        'trial:started',
        'rollback:stopped',
        'rollback:step',
        'rollback:restarted',
      ]).map((hit) => ({
        trigger: true,
        hit,
      })),
    ];
    await pool(cases, TRIAL_PARALLEL, async ({ trigger, hit }) => {
      const site = await runningSp5(trigger);
      const label = `install SP6 on trial${trigger ? ' (MaxConnections = 0)' : ''}, killed at ${hit.join(' ')}`;
      const r = await servicepack(trialArgs(site.root), { env: { SERVICEPACK_FAULT: `${hit[0]}:${hit[1]}` } });
      assert.equal(r.signal, 'SIGKILL', `${label}: not killed (exit ${r.code}): ${r.err}`);
      await settleTrial(site, label);
    });
    t.diagnostic(`${cases.length} kills on trial, each rolled back to SP5 and serving`);
  });

  test('recovery of a trial killed at its own checkpoints, then recover again', async () => {
    const points = [['recover:stopped', 1] as Hit, ['recover:step', 1] as Hit, ['recover:rolled-back', 1] as Hit];
    await pool(points, TRIAL_PARALLEL, async (rp) => {
      const site = await runningSp5(false);
      const label = `killed at trial:started, recovery killed at ${rp.join(' ')}`;
      assert.equal(
        (await servicepack(trialArgs(site.root), { env: { SERVICEPACK_FAULT: 'trial:started:1' } })).signal,
        'SIGKILL',
      );
      const r = await servicepack(['recover', '--root', site.root], {
        env: { SERVICEPACK_FAULT: `${rp[0]}:${rp[1]}` },
      });
      assert.equal(r.signal, 'SIGKILL', `${label}: ${r.err}`);
      await settleTrial(site, label);
    });
  });

  test('20 seeded random kills during the trial', async (t) => {
    const rand = seeded(SEED + 18);
    t.diagnostic(`CRASH_SEED=${SEED} (+18); the trial takes about ${Math.round(healthy.trialMs)} ms`);
    const delays = Array.from({ length: 20 }, () => Math.floor(rand() * healthy.trialMs));
    let finished = 0;
    await pool(delays, TRIAL_PARALLEL, async (delay) => {
      const site = await runningSp5(false);
      const label = `install SP6 on trial, killed ${delay} ms after trial:begun`;
      let armed = false;
      const r = await servicepack(trialArgs(site.root), {
        env: { SERVICEPACK_FAULT: 'list' },
        onStderr: (text, child) => {
          if (!armed && text.includes('servicepack-fault: trial:begun ')) {
            armed = true;
            setTimeout(() => child.kill('SIGKILL'), delay);
          }
        },
      });
      if (r.signal === null) {
        // the run passed its commit point before the kill landed: SP6, which passed its health check
        finished++;
        assert.equal(r.code, 0, `${label}: ${r.err}`);
        const pid = await sitePid(site.root);
        assert.equal(await serverHeader(site.port), (await levelOf('sp6-x86')).header, label);
        if (pid) process.kill(pid, 'SIGKILL');
        return;
      }
      const trace = traceOf(r.err);
      // killed past the commit point (the trial passed, the journal said committed): that is a roll-forward, not a trial
      if (trace.some(([n]) => n === 'record:committed')) {
        finished++;
        const rec = await servicepack(['recover', '--root', site.root]);
        assert.equal(rec.code, 0, `${label}: ${rec.err}`);
        const pid = await sitePid(site.root);
        if (pid) process.kill(pid, 'SIGKILL');
        return;
      }
      await settleTrial(site, label);
    });
    t.diagnostic(`${delays.length - finished} of ${delays.length} landed on trial and were rolled back`);
    assert.ok(delays.length - finished >= 15, 'most of the kills land on trial');
  });
});
