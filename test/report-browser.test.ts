/**
 * The compliance report's page as a browser shows it (issue 19, item 4): Chromium from Debian's
 * packages (scripts/ensure-chromium.sh installs it when missing; the test fails, never skips, when
 * it cannot) opens the page headless, and the test reads the DOM it rendered: the rows, the
 * security marks, the summary, and no script, not even the one a hostile facts value carried.
 * Then a screenshot, which must be a real picture of the page.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { fleetFacts } from './support/facts.js';
import { repo, servicepack, tempFolders } from './support/servicepack.js';

after(async () => {
  for (const d of tempFolders()) await rm(d, { recursive: true, force: true });
});

function findChromium(): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter).concat(['/usr/bin']))
    for (const name of ['chromium', 'chromium-browser'])
      if (dir !== '' && existsSync(join(dir, name))) return join(dir, name);
  return undefined;
}

function ensureChromium(): string {
  let bin = findChromium();
  if (bin) return bin;
  const script = join(repo, 'scripts', 'ensure-chromium.sh');
  const r = spawnSync('sh', [script], { encoding: 'utf8', timeout: 900_000 });
  bin = findChromium();
  if (!bin)
    throw new Error(
      `Chromium is required for the report's browser test and ${script} could not install it (exit ${r.status}${r.error ? `, ${r.error.message}` : ''}):\n${(r.stderr ?? '').slice(-2000)}`,
    );
  return bin;
}

interface Ran {
  code: number | null;
  out: string;
  err: string;
}

/**
 * One headless Chromium run with its own profile, home and caches in `work`, in its own process
 * group: on timeout the whole group (the browser and the helpers it forked) is killed by its pid.
 */
function chromium(bin: string, work: string, args: string[], timeoutMs = 90_000): Promise<Ran> {
  return new Promise((res, rej) => {
    const child = spawn(
      bin,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-extensions',
        '--disable-background-networking',
        '--disable-dev-shm-usage',
        `--user-data-dir=${join(work, 'profile')}`,
        ...args,
      ],
      {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: work,
          XDG_CONFIG_HOME: join(work, 'config'),
          XDG_CACHE_HOME: join(work, 'cache'),
        },
      },
    );
    let out = '';
    let err = '';
    const killGroup = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      err += `\n(killed after ${timeoutMs} ms)`;
      killGroup();
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      rej(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      // helpers that outlive the browser (a zygote) go with it
      killGroup();
      res({ code, out, err });
    });
  });
}

const ENTITY: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", nbsp: '\u00a0' };
/** The text a cell shows: tags dropped, entities decoded (the ones a serialized DOM uses). */
function textOf(fragment: string): string {
  return fragment.replace(/<[^>]*>/g, '').replace(/&(amp|lt|gt|quot|#39|nbsp);/g, (_, e: string) => ENTITY[e]!);
}

const EVIL_PRODUCT = '<script>document.title="pwned"</script>inetsrv';
const EVIL_UPDATE = '</td><img src=x onerror="document.title=\'pwned\'">sp6a';

let bin: string;
let page: string;
let work: string;

before(async () => {
  bin = ensureChromium();
  work = await mkdtemp(join(tmpdir(), 'sp-report-browser-'));
  tempFolders().push(work);
  const facts = await fleetFacts(join(work, 'facts'));
  // one host's facts carry markup: the browser must show it as text and run none of it
  const file = join(facts, 'web01.example.net.json');
  const doc = JSON.parse(await readFile(file, 'utf8')) as { product: string; updates: { id: string }[] };
  doc.product = EVIL_PRODUCT;
  doc.updates[0]!.id = EVIL_UPDATE;
  await writeFile(file, JSON.stringify(doc));
  page = join(work, 'compliance.html');
  const r = await servicepack(['report', '--facts', facts, '--html', page]);
  assert.equal(r.code, 0, r.err);
});

test('Chromium renders the rows, the security marks and the summary, and no script, not even a hostile value’s', async () => {
  const r = await chromium(bin, work, ['--dump-dom', pathToFileURL(page).href]);
  assert.equal(r.code, 0, r.err.slice(-2000));
  const dom = r.out;
  assert.match(dom, /<title>Service pack compliance report<\/title>/, 'no script changed the title');
  assert.equal(/<script/i.test(dom), false, 'no script element in the rendered DOM');
  assert.equal(/<img/i.test(dom), false, 'no element made from a value');

  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(dom)?.[1] ?? '';
  const rows = [...body.matchAll(/<tr([^>]*)>([\s\S]*?)<\/tr>/g)].map((m) => ({
    security: /class="security-missing"/.test(m[1]!),
    cells: [...m[2]!.matchAll(/<td>([\s\S]*?)<\/td>/g)].map((c) => textOf(c[1]!)),
  }));
  assert.deepEqual(
    rows.map((x) => [x.cells[0], x.cells.length, x.security]),
    [
      ['alpha-1', 8, false],
      ['db01', 8, true],
      ['web01.example.net', 8, true],
      ['web02.example.net', 8, false],
    ],
  );
  const web01 = rows[2]!.cells;
  assert.equal(web01[1], EVIL_PRODUCT, 'the markup is shown as text');
  assert.equal(web01[5], `${EVIL_UPDATE} [security]`);
  assert.equal(web01[3], 'Service Pack 5');
  assert.equal(web01[4], 'Q236565');
  const db01 = rows[1]!.cells;
  assert.equal(db01[5], 'inetsrv-4.0-sp6a [security]');
  assert.match(db01[6]!, /^no \(\d+ problems\)$/);
  assert.match(db01[7]!, /install inetsrv-4\.0-sp6$/);
  assert.equal(rows[3]!.cells[5], 'none: up to date');
  assert.equal(rows[0]!.cells[5], 'unknown (no feed)');
  // the marks a reader sees: the security updates in their own style, two of them
  assert.equal([...body.matchAll(/<span class="security"/g)].length, 2);
  assert.match(
    textOf(/<p class="summary"[^>]*>([\s\S]*?)<\/p>/.exec(dom)?.[1] ?? ''),
    /^4 hosts, 1 up to date, 2 missing security updates, 1 inconsistent, 1 without a feed to compare with$/,
  );
});

test('Chromium’s screenshot of the page is a real picture', async () => {
  const png = join(work, 'compliance.png');
  const r = await chromium(bin, work, ['--window-size=1280,800', `--screenshot=${png}`, pathToFileURL(page).href]);
  assert.equal(r.code, 0, r.err.slice(-2000));
  const bytes = await readFile(png);
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
  assert.equal(bytes.readUInt32BE(16), 1280);
  assert.equal(bytes.readUInt32BE(20), 800);
  // a blank 1280×800 page compresses to a few KiB; the table, text and coloured rows do not
  assert.ok(bytes.length > 15_000, `${bytes.length} bytes: the page did not render`);
});
