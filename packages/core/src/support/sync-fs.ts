/**
 * node:fs for the modules on `query`'s start-up path, without an ESM import: `import … from
 * 'node:fs'` builds node's ESM facade of fs, which reads every export and so loads node's stream
 * modules (fs.ReadStream), a few milliseconds of every query (docs/performance.md, item 20).
 */
export const syncFs: typeof import('node:fs') = process.getBuiltinModule('node:fs');
