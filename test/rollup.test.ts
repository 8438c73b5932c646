/**
 * Issue 17's acceptance for what came after SP6a, through the real `servicepack` executable and the
 * built feed: the post-SP6a hotfixes form a chain on SP6a (each requires the ones before it) and
 * Security Rollup 1 (SRP1) carries the first four. `install --feed dist/feed latest` from RTM, SP5,
 * SP5 + Q236565, SP6 and SP6a on both architectures lands byte for byte (modes included) on the
 * newest release tree; `query` names the rollup; uninstall walks back one update at a time, each
 * step onto the exact release tree of the step before. The rollup over a prefix of its hotfixes
 * uninstalls back to that prefix; a hotfix it carries is refused after it, one it does not carry
 * installs; `check` offers SP6a the rollup and the first hotfix of the chain only. Needs
 * `pnpm build`; a missing build fails, never skips.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { releaseName } from '../packages/builder/src/release.js';
import {
  digest,
  digestDiff,
  installationFrom,
  pool,
  releases,
  requireBuild,
  type Run,
  sameDigest,
  servicepack,
  tempFolders,
} from './support/servicepack.js';
import { distFeed } from './support/unattended.js';
import { rm } from 'node:fs/promises';
import { CHAIN, SRP1_FIXES } from './support/chain.js';

const ARCHES = ['x86', 'alpha'] as const;
type Arch = (typeof ARCHES)[number];
const SRP1 = SRP1_FIXES;
const SP6A = 7;

interface Step {
  /** the release tree an installation is at after this step */
  level: number;
  hotfixes: string[];
  /** what query calls it */
  name: string;
}

/** The release tree folder name (relative to dist/releases) for a level and hotfixes. */
const treeName = (arch: Arch, s: Pick<Step, 'level' | 'hotfixes'>) => releaseName(s.level, arch, s.hotfixes);

