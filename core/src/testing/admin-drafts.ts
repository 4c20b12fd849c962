// Drafts of upstream admin policy sets for property tests (SPEC 9): random ClusterNetworkPolicy,
// AdminNetworkPolicy and BaselineAdminNetworkPolicy objects over the property-test cluster, written
// as YAML so that they go through the real loader.
import fc from 'fast-check';

export const NAMESPACES = ['a', 'b', 'c'] as const;

export type Action = 'accept' | 'deny' | 'pass';
export type PortDraft =
  | { kind: 'any' }
  | { kind: 'number'; protocol: 'TCP' | 'UDP'; port: number }
  | { kind: 'named' };
export interface RuleDraft {
  action: Action;
  peerNs: (typeof NAMESPACES)[number] | '*';
  port: PortDraft;
}
export interface PolicyDraft {
  version: 'v1alpha1' | 'v1alpha2';
  tier: 'Admin' | 'Baseline';
  priority: number;
  subjectNs: (typeof NAMESPACES)[number] | '*';
  ingress: RuleDraft[];
  egress: RuleDraft[];
}

const ruleArb: fc.Arbitrary<RuleDraft> = fc.record({
  action: fc.constantFrom<Action>('accept', 'deny', 'pass'),
  peerNs: fc.constantFrom('a', 'b', 'c', '*'),
  port: fc.oneof(
    fc.constant<PortDraft>({ kind: 'any' }),
    fc.record({
      kind: fc.constant('number' as const),
      protocol: fc.constantFrom<'TCP' | 'UDP'>('TCP', 'UDP'),
      port: fc.constantFrom(53, 80),
    }),
    fc.constant<PortDraft>({ kind: 'named' }),
  ),
});

const policyArb: fc.Arbitrary<PolicyDraft> = fc.record({
  version: fc.constantFrom<'v1alpha1' | 'v1alpha2'>('v1alpha1', 'v1alpha2'),
  tier: fc.constantFrom<'Admin' | 'Baseline'>('Admin', 'Baseline'),
  priority: fc.integer({ min: 0, max: 1 }),
  subjectNs: fc.constantFrom('a', 'b', 'c', '*'),
  ingress: fc.array(ruleArb, { maxLength: 3 }),
  egress: fc.array(ruleArb, { maxLength: 3 }),
});

/** Valid sets: one policy per (tier, version, priority), one BaselineAdminNetworkPolicy, no BANP Pass. */
export const setArb = fc
  .uniqueArray(policyArb, {
    maxLength: 5,
    selector: (p) =>
      p.version === 'v1alpha1' && p.tier === 'Baseline' ? 'banp' : `${p.tier}/${p.version}/${p.priority}`,
  })
  .map((drafts) =>
    drafts.map((d) =>
      d.version === 'v1alpha1' && d.tier === 'Baseline'
        ? {
            ...d,
            ingress: d.ingress.map((r) => ({
              ...r,
              action: r.action === 'pass' ? ('deny' as const) : r.action,
            })),
            egress: d.egress.map((r) => ({
              ...r,
              action: r.action === 'pass' ? ('deny' as const) : r.action,
            })),
          }
        : d,
    ),
  );

const nsSelector = (ns: string) =>
  ns === '*' ? '{}' : `{matchLabels: {kubernetes.io/metadata.name: ${ns}}}`;

function ruleYaml(d: PolicyDraft, dir: 'ingress' | 'egress', r: RuleDraft): string {
  const action =
    r.action === 'accept'
      ? d.version === 'v1alpha2'
        ? 'Accept'
        : 'Allow'
      : r.action === 'deny'
        ? 'Deny'
        : 'Pass';
  let out = `  - action: ${action}\n    ${dir === 'ingress' ? 'from' : 'to'}:\n    - namespaces: ${nsSelector(r.peerNs)}\n`;
  if (r.port.kind === 'number') {
    out +=
      d.version === 'v1alpha2'
        ? `    protocols:\n    - ${r.port.protocol.toLowerCase()}: {destinationPort: {number: ${r.port.port}}}\n`
        : `    ports:\n    - portNumber: {protocol: ${r.port.protocol}, port: ${r.port.port}}\n`;
  } else if (r.port.kind === 'named') {
    out +=
      d.version === 'v1alpha2'
        ? '    protocols:\n    - destinationNamedPort: web\n'
        : '    ports:\n    - namedPort: web\n';
  }
  return out;
}

export function policyYaml(d: PolicyDraft, i: number): string {
  const banp = d.version === 'v1alpha1' && d.tier === 'Baseline';
  const kind =
    d.version === 'v1alpha2'
      ? 'ClusterNetworkPolicy'
      : banp
        ? 'BaselineAdminNetworkPolicy'
        : 'AdminNetworkPolicy';
  let out = `apiVersion: policy.networking.k8s.io/${d.version}\nkind: ${kind}\nmetadata:\n  name: ${banp ? 'default' : `p${i}`}\nspec:\n`;
  if (d.version === 'v1alpha2') out += `  tier: ${d.tier}\n`;
  if (!banp) out += `  priority: ${d.priority}\n`;
  out += `  subject:\n    namespaces: ${nsSelector(d.subjectNs)}\n`;
  for (const dir of ['ingress', 'egress'] as const) {
    if (d[dir].length > 0) out += `  ${dir}:\n${d[dir].map((r) => ruleYaml(d, dir, r)).join('')}`;
  }
  return out;
}
