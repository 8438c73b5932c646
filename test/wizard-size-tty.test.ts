/**
 * The wizard never draws taller or wider than the terminal, and never hides what it cannot fit:
 * at 60×20, 80×24 and 120×40 (tmux) every screen keeps its frame (title on the first row, key bar
 * on the last), what overflows scrolls with the keys shown, the license text read through to its
 * end is the document's text word for word, and a terminal too small says how large it must be.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cleanup, ensureTmux, keys, packsDir, rtmCopy, settled, start, stop, tmux, waitScreen } from './wizard-tmux.js';

const SIZES = [
  { columns: 60, rows: 20 },
  { columns: 80, rows: 24 },
  { columns: 120, rows: 40 },
];

/** The frame is whole: nothing scrolled off the top, nothing wider than the terminal, the key bar last. */
function assertFrame(s: string, size: { columns: number; rows: number }): string[] {
  const lines = s.replace(/\n$/, '').split('\n');
  assert.ok(lines.length <= size.rows, `${lines.length} rows on a ${size.rows}-row terminal:\n${s}`);
  for (const l of lines) assert.ok([...l].length <= size.columns, `a row wider than ${size.columns}: ${l}`);
  assert.match(lines[0] ?? '', /Service Pack Setup +servicepack$/, `the title row is the first:\n${s}`);
  const rules = lines.flatMap((l, i) => (/^─+$/.test(l) ? [i] : []));
  assert.equal(rules.length, 2, `two rules around the screen:\n${s}`);
  assert.equal(rules[0], 2);
  const bar = lines.slice(rules[1]! + 1).filter((l) => l.trim() !== '');
  assert.ok(bar.length >= 1 && bar.every((l) => /\S+ \S/.test(l)), `the key bar after the screen:\n${s}`);
  assert.match(bar.join(' · '), /Cancel|Close/, `every key shown, the last one too:\n${s}`);
  return lines.slice(3, rules[1]);
}

/** Pages the screen through with PgDn while it says there is more, checking the frame on each page. */
async function readAll(size: { columns: number; rows: number }): Promise<string> {
  const pages: string[] = [];
  for (let i = 0; i < 30; i++) {
    const s = await settled();
    pages.push(assertFrame(s, size).join('\n'));
    if (!/PgDn more below/.test(s)) return pages.join('\n');
    const rows = /rows (\d+)–/.exec(s)?.[1];
    await keys('PageDown');
    await waitScreen((x) => /rows (\d+)–/.exec(x)?.[1] !== rows);
  }
  throw new Error('still more below after 30 pages');
}

const words = (t: string) => t.split(/\s+/).filter((w) => w !== '');

before(ensureTmux);
after(cleanup);

describe('the wizard fits the terminal (tmux)', () => {
  for (const size of SIZES) {
    test(`at ${size.columns}×${size.rows} no screen is cut or overwritten: the not-applicable list and the license text are all there`, async () => {
      const root = await rtmCopy();
      const all = readdirSync(packsDir).filter((f) => f.endsWith('.tgz'));
      const refused = all.filter((f) => f.includes('alpha') || f.includes('q236565'));
      assert.ok(refused.length >= 8, 'the build has alpha packs and a hotfix for SP5 to refuse');
      const eula = spawnSync('tar', ['-xzOf', join(packsDir, 'inetsrv-4.0-sp6-x86.tgz'), 'EULA.txt'], {
        encoding: 'utf8',
      }).stdout;
      assert.ok(eula.length > 200);
      try {
        start(['install', '--root', root, '--packs', packsDir], size);
        await waitScreen('Welcome to Service Pack Setup.');
        const welcome = await readAll(size);
        assert.match(welcome.replace(/\s+/g, ' '), /cancel \(q\) at any time\./);

        await keys('Enter');
        await waitScreen('was found in');
        assertFrame(await settled(), size);
        await keys('Enter');
        await waitScreen('Choose the update to');
        await waitScreen(/rows \d+–|Not applicable/);
        const update = await readAll(size);
        assert.match(update, /Not applicable here/);
        for (const f of refused) assert.ok(update.includes(f), `${f} is listed as not applicable:\n${update}`);
        assert.match(update.replace(/\s+/g, ' '), /Q153207 304 Not Modified response announces Content-Length 0/);

        await keys('Enter');
        await waitScreen('License agreement:');
        let s = await settled();
        const shown = new Map<number, string>();
        for (let page = 0; ; page++) {
          assert.ok(page < 40, 'the license ends within 40 pages');
          assertFrame(s, size);
          const m = /lines (\d+)–(\d+) of (\d+)|(\d+) lines/.exec(s);
          assert.ok(m, `the license says where it is:\n${s}`);
          const from = m[1] ? Number(m[1]) : 1;
          const to = m[2] ? Number(m[2]) : Number(m[4]);
          const total = m[3] ? Number(m[3]) : Number(m[4]);
          const box = s.split('\n').flatMap((l) => {
            const r = /│ (.*?) *│\s*$/.exec(l);
            return r ? [r[1]!] : [];
          });
          assert.ok(box.length >= to - from + 1, `rows ${from}–${to} shown:\n${s}`);
          assert.ok(
            box.slice(to - from + 1).every((l) => l.trim() === ''),
            `nothing after the last line:\n${s}`,
          );
          for (const [i, l] of box.slice(0, to - from + 1).entries()) shown.set(from + i, l);
          if (to >= total) break;
          await keys('PageDown');
          await waitScreen((x) => !x.includes(`lines ${from}–`));
          s = await settled();
        }
        const text = [...shown.entries()]
          .sort((a, b) => a[0] - b[0])
          .map(([, l]) => l)
          .join('\n');
        assert.deepEqual(words(text), words(eula), 'the license shown is the document, word for word');

        await keys('Space', 'Enter');
        await waitScreen('Options for');
        const options = await readAll(size);
        assert.match(options.replace(/\s+/g, ' '), /Enter installs the update now\./);
        // every choice is shown, none cut at the edge
        for (const shown of [
          /\(•\) stop/,
          / overwrite/,
          /\( \) keep/,
          /Back up the replaced files\s+(off: -n\s+)?\(for/,
        ])
          assert.match(options, shown);
        await keys('q', 'y');
        await waitScreen('[exit 1]');
      } finally {
        stop();
      }
    });
  }

  test('a terminal too small says how large it must be, and the wizard goes on once it is', async () => {
    const root = await rtmCopy();
    try {
      start(['install', '--root', root, join(packsDir, 'inetsrv-4.0-sp6-x86.tgz')], { columns: 40, rows: 12 });
      const s = await waitScreen(/Enlarge the terminal to at least \d+×\d+\s+\(it is 40×12\)/);
      for (const l of s.split('\n')) assert.ok([...l].length <= 40);
      tmux('resize-window', '-t', 'wizard', '-x', '80', '-y', '24');
      await waitScreen('Welcome to Service Pack Setup.');
      assertFrame(await settled(), { columns: 80, rows: 24 });
      await keys('q', 'y');
      await waitScreen('[exit 1]');
    } finally {
      stop();
    }
  });
});
