// SPEC 9.6: v1alpha1 → v1alpha2 conversion and its proof by simulation.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  conversionDifferences,
  convertToV1alpha2,
  proofFlows,
  proofInventory,
  rewriteFilesAsV1alpha2,
} from './convert-admin.js';
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
        // the files rewritten in place load as the same objects
        const rewritten = rewriteFilesAsV1alpha2(
          Object.entries(files).map(([path, content]) => ({ path, content })),
          result.converted,
        );
        const after = loadPolicies({
          ...files,
          ...Object.fromEntries(rewritten.map((f) => [f.path, f.content])),
        });
        const specs = (ps: typeof set) =>
          ps.objects.map((o) => [o.kind, o.metadata.name, JSON.parse(JSON.stringify(o.spec))]);
        expect(specs(after)).toEqual(specs(result.policySet));
      }),
      { seed: 2026_09_06, numRuns: 200 },
    );
  });
});

describe('nyxctl convert --write: the files rewritten in place (SPEC 9.6)', () => {
  const FILE = [
    '# Platform guardrails, exported from the cluster.',
    'apiVersion: v1',
    'kind: ConfigMap   # not a policy: kept byte for byte',
    'metadata: {name: notes}',
    '---',
    '# Why: the metadata service hands out node credentials.',
    'apiVersion: policy.networking.k8s.io/v1alpha1',
    'kind: AdminNetworkPolicy',
    'metadata:',
    '  name: deny-metadata',
    '  uid: 0b6c3c1e-2d1f-4d8e-9f57-2a8c1f1b7c11',
    '  resourceVersion: "4711"',
    '  annotations:',
    '    nyx.tracenyx.io/enforcement: audit',
    'spec:',
    '  priority: 10',
    '  subject:',
    '    namespaces: {}',
    '  egress:',
    '  # first the metadata address',
    '  - name: metadata',
    '    action: Deny   # never',
    '    to:',
    '    - networks: ["169.254.169.254/32"]',
    '  - action: Allow',
    '    to:',
    '    - namespaces: {matchLabels: {kubernetes.io/metadata.name: kube-system}}',
    '    ports:',
    '    - portNumber: {protocol: UDP, port: 53}',
    '    - namedPort: dns-tcp',
    'status: {}',
    '---',
    '# apiVersion: policy.networking.k8s.io/v1alpha1',
    '# kind: AdminNetworkPolicy   (commented out: stays as it is)',
    '---',
    'apiVersion: policy.networking.k8s.io/v1alpha1',
    'kind: BaselineAdminNetworkPolicy',
    'metadata:',
    '  name: default',
    'spec:',
    '  subject:',
    '    namespaces: {}',
    '  ingress:',
    '  - action: Deny',
    '    from:',
    '    - namespaces: {}',
    '',
  ].join('\r\n');

  it('replaces each v1alpha1 object in its document, keeping comments, other documents and CRLF', () => {
    const set = loadPolicies({ 'cluster/admin.yaml': FILE });
    const result = convertToV1alpha2(set);
    if (!result.ok) throw new Error('refused');
    const rewritten = rewriteFilesAsV1alpha2(
      [{ path: 'cluster/admin.yaml', content: FILE }],
      result.converted,
    );
    expect(rewritten.map((f) => f.path)).toEqual(['cluster/admin.yaml']);
    const lines = rewritten[0]!.content.split('\r\n');
    expect(rewritten[0]!.content.replace(/\r\n/g, '')).not.toContain('\n'); // CRLF throughout
    expect(lines).toEqual([
      '# Platform guardrails, exported from the cluster.',
      'apiVersion: v1',
      'kind: ConfigMap   # not a policy: kept byte for byte',
      'metadata: {name: notes}',
      '---',
      '# Why: the metadata service hands out node credentials.',
      'apiVersion: policy.networking.k8s.io/v1alpha2',
      'kind: ClusterNetworkPolicy',
      'metadata:',
      '  name: deny-metadata',
      '  annotations:',
      '    nyx.tracenyx.io/enforcement: audit',
      'spec:',
      '  tier: Admin',
      '  priority: 10',
      '  subject:',
      '    namespaces: {}',
      '  egress:',
      '  # first the metadata address',
      '  - name: metadata',
      '    action: Deny # never',
      '    to:',
      '    - networks: ["169.254.169.254/32"]',
      '  - action: Accept',
      '    to:',
      '    - namespaces: {matchLabels: {kubernetes.io/metadata.name: kube-system}}',
      '    protocols:',
      '    - udp:',
      '        destinationPort:',
      '          number: 53',
      '    - destinationNamedPort: dns-tcp',
      '---',
      '# apiVersion: policy.networking.k8s.io/v1alpha1',
      '# kind: AdminNetworkPolicy   (commented out: stays as it is)',
      '---',
      'apiVersion: policy.networking.k8s.io/v1alpha2',
      'kind: ClusterNetworkPolicy',
      'metadata:',
      '  name: default',
      'spec:',
      '  tier: Baseline',
      '  priority: 0',
      '  subject:',
      '    namespaces: {}',
      '  ingress:',
      '  - action: Deny',
      '    from:',
      '    - namespaces: {}',
      '',
    ]);
    const after = loadPolicies({ 'cluster/admin.yaml': rewritten[0]!.content });
    expect(after.objects.map((o) => [o.kind, o.metadata.name, o.spec])).toEqual(
      result.policySet.objects.map((o) => [o.kind, o.metadata.name, o.spec]),
    );
    // files without v1alpha1 objects are not returned
    expect(rewriteFilesAsV1alpha2([{ path: 'x.yaml', content: 'a: 1\n' }], result.converted)).toEqual([]);
  });

  it('an AdminNetworkPolicy named "default" beside the BaselineAdminNetworkPolicy is refused (same name once converted)', () => {
    const set = loadPolicies({
      'cluster/a.yaml':
        'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata:\n  name: default\nspec:\n  priority: 5\n  subject:\n    namespaces: {}\n',
      'cluster/b.yaml':
        'apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata:\n  name: default\nspec:\n  subject:\n    namespaces: {}\n',
    });
    const result = convertToV1alpha2(set);
    expect(result.ok ? [] : result.errors.map(formatDiagnostic)).toEqual([
      'cluster/b.yaml:1: BaselineAdminNetworkPolicy "default": AdminNetworkPolicy "default" would become a ClusterNetworkPolicy of the same name; rename the AdminNetworkPolicy first',
    ]);
  });
});

