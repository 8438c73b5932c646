import { identifyByCatalog } from '../feed/catalog.js';
import { loadCatalog } from '../feed/client.js';
import { BUILDINFO_FILE } from '../installation/names.js';
import { checkServicepackDir } from '../installation/servicepack-dir.js';
import { levelName } from '../rules/level.js';
import { ServicepackError } from '../support/errors.js';
import { assertNoOpenTransaction } from '../transaction/open-transaction.js';
import { type FeedForTargetOptions, openFeedForTarget } from './updates.js';
import { compareWithCatalog, type VerifyResult } from './verify.js';

/**
 * `servicepack verify --feed URL`: a tree checked against the vendor's catalog rather than a state
 * record, so that a release tree servicepack never touched can be verified (rpm -V against the
 * package database). The feed is opened exactly as `check` and `install --feed` open it
 * (openFeedForTarget: the installation's trust folder plus --trust, revocations, expiry, the
 * rollback floor), and the catalog is used only as pinned by that signed index.
 */
export async function verifyAgainstFeed(
  root: string,
  source: string,
  opts: FeedForTargetOptions = {},
): Promise<VerifyResult> {
  checkServicepackDir(root);
  // Half-moved files would be reported as damage: an open transaction is settled first.
  await assertNoOpenTransaction(root);
  const t = await openFeedForTarget(root, source, opts);
  const catalog = await loadCatalog(t.feed, opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {});
  const inst = t.installation;
  const feed = { feed: t.feed.url, feedVersion: t.feed.index.version };
  // The release the tree says it is (BUILDINFO.json), as rpm -V takes the package name from its database.
  const bi = inst.buildInfo;
  const claim = `${bi.product} ${bi.version} ${bi.arch} ${levelName(bi.level, bi.hotfixes)}`;
  const claimed = catalog.releases.find(
    (r) =>
      r.version === bi.version &&
      r.arch === bi.arch &&
      r.level === bi.level &&
      r.hotfixes.length === bi.hotfixes.length &&
      r.hotfixes.every((h) => bi.hotfixes.includes(h)),
  );
  if (claimed) return compareWithCatalog(inst, claimed, feed);
  // An edited BUILDINFO.json claims a release that never shipped: the other files still say which one it is.
  const best = identifyByCatalog(inst.files, catalog);
  if (!best) {
    throw new ServicepackError(
      'E_INCONSISTENT',
      `${inst.root}: ${BUILDINFO_FILE} says ${claim}, which the catalog of ${feed.feed} does not list, and no file of the tree is in any release it lists: compare the tree with its own vendor's feed`,
      { root: inst.root, feed: feed.feed },
    );
  }
  const v = compareWithCatalog(inst, catalog.releases.find((r) => r.name === best.best.name)!, feed);
  v.problems.unshift({
    path: BUILDINFO_FILE,
    kind: 'buildinfo',
    flags: 'record',
    message: `it says ${claim}, a release the catalog does not list; compared with ${best.best.name}, which ${best.matching} of its ${best.total} files match`,
  });
  return { ...v, clean: false };
}
