import { type FactsDocument, factsDocument } from '../fleet/facts.js';
import { queryInstallation } from '../installation/query.js';
import { checkUpdates, type FeedForTargetOptions } from './updates.js';

/**
 * `servicepack facts` (docs/cli.md): one installation's facts for a configuration engine (the
 * Ansible module servicepack_facts) and for the compliance report. Read-only as query and check
 * are (an open transaction: exit 5/6; a feed's new version is remembered, as check does), and
 * made of their answers, so facts, query and check never disagree about a level or an update.
 */
export interface FactsOptions extends FeedForTargetOptions {
  /** a feed to compare with: its updates, `latest` and whether the installation is up to date */
  feed?: string;
}

export async function collectFacts(root: string, opts: FactsOptions = {}): Promise<FactsDocument> {
  const { feed, ...feedOpts } = opts;
  const q = await queryInstallation(root);
  const check = feed === undefined ? undefined : await checkUpdates(root, feed, feedOpts);
  return factsDocument(q, check, opts.now ?? new Date());
}
