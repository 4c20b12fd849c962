// fast-check arbitraries of small policy sets over the property-test cluster
// (`propertyTestInventory`): mixed kinds, bands and enforcement, with selectors, ports, address
// blocks and FQDNs. Shared by the SPEC property tests and the incremental-evaluation tests.
import fc from 'fast-check';
import type {
  Enforcement,
  FqdnMatch,
  IpBlock,
  LabelSelector,
  NyxEgressRule,
  NyxIngressRule,
  NyxPeer,
  NyxPort,
  PolicyObject,
  PolicySet,
} from '../model.js';

export const selector = fc.constantFrom<LabelSelector>(
  {},
  { matchLabels: { app: 'x' } },
  { matchLabels: { app: 'y' } },
  { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['x'] }] },
);
export const nsSelector = fc.constantFrom<LabelSelector>(
  {},
  { matchLabels: { env: 'prod' } },
  { matchLabels: { env: 'dev' } },
  { matchLabels: { 'kubernetes.io/metadata.name': 'c' } },
);
export const peer = fc.oneof(
  fc.record({ podSelector: selector }),
  fc.record({ namespaceSelector: nsSelector }),
  fc.record({ namespaceSelector: nsSelector, podSelector: selector }),
) as fc.Arbitrary<NyxPeer>;
export const ipBlock = fc.constantFrom<IpBlock>(
  { cidr: '0.0.0.0/0' },
  { cidr: '10.0.0.0/8', except: ['10.0.1.0/24'] },
  { cidr: '8.8.0.0/16' },
  { cidr: '192.168.0.0/16' },
);
export const ports = fc.option(
  fc.constantFrom<NyxPort[]>(
    [{ port: 80 }],
    [{ protocol: 'TCP', port: 443 }],
    [{ protocol: 'UDP', port: 53 }],
    [{ port: 'web' }],
    [{ port: 50, endPort: 100 }],
  ),
  { nil: undefined },
);
export const decision = fc.constantFrom<'Allow' | 'Deny'>('Allow', 'Deny');
export const enforcement = fc.constantFrom<Enforcement | undefined>('audit', 'enforce', undefined);
export const policyTypes = fc.option(
  fc.constantFrom<Array<'Ingress' | 'Egress'>>(['Ingress'], ['Egress'], ['Ingress', 'Egress']),
  { nil: undefined },
);

export const egressRule: fc.Arbitrary<NyxEgressRule> = fc
  .record(
    {
      decision,
      ports,
      to: fc.array(peer, { minLength: 1, maxLength: 2 }),
      toIpBlock: ipBlock,
      toFqdn: fc.constantFrom<FqdnMatch[]>(
        [{ matchName: 'api.example.com' }],
        [{ matchPattern: '*.example.com' }],
      ),
    },
    { requiredKeys: ['decision'] },
  )
  .map((r) => stripUndefined(r));
export const ingressRule: fc.Arbitrary<NyxIngressRule> = fc
  .record(
    { decision, ports, from: fc.array(peer, { minLength: 1, maxLength: 2 }), fromIpBlock: ipBlock },
    { requiredKeys: ['decision'] },
  )
  .map((r) => stripUndefined(r));

export function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** A policy without its name and place: `(name, file, line)` make it an object. */
export type PolicyDraft = (name: string, file: string, line?: number) => PolicyObject;

/** The fields every drafted object has. */
export const objectHead = (
  kind: string,
  name: string,
  file: string,
  line = 1,
  apiVersion = 'nyx.tracenyx.io/v1alpha1',
) => ({
  apiVersion,
  kind,
  metadata: { name },
  source: { file, line },
  lines: {},
});

export const nyxPolicy: fc.Arbitrary<PolicyDraft> = fc
  .record({
    ns: fc.constantFrom('a', 'b', 'c'),
    podSelector: fc.option(selector, { nil: undefined }),
    priority: fc.option(fc.constantFrom(100, 200, 500), { nil: undefined }),
    enforcement,
    policyTypes,
    ingress: fc.option(fc.array(ingressRule, { maxLength: 3 }), { nil: undefined }),
    egress: fc.option(fc.array(egressRule, { maxLength: 3 }), { nil: undefined }),
  })
  .map(
    ({ ns, ...spec }) =>
      (name, file, line) =>
        ({
          ...objectHead('NyxNetworkPolicy', name, file, line),
          namespace: ns,
          spec: stripUndefined(spec),
        }) as PolicyObject,
  );

export const clusterPolicy: fc.Arbitrary<PolicyDraft> = fc
  .record({
    tier: fc.constantFrom<'platform' | 'baseline'>('platform', 'baseline'),
    rank: fc.constantFrom(0, 1),
    namespaceSelector: fc.option(nsSelector, { nil: undefined }),
    podSelector: fc.option(selector, { nil: undefined }),
    enforcement,
    policyTypes,
    ingress: fc.option(fc.array(ingressRule, { maxLength: 3 }), { nil: undefined }),
    egress: fc.option(fc.array(egressRule, { maxLength: 3 }), { nil: undefined }),
  })
  .map(
    ({ rank, ...spec }) =>
      (name, file, line) =>
        ({
          ...objectHead('NyxClusterNetworkPolicy', name, file, line),
          spec: stripUndefined({
            ...spec,
            priority: spec.tier === 'platform' ? [10, 50][rank] : [900, 950][rank],
          }),
        }) as PolicyObject,
  );