describe('the proof without an inventory: stand-ins for every selector, network and port', () => {
  const set = loadPolicies({
    'cluster/anp.yaml': `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata:
  name: pay-metrics
spec:
  priority: 3
  subject:
    pods:
      namespaceSelector: {matchLabels: {team: pay}}
      podSelector: {matchExpressions: [{key: app, operator: In, values: [api, worker]}]}
  ingress:
  - action: Deny
    from:
    - namespaces: {matchLabels: {team: mon}}
    ports:
    - namedPort: metrics
  egress:
  - action: Deny
    to:
    - networks: ["10.96.0.0/12"]
    - nodes: {matchLabels: {role: infra}}
`,
  });
  const inv = proofInventory(set);

  it('has a pod each selector selects, a node for the node selector, the named port', () => {
    const pods = [...inv.pods.values()];
    expect(pods.some((p) => p.namespaceLabels.team === 'pay' && p.labels.app === 'api')).toBe(true);
    expect(pods.some((p) => p.namespaceLabels.team === 'mon')).toBe(true);
    expect(pods.every((p) => p.ports.some((c) => c.name === 'metrics'))).toBe(true);
    expect([...inv.nodes.values()].some((n) => n.labels?.role === 'infra')).toBe(true);
  });

  it('its flows see each rule decide, so a rewrite that changed one would be caught', () => {
    const flows = proofFlows(inv, set);
    const decided = new Set<string>();
    const evaluated = conversionDifferences(set, loadPolicies({}), inv, flows);
    for (const d of evaluated)
      for (const r of d.before.reasons) if (r.object) decided.add(`${r.object} ${r.point}[${r.rule}]`);
    expect([...decided].sort()).toEqual([
      'AdminNetworkPolicy/pay-metrics egress[0]',
      'AdminNetworkPolicy/pay-metrics ingress[0]',
    ]);
    // the generated flows include the network's address and the infra node
    expect(flows.some((f) => f.dst.kind === 'world' && f.dst.ip === '10.96.0.0')).toBe(true);
    expect(flows.some((f) => f.dst.kind === 'node' && f.dst.node.labels?.role === 'infra')).toBe(true);
  });
});
