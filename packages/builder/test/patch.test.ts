import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyDiff, diffTrees } from '../src/patch.js';
import type { FileTree } from '../src/tree.js';

const ctx = { fixId: 'Q100', diffFile: 'patches/Q100/changes.diff' };

function tree(files: Record<string, string>): FileTree {
  return new Map(Object.entries(files).map(([p, t]) => [p, Buffer.from(t)]));
}

function texts(t: FileTree): Record<string, string> {
  return Object.fromEntries([...t].sort(([a], [b]) => (a < b ? -1 : 1)).map(([p, b]) => [p, b.toString()]));
}

const server = ['line 1', 'line 2', 'line 3', 'line 4', 'line 5', 'line 6', 'line 7', 'line 8', 'line 9', ''].join(
  '\n',
);

describe('applyDiff', () => {
  it('modifies, adds and deletes files from one git-style diff', () => {
    const t = tree({ 'src/server.ts': server, 'src/old.ts': 'gone\nsoon\n', 'conf/inetsrv.conf': 'Port 80\n' });
    const diff = [
      'diff --git a/src/server.ts b/src/server.ts',
      'index 1111111..2222222 100644',
      '--- a/src/server.ts',
      '+++ b/src/server.ts',
      '@@ -1,4 +1,4 @@',
      ' line 1',
      '-line 2',
      '+line two',
      ' line 3',
      ' line 4',
      '@@ -7,3 +7,4 @@',
      ' line 7',
      ' line 8',
      ' line 9',
      '+line 10',
      'diff --git a/src/new.ts b/src/new.ts',
      'new file mode 100644',
      '--- /dev/null',
      '+++ b/src/new.ts',
      '@@ -0,0 +1,2 @@',
      '+export const x = 1;',
      '+export const y = 2;',
      'diff --git a/src/old.ts b/src/old.ts',
      'deleted file mode 100644',
      '--- a/src/old.ts',
      '+++ /dev/null',
      '@@ -1,2 +0,0 @@',
      '-gone',
      '-soon',
      '',
    ].join('\n');
    const patches = applyDiff(t, diff, ctx);
    assert.deepEqual(
      patches.map((p) => [p.path, p.kind]),
      [
        ['src/server.ts', 'modify'],
        ['src/new.ts', 'create'],
        ['src/old.ts', 'delete'],
      ],
    );
    assert.deepEqual(texts(t), {
      'conf/inetsrv.conf': 'Port 80\n',
      'src/new.ts': 'export const x = 1;\nexport const y = 2;\n',
      'src/server.ts': server.replace('line 2\n', 'line two\n') + 'line 10\n',
    });
  });

  it('honours "\\ No newline at end of file" on either side', () => {
    const t = tree({ 'src/a.ts': 'one\ntwo' });
    const diff = [
      '--- a/src/a.ts',
      '+++ b/src/a.ts',
      '@@ -1,2 +1,3 @@',
      ' one',
      '-two',
      '\\ No newline at end of file',
      '+two',
      '+three',
      '',
    ].join('\n');
    applyDiff(t, diff, ctx);
    assert.equal(t.get('src/a.ts')?.toString(), 'one\ntwo\nthree\n');
  });

  it('refuses a hunk whose context does not match, naming the fix, the file and the hunk', () => {
    const t = tree({ 'src/server.ts': server.replace('line 8', 'line eight') });
    const before = texts(t);
    const diff = [
      '--- a/src/server.ts',
      '+++ b/src/server.ts',
      '@@ -7,3 +7,3 @@',
      ' line 7',
      '-line 8',
      '+line 8!',
      ' line 9',
      '',
    ].join('\n');
    assert.throws(
      () => applyDiff(t, diff, ctx),
      (e: Error) =>
        /fix Q100/.test(e.message) &&
        e.message.includes('patches/Q100/changes.diff') &&
        e.message.includes('src/server.ts') &&
        /hunk #1 \(@@ -7,3 \+7,3 @@\) does not apply/.test(e.message) &&
        e.message.includes('"line eight"'),
    );
    assert.deepEqual(texts(t), before, 'a failed diff leaves the tree as it was');
  });

  it('does not look elsewhere for a hunk (no offset, no fuzz)', () => {
    // The same lines exist two lines further down: GNU patch would apply "with offset"; we must not.
    const t = tree({ 'src/a.ts': 'x\ny\na\nb\nc\n' });
    const diff = ['--- a/src/a.ts', '+++ b/src/a.ts', '@@ -1,3 +1,3 @@', ' a', '-b', '+B', ' c', ''].join('\n');
    assert.throws(() => applyDiff(t, diff, ctx), /hunk #1 .* does not apply: line 1 is "x"/);
  });

  it('fails when the second of several files does not apply, and changes none of them', () => {
    const t = tree({ 'src/a.ts': 'a\n', 'src/b.ts': 'b\n' });
    const diff = [
      '--- a/src/a.ts',
      '+++ b/src/a.ts',
      '@@ -1 +1 @@',
      '-a',
      '+A',
      '--- a/src/b.ts',
      '+++ b/src/b.ts',
      '@@ -1 +1 @@',
      '-x',
      '+X',
      '',
    ].join('\n');
    assert.throws(() => applyDiff(t, diff, ctx), /src\/b\.ts: hunk #1/);
    assert.equal(t.get('src/a.ts')?.toString(), 'a\n');
  });

  it('refuses to create a file that exists, or change one that does not', () => {
    const add = [
      'diff --git a/src/a.ts b/src/a.ts',
      'new file mode 100644',
      '--- /dev/null',
      '+++ b/src/a.ts',
      '@@ -0,0 +1 @@',
      '+a',
      '',
    ].join('\n');
    assert.throws(
      () => applyDiff(tree({ 'src/a.ts': 'a\n' }), add, ctx),
      /fix Q100: .*src\/a\.ts: the diff creates it but it already exists/,
    );
    const mod = ['--- a/src/a.ts', '+++ b/src/a.ts', '@@ -1 +1 @@', '-a', '+b', ''].join('\n');
    assert.throws(() => applyDiff(tree({}), mod, ctx), /src\/a\.ts: the diff changes it but it does not exist/);
  });

  it('refuses a deletion that would leave lines behind', () => {
    const del = ['--- a/src/a.ts', '+++ /dev/null', '@@ -1 +0,0 @@', '-a', ''].join('\n');
    assert.throws(
      () => applyDiff(tree({ 'src/a.ts': 'a\nb\n' }), del, ctx),
      /deletes it, but 1 line\(s\) would remain/,
    );
  });

  it('refuses paths without a/ b/ prefixes, escaping paths and paths that do not ship', () => {
    const bare = ['--- src/a.ts', '+++ src/a.ts', '@@ -1 +1 @@', '-a', '+b', ''].join('\n');
    assert.throws(() => applyDiff(tree({ 'src/a.ts': 'a\n' }), bare, ctx), /lacks the git-style "a\/" prefix/);
    const escaping = ['--- a/src/../../etc/passwd', '+++ b/src/../../etc/passwd', '@@ -1 +1 @@', '-a', '+b', ''].join(
      '\n',
    );
    assert.throws(() => applyDiff(tree({}), escaping, ctx), /unsafe path/);
    const outside = ['--- a/test/x.test.ts', '+++ b/test/x.test.ts', '@@ -1 +1 @@', '-a', '+b', ''].join('\n');
    assert.throws(
      () => applyDiff(tree({}), outside, ctx),
      /test\/x\.test\.ts is outside bin\/, conf\/, wwwroot\/ and src\//,
    );
  });

  it('treats an empty diff as no change', () => {
    const t = tree({ 'src/a.ts': 'a\n' });
    assert.deepEqual(applyDiff(t, '', ctx), []);
    assert.equal(t.get('src/a.ts')?.toString(), 'a\n');
  });
});

describe('diffTrees', () => {
  const base = tree({
    'bin/inetsrv': '#!/usr/bin/env node\n',
    'src/a.ts': Array.from({ length: 20 }, (_, i) => `l${i + 1}`).join('\n') + '\n',
    'src/gone.ts': 'bye\n',
    'src/nonl.ts': 'x',
    'src/empty.ts': '',
  });
  const work = tree({
    'bin/inetsrv': '#!/usr/bin/env node\nimport "../lib/cli.js";\n',
    'src/a.ts': Array.from({ length: 20 }, (_, i) => (i === 2 ? 'THREE' : `l${i + 1}`)).join('\n') + '\nl21',
    'src/new.ts': 'hello\n',
    'src/nonl.ts': 'x\ny\n',
    'bin/empty': '',
  });

  it('writes a diff that applies back exactly (add, modify, delete, empty files, missing newlines)', () => {
    const { text, changes } = diffTrees(base, work);
    const t = new Map(base);
    applyDiff(t, text, ctx);
    assert.deepEqual(texts(t), texts(work));
    assert.deepEqual(changes, [
      { path: 'bin/empty', kind: 'create' },
      { path: 'bin/inetsrv', kind: 'modify' },
      { path: 'src/a.ts', kind: 'modify' },
      { path: 'src/empty.ts', kind: 'delete' },
      { path: 'src/gone.ts', kind: 'delete' },
      { path: 'src/new.ts', kind: 'create' },
      { path: 'src/nonl.ts', kind: 'modify' },
    ]);
  });

  it('is deterministic and git-like: sorted, a/ b/ labels, executable mode for bin/, no timestamps', () => {
    const { text } = diffTrees(base, work);
    assert.equal(diffTrees(new Map([...base].reverse()), new Map([...work].reverse())).text, text);
    assert.match(
      text,
      /^diff --git a\/bin\/empty b\/bin\/empty\nnew file mode 100755\ndiff --git a\/bin\/inetsrv b\/bin\/inetsrv\n--- a\/bin\/inetsrv\n\+\+\+ b\/bin\/inetsrv\n@@ -1 \+1,2 @@\n/,
    );
    assert.match(
      text,
      /diff --git a\/src\/new\.ts b\/src\/new\.ts\nnew file mode 100644\n--- \/dev\/null\n\+\+\+ b\/src\/new\.ts\n@@ -0,0 \+1 @@\n\+hello\n/,
    );
    assert.match(text, /\n@@ -1,6 \+1,6 @@\n l1\n l2\n-l3\n\+THREE\n/);
    assert.doesNotMatch(text, /\t|\d{4}-\d\d-\d\d|^index /m);
    assert.equal(diffTrees(base, base).text, '');
  });

  it('refuses binary files', () => {
    assert.throws(
      () => diffTrees(tree({}), new Map([['wwwroot/x.gif', Buffer.from([0x47, 0, 1])]])),
      /wwwroot\/x\.gif is binary/,
    );
  });
});
