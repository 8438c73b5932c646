import { lstat, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { baseLevelName } from '../rules/level.js';
import { type ErrorCode, ServicepackError } from '../support/errors.js';
import { errnoCode, readSmallFile, type SmallFileRefusal, writeFileAtomic } from '../support/fsutil.js';
import { type FactsDocument, FactsDocumentSchema, type LastChange } from './facts.js';

/**
 * The compliance report (docs/fleet.md "Compliance report"): what MBSA's summary gave an NT shop,
 * over a folder of facts documents, one `<host>.json` per host (Ansible's report playbook writes
 * them). The files come from other machines and from a folder others may write: each is read
 * without following a link, bounded in size, parsed with the schema `facts` writes with, and a
 * bad one is named with its own code while the others are still reported.
 */

/** A facts document is a few KiB; far more is not one. */
export const FACTS_FILE_MAX_BYTES = 256 * 1024;
/** Bounds the folder read: a fleet report over more hosts than this is split by the operator. */
export const FACTS_MAX_FILES = 10_000;
/** A host name as DNS allows it, and nothing that could be a path. */
export const HOST_NAME = /^[A-Za-z0-9._-]{1,253}$/;

export interface ReportRow {
  host: string;
  product: string;
  arch: FactsDocument['arch'];
  level: number;
  /** "Service Pack 5": the level alone, for a column beside the hotfixes */
  levelBase: string;
  /** the whole level as the host reports it: "Service Pack 5, hotfix Q236565" */
  levelName: string;
  hotfixes: string[];
  /** the updates the host's feed offers that apply and are not installed; [] without a feed */
  missing: { id: string; title: string; security: boolean }[];
  /** null: the facts were collected without a feed, so nobody knows */
  upToDate: boolean | null;
  consistent: boolean;
  problems: number;
  restartPending: boolean;
  lastChange: LastChange | null;
  collected: string;
}

export interface Unreadable {
  file: string;
  code: ErrorCode;
  message: string;
}

export interface ReportSummary {
  hosts: number;
  upToDate: number;
  /** hosts missing at least one security update */
  missingSecurity: number;
  /** hosts whose facts say nothing about updates (collected without --feed) */
  unknown: number;
  inconsistent: number;
  unreadable: number;
}

export interface FleetReport {
  rows: ReportRow[];
  summary: ReportSummary;
  unreadable: Unreadable[];
}

export function reportRow(host: string, f: FactsDocument): ReportRow {
  return {
    host,
    product: f.product,
    arch: f.arch,
    level: f.level,
    levelBase: baseLevelName(f.level),
    levelName: f.levelName,
    hotfixes: [...f.hotfixes],
    missing: f.updates.map((u) => ({ id: u.id, title: u.title, security: u.security })),
    upToDate: f.upToDate,
    consistent: f.consistent,
    problems: f.problems,
    restartPending: f.restartPending,
    lastChange: f.lastChange,
    collected: f.collected,
  };
}

/** Code-point order, not the locale's: the same report on every controller. */
const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function fleetReport(
  hosts: readonly { host: string; facts: FactsDocument }[],
  unreadable: Unreadable[],
): FleetReport {
  const rows = hosts.map((h) => reportRow(h.host, h.facts)).sort((a, b) => byText(a.host, b.host));
  return {
    rows,
    summary: {
      hosts: rows.length,
      upToDate: rows.filter((r) => r.upToDate === true).length,
      missingSecurity: rows.filter((r) => r.missing.some((m) => m.security)).length,
      unknown: rows.filter((r) => r.upToDate === null).length,
      inconsistent: rows.filter((r) => !r.consistent).length,
      unreadable: unreadable.length,
    },
    unreadable: [...unreadable].sort((a, b) => byText(a.file, b.file)),
  };
}

const REFUSED: Record<SmallFileRefusal, ErrorCode> = {
  missing: 'E_FACTS_NOT_FILE',
  link: 'E_FACTS_LINK',
  'not-file': 'E_FACTS_NOT_FILE',
  'too-large': 'E_FACTS_TOO_LARGE',
  replaced: 'E_FACTS_NOT_FILE',
  unreadable: 'E_FACTS_NOT_FILE',
};

type Read = { ok: true; host: string; facts: FactsDocument } | { ok: false; refused: Unreadable };

const refuse = (file: string, code: ErrorCode, message: string): Read => ({
  ok: false,
  refused: { file, code, message },
});

/** One `<host>.json`: a FactsDocument, or why not. */
export async function readFactsFile(dir: string, file: string): Promise<Read> {
  const host = file.slice(0, -'.json'.length);
  if (!HOST_NAME.test(host))
    return refuse(file, 'E_FACTS_BAD_NAME', `not a host name (letters, digits, ".", "_", "-"; at most 253): rename it`);
  const read = await readSmallFile(join(dir, file), FACTS_FILE_MAX_BYTES, { followLinks: false });
  if (!read.ok) return refuse(file, REFUSED[read.reason], `${read.why}: write the host's facts there again`);
  let doc: unknown;
  try {
    doc = JSON.parse(read.bytes.toString('utf8'));
  } catch (e) {
    return refuse(file, 'E_FACTS_MALFORMED', `is not JSON (${(e as Error).message}): collect the facts again`);
  }
  const failed = hostFailure(doc);
  if (failed !== undefined) return refuse(file, 'E_FACTS_HOST_FAILED', failed);
  const parsed = FactsDocumentSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'the document';
    return refuse(
      file,
      'E_FACTS_INVALID',
      `is not a facts document (${where}: ${issue?.message ?? 'invalid'}): collect it with servicepack facts --json`,
    );
  }
  return { ok: true, host, facts: parsed.data };
}

