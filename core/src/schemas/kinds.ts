// One JSON Schema per kind: the single source of truth for shapes. The loader validates with ajv
// against these (unknown fields are errors: `additionalProperties: false` everywhere), and
// `crdManifests()` derives the CustomResourceDefinitions from the same objects.
//
// Conventions kept so that the CRD conversion stays mechanical: no `$ref`, no `const`, no
// `uniqueItems`; int-or-string is written `type: ['integer', 'string']` (ajv `allowUnionTypes`) and
// becomes `x-kubernetes-int-or-string: true` in the CRD. Range and syntax rules whose messages must
// name the band or the syntax (priority bands, ports, CIDRs, selectors) are checked by the loader
// after the schema, so only `minimum`/`maximum` that never overlap those messages appear here.

/** A JSON Schema object (draft-07 subset that Kubernetes structural schemas can also express). */
export type JsonSchema = { [keyword: string]: unknown };

export const NYX_GROUP = 'nyx.tracenyx.io';
export const NYX_VERSION = 'v1alpha1';

/** DNS-1123 subdomain: object names. */
export const DNS_SUBDOMAIN_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
/** DNS-1123 label: namespace names. */
export const DNS_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

/** Human wording of each pattern, for error messages. */
export const PATTERN_DESCRIPTIONS: Readonly<Record<string, string>> = {
  [DNS_SUBDOMAIN_PATTERN]:
    'a DNS subdomain (lowercase letters, digits, "-" and ".", starting and ending alphanumeric)',
  [DNS_LABEL_PATTERN]: 'a DNS label (lowercase letters, digits and "-", starting and ending alphanumeric)',
};

const str: JsonSchema = { type: 'string' };
const stringList: JsonSchema = { type: 'array', items: str };
const stringMap: JsonSchema = { type: 'object', additionalProperties: str };
const intOrString: JsonSchema = { type: ['integer', 'string'] };
const enforcement: JsonSchema = { type: 'string', enum: ['audit', 'enforce'] };
const policyTypes: JsonSchema = { type: 'array', items: { type: 'string', enum: ['Ingress', 'Egress'] } };

function object(properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    ...(required.length > 0 ? { required } : {}),
    properties,
  };
}

