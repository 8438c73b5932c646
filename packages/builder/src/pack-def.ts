import { readFile } from 'node:fs/promises';
import { ARCHES, FIX_ID_PATTERN, PACK_KINDS } from '@servicepack/core';
import { isMap, isScalar, LineCounter, type Node, parseDocument } from 'yaml';
import { z } from 'zod';

/**
 * `manifests/packs/<name>.yaml`: what the vendor decides about a pack. Everything that can be
 * computed (files, hashes, fixes of a service pack, restart) is computed from the release trees and
 * the patch series, so it cannot drift from what is actually shipped.
 */
const fixId = z.string().regex(FIX_ID_PATTERN, 'a fix id: letters, digits and dashes');
const level = z.number().int().min(0).max(99);

export const PackDefSchema = z
  .strictObject({
    /** manifest id: `inetsrv-4.0-sp6`, or the KB id for a hotfix */
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/),
    kind: z.enum(PACK_KINDS),
    product: z.string().regex(/^[a-z][a-z0-9-]*$/),
    title: z.string().regex(/^[^\n]+$/, 'one line'),
    /** the level reached; for a hotfix the level it is built on (it does not change the level) */
    level,
    /** hotfix only: the service pack level it is built for (must equal level) */
    baseLevel: level.optional(),
    appliesTo: z.strictObject({
      /** semver range of the product version */
      version: z.string().min(1),
      /** the levels it installs on; their release trees are where `from` hashes come from */
      levels: z.array(level).min(1),
      /** hotfixes an installation may carry and still take this pack */
      hotfixes: z.array(fixId).optional(),
      /** hotfixes an installation must carry: the pack is built on their release tree (a hotfix chain) */
      requires: z.array(fixId).optional(),
    }),
    supersedes: z.array(fixId).default([]),
    /**
     * the fixes it ships; default: for a service pack every fix of patches/series up to its level
     * (for the pack's architecture), for a hotfix the fix with the pack's id
     */
    fixes: z.array(fixId).optional(),
    /** licence text shown before install, a file in manifests/ */
    eula: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a file name in manifests/')
      .optional(),
    arches: z
      .array(z.enum(ARCHES))
      .min(1)
      .default([...ARCHES]),
    /**
     * manifest `created` when SOURCE_DATE_EPOCH is not set; fixed so rebuilds are byte-identical
     * (the release builder's default date otherwise)
     */
    created: z.iso.datetime().optional(),
  })
  .superRefine((d, ctx) => {
    if (d.kind !== 'service-pack') {
      if (d.baseLevel === undefined)
        ctx.addIssue({ code: 'custom', path: ['baseLevel'], message: `a ${d.kind} names the level it is built for` });
      else if (d.baseLevel !== d.level)
        ctx.addIssue({
          code: 'custom',
          path: ['baseLevel'],
          message: `a ${d.kind} does not change the level: baseLevel must equal level`,
        });
    } else if (d.baseLevel !== undefined)
      ctx.addIssue({ code: 'custom', path: ['baseLevel'], message: 'only a hotfix or rollup has a baseLevel' });
    if (d.kind === 'rollup' && (d.fixes === undefined || d.fixes.length < 2))
      ctx.addIssue({
        code: 'custom',
        path: ['fixes'],
        message: 'a rollup lists the hotfixes it carries (two or more)',
      });
    if (d.kind === 'service-pack' && d.appliesTo.requires !== undefined)
      ctx.addIssue({ code: 'custom', path: ['appliesTo', 'requires'], message: 'a service pack requires no hotfix' });
    if (d.kind === 'service-pack' && d.appliesTo.levels.some((l) => l >= d.level)) {
      ctx.addIssue({
        code: 'custom',
        path: ['appliesTo', 'levels'],
        message: `a service pack installs only on levels below its own (${d.level})`,
      });
    }
  });
export type PackDef = z.infer<typeof PackDefSchema>;

function lineOf(
  doc: ReturnType<typeof parseDocument>,
  lc: LineCounter,
  path: readonly PropertyKey[],
  unknownKey?: string,
): number | undefined {
  const p = path.filter((k): k is string | number => typeof k !== 'symbol');
  let node: unknown = p.length === 0 ? doc.contents : doc.getIn(p, true);
  if (unknownKey !== undefined && isMap(node)) {
    const pair = node.items.find((it) => isScalar(it.key) && it.key.value === unknownKey);
    if (pair && isScalar(pair.key)) node = pair.key;
  }
  for (let n = p.length - 1; (node === undefined || node === null) && n >= 0; n--)
    node = n === 0 ? doc.contents : doc.getIn(p.slice(0, n), true);
  const range = (node as Node | null | undefined)?.range;
  return range ? lc.linePos(range[0]).line : undefined;
}

/** Parses a pack definition; every error names the file, the line and the key. */
export function parsePackDef(text: string, file: string): PackDef {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError) throw new Error(`${file}:${lc.linePos(yamlError.pos[0]).line}: not valid YAML: ${yamlError.message}`);
  const r = PackDefSchema.safeParse(doc.toJS());
  if (!r.success) {
    throw new Error(
      r.error.issues
        .map((i) => {
          const unknown = i.code === 'unrecognized_keys' ? i.keys[0] : undefined;
          const line = lineOf(doc, lc, i.path, unknown);
          const key = i.path.map(String).join('.') || '(document)';
          const what =
            i.code === 'unrecognized_keys'
              ? `unknown key ${i.keys.join(', ')}${i.path.length ? ` in ${key}` : ''}`
              : `${key}: ${i.message}`;
          return `${file}${line === undefined ? '' : `:${line}`}: ${what}`;
        })
        .join('\n'),
    );
  }
  return r.data;
}

export async function loadPackDef(file: string): Promise<PackDef> {
  return parsePackDef(await readFile(file, 'utf8'), file);
}