export const upstreamPeer = fc.oneof(
  peer,
  ipBlock.map((b) => ({ ipBlock: b })),
);
export const networkPolicy: fc.Arbitrary<PolicyDraft> = fc
  .record({
    ns: fc.constantFrom('a', 'b', 'c'),
    podSelector: selector,
    policyTypes,
    ingress: fc.option(
      fc.array(fc.record({ from: fc.array(upstreamPeer, { maxLength: 2 }), ports }, { requiredKeys: [] }), {
        maxLength: 2,
      }),
      { nil: undefined },
    ),
    egress: fc.option(
      fc.array(fc.record({ to: fc.array(upstreamPeer, { maxLength: 2 }), ports }, { requiredKeys: [] }), {
        maxLength: 2,
      }),
      { nil: undefined },
    ),
  })
  .map(
    ({ ns, ...spec }) =>
      (name, file, line) =>
        ({
          ...objectHead('NetworkPolicy', name, file, line, 'networking.k8s.io/v1'),
          namespace: ns,
          spec: stripUndefined(spec),
        }) as PolicyObject,
  );

export const config = fc.option(
  fc.record({
    defaultMode: fc.constantFrom<'allow' | 'deny' | 'deny-cross-namespace'>(
      'allow',
      'deny',
      'deny-cross-namespace',
    ),
    enforcement,
    excludedNamespaces: fc.constantFrom<string[]>([], ['c']),
  }),
  { nil: undefined },
);

/** Drafts placed as `p<i>` in `f<i>.yaml`, plus the config when there is one. */
export const policyDraft: fc.Arbitrary<PolicyDraft> = fc.oneof(nyxPolicy, clusterPolicy, networkPolicy);

/** A policy set of `objects` and, when given, a `NyxClusterConfig` with spec `cfg`. */
export function policySetOf(objects: PolicyObject[], cfg: object | undefined): PolicySet {
  const set: PolicySet = { objects, ignored: [] };
  if (cfg) {
    const configObject = {
      ...objectHead('NyxClusterConfig', 'cluster', 'cluster/config.yaml'),
      spec: stripUndefined(cfg),
    } as PolicyObject;
    set.objects = [...objects, configObject];
    if (configObject.kind === 'NyxClusterConfig') set.config = configObject;
  }
  return set;
}

// ---- upstream admin policy (SPEC section 9) ---------------------------------------------------------

const adminAction = fc.constantFrom('Accept', 'Deny', 'Pass');
const adminPeer = fc.oneof(
  nsSelector.map((namespaces) => ({ namespaces })),
  fc.record({ pods: fc.record({ namespaceSelector: nsSelector, podSelector: selector }) }),
  ipBlock.map((b) => ({ networks: [b.cidr] })),
);
const adminPorts = fc.option(
  fc.constantFrom<Array<Record<string, unknown>>>(
    [{ tcp: { destinationPort: { number: 80 } } }],
    [{ udp: { destinationPort: { number: 53 } } }],
    [{ tcp: { destinationPort: { range: { start: 50, end: 100 } } } }],
    [{ destinationNamedPort: 'web' }],
  ),
  { nil: undefined },
);
const adminRule = (peerField: 'to' | 'from') =>
  fc
    .record({
      name: fc.option(fc.constantFrom('r-a', 'r-b'), { nil: undefined }),
      action: adminAction,
      [peerField]: fc.array(adminPeer, { minLength: 1, maxLength: 2 }),
      protocols: adminPorts,
    })
    .map((r) => stripUndefined(r));

/**
 * A ClusterNetworkPolicy (v1alpha2; its v1alpha1 twin is what `nyxctl convert` reads back), Admin or
 * Baseline tier, with the audit annotation sometimes. Named ports never sit beside `networks` (the
 * CRD's CEL rule). Priorities are drawn wide so two of one tier rarely tie (the loader refuses that).
 */
export const adminPolicy: fc.Arbitrary<PolicyDraft> = fc
  .record({
    tier: fc.constantFrom<'Admin' | 'Baseline'>('Admin', 'Baseline'),
    priority: fc.integer({ min: 0, max: 1000 }),
    audit: fc.boolean(),
    subject: fc.oneof(
      nsSelector.map((namespaces) => ({ namespaces })),
      fc.record({ pods: fc.record({ namespaceSelector: nsSelector, podSelector: selector }) }),
    ),
    ingress: fc.option(fc.array(adminRule('from'), { minLength: 1, maxLength: 3 }), { nil: undefined }),
    egress: fc.option(fc.array(adminRule('to'), { minLength: 1, maxLength: 3 }), { nil: undefined }),
  })
  .map(({ audit, ...spec }) => {
    const valid = (rules: Array<Record<string, unknown>> | undefined, field: 'to' | 'from') =>
      rules?.map((r) => {
        const networks = (r[field] as Array<Record<string, unknown>>).some((p) => p.networks !== undefined);
        const named = ((r.protocols ?? []) as Array<Record<string, unknown>>).some(
          (p) => p.destinationNamedPort !== undefined,
        );
        return networks && named ? stripUndefined({ ...r, protocols: undefined }) : r;
      });
    return (name: string, file: string, line?: number) =>
      ({
        ...objectHead('ClusterNetworkPolicy', name, file, line, 'policy.networking.k8s.io/v1alpha2'),
        metadata: { name, ...(audit ? { annotations: { 'nyx.tracenyx.io/enforcement': 'audit' } } : {}) },
        spec: stripUndefined({
          ...spec,
          ingress: valid(spec.ingress, 'from'),
          egress: valid(spec.egress, 'to'),
        }),
      }) as PolicyObject;
  });
