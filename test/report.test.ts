/**
 * `servicepack report` (issue 19, item 4): the compliance report over a folder of facts documents,
 * as a table, as JSON and as an HTML page. The facts are made by `servicepack facts` on copies of
 * the release trees and the built feed (test/support/facts.ts), never written by hand, except
 * where a test spoils one on purpose: the files come from other machines and are hostile.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FACTS_FILE_MAX_BYTES } from '../packages/core/src/fleet/report.js';
import { CHAIN } from './support/chain.js';
import { fleetFacts } from './support/facts.js';
import { servicepack, tempFolders } from './support/servicepack.js';

after(async () => {
  for (const d of tempFolders()) await rm(d, { recursive: true, force: true });
});

async function temp(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  tempFolders().push(d);
  return d;
}

interface Row {
  host: string;
  level: number;
  levelBase: string;
  missing: { id: string; security: boolean }[];
  upToDate: boolean | null;
  consistent: boolean;
  lastChange: { action: string; ids: string[] } | null;
}
interface ReportDoc {
  ok: boolean;
  code?: string;
  exitCode?: number;
  rows: Row[];
  summary: Record<string, number>;
  unreadable: { file: string; code: string; message: string }[];
}

async function report(args: string[], code: number): Promise<{ out: string; err: string }> {
  const r = await servicepack(['report', ...args]);
  assert.equal(r.code, code, `report ${args.join(' ')}: ${r.err}${r.out}`);
  return r;
}

describe('the report over facts of several hosts', () => {
  let facts: string;
  before(async () => {
    facts = await fleetFacts();
  });

  test('the table: one row per host sorted by host, security updates marked, consistency and the last change, the summary', async () => {
    const { out } = await report(['--facts', facts], 0);
    const lines = out.trimEnd().split('\n');
    assert.match(lines[0]!, /^host\s+product\s+arch\s+level\s+hotfixes\s+missing updates\s+consistent\s+last change$/);
    assert.deepEqual(
      lines.slice(1, 5).map((l) => l.split(/\s+/)[0]),
      ['alpha-1', 'db01', 'web01.example.net', 'web02.example.net'],
    );
    const row = (host: string): string => lines.find((l) => l.startsWith(`${host} `))!;
    assert.match(
      row('web01.example.net'),
      /inetsrv\s+x86\s+Service Pack 5\s+Q236565\s+inetsrv-4\.0-sp6a \[security\]\s+yes\s+never$/,
    );
    const [first, second] = CHAIN;
    assert.match(
      row('web02.example.net'),
      new RegExp(`Service Pack 6a\\s+${first}, ${second}, … \\(${CHAIN.length} in all\\)\\s+-\\s+yes\\s+never$`),
    );
    assert.match(row('alpha-1'), /inetsrv\s+alpha\s+RTM\s+-\s+unknown \(no feed\)\s+yes\s+never$/);
    assert.match(
      row('db01'),
      /Service Pack 6\s+-\s+inetsrv-4\.0-sp6a \[security\]\s+no \(\d+\)\s+\d{4}-\d\d-\d\d \d\d:\d\dZ install inetsrv-4\.0-sp6$/,
    );
    // the columns line up: every row's "missing updates" starts where the header's does
    const col = lines[0]!.indexOf('missing updates');
    for (const l of lines.slice(1, 5)) assert.notEqual(l.slice(col, col + 1), ' ', l);
    assert.equal(
      lines.at(-1),
      '4 hosts, 1 up to date, 2 missing security updates, 1 inconsistent, 1 without a feed to compare with',
    );
  });

  test('--json: the rows and the summary', async () => {
    const doc = JSON.parse((await report(['--facts', facts, '--json'], 0)).out) as ReportDoc;
    assert.equal(doc.ok, true);
    assert.deepEqual(doc.summary, {
      hosts: 4,
      upToDate: 1,
      missingSecurity: 2,
      unknown: 1,
      inconsistent: 1,
      unreadable: 0,
    });
    const web01 = doc.rows.find((r) => r.host === 'web01.example.net')!;
    assert.deepEqual(
      web01.missing.map((m) => [m.id, m.security]),
      [['inetsrv-4.0-sp6a', true]],
    );
    const db01 = doc.rows.find((r) => r.host === 'db01')!;
    assert.deepEqual(db01.lastChange && { action: db01.lastChange.action, ids: db01.lastChange.ids }, {
      action: 'install',
      ids: ['inetsrv-4.0-sp6'],
    });
    assert.equal(db01.consistent, false);
    assert.equal(doc.rows.find((r) => r.host === 'alpha-1')!.upToDate, null);
  });

  test('--html: a self-contained page, the security rows marked, written whole with no temp file left', async () => {
    const outDir = await temp('sp-report-html-');
    const page = join(outDir, 'compliance.html');
    await report(['--facts', facts, '--html', page], 0);
    const html = await readFile(page, 'utf8');
    assert.match(html, /^<!DOCTYPE html>/);
    assert.match(html, /<title>Service pack compliance report<\/title>/);
    assert.match(html, /Generated <time datetime="\d{4}-\d\d-\d\dT/);
    assert.ok(!/<script|<link|<img|src=|href=/i.test(html), 'nothing loaded, nothing run');
    const rows = [...html.matchAll(/<tr( class="security-missing")? data-host="([^"]+)">/g)].map((m) => [
      m[2],
      m[1] !== undefined,
    ]);
    assert.deepEqual(rows, [
      ['alpha-1', false],
      ['db01', true],
      ['web01.example.net', true],
      ['web02.example.net', false],
    ]);
    assert.match(html, /<span class="security"[^>]*>inetsrv-4\.0-sp6a \[security\]<\/span>/);
    assert.match(html, /4 hosts, 1 up to date, 2 missing security updates/);
    assert.deepEqual(await readdir(outDir), ['compliance.html']);
    assert.equal((await lstat(page)).mode & 0o777, 0o644);
  });

  test('--html at a symbolic link replaces the link and never writes through it', async () => {
    const outDir = await temp('sp-report-link-');
    const victim = join(outDir, 'victim.txt');
    await writeFile(victim, 'precious\n');
    const page = join(outDir, 'report.html');
    await symlink(victim, page);
    await report(['--facts', facts, '--html', page], 0);
    assert.equal(await readFile(victim, 'utf8'), 'precious\n');
    assert.ok((await lstat(page)).isFile());
    assert.match(await readFile(page, 'utf8'), /web01\.example\.net/);
  });
});

describe('hostile facts files', () => {
  let good: string;
  before(async () => {
    good = await fleetFacts();
  });

  async function copyOfGood(): Promise<string> {
    const dir = await temp('sp-report-hostile-');
    for (const f of await readdir(good)) await writeFile(join(dir, f), await readFile(join(good, f)));
    return dir;
  }

  test('script tags and control characters in values: escaped in the table, the JSON keeps them, the page runs nothing', async () => {
    const dir = await copyOfGood();
    const file = join(dir, 'web01.example.net.json');
    const doc = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown> & {
      updates: { id: string; title: string }[];
      hotfixes: string[];
    };
    const evil = '<script>alert(1)</script>\x1b[31m\nforged row\r\u202e';
    doc['product'] = evil;
    doc['levelName'] = `"><img src=x onerror=alert(1)>`;
    doc.hotfixes = [`Q1<b>${'\x07'}`];
    doc.updates[0]!.id = `</td><script>document.title='pwned'</script>`;
    doc.updates[0]!.title = `' onmouseover='alert(1)`;
    await writeFile(file, JSON.stringify(doc));

    const { out } = await report(['--facts', dir], 0);
    assert.ok(!/[\x00-\x08\x0b-\x1f\x7f\u202e]/.test(out), 'no raw control character reaches the terminal');
    const lines = out.trimEnd().split('\n');
    assert.equal(lines.length, 6, 'no forged line: header, 4 rows, summary');
    assert.ok(lines.some((l) => l.includes('<script>alert(1)</script>\\e[31m\\nforged row\\r\\u{202e}')));

    const json = JSON.parse((await report(['--facts', dir, '--json'], 0)).out) as { rows: { product: string }[] };
    assert.ok(json.rows.some((r) => r.product === evil));

    const page = join(dir, 'page.html');
    await report(['--facts', dir, '--html', page], 0);
    const html = await readFile(page, 'utf8');
    assert.ok(!/<script|<img|onmouseover='/i.test(html), 'no element or attribute from a value');
    assert.ok(html.includes('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;'));
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;\\e[31m\\nforged row\\r\\u{202e}'));
    assert.ok(html.includes('&lt;/td&gt;&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt; [security]'));
    assert.ok(html.includes('title="&#39; onmouseover=&#39;alert(1)"'));
  });

  test('oversized, malformed, not a facts document, a host’s failure, a bad name, a link, a FIFO: each refused with its code, the others reported, exit 2', async () => {
    const dir = await copyOfGood();
    const sample = await readFile(join(good, 'web01.example.net.json'), 'utf8');
    await writeFile(join(dir, 'huge.json'), sample.replace(/\s*$/, `${' '.repeat(FACTS_FILE_MAX_BYTES)}\n`));
    await writeFile(join(dir, 'torn.json'), sample.slice(0, 200));
    await writeFile(join(dir, 'other.json'), JSON.stringify({ ...JSON.parse(sample), level: 'six' }));
    await writeFile(
      join(dir, 'down.json'),
      JSON.stringify({ ok: false, code: 'E_NEEDS_RECOVER', exitCode: 6, message: 'run servicepack recover' }),
    );
    await writeFile(join(dir, 'x;rm -rf ~.json'), sample);
    const outside = await temp('sp-report-outside-');
    await writeFile(join(outside, 'secret.json'), sample);
    await symlink(join(outside, 'secret.json'), join(dir, 'linked.json'));
    const fifo = spawnSync('mkfifo', [join(dir, 'pipe.json')]);
    assert.equal(fifo.status, 0, String(fifo.stderr));
    await mkdir(join(dir, 'folder.json'));

    const r = await servicepack(['report', '--facts', dir, '--json'], { timeoutMs: 30_000 });
    assert.equal(r.code, 2, r.err);
    const doc = JSON.parse(r.out) as ReportDoc;
    assert.equal(doc.ok, false);
    assert.equal(doc.code, 'E_FACTS_UNREADABLE');
    assert.deepEqual(
      doc.unreadable.map((u) => [u.file, u.code]),
      [
        ['down.json', 'E_FACTS_HOST_FAILED'],
        ['folder.json', 'E_FACTS_NOT_FILE'],
        ['huge.json', 'E_FACTS_TOO_LARGE'],
        ['linked.json', 'E_FACTS_LINK'],
        ['other.json', 'E_FACTS_INVALID'],
        ['pipe.json', 'E_FACTS_NOT_FILE'],
        ['torn.json', 'E_FACTS_MALFORMED'],
        ['x;rm -rf ~.json', 'E_FACTS_BAD_NAME'],
      ],
    );
    assert.match(doc.unreadable.find((u) => u.file === 'other.json')!.message, /level/);
    assert.match(
      doc.unreadable.find((u) => u.file === 'down.json')!.message,
      /E_NEEDS_RECOVER: run servicepack recover/,
    );
    assert.deepEqual(
      doc.rows.map((x) => x.host),
      ['alpha-1', 'db01', 'web01.example.net', 'web02.example.net'],
    );
    assert.equal(doc.summary['unreadable'], 8);

    // the text report names them too, and still ends with the summary and the error line on stderr
    const t = await servicepack(['report', '--facts', dir], { timeoutMs: 30_000 });
    assert.equal(t.code, 2);
    assert.match(t.out, /^not read: linked\.json: E_FACTS_LINK: is a symbolic link/m);
    assert.match(t.out, /; 8 facts files could not be read\n$/);
    assert.match(t.err, /8 facts files in .* could not be read/);
  });

  test('no facts at all, or a folder that is a link: a usage error, exit 2', async () => {
    const empty = await temp('sp-report-empty-');
    const r = JSON.parse((await report(['--facts', empty, '--json'], 2)).out) as { code: string; message: string };
    assert.equal(r.code, 'E_USAGE');
    assert.match(r.message, /no <host>\.json files/);
    const link = join(await temp('sp-report-dirlink-'), 'facts');
    await symlink(good, link);
    const l = JSON.parse((await report(['--facts', link, '--json'], 2)).out) as { code: string; message: string };
    assert.match(l.message, /is a symbolic link/);
  });
});
