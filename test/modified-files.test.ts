/**
 * Locally modified files and config files on real trees, through the real `servicepack`
 * (docs/transactions.md §2 "Plan"): a changed program file stops the install (exit 3, listed, nothing
 * changed); -o replaces it and keeps the changed original in the backup, and uninstall gives that
 * original back; --keep-modified leaves it and records it; an edited config file is never
 * overwritten: the new default lands beside it as .spnew and the summary says so.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { appendFile, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Manifest } from '../packages/core/src/pack/manifest.js';
import { inspectPack } from '../packages/core/src/pack/open.js';
import type { State } from '../packages/core/src/installation/state.js';
import { loadTrustedKeys } from '../packages/core/src/trust/trust.js';
import {
  digest,
  digestDiff,
  freezeBuild,
  installationFrom,
  pack,
  sameDigest,
  servicepack,
  tempFolders,
  tree,
} from './support/servicepack.js';

let manifest: Manifest;
/** a program file SP6 replaces, and a config file it ships (when it ships one) */
let program = '';
let config: string | undefined;

before(async () => {
  await freezeBuild(['rtm-x86', 'sp6-x86'], ['sp6-x86']);
  manifest = (await inspectPack(pack('sp6-x86'), { trustedKeys: await loadTrustedKeys({ root: tree('rtm-x86') }) }))
    .manifest;
  program = manifest.files.find((f) => f.action === 'replace' && f.path.startsWith('lib/'))!.path;
  config = manifest.files.find((f) => f.config === true && f.action === 'replace')?.path;
});
after(async () => {
  for (const d of tempFolders()) await rm(d, { recursive: true, force: true });
});

const EDIT = '\n// patched here by the admin\n';

describe('a locally modified program file', () => {
  test('stops the install (exit 3, listed); -o replaces it into the backup; uninstall gives it back', async () => {
    const root = await installationFrom('rtm-x86');
    await appendFile(join(root, ...program.split('/')), EDIT);
    const edited = await readFile(join(root, ...program.split('/')), 'utf8');
    const before = await digest(root, []);

    const stop = await servicepack(['install', '--accept-eula', '--root', root, '-u', '--json', pack('sp6-x86')]);
    assert.equal(stop.code, 3, stop.err);
    const doc = JSON.parse(stop.out) as { code: string; message: string; details: { files: { path: string }[] } };
    assert.equal(doc.code, 'E_LOCALLY_MODIFIED');
    assert.deepEqual(
      doc.details.files.map((f) => f.path),
      [program],
    );
    assert.ok(doc.message.includes(program) && doc.message.includes('--overwrite-modified (-o)'), doc.message);
    assert.deepEqual(digestDiff(await digest(root, []), before), [], 'nothing changed, .servicepack/ included');

    const over = await servicepack(['install', '--accept-eula', '--root', root, '-u', '-o', pack('sp6-x86')]);
    assert.equal(over.code, 0, over.err);
    assert.match(over.err, new RegExp(`${program} was changed here and is replaced \\(--overwrite-modified\\)`));
    assert.ok(sameDigest(await digest(root), await digest(tree('sp6-x86'))), 'the tree is SP6');
    assert.equal(
      await readFile(join(root, '.servicepack', 'backup', 'inetsrv-4.0-sp6', 'files', ...program.split('/')), 'utf8'),
      edited,
      'the changed original is in the backup',
    );

    const un = await servicepack(['uninstall', '--root', root, '-u']);
    assert.equal(un.code, 0, un.err);
    assert.equal(
      await readFile(join(root, ...program.split('/')), 'utf8'),
      edited,
      'uninstall restores the changed original',
    );
    const rest = digestDiff(await digest(root), await digest(tree('rtm-x86')));
    assert.deepEqual(rest, [program], 'everything else is RTM again');
  });

  test('--keep-modified leaves it, records it, and verify agrees', async () => {
    const root = await installationFrom('rtm-x86');
    await appendFile(join(root, ...program.split('/')), EDIT);
    const edited = await readFile(join(root, ...program.split('/')), 'utf8');
    const r = await servicepack(['install', '--accept-eula', '--root', root, '-u', '--keep-modified', pack('sp6-x86')]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`kept as they were \\(changed locally\\): ${program}`));
    assert.equal(await readFile(join(root, ...program.split('/')), 'utf8'), edited);
    const state = JSON.parse(await readFile(join(root, '.servicepack', 'state.json'), 'utf8')) as State;
    assert.deepEqual(state.keptModified, [program]);
    assert.equal(state.level, 6);
    assert.equal((await servicepack(['verify', '--root', root])).code, 0);
  });
});

describe('an edited config file', () => {
  test('is never overwritten: the new default lands beside it as .spnew, and the summary says so', async (t) => {
    if (!config) {
      t.skip('the SP6 pack ships no changed config file');
      return;
    }
    const root = await installationFrom('rtm-x86');
    const confPath = join(root, ...config.split('/'));
    await appendFile(confPath, '\n# MaxConnections tuned by the admin\nMaxConnections = 250\n');
    const mine = await readFile(confPath, 'utf8');
    const r = await servicepack(['install', '--accept-eula', '--root', root, '-u', pack('sp6-x86')]);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      new RegExp(`new config defaults written beside your changed files: ${config}\\.spnew \\(merge them by hand\\)`),
    );
    assert.match(
      r.err,
      new RegExp(`${config} was changed here and is kept; the new default is written beside it as ${config}\\.spnew`),
    );
    assert.equal(await readFile(confPath, 'utf8'), mine, 'the admin file is untouched');
    assert.equal(
      await readFile(`${confPath}.spnew`, 'utf8'),
      await readFile(join(tree('sp6-x86'), ...config.split('/')), 'utf8'),
      '.spnew is the new default',
    );
    assert.deepEqual(
      digestDiff(await digest(root), await digest(tree('sp6-x86'))),
      [config, `${config}.spnew`].sort(),
      'everything else is SP6',
    );
    assert.equal((await servicepack(['verify', '--root', root])).code, 0, 'the record knows both');

    assert.equal((await servicepack(['uninstall', '--root', root, '-u'])).code, 0);
    assert.ok(!existsSync(`${confPath}.spnew`), 'uninstall removes the .spnew');
    assert.equal(await readFile(confPath, 'utf8'), mine);
    assert.deepEqual(digestDiff(await digest(root), await digest(tree('rtm-x86'))), [config]);
  });
});
