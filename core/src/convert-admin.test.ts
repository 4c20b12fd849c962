// SPEC 9.6: v1alpha1 → v1alpha2 conversion and its proof by simulation.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { conversionDifferences, convertToV1alpha2 } from './convert-admin.js';
import type { ResolvedFlow } from './flow-model.js';
import { resolveFlow } from './inventory.js';
import { loadPolicySet } from './load.js';
import { formatDiagnostic } from './model.js';
import { policyYaml, setArb } from './testing/admin-drafts.js';
import { propertyTestInventory } from './testing/inventory.js';
import { loadPolicies } from './testing/policies.js';

const inventory = propertyTestInventory();
const ENDS = ['a/p1', 'a/p2', 'b/p3', 'b/p4', 'c/p5', '8.8.8.8', '192.168.0.1'];
const FLOWS: ResolvedFlow[] = [];
for (const src of ENDS)
  for (const dst of ENDS)
    for (const protocol of ['TCP', 'UDP'] as const)
      for (const port of [53, 80, 8080]) {
        if (src === dst) continue;
        const r = resolveFlow(inventory, { src, dst, protocol, port });
        if (r.ok) FLOWS.push(r.flow);
      }

describe('nyxctl convert --to v1alpha2 (SPEC 9.6)', () => {
  it('rewrites Allow → Accept, ports → protocols, the BANP → one Baseline object after the others', () => {
    const set = loadPolicies({
      'cluster/anp.yaml': `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata:
  name: allow-mon
spec:
  priority: 3
  subject:
    namespaces: {}
  ingress:
  - name: scrape
    action: Allow
    from:
    - namespaces: {matchLabels: {team: mon}}
    ports:
    - portNumber: {port: 9090}
    - portRange: {protocol: UDP, start: 5000, end: 5000}
    - namedPort: metrics
`,
      'cluster/banp.yaml': `apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata:
  name: default
spec:
  subject:
    namespaces: {}
  ingress:
  - action: Deny
    from:
    - namespaces: {}
`,
      'cluster/cnp.yaml': `apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: baseline-dns
spec:
  tier: Baseline
  priority: 7
  subject:
    namespaces: {}
  egress:
  - action: Accept
    to:
    - namespaces: {}
`,
    });
    const result = convertToV1alpha2(set);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.converted.map((c) => c.manifest)).toEqual([
      {
        apiVersion: 'policy.networking.k8s.io/v1alpha2',
        kind: 'ClusterNetworkPolicy',
        metadata: { name: 'allow-mon' },
        spec: {
          tier: 'Admin',
          priority: 3,
          subject: { namespaces: {} },
          ingress: [
            {
              name: 'scrape',
              action: 'Accept',
              from: [{ namespaces: { matchLabels: { team: 'mon' } } }],
              protocols: [
                { tcp: { destinationPort: { number: 9090 } } },
                { udp: { destinationPort: { number: 5000 } } },
                { destinationNamedPort: 'metrics' },
              ],
            },
          ],
        },
      },
      {
        apiVersion: 'policy.networking.k8s.io/v1alpha2',
        kind: 'ClusterNetworkPolicy',
        metadata: { name: 'default' },
        spec: {
          tier: 'Baseline',
          priority: 8,
          subject: { namespaces: {} },
          ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }],
        },
      },
    ]);
    // what is written loads and validates as v1alpha2
    const written = loadPolicySet(
      result.converted.map((c, i) => ({ path: `cluster/c${i}.yaml`, content: stringify(c.manifest) })),
    );
    expect(written.ok ? [] : written.errors.map(formatDiagnostic)).toEqual([]);
    expect(conversionDifferences(set, result.policySet, inventory, FLOWS)).toEqual([]);
  });

  it('refuses what would lose the order: a v1alpha2 object of the tier at the same priority', () => {
    const set = loadPolicies({
      'cluster/a.yaml':
        'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata:\n  name: a\nspec:\n  priority: 5\n  subject:\n    namespaces: {}\n',
      'cluster/b.yaml':
        'apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata:\n  name: b\nspec:\n  tier: Admin\n  priority: 5\n  subject:\n    namespaces: {}\n',
    });
    const result = convertToV1alpha2(set);
    expect(result.ok ? [] : result.errors.map(formatDiagnostic)).toEqual([
      'cluster/a.yaml:1: AdminNetworkPolicy "a": ClusterNetworkPolicy "b" has priority 5 in tier Admin too; converted, the two would have no defined order: give one of them a free priority first',
    ]);
  });

  it('conversion equivalence on generated policy sets (seeded): no flow changes verdict', () => {
    fc.assert(
      fc.property(setArb, (drafts) => {
        const files = Object.fromEntries(drafts.map((d, i) => [`cluster/p${i}.yaml`, policyYaml(d, i)]));
        const set = loadPolicies(files);
        const result = convertToV1alpha2(set);
        if (!result.ok) return; // an order clash is refused (tested above)
        expect(conversionDifferences(set, result.policySet, inventory, FLOWS)).toEqual([]);
      }),
      { seed: 2026_09_06, numRuns: 200 },
    );
  });
});