export const labelSelectorSchema: JsonSchema = object({
  matchLabels: stringMap,
  matchExpressions: {
    type: 'array',
    items: object(
      {
        key: str,
        operator: { type: 'string', enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
        values: stringList,
      },
      ['key', 'operator'],
    ),
  },
});

/**
 * ObjectMeta as a manifest in Git carries it. Server-populated fields are tolerated (a tree exported
 * with `kubectl get -o yaml` still loads) but not interpreted; anything else is an unknown field.
 */
export const objectMetaSchema: JsonSchema = object(
  {
    name: { type: 'string', maxLength: 253, pattern: DNS_SUBDOMAIN_PATTERN },
    namespace: { type: 'string', maxLength: 63, pattern: DNS_LABEL_PATTERN },
    labels: stringMap,
    annotations: stringMap,
    uid: {},
    resourceVersion: {},
    generation: {},
    creationTimestamp: {},
    deletionTimestamp: {},
    deletionGracePeriodSeconds: {},
    managedFields: {},
    ownerReferences: {},
    finalizers: {},
    selfLink: {},
  },
  ['name'],
);

const ipBlock: JsonSchema = object({ cidr: str, except: stringList }, ['cidr']);
const port: JsonSchema = object({
  protocol: { type: 'string', enum: ['TCP', 'UDP', 'SCTP'] },
  port: intOrString,
  endPort: { type: 'integer' },
});
const nyxPeer: JsonSchema = object({
  namespaceSelector: labelSelectorSchema,
  podSelector: labelSelectorSchema,
});
const fqdn: JsonSchema = object({ matchName: str, matchPattern: str });
const decision: JsonSchema = { type: 'string', enum: ['Allow', 'Deny'] };

const nyxEgressRule: JsonSchema = object(
  {
    decision,
    ports: { type: 'array', items: port },
    to: { type: 'array', items: nyxPeer },
    toIpBlock: ipBlock,
    toFqdn: { type: 'array', items: fqdn },
  },
  ['decision'],
);
const nyxIngressRule: JsonSchema = object(
  {
    decision,
    ports: { type: 'array', items: port },
    from: { type: 'array', items: nyxPeer },
    fromIpBlock: ipBlock,
  },
  ['decision'],
);

function manifest(kind: string, apiVersion: string, spec: JsonSchema, specRequired: boolean): JsonSchema {
  return object(
    {
      apiVersion: { type: 'string', enum: [apiVersion] },
      kind: { type: 'string', enum: [kind] },
      metadata: objectMetaSchema,
      spec,
    },
    specRequired ? ['apiVersion', 'kind', 'metadata', 'spec'] : ['apiVersion', 'kind', 'metadata'],
  );
}

const NYX_API = `${NYX_GROUP}/${NYX_VERSION}`;

export const nyxClusterConfigSchema: JsonSchema = manifest(
  'NyxClusterConfig',
  NYX_API,
  object({
    defaultMode: { type: 'string', enum: ['allow', 'deny-cross-namespace', 'deny'] },
    enforcement,
    excludedNamespaces: {
      type: 'array',
      items: { type: 'string', maxLength: 63, pattern: DNS_LABEL_PATTERN },
    },
  }),
  false,
);

export const nyxClusterNetworkPolicySchema: JsonSchema = manifest(
  'NyxClusterNetworkPolicy',
  NYX_API,
  object(
    {
      tier: { type: 'string', enum: ['platform', 'baseline'] },
      priority: { type: 'integer', minimum: 0, maximum: 999 },
      enforcement,
      namespaceSelector: labelSelectorSchema,
      podSelector: labelSelectorSchema,
      policyTypes,
      ingress: { type: 'array', items: nyxIngressRule },
      egress: { type: 'array', items: nyxEgressRule },
    },
    ['tier', 'priority'],
  ),
  true,
);

export const nyxNetworkPolicySchema: JsonSchema = manifest(
  'NyxNetworkPolicy',
  NYX_API,
  object({
    podSelector: labelSelectorSchema,
    priority: { type: 'integer', minimum: 0, maximum: 999 },
    enforcement,
    policyTypes,
    ingress: { type: 'array', items: nyxIngressRule },
    egress: { type: 'array', items: nyxEgressRule },
  }),
  true,
);

// Upstream networking.k8s.io/v1 NetworkPolicy, as the Kubernetes API defines it.
const upstreamPeer: JsonSchema = object({
  podSelector: labelSelectorSchema,
  namespaceSelector: labelSelectorSchema,
  ipBlock,
});

/**
 * `spec.podSelector` is optional here: recent Kubernetes releases treat a missing selector as `{}`
 * (every pod of the namespace), and the loader fills in `{}`.
 */
export const networkPolicySchema: JsonSchema = manifest(
  'NetworkPolicy',
  'networking.k8s.io/v1',
  object({
    podSelector: labelSelectorSchema,
    policyTypes,
    ingress: {
      type: 'array',
      items: object({ from: { type: 'array', items: upstreamPeer }, ports: { type: 'array', items: port } }),
    },
    egress: {
      type: 'array',
      items: object({ to: { type: 'array', items: upstreamPeer }, ports: { type: 'array', items: port } }),
    },
  }),
  true,
);

/** The schema of each policy kind the engine manages. */
export const policySchemas = {
  NyxClusterConfig: nyxClusterConfigSchema,
  NyxClusterNetworkPolicy: nyxClusterNetworkPolicySchema,
  NyxNetworkPolicy: nyxNetworkPolicySchema,
  NetworkPolicy: networkPolicySchema,
} as const;
