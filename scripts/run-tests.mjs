#!/usr/bin/env node
// Node 20's test runner neither globs nor discovers .ts files, so the list is built here (docs/layout.md §1).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const roots = ['test', 'installer/test', ...readdirSync(join(root, 'packages')).map((p) => `packages/${p}/test`)];
const files = [];
function walk(dir) {
  let entries;
  try {
    entries = readdirSync(dir).sort();
  } catch {
    return;
  }
  for (const name of entries) {
    if (name === 'node_modules' || name === 'fixtures-out') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (/\.test\.tsx?$/.test(name)) files.push(relative(root, p));
  }
}
for (const r of roots) walk(join(root, r));
const only = process.argv.slice(2);
const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
if (selected.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...selected], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, SERVICEPACK_REPO: root },
});
process.exit(res.status ?? 1);
