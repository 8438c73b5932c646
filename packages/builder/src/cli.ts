import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ARCHES, type Arch } from '@servicepack/core';
import { fixEdit, fixNew, fixRefresh } from './fix-tools.js';
import { parseCreated, publishDistFeed } from './feed-publish.js';
import { ensureDevKey } from './keys.js';
import { buildAllPacks, writeSchemas } from './pack-build.js';
import { paths } from './paths.js';
import { buildAllReleases } from './release.js';

/**
 * Builder entry point run by the root `pnpm build`: key, then every release tree, then every pack
 * and the signed feed. Each stage is a function in its own module; this file only orders them.
 */
async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    case 'build-all': {
      await ensureDevKey(paths.dist);
      await writeSchemas();
      await buildAllReleases();
      await buildAllPacks();
      await publishDistFeed();
      return 0;
    }
    case 'releases': {
      await buildAllReleases();
      return 0;
    }
    case 'fix':
      return fixCommand(argv.slice(1));
    case 'feed':
      return feedCommand(argv.slice(1));
    default:
      process.stderr.write(USAGE);
      return 2;
  }
}

const USAGE = `usage: builder build-all
       builder releases                       build every release tree into dist/releases/
       builder fix new ID --level N [--title TEXT] [--hotfix-base LEVEL] [--arch x86,alpha]
       builder fix edit ID [--force]          lay out .work/fix/ID/ (tree before ID + its diff) and .work/fix/ID.base/
       builder fix refresh ID                 write .work/fix/ID.base -> .work/fix/ID as patches/ID/changes.diff
       builder feed publish [--packs DIR] [--releases DIR] [--out DIR] [--key FILE] [--version N]
                            [--expires-in DAYS] [--created ISO|now]
                                              sign dist/packs + dist/releases into the static feed dist/feed/
`;

function usageError(message: string): number {
  process.stderr.write(`builder: ${message}\n${USAGE}`);
  return 2;
}

function intOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`${name} takes a whole number, got "${value}"`);
  return Number(value);
}

class UsageError extends Error {}

/** The fix tools report operator mistakes (a hunk that no longer applies, a stale copy): a message, no stack. */
async function fixCommand(args: string[]): Promise<number> {
  const fixOpts = { sourceDir: paths.inetsrvSource, patchesDir: paths.patches, workDir: paths.work };
  try {
    const { positionals, values } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        level: { type: 'string' },
        title: { type: 'string' },
        'hotfix-base': { type: 'string' },
        arch: { type: 'string' },
        force: { type: 'boolean' },
      },
    });
    const [sub, id, ...extra] = positionals;
    if (id === undefined || extra.length > 0) return usageError(`fix ${sub ?? ''}: expected exactly one fix id`);
    switch (sub) {
      case 'edit':
        await fixEdit(id, { ...fixOpts, force: values.force === true });
        return 0;
      case 'refresh':
        await fixRefresh(id, fixOpts);
        return 0;
      case 'new': {
        const level = intOption(values.level, '--level');
        if (level === undefined)
          return usageError('fix new: --level N is required (the first service pack that ships it)');
        const arch = values.arch?.split(',').map((a) => a.trim());
        const bad = arch?.find((a) => !(ARCHES as readonly string[]).includes(a));
        if (bad !== undefined) return usageError(`--arch: unknown architecture "${bad}" (known: ${ARCHES.join(', ')})`);
        await fixNew(
          id,
          {
            level,
            ...(values.title !== undefined ? { title: values.title } : {}),
            ...(values['hotfix-base'] !== undefined
              ? { hotfixBaseLevel: intOption(values['hotfix-base'], '--hotfix-base') }
              : {}),
            ...(arch !== undefined ? { arch: arch as Arch[] } : {}),
          },
          fixOpts,
        );
        return 0;
      }
      default:
        return usageError(`fix: unknown subcommand "${sub ?? ''}"`);
    }
  } catch (e) {
    if (
      e instanceof UsageError ||
      (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      return usageError(e.message);
    }
    process.stderr.write(`builder: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

async function feedCommand(args: string[]): Promise<number> {
  try {
    const { positionals, values } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        packs: { type: 'string' },
        releases: { type: 'string' },
        out: { type: 'string' },
        key: { type: 'string' },
        version: { type: 'string' },
        'expires-in': { type: 'string' },
        created: { type: 'string' },
      },
    });
    if (positionals.length !== 1 || positionals[0] !== 'publish')
      return usageError(`feed: expected "feed publish", got "feed ${positionals.join(' ')}"`);
    const version = intOption(values.version, '--version');
    const expiresInDays = intOption(values['expires-in'], '--expires-in');
    if (expiresInDays === 0) return usageError('--expires-in must be at least 1 day');
    const created = values.created === undefined ? undefined : parseCreated(values.created);
    await publishDistFeed({
      ...(values.packs !== undefined ? { packsDir: resolve(values.packs) } : {}),
      ...(values.releases !== undefined ? { releasesDir: resolve(values.releases) } : {}),
      ...(values.out !== undefined ? { outDir: resolve(values.out) } : {}),
      ...(values.key !== undefined ? { keyFile: resolve(values.key) } : {}),
      ...(version !== undefined ? { version } : {}),
      ...(expiresInDays !== undefined ? { expiresInDays } : {}),
      ...(created !== undefined ? { created } : {}),
    });
    return 0;
  } catch (e) {
    if (
      e instanceof UsageError ||
      (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      return usageError(e.message);
    }
    process.stderr.write(`builder: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`builder: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
