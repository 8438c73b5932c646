import type { FleetReport, ReportRow, ReportSummary } from '@servicepack/core/report';
import type { TextOutput } from '../front-end.js';
import { printable, safe } from './printable.js';

/**
 * `servicepack report` as text (docs/fleet.md "Compliance report"): one row per host, columns as
 * wide as their widest cell. Every cell is escaped before it is measured, so a hostile value can
 * neither break a row nor shift the columns of the ones below it.
 */
export const COLUMNS = [
  'host',
  'product',
  'arch',
  'level',
  'hotfixes',
  'missing updates',
  'consistent',
  'last change',
] as const;

/** A list cell: a few names in full, a long list cut with its count, so the table stays readable. */
export function listCell(items: readonly string[], keep = 3): string {
  if (items.length === 0) return '-';
  if (items.length <= keep) return items.join(', ');
  return `${items.slice(0, keep - 1).join(', ')}, … (${items.length} in all)`;
}

/** "2026-12-05 05:15Z install inetsrv-4.0-sp6": minutes are enough for a report. */
export function lastChangeCell(c: ReportRow['lastChange']): string {
  if (c === null) return 'never';
  const at = /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(c.at) ? `${c.at.slice(0, 10)} ${c.at.slice(11, 16)}Z` : c.at;
  return `${at} ${c.action} ${listCell(c.ids, 2)}`;
}

export function missingCell(r: ReportRow): string {
  if (r.upToDate === null) return 'unknown (no feed)';
  return listCell(
    r.missing.map((m) => (m.security ? `${m.id} [security]` : m.id)),
    4,
  );
}

function cells(r: ReportRow): string[] {
  return [
    r.host,
    r.product,
    r.arch,
    r.levelBase,
    listCell(r.hotfixes),
    missingCell(r),
    r.consistent ? 'yes' : `no (${r.problems})`,
    lastChangeCell(r.lastChange),
  ].map((c) => printable(c).text);
}

export function summaryText(s: ReportSummary): string {
  const parts = [
    `${s.hosts} ${s.hosts === 1 ? 'host' : 'hosts'}`,
    `${s.upToDate} up to date`,
    `${s.missingSecurity} missing security updates`,
  ];
  if (s.inconsistent > 0) parts.push(`${s.inconsistent} inconsistent`);
  if (s.unknown > 0) parts.push(`${s.unknown} without a feed to compare with`);
  const unread =
    s.unreadable > 0 ? `; ${s.unreadable} facts ${s.unreadable === 1 ? 'file' : 'files'} could not be read` : '';
  return `${parts.join(', ')}${unread}`;
}

export function printFleetReport(t: TextOutput, report: FleetReport): void {
  const rows = report.rows.map(cells);
  const widths = COLUMNS.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cs: readonly string[]): string =>
    cs
      .map((c, i) => (i === cs.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  t.print(t.o.bold(line(COLUMNS)));
  for (const [i, r] of rows.entries()) {
    const text = printable(line(r));
    t.print(report.rows[i]!.missing.some((m) => m.security) ? t.o.yellow(text) : text);
  }
  for (const u of report.unreadable) t.print(safe`not read: ${u.file}: ${u.code}: ${u.message}`);
  t.print(safe`${summaryText(report.summary)}`);
}
