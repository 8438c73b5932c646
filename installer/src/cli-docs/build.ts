import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { processIo } from '../io.js';
import { createProgram, VERSION } from '../program.js';
import { completionScript, SHELLS, type Shell } from './completion.js';
import { manPage } from './man.js';
import { describeProgram } from './model.js';
import { BUILD_INFO, COMMIT } from './version.js';

/**
 * The build's step for the installer (`pnpm build` runs it after tsc): records the commit for
 * --version, and writes the man page and the completion scripts, generated from the program, into
 * installer/dist/share/ laid out as under /usr/share, for the packages to install as they are.
 */

/** Where each shell looks for its completion files, under share/ (Debian's paths). */
export const COMPLETION_PATHS: Readonly<Record<Shell, string>> = {
  bash: 'bash-completion/completions/servicepack',
  zsh: 'zsh/vendor-completions/_servicepack',
  fish: 'fish/vendor_completions.d/servicepack.fish',
};
export const MAN_PATH = 'man/man1/servicepack.1';

/** The commit checked out in `cwd`, or "unknown" (no git, not a checkout). */
export function gitCommit(cwd: string): string {
  // a repository above cwd is not the one being built
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_CEILING_DIRECTORIES: dirname(cwd) };
  delete env['GIT_DIR'];
  delete env['GIT_WORK_TREE'];
  try {
    const out = execFileSync('git', ['rev-parse', '--verify', 'HEAD'], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      env,
    }).trim();
    return COMMIT.test(out) ? out : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The page's date: SOURCE_DATE_EPOCH, else the commit's, so that a rebuild writes the same bytes. */
function pageDate(repo: string): string {
  const epoch = process.env['SOURCE_DATE_EPOCH'];
  if (epoch !== undefined && /^\d+$/.test(epoch)) return new Date(Number(epoch) * 1000).toISOString().slice(0, 10);
  try {
    const d = execFileSync('git', ['log', '-1', '--format=%cs'], {
      cwd: repo,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    if (/^\d{4}-\d{2}-\d{2}$/.test(d)) return d;
  } catch {}
  return new Date().toISOString().slice(0, 10);
}

/** Writes share/ under `dist`; returns the files written. */
export async function writeCliDocs(dist: string, date: string): Promise<string[]> {
  const docs = describeProgram(createProgram(processIo(), { exitCode: 0 }));
  const files: [string, string][] = [
    [MAN_PATH, manPage(docs, { version: VERSION, date })],
    ...SHELLS.map((s): [string, string] => [COMPLETION_PATHS[s], completionScript(s, docs)]),
  ];
  const written: string[] = [];
  for (const [rel, text] of files) {
    const file = join(dist, 'share', rel);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, text);
    written.push(file);
  }
  return written;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dist = fileURLToPath(new URL('..', import.meta.url));
  const repo = join(dist, '..', '..');
  await writeFile(BUILD_INFO, `${JSON.stringify({ version: VERSION, commit: gitCommit(repo) })}\n`);
  for (const f of await writeCliDocs(dist, pageDate(repo))) process.stdout.write(`cli-docs: ${f}\n`);
}
