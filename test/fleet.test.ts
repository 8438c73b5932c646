/**
 * The fleet harness itself (test/support/fleet.ts): six hosts behind one sshd on 127.0.0.11-16, each
 * reached by Ansible over SSH with the fleet's own client key, each its own installation, and on each
 * the servicepack of the npm tarball answers `query --json` with that host's level.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { type Fleet, STORY_FLEET, startFleet } from './support/fleet.js';

let fleet: Fleet;

before(async () => {
  fleet = await startFleet(STORY_FLEET);
});
after(async () => {
  await fleet?.stop();
});

interface Query {
  ok: boolean;
  root: string;
  arch: string;
  level: number;
  levelName: string;
  hotfixes: string[];
  consistent: boolean;
}

describe('the fleet', () => {
  test('every host answers ansible ping over SSH at its own loopback address', async () => {
    const r = await fleet.adhoc('inetsrv', ['-m', 'ansible.builtin.ping']);
    assert.equal(r.code, 0, `${r.out}\n${r.err}\n${fleet.sshdLog()}`);
    assert.deepEqual(
      r.report.results.map((x) => [x.host, x.status, x.result['ping']]).sort(),
      STORY_FLEET.map((h) => [h.name, 'ok', 'pong']).sort(),
    );
    // each host came in through sshd with the fleet's key, from its own address
    const log = fleet.sshdLog();
    for (const h of fleet.hosts) {
      assert.match(
        log,
        new RegExp(
          `Connection from 127\\.0\\.0\\.1 port \\d+ on ${h.address.replaceAll('.', '\\.')} port ${fleet.port}`,
        ),
      );
    }
    assert.match(log, /Accepted publickey for root from 127\.0\.0\.1/);
  });

  test("servicepack query --json through the tarball's executable reports each host's level", async () => {
    assert.ok(fleet.executable.startsWith(fleet.dir), 'the hosts run the installed tarball, not the work tree');
    const r = await fleet.adhoc('inetsrv', [
      '-m',
      'ansible.builtin.command',
      '-a',
      '{{ servicepack_executable }} query --root {{ servicepack_root }} --json',
    ]);
    const byHost = new Map(r.report.results.map((x) => [x.host, x]));
    const levels = Object.fromEntries(
      STORY_FLEET.map((h) => {
        const x = byHost.get(h.name);
        assert.ok(x, `a result for ${h.name}`);
        assert.equal((x.result['cmd'] as string[])[0], fleet.executable);
        const q = JSON.parse(String(x.result['stdout'])) as Query;
        assert.equal(q.root, fleet.host(h.name).root);
        return [h.name, [q.arch, q.level, q.hotfixes.join('+'), q.consistent]];
      }),
    );
    assert.deepEqual(levels, {
      canary: ['x86', 5, 'Q236565', true],
      regress: ['x86', 5, '', true],
      current: ['x86', 6, '', true],
      rtm: ['x86', 0, '', true],
      alpha: ['alpha', 2, '', true],
      // query reads the records, not the files: the admin's edit is for install (and verify --feed) to find
      modified: ['x86', 3, '', true],
    });
    assert.equal(r.code, 0, r.err);
    assert.ok(existsSync(fleet.executable));
  });
});
