/**
 * A small fleet's facts for the report tests, made the way an operator makes them: `servicepack
 * facts --json` on copies of the release trees (one of them serviced and then edited by hand),
 * with and without the built feed, one `<host>.json` per host in a folder.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHAIN } from './chain.js';
import { installationFrom, pack, repo, requireBuild, servicepack, tempFolders } from './servicepack.js';

export const FEED = join(repo, 'dist', 'feed');

/** What each host is, and what its row must say. */
export const FLEET = {
  /** SP5 + Q236565 against the feed: SP6a missing, a security update */
  'web01.example.net': { tree: 'sp5-q236565-x86', feed: true },
  /** the newest level of the feed: up to date */
  'web02.example.net': { tree: `sp6a-${CHAIN.map((id) => id.toLowerCase()).join('-')}-x86`, feed: true },
  /** facts gathered without a feed: nobody knows what is missing */
  'alpha-1': { tree: 'rtm-alpha', feed: false },
  /** RTM, SP6 installed by servicepack, then a file edited by hand: inconsistent, a last change */
  db01: { tree: 'rtm-x86', feed: true, install: 'sp6-x86', edit: 'lib/mime.js' },
} as const;

export type Host = keyof typeof FLEET;

/** Writes `<dir>/<host>.json` for every host of FLEET (or a new temp folder) and returns the folder. */
export async function fleetFacts(dir?: string): Promise<string> {
  requireBuild([join(FEED, 'index.json')]);
  const out = dir ?? (await mkdtemp(join(tmpdir(), 'sp-facts-')));
  if (dir === undefined) tempFolders().push(out);
  await mkdir(out, { recursive: true });
  await Promise.all(
    Object.entries(FLEET).map(async ([host, h]) => {
      const root = await installationFrom(h.tree);
      if ('install' in h) {
        const r = await servicepack([
          'install',
          '--root',
          root,
          '-u',
          '--accept-eula',
          '--no-health-check',
          pack(h.install),
        ]);
        assert.ok(r.code === 0 || r.code === 10, r.err);
        await writeFile(join(root, ...h.edit.split('/')), '// edited by hand\n', { flag: 'a' });
      }
      const r = await servicepack(['facts', '--root', root, '--json', ...(h.feed ? ['--feed', FEED] : [])]);
      assert.equal(r.code, 0, `${host}: ${r.err}`);
      await writeFile(join(out, `${host}.json`), r.out);
    }),
  );
  return out;
}
