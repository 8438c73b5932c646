/**
 * A full disk (docs/cli.md §5, exit 1: "failed and rolled back, nothing changed"). The installation
 * lives on a small tmpfs mounted by the test; a filler file leaves exactly k free pages, for k
 * from 0 upwards until the install fits. Every run that does not fit must exit 1 and leave the
 * product tree byte-identical, the state record unchanged, and no journal, staging or backup
 * behind; the first run that fits must give the SP6 tree. Because the installer allocates
 * everything (staging, the journal and its prepared phases, the new state record, the backup
 * records) before the first rename, no k can make it fail halfway through the commit; the
 * commit's own failure paths are exercised with the injected ENOSPC of SERVICEPACK_FAULT.
 *
 * When this sandbox does not allow mounting a tmpfs, the first part is skipped with a note and
 * the injected ENOSPC covers staging, journal and commit instead.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  digest,
  freezeBuild,
  installationFrom,
  pack,
  sameDigest,
  servicepack,
  tempFolders,
  tree,
} from './support/servicepack.js';

let mountPoint: string | undefined;
let mountError = '';
const extra: string[] = [];

before(async () => {
  await freezeBuild(['rtm-x86', 'sp6-x86'], ['sp6-x86']);
  const dir = await mkdtemp(join(tmpdir(), 'sp-tmpfs-'));
  extra.push(dir);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0755', 'tmpfs', dir], { stdio: 'pipe' });
    mountPoint = dir;
  } catch (e) {
    mountError = String((e as { stderr?: Buffer }).stderr ?? e).trim();
  }
});
after(async () => {
  if (mountPoint) {
    try {
      execFileSync('umount', [mountPoint], { stdio: 'pipe' });
    } catch {
      execFileSync('umount', ['-l', mountPoint], { stdio: 'pipe' });
    }
  }
  for (const d of [...tempFolders(), ...extra]) await rm(d, { recursive: true, force: true });
});

interface Snapshot {
  tree: Record<string, string>;
  state: string | undefined;
}

async function snap(root: string): Promise<Snapshot> {
  const state = join(root, '.servicepack', 'state.json');
  return { tree: await digest(root), state: existsSync(state) ? await readFile(state, 'utf8') : undefined };
}

async function assertUnchanged(root: string, before: Snapshot, label: string): Promise<void> {
  const now = await snap(root);
  assert.ok(sameDigest(now.tree, before.tree), `${label}: the product tree changed`);
  assert.equal(now.state, before.state, `${label}: the state record changed`);
  for (const left of ['journal.json', 'staging', 'backup', 'lock'])
    assert.ok(!existsSync(join(root, '.servicepack', left)), `${label}: .servicepack/${left} left behind`);
}

describe('a full disk', () => {
  test('every amount of free space on a small tmpfs: exit 1 with nothing changed, or SP6 complete', async (t) => {
    if (!mountPoint) {
      t.skip(`cannot mount a tmpfs here (${mountError}); the injected ENOSPC below covers the failure paths`);
      return;
    }
    const root = join(mountPoint, 'inetsrv');
    await cp(tree('rtm-x86'), root, { recursive: true });
    const filler = join(mountPoint, 'filler');
    const before = await snap(root);
    const outcomes: string[] = [];
    let fitted = -1;
    for (let k = 0; k <= 128 && fitted < 0; k += k < 16 ? 2 : 5) {
      await rm(filler, { force: true });
      const fs = await statfs(mountPoint);
      const leave = k * fs.bsize;
      const size = fs.bavail * fs.bsize - leave;
      assert.ok(size > 0, 'the tmpfs has room for the filler');
      await writeFile(filler, Buffer.alloc(size));
      const r = await servicepack(['install', '--accept-eula', '--root', root, '-u', '--json', pack('sp6-x86')]);
      if (r.code === 0) {
        fitted = k;
        outcomes.push(`${k}: installed`);
        break;
      }
      const doc = JSON.parse(r.out) as { code: string; message: string };
      assert.equal(r.code, 1, `${k} free pages: exit ${r.code}: ${r.out}${r.err}`);
      outcomes.push(`${k}: ${doc.code}`);
      assert.match(doc.message, /no space left|ENOSPC|disk is full/i, `${k} free pages`);
      await assertUnchanged(root, before, `${k} free pages`);
    }
    t.diagnostic(outcomes.join(', '));
    assert.ok(fitted >= 0, 'the install fits once there is room');
    assert.ok(outcomes.length > 3, 'several runs found the disk full first');
    await rm(filler, { force: true });
    assert.ok(sameDigest(await digest(root), await digest(tree('sp6-x86'))), 'the run that fitted gave SP6');
  });

  test('ENOSPC injected while staging, journaling and committing: exit 1, nothing changed', async (t) => {
    const points = [
      'after:stage',
      'journal:prepared',
      'after:journal',
      'commit:file:1',
      'commit:backed-up:3',
      'commit:file:5',
      'commit:prepare:1',
      'after:commit',
    ];
    for (const point of points) {
      const root = await installationFrom('rtm-x86');
      const before = await snap(root);
      const r = await servicepack(['install', '--accept-eula', '--root', root, '-u', '--json', pack('sp6-x86')], {
        env: { SERVICEPACK_FAULT: `${point}=ENOSPC` },
      });
      assert.equal(r.code, 1, `${point}: exit ${r.code}: ${r.out}${r.err}`);
      const doc = JSON.parse(r.out) as { code: string; message: string };
      assert.equal(doc.code, 'E_FAILED', point);
      assert.match(doc.message, /disk is full.*rolled back, nothing changed/, point);
      await assertUnchanged(root, before, point);
    }
    t.diagnostic(`${points.length} injected points`);
  });
});
