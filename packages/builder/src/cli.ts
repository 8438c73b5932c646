import { ensureDevKey } from './keys.js';
import { buildAllPacks } from './pack-build.js';
import { paths } from './paths.js';
import { buildAllReleases } from './release.js';

/**
 * Builder entry point run by the root `pnpm build`: key, then every release tree, then every pack
 * (and, later, the feed). Each stage is a function in its own module; this file only orders them.
 */
async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    case 'build-all': {
      await ensureDevKey(paths.dist);
      await buildAllReleases();
      await buildAllPacks();
      return 0;
    }
    default:
      process.stderr.write(`usage: builder build-all\n`);
      return 2;
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
