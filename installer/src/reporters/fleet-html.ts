import type { FleetReport, ReportRow } from '@servicepack/core/report';
import { COLUMNS, lastChangeCell, listCell, summaryText } from './fleet-table.js';
import { escapeControls } from './printable.js';

/**
 * `servicepack report --html`: one self-contained page an operator mails to a manager. No script,
 * no external resource (inline CSS only; the page's own Content-Security-Policy forbids anything
 * else should a value ever slip through), and every value from a facts file escaped twice over:
 * control characters made visible as in the text table, then HTML's five specials as entities.
 */
const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function html(v: string | number): string {
  return escapeControls(String(v)).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #1a1a1a; }
h1 { font-size: 1.5em; margin: 0 0 .2em; }
.generated { color: #555; margin: 0 0 1em; }
.summary { font-weight: 600; margin: 0 0 1em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #bbb; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #eee; }
td:nth-child(4), td:nth-child(8) { white-space: nowrap; }
tr.security-missing td { background: #fde2e1; }
.security { color: #a50e0e; font-weight: 700; }
.inconsistent { color: #8a5a00; font-weight: 600; }
.uptodate { color: #17692b; }
.unreadable { color: #a50e0e; }
`.trim();

function missingHtml(r: ReportRow): string {
  if (r.upToDate === null) return '<span class="unknown">unknown (no feed)</span>';
  if (r.missing.length === 0) return '<span class="uptodate">none: up to date</span>';
  return r.missing
    .map((m) =>
      m.security
        ? `<span class="security" title="${html(m.title)}">${html(m.id)} [security]</span>`
        : `<span title="${html(m.title)}">${html(m.id)}</span>`,
    )
    .join(', ');
}

function rowHtml(r: ReportRow): string {
  const security = r.missing.some((m) => m.security);
  const cells = [
    html(r.host),
    html(r.product),
    html(r.arch),
    `<span title="${html(r.levelName)}">${html(r.levelBase)}</span>`,
    html(listCell(r.hotfixes, 1000)),
    missingHtml(r),
    r.consistent ? 'yes' : `<span class="inconsistent">no (${html(r.problems)} problems)</span>`,
    html(lastChangeCell(r.lastChange)),
  ];
  return `<tr${security ? ' class="security-missing"' : ''} data-host="${html(r.host)}">${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
}

export interface PageOptions {
  generated: Date;
  /** the facts folder, as the operator named it */
  source: string;
}

export function fleetReportHtml(report: FleetReport, opts: PageOptions): string {
  const title = 'Service pack compliance report';
  const unreadable =
    report.unreadable.length === 0
      ? ''
      : `<h2>Hosts not in this report</h2>\n<ul class="unreadable">\n${report.unreadable
          .map(
            (u) =>
              `<li data-file="${html(u.file)}"><code>${html(u.file)}</code>: ${html(u.code)}: ${html(u.message)}</li>`,
          )
          .join('\n')}\n</ul>\n`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>
${STYLE}
</style>
</head>
<body>
<h1>${title}</h1>
<p class="generated">Generated <time datetime="${html(opts.generated.toISOString())}">${html(opts.generated.toISOString())}</time> by servicepack report from ${html(opts.source)}</p>
<p class="summary" id="summary">${html(summaryText(report.summary))}</p>
<table id="hosts">
<thead><tr>${COLUMNS.map((c) => `<th>${html(c)}</th>`).join('')}</tr></thead>
<tbody>
${report.rows.map(rowHtml).join('\n')}
</tbody>
</table>
${unreadable}</body>
</html>
`;
}
