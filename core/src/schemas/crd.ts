// CustomResourceDefinitions derived from the JSON Schemas in `kinds.ts` (one source of truth).
// Pure: `crdFiles()` returns the file contents that `deploy/generate-crds.ts` writes to
// `deploy/crds/` and that `crds.test.ts` compares with the committed files.
import { stringify } from 'yaml';
import {
  type JsonSchema,
  NYX_GROUP,
  NYX_VERSION,
  nyxClusterConfigSchema,
  nyxClusterNetworkPolicySchema,
  nyxNetworkPolicySchema,
} from './kinds.js';

interface CrdInfo {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  scope: 'Cluster' | 'Namespaced';
  schema: JsonSchema;
  columns: Array<{ name: string; type: string; jsonPath: string; description: string }>;
  /**
   * CEL rules (`x-kubernetes-validations`, Kubernetes 1.25+) on the root object, so that the API server
   * also refuses what the loader refuses for the priority bands and the singleton, even for `kubectl apply`
   * that bypasses Git. They restate the loader's semantic rules; the loader's messages remain the reference.
   */
  rules: Array<{ rule: string; message: string }>;
}

const AGE_COLUMN = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Age' };
const POLICY_COLUMNS = [
  { name: 'Priority', type: 'integer', jsonPath: '.spec.priority', description: 'Lower is evaluated first' },
  { name: 'Enforcement', type: 'string', jsonPath: '.spec.enforcement', description: 'audit or enforce' },
];

const CRDS: CrdInfo[] = [
  {
    kind: 'NyxClusterConfig',
    plural: 'nyxclusterconfigs',
    singular: 'nyxclusterconfig',
    shortNames: ['ncc'],
    scope: 'Cluster',
    schema: nyxClusterConfigSchema,
    columns: [
      {
        name: 'Mode',
        type: 'string',
        jsonPath: '.spec.defaultMode',
        description: 'Default for unmatched flows',
      },
      { name: 'Enforcement', type: 'string', jsonPath: '.spec.enforcement', description: 'audit or enforce' },
      AGE_COLUMN,
    ],
    rules: [
      { rule: "self.metadata.name == 'cluster'", message: 'NyxClusterConfig is a singleton named "cluster"' },
    ],
  },
  {
    kind: 'NyxClusterNetworkPolicy',
    plural: 'nyxclusternetworkpolicies',
    singular: 'nyxclusternetworkpolicy',
    shortNames: ['ncnp'],
    scope: 'Cluster',
    schema: nyxClusterNetworkPolicySchema,
    columns: [
      {
        name: 'Tier',
        type: 'string',
        jsonPath: '.spec.tier',
        description: 'platform (0-99) or baseline (900-999)',
      },
      ...POLICY_COLUMNS,
      AGE_COLUMN,
    ],
    rules: [
      {
        rule: "self.spec.tier != 'platform' || self.spec.priority <= 99",
        message: 'tier platform needs a priority in 0-99',
      },
      {
        rule: "self.spec.tier != 'baseline' || self.spec.priority >= 900",
        message: 'tier baseline needs a priority in 900-999',
      },
    ],
  },
  {
    kind: 'NyxNetworkPolicy',
    plural: 'nyxnetworkpolicies',
    singular: 'nyxnetworkpolicy',
    shortNames: ['nnp'],
    scope: 'Namespaced',
    schema: nyxNetworkPolicySchema,
    columns: [...POLICY_COLUMNS, AGE_COLUMN],
    rules: [
      {
        rule: '!has(self.spec.priority) || (self.spec.priority >= 100 && self.spec.priority <= 899)',
        message:
          'namespace policies use priorities 100-899 (0-99 is the platform band, 900-999 the baseline band)',
      },
    ],
  },
];

/**
 * Converts one of our JSON Schemas to a Kubernetes structural schema: `additionalProperties: false`
 * is dropped (the API server prunes unknown fields instead, and forbids it beside `properties`),
 * `enum` on `apiVersion`/`kind` is dropped, `type: ['integer', 'string']` becomes
 * `x-kubernetes-int-or-string`, and empty "tolerated" schemas become preserved unknown fields.
 */
export function toStructuralSchema(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  const type = schema.type;
  if (Array.isArray(type)) {
    out['x-kubernetes-int-or-string'] = true;
  } else if (type !== undefined) {
    out.type = type;
  } else if (Object.keys(schema).length === 0) {
    return { 'x-kubernetes-preserve-unknown-fields': true };
  }
  for (const [keyword, value] of Object.entries(schema)) {
    switch (keyword) {
      case 'type':
        break;
      case 'additionalProperties':
        if (value !== false) out.additionalProperties = toStructuralSchema(value as JsonSchema);
        break;
      case 'properties':
        out.properties = Object.fromEntries(
          Object.entries(value as Record<string, JsonSchema>).map(([k, v]) => [k, toStructuralSchema(v)]),
        );
        break;
      case 'items':
        out.items = toStructuralSchema(value as JsonSchema);
        break;
      default:
        out[keyword] = value;
    }
  }
  return out;
}

function rootSchema(schema: JsonSchema, rules: CrdInfo['rules']): JsonSchema {
  const props = schema.properties as Record<string, JsonSchema>;
  const required = (schema.required as string[]).filter((r) => r === 'spec');
  return {
    type: 'object',
    ...(required.length > 0 ? { required } : {}),
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      // The API server owns ObjectMeta's schema; a CRD may only say it is an object.
      metadata: { type: 'object' },
      spec: toStructuralSchema(props.spec!),
      // Written by the reconciler through the status subresource; never part of what Git holds.
      status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    },
    ...(rules.length > 0 ? { 'x-kubernetes-validations': rules } : {}),
  };
}

/** The `apiextensions.k8s.io/v1` CustomResourceDefinitions of the Nyx kinds. */
export function crdManifests(): Array<Record<string, unknown>> {
  return CRDS.map((c) => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${c.plural}.${NYX_GROUP}` },
    spec: {
      group: NYX_GROUP,
      names: {
        kind: c.kind,
        listKind: `${c.kind}List`,
        plural: c.plural,
        singular: c.singular,
        shortNames: c.shortNames,
        categories: ['nyx'],
      },
      scope: c.scope,
      versions: [
        {
          name: NYX_VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: rootSchema(c.schema, c.rules) },
          // `status` is its own subresource: a spec apply cannot touch it, a status write cannot touch spec.
          subresources: { status: {} },
          additionalPrinterColumns: c.columns,
        },
      ],
    },
  }));
}

/** `deploy/crds/<plural>.<group>.yaml` files, serialised with the `yaml` package. */
export function crdFiles(): Array<{ path: string; content: string }> {
  return crdManifests().map((crd) => ({
    path: `deploy/crds/${(crd.metadata as { name: string }).name}.yaml`,
    content: `# Generated by \`npm run gen:crds\` from core/src/schemas; do not edit.\n${stringify(crd, { lineWidth: 0, aliasDuplicateObjects: false })}`,
  }));
}
