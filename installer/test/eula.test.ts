/**
 * One license rule on every path (issue 14): a pack that carries a license agreement, whatever the
 * document is called (EULA.txt, LICENSE.txt), is installed only once the operator accepted it —
 * on the wizard's License screen, with acceptEula: true in an answer file, or with --accept-eula
 * on the command line. Before, an answer file let LICENSE.txt through and `install -u` asked nothing.
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  levelSnapshot,
  makeInstallation,
  makeVendor,
  ownedSnapshot,
  snapshot,
  tempDir,
} from '../../packages/core/test/install-fixtures.js';
import { run } from '../src/cli.js';
import { eulaDocument } from '../src/wizard/views.js';
import { eulaDocument as answerFileEula } from '../../packages/core/src/fleet/answer-file.js';
import { captureIo } from './capture-io.js';
import { makePackWithEula } from './wizard/helpers.js';

const vendor = makeVendor();
const dirs: string[] = [];
let licensed = '';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { io, output } = captureIo({});
  const code = await run(['node', 'servicepack', ...args], io);
  return { code, ...output() };
}

async function rtm(): Promise<string> {
  const root = await makeInstallation(0, vendor);
  dirs.push(root);
  return root;
}

before(async () => {
  const out = await tempDir('sp-eula-packs-');
  dirs.push(out);
  licensed = await makePackWithEula(vendor, { level: 1, fromLevels: [0] }, out, 'Be nice.\n', 'LICENSE.txt');
});
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('one license rule on every path', () => {
  test('LICENSE.txt is a license for the wizard and for answer files alike', () => {
    for (const name of ['LICENSE.txt', 'licence.md', 'EULA.txt', 'eula']) {
      const m = { documents: [{ name: 'README.txt' }, { name }] };
      assert.equal(answerFileEula(m), name);
      assert.equal(eulaDocument(m as never), name);
    }
  });

  test('an answer file without acceptEula is refused for a pack with LICENSE.txt (exit 2, at the acceptEula key); nothing installed', async () => {
    const root = await rtm();
    const work = await tempDir('sp-eula-af-');
    dirs.push(work);
    const file = join(work, 'site.yaml');
    await writeFile(file, `targets:\n  - root: ${root}\npacks: [${licensed}]\n`);
    const before = await snapshot(root);
    const r = await cli(['install', '--answer-file', file, '--json']);
    assert.equal(r.code, 2, r.out + r.err);
    const doc = JSON.parse(r.out) as { code: string; message: string };
    assert.equal(doc.code, 'E_INVALID_ANSWER_FILE');
    assert.match(doc.message, /acceptEula: .*carries a license agreement \(LICENSE\.txt\)/);
    assert.deepEqual(await snapshot(root), before);
    await writeFile(file, `targets:\n  - root: ${root}\npacks: [${licensed}]\nacceptEula: true\n`);
    assert.equal((await cli(['install', '--answer-file', file, '-q'])).code, 0);
    assert.deepEqual(await ownedSnapshot(root), await levelSnapshot(1));
  });

  test('install -u of a licensed pack without --accept-eula: exit 2, E_EULA_NOT_ACCEPTED, nothing installed; --dry-run too; with it, installed', async () => {
    const root = await rtm();
    for (const extra of [[], ['--dry-run']]) {
      const r = await cli(['install', '--root', root, '-u', '--json', ...extra, licensed]);
      assert.equal(r.code, 2, r.out + r.err);
      const doc = JSON.parse(r.out) as { code: string; message: string };
      assert.equal(doc.code, 'E_EULA_NOT_ACCEPTED');
      assert.match(doc.message, /carries a license agreement \(LICENSE\.txt\); read it .* and pass --accept-eula/);
    }
    const plain = await cli(['install', '--root', root, '-u', licensed]);
    assert.equal(plain.code, 2);
    assert.match(plain.err, /pass --accept-eula/);
    assert.deepEqual(await ownedSnapshot(root), await levelSnapshot(0));
    const ok = await cli(['install', '--root', root, '-u', '--accept-eula', licensed]);
    assert.equal(ok.code, 0, ok.err);
    assert.deepEqual(await ownedSnapshot(root), await levelSnapshot(1));
  });

  test('--accept-eula with --answer-file: refused, the answer file decides (exit 2)', async () => {
    const work = await tempDir('sp-eula-af-');
    dirs.push(work);
    const file = join(work, 'site.yaml');
    await writeFile(file, `targets:\n  - root: ${await rtm()}\npacks: [${licensed}]\n`);
    const r = await cli(['install', '--answer-file', file, '--accept-eula']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--accept-eula cannot be combined with --answer-file/);
  });
});
