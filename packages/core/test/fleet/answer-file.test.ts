/**
 * Answer files (docs/formats.md "Answer file"): the schema, and that every error names the file, the line and the key.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { AnswerFileIssue } from '../../src/fleet/answer-file-schema.js';
import { type AnswerFile, eulaDocument, loadAnswerFile, parseAnswerFile } from '../../src/fleet/answer-file.js';
import { isServicepackError } from '../../src/support/errors.js';
import { jsonSchemaText } from '../../src/schema-export.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const FILE = '/etc/servicepack/site.yaml';

async function issuesOf(text: string, file = FILE): Promise<{ message: string; issues: AnswerFileIssue[] }> {
  try {
    await parseAnswerFile(text, file);
  } catch (e) {
    assert.ok(isServicepackError(e), String(e));
    assert.equal(e.code, 'E_INVALID_ANSWER_FILE');
    assert.equal(e.exitCode, 2);
    return { message: e.message, issues: e.details['issues'] as AnswerFileIssue[] };
  }
  assert.fail('expected the answer file to be refused');
}

describe('answer file', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sp-answer-'));
    await writeFile(join(dir, 'a.tgz'), 'not really a pack');
    await writeFile(join(dir, 'key.pub'), 'a key');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('the smallest file: defaults filled in, relative paths resolved against its folder', async () => {
    const af = await parseAnswerFile(
      'targets:\n  - root: /opt/inetsrv\npacks:\n  - ../../dist/packs/inetsrv-4.0-sp6-x86.tgz\nacceptEula: true\n',
      '/repo/manifests/unattend/sp6.yaml',
    );
    assert.deepEqual(af.targets, [{ root: '/opt/inetsrv', line: 2 }]);
    assert.deepEqual(af.source, {
      kind: 'packs',
      packs: [{ path: '/repo/dist/packs/inetsrv-4.0-sp6-x86.tgz', line: 4 }],
    });
    assert.equal(af.acceptEula, true);
    assert.equal(af.backup, true);
    assert.equal(af.modified, 'stop');
    assert.equal(af.restart, 'auto');
    assert.equal(af.log, undefined);
    assert.deepEqual(af.keyLines, { targets: 1, packs: 3, acceptEula: 5 });
  });

  test('a typo in a key: the line, the key and a suggestion', async () => {
    const { message, issues } = await issuesOf(
      'targets:\n  - root: /opt/a\n    rot: /opt/b\npacks: [a.tgz]\nacceptEual: true\n',
    );
    assert.deepEqual(
      issues.map((i) => [i.line, i.key]),
      [
        [3, 'targets[0].rot'],
        [5, 'acceptEual'],
      ],
    );
    assert.match(message, /\/etc\/servicepack\/site\.yaml:5:1: acceptEual: unknown key; did you mean acceptEula\?/);
    assert.match(message, /site\.yaml:3:5: targets\[0\]\.rot: unknown key; did you mean root\?/);
    assert.match(message, /Fix the answer file/);
  });

  test('a wrong type and a wrong enum value point at the value', async () => {
    const { issues } = await issuesOf(
      'targets:\n  - root: /opt/a\npacks: [a.tgz]\nacceptEula: yes\nrestart: sometimes\nbackup: 1\n',
    );
    assert.deepEqual(
      issues.map((i) => [i.line, i.key]),
      [
        [4, 'acceptEula'],
        [5, 'restart'],
        [6, 'backup'],
      ],
    );
    assert.match(issues[0]!.message, /expected boolean, received string/);
    assert.match(issues[1]!.message, /auto.*always.*never/);
  });

  test('healthCheck and healthTimeout (issue 18): on by default, the release timeout unless given, bounded', async () => {
    const base = 'targets:\n  - root: /opt/a\npacks: [/x/a.tgz]\n';
    const plain = await parseAnswerFile(base, FILE);
    assert.equal(plain.healthCheck, true);
    assert.equal(plain.healthTimeout, undefined);
    const off = await parseAnswerFile(`${base}healthCheck: false\nhealthTimeout: 30\n`, FILE);
    assert.equal(off.healthCheck, false);
    assert.equal(off.healthTimeout, 30);
    const { issues } = await issuesOf(`${base}healthTimeout: 0\nhealthCheck: maybe\n`);
    assert.deepEqual(
      issues.map((i) => [i.line, i.key]),
      [
        [4, 'healthTimeout'],
        [5, 'healthCheck'],
      ],
    );
    assert.deepEqual((await issuesOf(`${base}healthTimeout: 301\n`)).issues[0]?.key, 'healthTimeout');
  });

  test('a missing required key is reported where its parent is', async () => {
    const { issues } = await issuesOf('targets:\n  - path: /opt/a\npacks: [a.tgz]\n');
    assert.deepEqual(
      issues.map((i) => [i.line, i.key]).sort(),
      [
        [2, 'targets[0].path'],
        [2, 'targets[0].root'],
      ].sort(),
    );
    assert.match(issues.find((i) => i.key === 'targets[0].root')!.message, /^missing/);
  });

  test('a missing pack or key file: the line of that entry', async () => {
    const file = join(dir, 'site.yaml');
    await writeFile(
      file,
      'targets:\n  - root: /opt/a\npacks:\n  - a.tgz\n  - missing.tgz\ntrust:\n  - key.pub\n  - nokey.pub\n',
    );
    await assert.rejects(loadAnswerFile(file), (e: unknown) => {
      assert.ok(isServicepackError(e));
      assert.equal(e.exitCode, 2);
      const issues = e.details['issues'] as AnswerFileIssue[];
      assert.deepEqual(
        issues.map((i) => [i.line, i.key]),
        [
          [5, 'packs[1]'],
          [8, 'trust[1]'],
        ],
      );
      assert.match(
        e.message,
        new RegExp(
          `${file.replace(/[.]/g, '\\.')}:5:5: packs\\[1\\]: no such pack file: ${join(dir, 'missing.tgz').replace(/[.]/g, '\\.')}`,
        ),
      );
      return true;
    });
  });

  test('--allow-unsigned is never accepted from an answer file', async () => {
    const { issues } = await issuesOf('targets:\n  - root: /opt/a\npacks: [a.tgz]\nallowUnsigned: true\n');
    assert.deepEqual(
      issues.map((i) => [i.line, i.key]),
      [[4, 'allowUnsigned']],
    );
    assert.match(issues[0]!.message, /only on the command line/);
  });

  test('packs or feed with latest: exactly one way to name the packs', async () => {
    assert.deepEqual(
      (await issuesOf('targets: [{root: /a}]\npacks: [a.tgz]\nfeed: https://x.example/\nlatest: true\n')).issues.map(
        (i) => [i.line, i.key],
      ),
      [[3, 'feed']],
    );
    assert.deepEqual(
      (await issuesOf('targets: [{root: /a}]\nacceptEula: true\n')).issues.map((i) => i.key),
      ['packs'],
    );
    assert.match(
      (await issuesOf('targets: [{root: /a}]\nfeed: https://x.example/\n')).message,
      /site\.yaml:2:7: feed: a feed needs latest: true/,
    );
    assert.match(
      (await issuesOf('targets: [{root: /a}]\nfeed: https://x.example/\nlatest: false\n')).message,
      /:3:9: latest: a feed needs latest: true/,
    );
    assert.match(
      (await issuesOf('targets: [{root: /a}]\npacks: [a.tgz]\nlatest: true\n')).message,
      /:3:9: latest: latest only makes sense with a feed/,
    );
    assert.match(
      (await issuesOf('targets: [{root: /a}]\nfeed: ftp://x.example/\nlatest: true\n')).message,
      /:2:7: feed: .*http/,
    );
    const af = await parseAnswerFile('targets: [{root: www}]\nfeed: ../feed\nlatest: true\n', '/srv/answers/site.yaml');
    assert.deepEqual(af.source, { kind: 'feed', feed: '/srv/feed', latest: true, line: 2 });
    assert.deepEqual(af.targets, [{ root: '/srv/answers/www', line: 1 }]);
    const remote = await parseAnswerFile(
      'targets: [{root: /a}]\nfeed: https://updates.example.com/inetsrv/\nlatest: true\n',
      FILE,
    );
    assert.equal(remote.source.kind === 'feed' && remote.source.feed, 'https://updates.example.com/inetsrv/');
  });

  test('YAML errors, duplicate keys, the same target twice, not a mapping', async () => {
    const dup = await issuesOf('targets: [{root: /a}]\npacks: [a.tgz]\npacks: [b.tgz]\n');
    assert.deepEqual(
      dup.issues.map((i) => [i.line, i.key]),
      [[3, 'packs']],
    );
    assert.match(dup.message, /unique/);
    const syntax = await issuesOf('targets: [{root: /a}]\npacks: [a.tgz\nacceptEula: true\n');
    assert.equal(syntax.issues[0]!.file, FILE);
    assert.ok(syntax.issues[0]!.line >= 2);
    const twice = await issuesOf('targets:\n  - root: /opt/a\n  - root: /opt/b\n  - root: /opt/a\npacks: [a.tgz]\n');
    assert.deepEqual(
      twice.issues.map((i) => [i.line, i.key]),
      [[4, 'targets[2].root']],
    );
    assert.equal((await issuesOf('- just\n- a list\n')).issues[0]!.key, '(document)');
    assert.equal((await issuesOf('')).issues[0]!.key, '(document)');
    assert.deepEqual(
      (await issuesOf('targets: []\npacks: [a.tgz]\n')).issues.map((i) => [i.line, i.key]),
      [[1, 'targets']],
    );
  });

  test('an unreadable answer file is exit 2 too, naming the path', async () => {
    await assert.rejects(
      loadAnswerFile(join(dir, 'nope.yaml')),
      (e: unknown) => isServicepackError(e) && e.exitCode === 2 && e.message.includes(join(dir, 'nope.yaml')),
    );
  });

  test('the examples in manifests/unattend are valid, sp6.yaml is the one docs/formats.md shows', async () => {
    const exampleDir = join(repo, 'manifests', 'unattend');
    const names = (await readdir(exampleDir)).filter((n) => n.endsWith('.yaml')).sort();
    assert.deepEqual(names, ['fleet.yaml', 'full.yaml', 'sp6.yaml']);
    assert.equal(
      readFileSync(join(exampleDir, 'sp6.yaml'), 'utf8'),
      'targets:\n  - root: /opt/inetsrv\npacks:\n  - ../../dist/packs/inetsrv-4.0-sp6-x86.tgz\nacceptEula: true\n',
    );
    const parsed: AnswerFile[] = [];
    for (const n of names)
      parsed.push(await parseAnswerFile(readFileSync(join(exampleDir, n), 'utf8'), join(exampleDir, n)));
    const [fleet, full] = parsed;
    assert.equal(fleet!.targets.length, 3);
    assert.equal(fleet!.source.kind, 'feed');
    // the full example names every key the schema knows except the feed pair it shows as a comment
    assert.deepEqual(Object.keys(full!.keyLines).sort(), [
      'acceptEula',
      'backup',
      'log',
      'modified',
      'packs',
      'restart',
      'targets',
      'trust',
      'wait',
    ]);
  });

  test('the JSON Schema in manifests/schema is generated from the zod schema and is strict', () => {
    const text = jsonSchemaText('answerFile');
    const schema = JSON.parse(text) as {
      additionalProperties?: boolean;
      required?: string[];
      properties: Record<string, unknown>;
    };
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(schema.required, ['targets']);
    assert.deepEqual(Object.keys(schema.properties).sort(), [
      'acceptEula',
      'backup',
      'feed',
      'healthCheck',
      'healthTimeout',
      'latest',
      'log',
      'modified',
      'packs',
      'restart',
      'targets',
      'trust',
      'wait',
    ]);
    assert.equal(
      readFileSync(join(repo, 'manifests', 'schema', 'answerFile.schema.json'), 'utf8'),
      text,
      'run pnpm build to regenerate manifests/schema',
    );
  });

  test('EULA documents are recognised by name', () => {
    assert.equal(eulaDocument({ documents: [{ name: 'README.txt' }, { name: 'EULA.txt' }] }), 'EULA.txt');
    assert.equal(eulaDocument({ documents: [] }), undefined);
    assert.equal(eulaDocument({}), undefined);
  });
});
