/**
 * The post-SP6a hotfix chain as patches/ defines it (docs/layout.md "Hotfix chains"), read once so
 * that tests name it from the series rather than from a copy of the list: a fix added to the chain
 * (as Q253405 was) changes every test's expectation with it.
 */
import { paths } from '../../packages/builder/src/paths.js';
import { isHotfixOnly, loadSeries } from '../../packages/builder/src/series.js';

const series = await loadSeries(paths.patches);

/** The hotfix-only fixes on SP6a (level 7), in series order: each requires the ones before it. */
export const CHAIN: readonly string[] = series.fixes
  .filter((f) => isHotfixOnly(f) && f.hotfix.baseLevel === 7)
  .map((f) => f.id);

/** Security Rollup 1 carries the first four, the security fixes (manifests/packs/srp1.yaml). */
export const SRP1_FIXES: readonly string[] = CHAIN.slice(0, 4);
