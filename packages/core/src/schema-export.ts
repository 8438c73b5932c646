import { z } from 'zod';
import { AnswerFileSchema } from './fleet/answer-file-schema.js';
import { BuildInfoSchema } from './installation/buildinfo.js';
import { CatalogSchema } from './feed/catalog.js';
import { FeedIndexSchema } from './feed/schema.js';
import { FixSchema } from './rules/fix.js';
import { ManifestSchema, SignatureFileSchema } from './pack/manifest.js';
import { StateSchema } from './installation/state.js';

/**
 * JSON Schemas generated from the zod schemas (docs/formats.md), for people and tools outside this code
 * base (editors validating fix.yaml, feed mirrors checking manifests). zod stays the source of truth:
 * refinements such as "a hotfix names its baseLevel" or path safety exist only there, which the
 * description of each document says.
 */
const documents = {
  manifest: { schema: ManifestSchema, title: 'servicepack pack manifest (servicepack.json)' },
  signatures: { schema: SignatureFileSchema, title: 'servicepack pack signatures (servicepack.sig)' },
  buildinfo: { schema: BuildInfoSchema, title: 'release BUILDINFO.json' },
  state: { schema: StateSchema, title: 'installation state record (.servicepack/state.json)' },
  fix: { schema: FixSchema, title: 'fix definition (patches/<ID>/fix.yaml)' },
  feedIndex: { schema: FeedIndexSchema, title: 'servicepack feed index (index.json)' },
  catalog: { schema: CatalogSchema, title: 'servicepack file catalog (catalog.json)' },
  answerFile: {
    schema: AnswerFileSchema,
    title: 'servicepack answer file for unattended installs (YAML, e.g. manifests/unattend/sp6.yaml)',
  },
} as const;

export type SchemaName = keyof typeof documents;

/** name -> JSON Schema document; `io: 'input'` so defaults (fix.yaml) are optional as a writer sees them. */
export function jsonSchemas(): Record<SchemaName, Record<string, unknown>> {
  const out = {} as Record<SchemaName, Record<string, unknown>>;
  for (const [name, { schema, title }] of Object.entries(documents) as [SchemaName, (typeof documents)[SchemaName]][]) {
    const generated = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
    out[name] = {
      ...generated,
      title,
      description: `Generated from the zod schema in @servicepack/core; the zod schema also enforces rules JSON Schema cannot express (cross-field checks, path safety).`,
    };
  }
  return out;
}

/** Stable text for a schema file: 2-space JSON and a newline, so unchanged schemas give unchanged files. */
export function jsonSchemaText(name: SchemaName): string {
  return `${JSON.stringify(jsonSchemas()[name], null, 2)}\n`;
}
