// The layers of the monorepo, checked by `pnpm lint` (docs/architecture.md, "Layers").
// Imports point one way: inetsrv stands alone; core <- builder <- installer. Paths are relative to
// the folder depcruise runs in (the repository root; test/depcruise.test.ts runs it in a fixture
// laid out like the repository).

const { readFileSync } = require('node:fs');
const { join } = require('node:path');

/** a servicepack package's own source, and its name for the group the rules refer back to ($1) */
const PACKAGE_SRC = '^(installer|packages/[^/]+)/src/';
/** an npm package by name, whether resolved (pnpm's store path) or not (not a dependency of the importer) */
const npm = (names) => `(^|/node_modules/)(${names.join('|')})(/|$)`;

/**
 * The files core's exports map (packages/core/package.json) makes public, as paths from the folder depcruise runs in:
 * the installer and the builder reach core through these and nothing else. Read, not copied: the map is the one list.
 */
function corePublicFiles() {
  let exportsMap;
  try {
    exportsMap = JSON.parse(readFileSync(join(process.cwd(), 'packages/core/package.json'), 'utf8')).exports ?? {};
  } catch {
    return [];
  }
  const targets = Object.values(exportsMap).flatMap((t) => (typeof t === 'string' ? [t] : Object.values(t)));
  return targets.map((t) => `^packages/core/${t.replace(/^\.\//, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'An import cycle, type-only imports included: types are the contract between modules, and a type cycle becomes a ' +
        'runtime one the day someone imports a value. Move what both sides need into a small module of its own.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-not-to-front-ends',
      severity: 'error',
      comment: 'core is the engine: it imports nothing from the builder or the installer (they import it).',
      from: { path: '^packages/core/' },
      to: { path: ['^(installer|packages/builder)/', '^@servicepack/(installer|builder)(/|$)'] },
    },
    {
      name: 'builder-not-to-installer',
      severity: 'error',
      comment: 'the builder makes packs and feeds; the installer uses it, never the other way round.',
      from: { path: '^packages/builder/' },
      to: { path: ['^installer/', '^@servicepack/installer(/|$)'] },
    },
    {
      name: 'inetsrv-not-to-servicepack',
      severity: 'error',
      comment: 'inetsrv is the product being serviced: it knows nothing of the tool that services it.',
      from: { path: '^packages/inetsrv/' },
      to: { path: ['^(installer|packages/(core|builder))/', '^@servicepack/'] },
    },
    {
      name: 'through-package-name',
      severity: 'error',
      comment:
        "a package's source uses another package through its name (@servicepack/core/...), that is its exports map, " +
        "never by a relative path into the other package's src/.",
      from: { path: PACKAGE_SRC },
      to: { path: PACKAGE_SRC, pathNot: '^$1/' },
    },
    {
      name: 'front-ends-through-core-api',
      severity: 'error',
      comment:
        "the installer's and the builder's shipped code use core through its exports map (packages/core/package.json) " +
        "only: what is not exported there is core's own business, whatever path reaches it. Tests may look inside.",
      from: { path: '^(installer|packages/builder)/src/' },
      to: { path: '^packages/core/', pathNot: corePublicFiles() },
    },
    {
      name: 'src-not-to-tests',
      severity: 'error',
      comment: 'shipped code imports no test helper or fixture.',
      from: { path: PACKAGE_SRC },
      to: { path: '(^|/)test/' },
    },
    {
      name: 'src-not-to-dev-dependencies',
      severity: 'error',
      comment: 'shipped code imports no devDependency: it is not installed with the package.',
      from: { path: PACKAGE_SRC },
      to: { dependencyTypes: ['npm-dev'] },
    },
    {
      name: 'core-not-to-terminals',
      severity: 'error',
      comment: 'core knows nothing about terminals: it reports events, the installer renders them.',
      from: { path: '^packages/core/' },
      to: { path: npm(['ink', '@inkjs/ui', 'react', 'listr2', 'commander', '@commander-js/extra-typings']) },
    },
    {
      name: 'installer-not-to-tar',
      severity: 'error',
      comment: 'the installer knows nothing about tar headers: packs are read and written by core.',
      from: { path: '^installer/' },
      to: { path: npm(['tar']) },
    },
    {
      // Binds once core is split into rooms (issue 14 item 1) and has a rules/ folder; nothing matches before.
      name: 'core-rules-pure',
      severity: 'error',
      comment: "core's rules (applicability, plan, fixes) are pure: no file system, process or network.",
      from: { path: '^packages/core/src/rules/' },
      to: {
        dependencyTypes: ['core'],
        path: '^(node:)?(fs|fs/promises|child_process|net|http|https|dgram|worker_threads|os|process)$',
      },
    },
  ],
  options: {
    // dist/ is where another package's name resolves to (its exports map): a leaf, not cruised again.
    doNotFollow: { path: ['(^|/)node_modules/', '(^|/)dist/'] },
    // the fixture holds violations on purpose; test/depcruise.test.ts cruises it on its own
    exclude: { path: '^test/fixtures/depcruise/' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'node', 'default'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs'],
    },
  },
};
