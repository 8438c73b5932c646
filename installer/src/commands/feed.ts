import { resolve } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { EXIT, UsageError } from '../exit.js';
import { chooseFrontEnd, type Io, processIo, type RunState, reportFailure } from '../io.js';
import { printable, safe } from '../reporters/printable.js';

/**
 * `servicepack feed publish`: the vendor signs dist/packs + dist/releases into a static feed folder
 * (index.json, index.sig, packs/, catalog.json) that any web server can serve. A thin wrapper over
 * the builder's publishFeed, imported only when the command runs.
 */
export function registerFeedCommands(program: Command, io: Io = processIo(), state?: RunState): void {
  const finish = (code: number) => {
    if (state) state.exitCode = code;
    else process.exitCode = code;
  };

  const feed = program
    .command('feed')
    .description('vendor side: publish the signed feed of packs and the file catalog');

  feed
    .command('publish')
    .description(
      'sign the packs and release trees into a static feed folder; rebuilding the same inputs changes nothing',
    )
    .option('--packs <dir>', 'packs to publish (default: dist/packs)')
    .option('--releases <dir>', 'release trees for the file catalog (default: dist/releases)')
    .option('--out <dir>', 'feed folder, replaced as a whole (default: dist/feed)')
    .option('--key <file>', 'private signing key, PKCS#8 PEM (default: dist/keys/dev.key, created when absent)')
    .option('--index-version <n>', 'index version to publish (default: the previous one, plus 1 when anything changed)')
    .option('--expires-in <days>', 'days from --created until clients refuse the index (default: 3650)')
    .option(
      '--created <time>',
      'ISO 8601 time or "now" (default: $SOURCE_DATE_EPOCH, else a fixed date, for reproducible output)',
    )
    .option('--json', 'print one JSON document on stdout')
    .action(async (flags) => finish(await runFeedPublish(flags, io)));
}

function wholeNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value)))
    throw new UsageError(`${flag} takes a whole number from 1 up, got "${value}"`);
  return Number(value);
}

export async function runFeedPublish(
  flags: {
    packs?: string;
    releases?: string;
    out?: string;
    key?: string;
    indexVersion?: string;
    expiresIn?: string;
    created?: string;
    json?: true;
  },
  io: Io,
): Promise<number> {
  const fe = await chooseFrontEnd(io, { json: flags.json === true, quiet: false });
  try {
    const version = wholeNumber(flags.indexVersion, '--index-version');
    const expiresInDays = wholeNumber(flags.expiresIn, '--expires-in');
    const { parseCreated, publishDistFeed } = await import('@servicepack/builder/feed-publish');
    let created: Date | undefined;
    if (flags.created !== undefined) {
      try {
        created = parseCreated(flags.created);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    const published = await publishDistFeed({
      ...(flags.packs !== undefined ? { packsDir: resolve(flags.packs) } : {}),
      ...(flags.releases !== undefined ? { releasesDir: resolve(flags.releases) } : {}),
      ...(flags.out !== undefined ? { outDir: resolve(flags.out) } : {}),
      ...(flags.key !== undefined ? { keyFile: resolve(flags.key) } : {}),
      ...(version !== undefined ? { version } : {}),
      ...(expiresInDays !== undefined ? { expiresInDays } : {}),
      ...(created !== undefined ? { created } : {}),
      log: (line) => {
        fe.log(printable(line));
      },
    });
    const ix = published.index;
    const summary = {
      out: published.outDir,
      product: ix.product,
      version: ix.version,
      previousVersion: published.previousVersion ?? null,
      changed: published.changed,
      created: ix.created,
      expires: ix.expires,
      packs: ix.packs.map((p) => ({ id: p.id, arch: p.arch, url: p.url, sha256: p.sha256, size: p.size })),
      catalog: ix.catalog,
      indexSha256: published.indexSha256,
    };
    fe.result(summary, (t) =>
      t.print(
        safe`${published.outDir}\n  version ${ix.version}${published.changed ? '' : ' (unchanged)'}, ${ix.packs.length} pack(s), expires ${ix.expires}`,
      ),
    );
    return EXIT.ok;
  } catch (e) {
    // builder failures are plain Errors carrying an operator message: give them a code, exit 1
    if (e instanceof Error && e.name !== 'ServicepackError' && !(e instanceof UsageError)) {
      const { ServicepackError } = await import('@servicepack/core/errors');
      return reportFailure(fe, io, new ServicepackError('E_FAILED', e.message, {}, { cause: e }));
    }
    return reportFailure(fe, io, e);
  }
}
