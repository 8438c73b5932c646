/**
 * Issue 13, item 3: output injection. A refused pack whose file name holds a newline printed a
 * forged `Installed inetsrv 4.0 Service Pack 6 …` line in plain output; an ESC, CSI or bidi
 * override in a name reached the terminal as it was. Every name in human output is now escaped by
 * one rule (installer/src/reporters/printable.ts); --json keeps the raw string (JSON escapes it).
 *
 * Through the real executable without a terminal: the plain reporter (install PACK -u, CI=1) and
 * the timestamped lines of an answer-file run. The renderers one by one: installer/test/printable.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { treeSnapshot } from './support/hostile.js';
import { bin, installationFrom, pack, requireBuild, tempFolders, tempRoot, tree } from './support/servicepack.js';

// (a file name holds no /, so the forged line names no root)
const FORGED = 'Installed inetsrv 4.0 Service Pack 6 (inetsrv-4.0-sp6) in R: RTM -> Service Pack 6';
/** A pack file name that would print a line of its own, clear the screen, set the title and read backwards. */
const HOSTILE = `x\n${FORGED}\r\n\x1b[2J\x1b]0;pwned\x07\u009b31m\u202egpj\u2028.tgz`;
const RAW_CONTROLS = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

let dir: string;
let hostile: string;

before(async () => {
  requireBuild([tree('rtm-x86'), pack('sp6-alpha')]);
  dir = join(await tempRoot('sp-outinj-'), '..', 'packs');
  await mkdir(dir);
  hostile = join(dir, HOSTILE);
  // the alpha pack on an x86 installation: refused (exit 3), and the refusal names the file
  await copyFile(pack('sp6-alpha'), hostile);
});

after(async () => {
  for (const d of tempFolders()) await rm(d, { recursive: true, force: true });
});

function run(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '', CI: '1' },
    input: '',
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function assertNoForgery(text: string): void {
  const lines = text.split('\n');
  assert.ok(!lines.some((l) => l.startsWith('Installed')), `a line starts with "Installed":\n${text}`);
  // every line break left is one of ours: none inside a name, no other control character at all
  assert.doesNotMatch(text, RAW_CONTROLS, `a control character got through:\n${JSON.stringify(text)}`);
}

describe('names in human output are escaped', () => {
  test('plain install of a refused pack whose name holds a newline: no forged "Installed" line, the name escaped', async () => {
    const root = await installationFrom('rtm-x86');
    const before = await treeSnapshot(root);
    const r = run(['install', '--accept-eula', '--root', root, '-u', '--', hostile]);
    assert.equal(r.code, 3, r.err);
    assertNoForgery(r.out + r.err);
    assert.match(
      r.err,
      /x\\nInstalled inetsrv 4\.0 Service Pack 6 .*\\r\\n\\e\[2J\\e\]0;pwned\\x07\\x9b31m\\u\{202e\}gpj\\u\{2028\}\.tgz is for alpha/,
    );
    assert.deepEqual(await treeSnapshot(root), before);
  });

  test('--json keeps the name as it is (JSON escapes it) and warns nothing raw on stderr', async () => {
    const root = await installationFrom('rtm-x86');
    const r = run(['install', '--accept-eula', '--root', root, '-u', '--json', '--', hostile]);
    assert.equal(r.code, 3);
    const doc = JSON.parse(r.out) as { code: string; message: string };
    assert.equal(doc.code, 'E_WRONG_ARCH');
    assert.ok(doc.message.includes(HOSTILE.slice(HOSTILE.lastIndexOf('/') + 1)), 'the document carries the raw name');
    assertNoForgery(r.err);
  });

  test('an answer-file run (timestamped lines on stderr, one result line per target on stdout)', async () => {
    const root = await installationFrom('rtm-x86');
    const file = join(dir, 'site.yaml');
    await writeFile(
      file,
      `targets:\n  - root: ${JSON.stringify(root)}\npacks:\n  - ${JSON.stringify(hostile)}\nacceptEula: true\n`,
    );
    const r = run(['install', '--answer-file', file]);
    assert.equal(r.code, 3, `${r.out}\n${r.err}`);
    assertNoForgery(r.out + r.err);
    assert.match(r.out, /not applicable \(exit 3, E_WRONG_ARCH\): .*x\\nInstalled inetsrv 4\.0 Service Pack 6/);
    assert.match(r.err, /error: .*x\\nInstalled inetsrv 4\.0 Service Pack 6/);
  });

  test('a usage error quoting a hostile word (commander and our own) is escaped too', async () => {
    const word = `-\n${FORGED}\x1b[2J`;
    for (const args of [
      ['install', '--root', '/nowhere', word],
      ['install', '--root', '/nowhere', 'a.tgz', word],
    ]) {
      const r = run(args);
      assert.equal(r.code, 2);
      assertNoForgery(r.out + r.err);
      assert.match(r.err, /-\\nInstalled inetsrv 4\.0 Service Pack 6 .*\\e\[2J/);
    }
  });
});
