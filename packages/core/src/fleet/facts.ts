import { z } from 'zod';
import { ARCHES, PACK_KINDS } from '../rules/level.js';
import type { HealthCheckNote, QueryResult } from '../installation/query.js';
import type { HistoryEntry } from '../installation/state.js';
import type { CheckResult } from '../operations/updates.js';

/**
 * The facts document (docs/fleet.md "Facts"): what `servicepack facts --json` prints for one
 * installation, what the Ansible module hands back as `ansible_facts.servicepack`, and what
 * `servicepack report` reads back from a folder of them. One schema for writing and reading: a
 * facts file comes back from another machine, so every string and list has a bound and the
 * report takes nothing this schema does not name.
 */
export const FACTS_SCHEMA_VERSION = 1;

const text = z.string().max(4096);
const id = z.string().min(1).max(256);
const time = z.string().max(64);
const level = z.number().int().min(0).max(1000);
const ids = z.array(id).max(1000);

const HealthCheckSchema = z.strictObject({
  transactionId: id,
  time,
  packIds: ids,
  fromLevel: level,
  toLevel: level,
  passed: z.boolean(),
  rolledBack: z.boolean(),
  summary: text,
});

export const FactsUpdateSchema = z.strictObject({
  id,
  kind: z.enum(PACK_KINDS),
  title: text,
  /** any fix the update carries is a security fix (the signed index's `fixes[].security`) */
  security: z.boolean(),
});
export type FactsUpdate = z.infer<typeof FactsUpdateSchema>;

/** The change in effect last: the newest transaction whose packs went in (or came out) and stayed. */
export const LastChangeSchema = z.strictObject({
  at: time,
  action: z.enum(['install', 'uninstall', 'recover']),
  ids,
});
export type LastChange = z.infer<typeof LastChangeSchema>;

export const FactsDocumentSchema = z.strictObject({
  ok: z.literal(true),
  schema: z.literal(FACTS_SCHEMA_VERSION),
  collected: time,
  root: text,
  product: id,
  displayName: text,
  version: id,
  arch: z.enum(ARCHES),
  level,
  levelName: text,
  hotfixes: ids,
  rollups: z.array(z.strictObject({ id, name: text, fixes: ids })).max(1000),
  consistent: z.boolean(),
  /** how many problems `query` found (the problems themselves: `servicepack query` / `verify`) */
  problems: z.number().int().min(0),
  restartPending: z.boolean(),
  lastChange: LastChangeSchema.nullable(),
  lastHealthCheck: HealthCheckSchema.nullable(),
  feed: z.strictObject({ url: text, version: z.number().int().min(0), expires: time }).nullable(),
  updates: z.array(FactsUpdateSchema).max(1000),
  /** what `install --feed URL latest` would install, in order */
  latest: ids,
  /** null without a feed: nothing to compare with */
  upToDate: z.boolean().nullable(),
  /** what the JSON front end adds when the run warned (e.g. a feed version that could not be recorded) */
  warnings: z
    .array(z.strictObject({ code: id, message: text, root: text.optional(), path: text.optional() }))
    .optional(),
});
export type FactsDocument = z.infer<typeof FactsDocumentSchema>;

/** The newest transaction in effect: entries of one transaction share its id and action. */
export function lastChange(history: readonly HistoryEntry[]): LastChange | null {
  const last = history.findLast((h) => h.result === 'done' || h.result === 'rolled-forward');
  if (last === undefined) return null;
  const same = history.filter((h) => h.id === last.id && h.action === last.action && h.result === last.result);
  return { at: last.time, action: last.action, ids: same.map((h) => h.packId) };
}

/**
 * One installation's facts from what `query` and `check` computed (never a second reckoning of
 * levels, updates or `latest`): query for the installation, check for the feed's offer.
 */
export function factsDocument(q: QueryResult, check: CheckResult | undefined, collected: Date): FactsDocument {
  return {
    ok: true,
    schema: FACTS_SCHEMA_VERSION,
    collected: collected.toISOString(),
    root: q.root,
    product: q.product,
    displayName: q.displayName,
    version: q.version,
    arch: q.arch as FactsDocument['arch'],
    level: q.level,
    levelName: q.levelName,
    hotfixes: [...q.hotfixes],
    rollups: q.rollups.map((r) => ({ id: r.id, name: r.name, fixes: [...r.fixes] })),
    consistent: q.consistent,
    problems: q.problems.length,
    restartPending: q.restartPending,
    lastChange: lastChange(q.history),
    lastHealthCheck: healthCheck(q.lastHealthCheck),
    feed: check ? { url: check.feed.url, version: check.feed.version, expires: check.feed.expires } : null,
    updates: check ? check.updates.map((u) => ({ id: u.id, kind: u.kind, title: u.title, security: u.security })) : [],
    latest: check ? [...check.latest] : [],
    upToDate: check ? check.upToDate : null,
  };
}

function healthCheck(note: HealthCheckNote | undefined): FactsDocument['lastHealthCheck'] {
  return note === undefined ? null : { ...note, packIds: [...note.packIds] };
}