function ok(r: Run, what: string): void {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.out}\n${r.err}`);
}

async function assertTree(root: string, arch: Arch, s: Pick<Step, 'level' | 'hotfixes'>, what: string): Promise<void> {
  const name = treeName(arch, s);
  const have = await digest(root);
  const want = await digest(join(releases, name));
  assert.ok(sameDigest(have, want), `${what}: differs from ${name} in ${digestDiff(have, want).join(', ') || '?'}`);
}

function json(r: Run): Record<string, unknown> {
  return JSON.parse(r.out) as Record<string, unknown>;
}

/** The chain with SRP1 installed and the first `n` hotfixes after it: "Service Pack 6a + Security Rollup 1, hotfixes …". */
function withRollup(n: number): Step {
  const rest = CHAIN.slice(4, 4 + n);
  const tail = rest.length === 0 ? '' : `, ${rest.length === 1 ? 'hotfix' : 'hotfixes'} ${rest.join(', ')}`;
  return { level: SP6A, hotfixes: CHAIN.slice(0, 4 + n), name: `Service Pack 6a + Security Rollup 1${tail}` };
}

const NEWEST = withRollup(CHAIN.length - 4);

const STARTS: Step[] = [
  { level: 0, hotfixes: [], name: 'RTM' },
  { level: 5, hotfixes: [], name: 'Service Pack 5' },
  { level: 5, hotfixes: ['Q236565'], name: 'Service Pack 5, hotfix Q236565' },
  { level: 6, hotfixes: [], name: 'Service Pack 6' },
  { level: SP6A, hotfixes: [], name: 'Service Pack 6a' },
];

/**
 * What `latest` installs from `start`, one update per step: SP6a (unless already there), the
 * rollup, then each hotfix of the chain after it; each entry is the pack and the state it leaves.
 */
function updatesFrom(start: Step): { pack: string; after: Step }[] {
  const out: { pack: string; after: Step }[] = [];
  if (start.level < SP6A)
    out.push({ pack: 'inetsrv-4.0-sp6a', after: { level: SP6A, hotfixes: [], name: 'Service Pack 6a' } });
  out.push({ pack: 'SRP1', after: withRollup(0) });
  for (let i = 4; i < CHAIN.length; i++) out.push({ pack: CHAIN[i]!, after: withRollup(i - 3) });
  return out;
}

const install = (root: string, what: string[], extra: string[] = []) =>
  servicepack(['install', '--feed', distFeed, '--root', root, '-u', '--accept-eula', ...extra, ...what]);
const uninstall = (root: string) => servicepack(['uninstall', '--root', root, '-u', '--json']);

before(() => {
  requireBuild([
    join(distFeed, 'index.json'),
    ...ARCHES.flatMap((a) => [...STARTS, NEWEST].map((s) => join(releases, treeName(a, s)))),
  ]);
});
after(async () => {
  for (const d of tempFolders()) await rm(d, { recursive: true, force: true });
});

describe('Security Rollup 1 and the post-SP6a hotfix chain (issue 17)', () => {
  test('latest from RTM, SP5, SP5 + Q236565, SP6 and SP6a lands on the newest tree; uninstall walks back one update at a time', async (t) => {
    const cases = ARCHES.flatMap((arch) => STARTS.map((start) => ({ arch, start })));
    const started = performance.now();
    await pool(cases, 2, async ({ arch, start }) => {
      const label = `${arch} ${start.name}`;
      const root = await installationFrom(treeName(arch, start).replace(/^inetsrv-4\.0-/, ''));
      const inst = await install(root, ['latest'], ['--json']);
      ok(inst, `latest on ${label}`);
      const steps = updatesFrom(start);
      const target = (json(inst)['targets'] as { packs: string[] }[])[0];
      assert.deepEqual(
        target?.packs,
        steps.map((s) => s.pack),
        `latest on ${label}: SP6a, then the rollup, then the hotfixes after it`,
      );
      await assertTree(root, arch, NEWEST, `latest on ${label}`);
      const q = await servicepack(['query', '--root', root, '--json']);
      ok(q, `query after latest on ${label}`);
      const doc = json(q);
      assert.deepEqual(
        [doc['level'], doc['levelName'], doc['hotfixes'], doc['consistent']],
        [SP6A, NEWEST.name, CHAIN, true],
        `query after latest on ${label}: ${q.out}`,
      );
      const text = await servicepack(['query', '--root', root]);
      ok(text, `query (text) after latest on ${label}`);
      assert.ok((text.out.split('\n')[0] ?? '').endsWith(`: ${NEWEST.name}`), `query (text): ${text.out}`);
      // One update at a time, newest first, each back onto the exact tree of the step before it.
      const trail = [start, ...steps.map((s) => s.after)];
      for (let i = steps.length - 1; i >= 0; i--) {
        const r = await uninstall(root);
        ok(r, `uninstall ${steps[i]!.pack} on ${label}`);
        const u = json(r);
        const back = trail[i]!;
        assert.equal(u['packId'], steps[i]!.pack, `${label}: the newest update comes off first`);
        assert.equal((u['after'] as { levelName: string }).levelName, back.name, `${label}: after ${steps[i]!.pack}`);
        await assertTree(root, arch, back, `${label}: after uninstalling ${steps[i]!.pack}`);
      }
      const none = await uninstall(root);
      assert.notEqual(none.code, 0, `${label}: nothing left to uninstall: ${none.out}`);
      await assertTree(root, arch, start, `${label}: a refused uninstall changes nothing`);
    });
    t.diagnostic(`${cases.length} installations in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  });

  test('SRP1 over SP6a + Q248017 (+ Q248395): a hotfix it carries is refused as superseded, one it does not carry installs; uninstall gives back the prefix exactly', async () => {
    const cases = ARCHES.flatMap((arch) => [1, 2].map((n) => ({ arch, n })));
    await pool(cases, 2, async ({ arch, n }) => {
      const start: Step = {
        level: SP6A,
        hotfixes: CHAIN.slice(0, n),
        name: `Service Pack 6a, ${n === 1 ? 'hotfix' : 'hotfixes'} ${CHAIN.slice(0, n).join(', ')}`,
      };
      const label = `${arch} ${start.name}`;
      const root = await installationFrom(treeName(arch, start).replace(/^inetsrv-4\.0-/, ''));
      ok(await install(root, ['SRP1']), `SRP1 on ${label}`);
      await assertTree(root, arch, withRollup(0), `SRP1 on ${label}`);
      const q = json(await servicepack(['query', '--root', root, '--json']));
      assert.deepEqual([q['levelName'], q['hotfixes']], ['Service Pack 6a + Security Rollup 1', SRP1], label);

      // Each hotfix the rollup carries is refused: exit 3, E_SUPERSEDED, the rollup named; nothing changes.
      const before = await digest(root, []);
      for (const id of SRP1) {
        const r = await install(root, [id], ['--json']);
        assert.equal(r.code, 3, `${id} after SRP1 on ${label}: ${r.out}\n${r.err}`);
        // install --feed reports per target: the refusal is the one target's error
        const e = (json(r)['targets'] as { error: Record<string, unknown> }[])[0]?.error ?? {};
        assert.equal(e['code'], 'E_SUPERSEDED', `${id} after SRP1 on ${label}: ${e['message']}`);
        assert.match(
          String(e['message']),
          new RegExp(`^hotfix ${id} is superseded: Security Rollup 1, installed here`),
        );
        assert.deepEqual(
          await digest(root, []),
          before,
          `${id} after SRP1: every file as before, .servicepack/ included`,
        );
      }

      // The next hotfix of the chain is not in the rollup and installs after it.
      ok(await install(root, ['Q248901']), `Q248901 after SRP1 on ${label}`);
      await assertTree(root, arch, withRollup(1), `Q248901 after SRP1 on ${label}`);
      const q2 = json(await servicepack(['query', '--root', root, '--json']));
      assert.equal(q2['levelName'], 'Service Pack 6a + Security Rollup 1, hotfix Q248901');

      // Back: Q248901, then the rollup, which gives back exactly the prefix it was installed over.
      ok(await uninstall(root), `uninstall Q248901 on ${label}`);
      await assertTree(root, arch, withRollup(0), `uninstall Q248901 on ${label}`);
      const u = await uninstall(root);
      ok(u, `uninstall SRP1 on ${label}`);
      assert.equal(json(u)['packId'], 'SRP1');
      assert.equal((json(u)['after'] as { levelName: string }).levelName, start.name);
      await assertTree(root, arch, start, `uninstall SRP1 on ${label}`);
    });
  });

  test('check --feed on SP6a offers Security Rollup 1 and Q248017 (security), not the chain hotfixes that need Q248017', async () => {
    for (const arch of ARCHES) {
      const sp6a = join(releases, treeName(arch, STARTS[4]!));
      const r = await servicepack(['check', '--feed', distFeed, '--root', sp6a, '--json']);
      ok(r, `check on ${arch} SP6a`);
      const updates = json(r)['updates'] as { id: string; kind: string; fixes: { id: string; security?: boolean }[] }[];
      assert.deepEqual(
        updates.map((u) => [u.id, u.kind, u.fixes.map((f) => [f.id, f.security])]),
        [
          ['SRP1', 'rollup', SRP1.map((id) => [id, true])],
          ['Q248017', 'hotfix', [['Q248017', true]]],
        ],
        r.out,
      );
      const text = await servicepack(['check', '--feed', distFeed, '--root', sp6a]);
      ok(text, `check (text) on ${arch} SP6a`);
      const lines = text.out.split('\n');
      assert.ok(
        lines.some((l) => /^\s+SRP1\s+Security Rollup 1 \(Q248017, Q248395, Q247318, Q247602\) \[security\]/.test(l)),
        text.out,
      );
      assert.ok(
        lines.some((l) => /^\s+Q248017\s+hotfix Q248017 \(.+\) \[security\]/.test(l)),
        text.out,
      );
      assert.ok(!/^\s+Q248395\s/m.test(text.out), `Q248395 needs Q248017 first: ${text.out}`);
    }
  });
});
