// The upstream network-policy-api kinds (SPEC section 9): their JSON Schemas are derived from the
// upstream CRDs, the inverse of what `crd.ts` does for the Nyx kinds. The CRD YAML is committed in
// `deploy/upstream-crds/` (version and checksum in its README); `npm run gen:crds` keeps the
// description-free copy of each `openAPIV3Schema` in `upstream-crds.generated.ts`, and `crds.test.ts`
// fails when that copy is stale. The CEL rules (`x-kubernetes-validations`) are not expressible in a
// JSON Schema: the loader restates each one by hand (load.ts, `upstreamProblems`).
import { ANP_API_VERSION, CNP_API_VERSION } from '../model.js';
import { type JsonSchema, objectMetaSchema } from './kinds.js';
import { UPSTREAM_CRD_SCHEMAS } from './upstream-crds.generated.js';

/** The upstream kinds, each with the one API version it is served in. */
export const UPSTREAM_KINDS = {
  AdminNetworkPolicy: ANP_API_VERSION,
  BaselineAdminNetworkPolicy: ANP_API_VERSION,
  ClusterNetworkPolicy: CNP_API_VERSION,
} as const;
export type UpstreamKind = keyof typeof UPSTREAM_KINDS;

// Keywords of a structural schema that carry no constraint a JSON Schema validator checks here:
// documentation, server-side defaulting, map merge hints, and `format` (int32/int64/date-time:
// the ranges are given by minimum/maximum; `cidr` syntax is checked by the loader with its CEL rule).
const DROPPED = new Set([
  'description',
  'default',
  'format',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
]);

/**
 * A Kubernetes structural schema as a JSON Schema for ajv: objects with `properties` refuse unknown
 * fields (`additionalProperties: false`, as `kubectl apply`'s strict field validation does),
 * `x-kubernetes-int-or-string` becomes `type: ['integer', 'string']`, and the keywords above go.
 */
export function fromStructuralSchema(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [keyword, value] of Object.entries(schema)) {
    if (DROPPED.has(keyword)) continue;
    switch (keyword) {
      case 'x-kubernetes-int-or-string':
        if (value === true) out.type = ['integer', 'string'];
        break;
      case 'x-kubernetes-preserve-unknown-fields':
        break;
      case 'x-kubernetes-list-type':
        // The API server refuses a repeated item of a `set` list.
        if (value === 'set') out.uniqueItems = true;
        break;
      case 'properties':
        out.properties = Object.fromEntries(
          Object.entries(value as Record<string, JsonSchema>).map(([k, v]) => [k, fromStructuralSchema(v)]),
        );
        break;
      case 'items':
      case 'additionalProperties':
        out[keyword] = typeof value === 'object' ? fromStructuralSchema(value as JsonSchema) : value;
        break;
      default:
        out[keyword] = value;
    }
  }
  if (out.properties !== undefined && out.additionalProperties === undefined)
    out.additionalProperties = false;
  // The API server fills in defaults before it validates: a defaulted field is never missing.
  if (Array.isArray(out.required)) {
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
    const required = (out.required as string[]).filter((name) => properties[name]?.default === undefined);
    if (required.length > 0) out.required = required;
    else delete out.required;
  }
  return out;
}

const manifestSchemas = new Map<UpstreamKind, JsonSchema>();

/**
 * The manifest schema of one upstream kind: the CRD's schema without `status` (the loader drops it),
 * our ObjectMeta, apiVersion and kind pinned. Built on first use.
 */
export function upstreamManifestSchema(kind: UpstreamKind): JsonSchema {
  let schema = manifestSchemas.get(kind);
  if (!schema) {
    const root = fromStructuralSchema(UPSTREAM_CRD_SCHEMAS[kind] as JsonSchema);
    const { status: _status, ...properties } = root.properties as Record<string, JsonSchema>;
    schema = {
      ...root,
      required: ['apiVersion', 'kind', 'metadata', 'spec'],
      properties: {
        ...properties,
        apiVersion: { type: 'string', enum: [UPSTREAM_KINDS[kind]] },
        kind: { type: 'string', enum: [kind] },
        metadata: objectMetaSchema,
      },
    };
    manifestSchemas.set(kind, schema);
  }
  return schema;
}

/**
 * The description-free `openAPIV3Schema` of each upstream CRD file, keyed by kind: what
 * `upstream-crds.generated.ts` holds. Pure: the caller reads the files.
 */
export function upstreamCrdSchemas(
  crds: ReadonlyArray<{
    spec: { names: { kind: string }; versions: Array<{ schema: { openAPIV3Schema: JsonSchema } }> };
  }>,
): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = {};
  for (const crd of crds) {
    out[crd.spec.names.kind] = withoutDescriptions(
      crd.spec.versions[0]!.schema.openAPIV3Schema,
    ) as JsonSchema;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function withoutDescriptions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDescriptions);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k, v]) => k !== 'description' || typeof v !== 'string')
      .map(([k, v]) => [k, withoutDescriptions(v)]),
  );
}

/** The source of `upstream-crds.generated.ts` for `upstreamCrdSchemas(...)`. */
export function upstreamCrdsModule(schemas: Record<string, JsonSchema>): string {
  return `// Generated by \`npm run gen:crds\` from deploy/upstream-crds/*.yaml (descriptions removed). Do not edit.
export const UPSTREAM_CRD_SCHEMAS: Readonly<Record<string, unknown>> = ${JSON.stringify(schemas, null, 2)};
`;
}
