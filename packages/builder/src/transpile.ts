import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as TS from 'typescript';

// Loaded on first use: the compiler is large, and most builder commands (fix new, pack, feed) never need it.
let loaded: typeof TS | undefined;
function typescript(): typeof TS {
  loaded ??= createRequire(import.meta.url)('typescript') as typeof TS;
  return loaded;
}

/**
 * Per-file TypeScript -> JavaScript, one output per source module so a fix replaces few files in a
 * release. Types are checked by `pnpm typecheck`, not here: transpiling each file alone keeps builds
 * fast and makes a file's output depend on that file's text only, which is what lets the result be
 * cached across the ~16 release trees of one build.
 */
function compilerOptions(ts: typeof TS): TS.CompilerOptions {
  return {
    target: ts.ScriptTarget.ES2022,
    // ESNext keeps `import`/`export` and the sources' `.js` specifiers exactly as written.
    module: ts.ModuleKind.ESNext,
    newLine: ts.NewLineKind.LineFeed,
    sourceMap: false,
    inlineSourceMap: false,
    declaration: false,
  };
}

export class Transpiler {
  private readonly cache = new Map<string, Buffer>();
  hits = 0;
  misses = 0;

  /** `fileName` is only for messages: the output depends on the text alone, so the text is the key. */
  transpile(fileName: string, source: Buffer): Buffer {
    const key = createHash('sha256').update(source).digest('hex');
    const cached = this.cache.get(key);
    if (cached) {
      this.hits++;
      return cached;
    }
    this.misses++;
    const ts = typescript();
    const out = ts.transpileModule(source.toString('utf8'), {
      compilerOptions: compilerOptions(ts),
      fileName,
      reportDiagnostics: true,
    });
    const errors = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
    if (errors.length > 0) {
      const lines = errors.map((d) => {
        const pos = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
        const at = pos ? `:${pos.line + 1}:${pos.character + 1}` : '';
        return `${fileName}${at}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
      throw new Error(`cannot transpile:\n${lines.join('\n')}`);
    }
    const result = Buffer.from(out.outputText, 'utf8');
    this.cache.set(key, result);
    return result;
  }
}

/** Where a `src/` file lands in a release: `.ts` modules become `lib/*.js`; other files are copied. */
export function libPathFor(srcPath: string): string | undefined {
  if (!srcPath.startsWith('src/')) return undefined;
  const rest = srcPath.slice('src/'.length);
  if (rest.endsWith('.d.ts')) return undefined;
  if (rest.endsWith('.ts')) return `lib/${rest.slice(0, -'.ts'.length)}.js`;
  return `lib/${rest}`;
}
