/**
 * Errors a person can act on (issue 15): a file that is no pack, a tar that is no servicepack pack,
 * another product's BUILDINFO.json, and packs named in an order that cannot work. The codes and
 * exit codes are the ones they always were; the messages say what the file is and what to do.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { run as runCli } from '../installer/src/cli.js';
import { captureIo } from '../installer/test/capture-io.js';
import { rawTar } from '../packages/core/test/pack-helpers.js';
import { distPacks, requireBuild, snapshot, Temps } from './support/unattended.js';

const pack = (name: string) => join(distPacks, `inetsrv-4.0-${name}-x86.tgz`);

async function cli(args: string[]): Promise<{ code: number; out: string; err: string; doc: Record<string, unknown> }> {
  const { io, output } = captureIo({ PATH: process.env['PATH'] ?? '' });
  const code = await runCli(['node', 'servicepack', ...args, '--json'], io);
  const o = output();
  return { code, ...o, doc: JSON.parse(o.out) as Record<string, unknown> };
}

describe('errors a person can act on', () => {
  const temps = new Temps();
  let work: string;
  before(async () => {
    requireBuild();
    work = await temps.dir('sp-actionable-');
  });
  after(() => temps.cleanup());

  test('a file that is not gzip: "not a gzip file", what it seems to be and what a pack is (was: "not a complete gzip file … download again")', async () => {
    const root = await temps.installation('rtm-x86');
    const before = await snapshot(root);
    const files: [string, Buffer, RegExp][] = [
      ['notes.tgz', Buffer.from('these are my notes\n'), /\(it is text\)/],
      ['plain-tar.tgz', rawTar([{ name: 'servicepack.json', data: '{}' }]), /\(it is an uncompressed tar\)/],
      ['archive.tgz', Buffer.from('PK\x03\x04\x14\x00\x00\x00', 'latin1'), /\(it is a zip archive\)/],
      ['empty.tgz', Buffer.alloc(0), /\(it is empty\)/],
    ];
    for (const [name, bytes, seems] of files) {
      const file = join(work, name);
      await writeFile(file, bytes);
      const r = await cli(['install', '--root', root, '-u', file]);
      assert.equal(r.code, 4, `${name}: ${r.out}`);
      assert.equal(r.doc['code'], 'E_CORRUPT_ARCHIVE', name);
      const message = String(r.doc['message']);
      assert.ok(message.startsWith(`${file} is not a gzip file`), message);
      assert.match(message, seems, name);
      assert.match(
        message,
        /a servicepack pack is a gzip-compressed tar \(\.tgz\) whose first entry is its signed manifest servicepack\.json/,
      );
      assert.doesNotMatch(message, /complete gzip|download or copy/, name);
    }
    // a real pack cut short is still a damaged pack: download it again
    const cut = join(work, 'cut.tgz');
    const { readFile } = await import('node:fs/promises');
    const whole = await readFile(pack('sp1'));
    await writeFile(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    const r = await cli(['install', '--root', root, '-u', '--accept-eula', cut]);
    assert.equal(r.code, 4);
    assert.match(String(r.doc['message']), /download or copy the pack again/);
    assert.deepEqual(await snapshot(root), before);
  });

  test('a tar.gz that is not a servicepack pack: "not a servicepack pack (no manifest …)" naming what is there (was: "not a valid pack" / "entry the installer refuses … download again")', async () => {
    const root = await temps.installation('rtm-x86');
    const cases: [string, Buffer, RegExp][] = [
      ['photos.tgz', gzipSync(rawTar([{ name: 'a.txt', data: 'x\n' }])), /its first entry is "a\.txt", a file/],
      [
        'gnu.tgz',
        gzipSync(rawTar([{ name: 'a.txt', data: 'x\n', magic: 'ustar  \0' }])),
        /its first header is refused: not a POSIX ustar header/,
      ],
      ['nothing.tgz', gzipSync(rawTar([])), /the archive is empty/],
    ];
    for (const [name, bytes, why] of cases) {
      const file = join(work, name);
      await writeFile(file, bytes);
      const r = await cli(['install', '--root', root, '-u', file]);
      assert.equal(r.code, 4, `${name}: ${r.out}`);
      assert.equal(r.doc['code'], 'E_CORRUPT_ARCHIVE', name);
      const message = String(r.doc['message']);
      assert.ok(
        message.startsWith(`${file} is not a servicepack pack (no manifest servicepack.json as its first entry: `),
        message,
      );
      assert.match(message, why, name);
      assert.doesNotMatch(message, /download or copy|do not use this pack/, name);
    }
  });

  test('a BUILDINFO.json of another product: "this is nginx 1.25.3, not inetsrv" (was: the schema\'s list of missing fields)', async () => {
    const root = await temps.dir('sp-nginx-');
    await writeFile(join(root, 'BUILDINFO.json'), JSON.stringify({ name: 'nginx', version: '1.25.3', commit: 'abc' }));
    for (const args of [['query'], ['verify'], ['install', '-u', pack('sp1')]]) {
      const r = await cli([...args, '--root', root]);
      assert.equal(r.code, 2, `${args[0]}: ${r.out}`);
      assert.equal(r.doc['code'], 'E_INVALID_BUILDINFO');
      const message = String(r.doc['message']);
      assert.match(
        message,
        /BUILDINFO\.json is not the record of inetsrv: this is nginx 1\.25\.3, not inetsrv; this folder holds another product: give the folder inetsrv is installed in$/,
      );
      assert.doesNotMatch(message, /expected|Invalid input|✖/);
    }
    assert.ok(!existsSync(join(root, '.servicepack')), "nothing written into another product's folder");
    // our own record, damaged, still lists what is wrong with it
    await writeFile(join(root, 'BUILDINFO.json'), JSON.stringify({ product: 'inetsrv', version: '4.0.0' }));
    const own = await cli(['query', '--root', root]);
    assert.equal(own.code, 2);
    assert.match(String(own.doc['message']), /is not a valid BUILDINFO record \(.*displayName/);
  });

  test('packs named in an order that cannot work: the other pack of the command is named (was: "installed here", "install Service Pack 5 first")', async () => {
    const root = await temps.installation('sp4-x86');
    const before = await snapshot(root);
    const cases: [string[], string, RegExp][] = [
      [
        ['sp6', 'sp5-q236565'],
        'E_SUPERSEDED',
        /^Service Pack 6 in this command \(inetsrv-4\.0-sp6-x86\.tgz\) supersedes hotfix Q236565: .*leave inetsrv-4\.0-sp5-q236565-x86\.tgz out and run again$/,
      ],
      [
        ['sp5-q236565', 'sp5'],
        'E_WRONG_LEVEL',
        /^Q236565 is for Service Pack 5, which inetsrv-4\.0-sp5-x86\.tgz later in this command brings: put inetsrv-4\.0-sp5-x86\.tgz before inetsrv-4\.0-sp5-q236565-x86\.tgz and run again$/,
      ],
      [
        ['sp5-q236565', 'sp6'],
        'E_WRONG_LEVEL',
        /^Service Pack 6 later in this command \(inetsrv-4\.0-sp6-x86\.tgz\) supersedes hotfix Q236565: it includes the fix; leave inetsrv-4\.0-sp5-q236565-x86\.tgz out/,
      ],
      [
        ['sp6', 'sp5'],
        'E_DOWNGRADE',
        /^Service Pack 6 in this command \(inetsrv-4\.0-sp6-x86\.tgz\) already includes everything inetsrv-4\.0-sp5-x86\.tgz brings: leave inetsrv-4\.0-sp5-x86\.tgz out/,
      ],
    ];
    for (const [names, code, message] of cases) {
      const r = await cli(['install', '--root', root, '-u', '--accept-eula', ...names.map(pack)]);
      assert.equal(r.code, 3, `${names.join(' ')}: ${r.out}`);
      assert.equal(r.doc['code'], code, names.join(' '));
      assert.match(String(r.doc['message']), message, names.join(' '));
      assert.doesNotMatch(String(r.doc['message']), /installed here|install Service Pack 5 first/);
    }
    assert.deepEqual(await snapshot(root), before);
    // alone, the hotfix on SP4 keeps its advice, and the right order installs
    const alone = await cli(['install', '--root', root, '-u', '--accept-eula', pack('sp5-q236565')]);
    assert.match(
      String(alone.doc['message']),
      /install Service Pack 5 first, or Service Pack 6, which includes the fix/,
    );
    const right = await cli(['install', '--root', root, '-u', '--accept-eula', pack('sp5'), pack('sp5-q236565')]);
    assert.equal(right.code, 0, right.out);
  });
});