/** `facts --json` failed on that host: its document says why, in its own code and message. */
function hostFailure(doc: unknown): string | undefined {
  if (typeof doc !== 'object' || doc === null || (doc as { ok?: unknown }).ok !== false) return undefined;
  const { code, message } = doc as { code?: unknown; message?: unknown };
  const c = typeof code === 'string' ? code.slice(0, 64) : 'unknown';
  const m = typeof message === 'string' ? message.slice(0, 500) : 'no message';
  return `the host's facts could not be collected: ${c}: ${m}`;
}

/**
 * Every `*.json` in `dir` (other files are left alone: the page may be written beside them), read
 * and judged one by one; the folder itself must be a folder, not a link to one.
 */
export async function readFleetReport(dirArg: string): Promise<FleetReport> {
  const dir = resolve(dirArg);
  const st = await lstat(dir).catch((e: unknown) => {
    throw new ServicepackError(
      'E_USAGE',
      errnoCode(e) === 'ENOENT'
        ? `--facts ${dir}: no such folder: give the folder the facts were written to`
        : `--facts ${dir}: cannot be read (${(e as Error).message})`,
      { dir },
    );
  });
  if (!st.isDirectory())
    throw new ServicepackError(
      'E_USAGE',
      `--facts ${dir}: ${st.isSymbolicLink() ? 'is a symbolic link' : 'is not a folder'}: give the folder itself`,
      { dir },
    );
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort(byText);
  if (names.length === 0)
    throw new ServicepackError(
      'E_USAGE',
      `--facts ${dir}: no <host>.json files: collect them with servicepack facts --json`,
      {
        dir,
      },
    );
  if (names.length > FACTS_MAX_FILES)
    throw new ServicepackError(
      'E_USAGE',
      `--facts ${dir}: ${names.length} files, more than ${FACTS_MAX_FILES}: report on the fleet in parts`,
      { dir },
    );
  const hosts: { host: string; facts: FactsDocument }[] = [];
  const unreadable: Unreadable[] = [];
  for (const name of names) {
    const r = await readFactsFile(dir, name);
    if (r.ok) hosts.push({ host: r.host, facts: r.facts });
    else unreadable.push(r.refused);
  }
  return fleetReport(hosts, unreadable);
}

/**
 * The page, written whole or not at all: a temp file in the target's folder, then a rename over
 * the target, which replaces a link there instead of writing through it. Readable by all: it is
 * meant to be mailed.
 */
export async function writeReportPage(path: string, html: string): Promise<void> {
  const target = resolve(path);
  const st = await lstat(target).catch(() => undefined);
  if (st?.isDirectory())
    throw new ServicepackError('E_USAGE', `--html ${target}: is a folder: name a file`, { path: target });
  try {
    await writeFileAtomic(target, html, 0o644);
  } catch (e) {
    throw new ServicepackError(
      'E_IO',
      `--html ${target}: cannot be written (${(e as Error).message}): check the folder`,
      {
        path: target,
      },
    );
  }
}
