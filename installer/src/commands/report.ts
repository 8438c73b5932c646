import type { Command } from '@commander-js/extra-typings';
import { chooseFrontEnd, type Io, type RunState, reportFailure } from '../io.js';
import { EXIT, errorDocument } from '../exit.js';

/**
 * `servicepack report --facts DIR`: the compliance report over one facts document per host
 * (docs/fleet.md "Compliance report"): a table on stdout, `--html FILE` a page to mail.
 */
interface ReportFlags {
  facts: string;
  html?: string;
  json?: true;
}

export function registerReport(program: Command, io: Io, state: RunState): void {
  program
    .command('report')
    .description('the compliance report: level, hotfixes and missing updates of every host, from their facts files')
    .requiredOption('--facts <dir>', 'the folder of <host>.json facts documents (servicepack facts --json)')
    .option('--html <file>', 'also write the report as a self-contained HTML page')
    .option('--json', 'print one JSON document on stdout (the rows and the summary)')
    .action(async (flags) => {
      state.exitCode = await runReport(flags, io);
    });
}

export async function runReport(flags: ReportFlags, io: Io): Promise<number> {
  const fe = await chooseFrontEnd(io, { json: flags.json === true, quiet: false });
  try {
    const [{ readFleetReport, writeReportPage }, { ServicepackError }, { printFleetReport }] = await Promise.all([
      import('@servicepack/core/report'),
      import('@servicepack/core/errors'),
      import('../reporters/fleet-table.js'),
    ]);
    const report = await readFleetReport(flags.facts);
    if (flags.html !== undefined) {
      const { fleetReportHtml } = await import('../reporters/fleet-html.js');
      await writeReportPage(flags.html, fleetReportHtml(report, { generated: new Date(), source: flags.facts }));
    }
    const doc = { ...report, ...(flags.html !== undefined ? { html: flags.html } : {}) };
    if (report.unreadable.length === 0) {
      fe.result(doc, (t) => printFleetReport(t, report));
      return EXIT.ok;
    }
    const n = report.unreadable.length;
    const failure = errorDocument(
      new ServicepackError(
        'E_FACTS_UNREADABLE',
        `${n} facts ${n === 1 ? 'file' : 'files'} in ${flags.facts} could not be read (${report.unreadable
          .slice(0, 5)
          .map((u) => `${u.file}: ${u.code}`)
          .join(', ')}${n > 5 ? ', …' : ''}): those hosts are left out of the report; collect their facts again`,
        { unreadable: report.unreadable },
      ),
    );
    fe.failure({ ...failure, ...doc }, (t) => printFleetReport(t, report));
    return failure.exitCode;
  } catch (e) {
    return reportFailure(fe, io, e);
  }
}
