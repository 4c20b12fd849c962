// Loading and validating the upstream admin policy kinds (SPEC section 9.3). The case table is shared
// with the real API server test (test/kube-api/upstream-crds.test.ts).
import { describe, expect, it } from 'vitest';
import { loadPolicySet } from './load.js';
import { enforcementOf, formatDiagnostic } from './model.js';
import { UPSTREAM_ADMIN_CASES } from './testing/upstream-admin-cases.js';

const load = (files: Record<string, string>) =>
  loadPolicySet(Object.entries(files).map(([path, content]) => ({ path, content })));

describe('upstream admin policy: load and validate as the upstream CRDs do', () => {
  for (const c of UPSTREAM_ADMIN_CASES) {
    it(c.refused ? `refuses: ${c.name}` : `accepts: ${c.name}`, () => {
      const result = load({ 'cluster/policy.yaml': c.yaml });
      if (!c.refused) {
        expect(result.ok ? [] : result.errors.map(formatDiagnostic)).toEqual([]);
        expect(result.ok && result.policySet.objects).toHaveLength(1);
        expect(result.notes).toEqual([]);
        return;
      }
      expect(result.ok).toBe(false);
      const errors = result.ok ? [] : result.errors;
      expect(errors[0]).toMatchObject({ file: 'cluster/policy.yaml', line: c.refused.line });
      expect(errors[0]!.message).toContain(c.refused.message);
    });
  }

  it('loads CRLF files and commented-out documents, as clusters export them', () => {
    const yaml = [
      '# exported from the cluster',
      UPSTREAM_ADMIN_CASES[0]!.yaml,
      '---',
      '# apiVersion: policy.networking.k8s.io/v1alpha1',
      '# kind: AdminNetworkPolicy',
      '# metadata:',
      '#   name: retired',
      '---',
      UPSTREAM_ADMIN_CASES[3]!.yaml,
    ]
      .join('\n')
      .replace(/\n/g, '\r\n');
    const result = load({ 'cluster/exported.yaml': yaml });
    expect(result.ok ? [] : result.errors.map(formatDiagnostic)).toEqual([]);
    if (!result.ok) return;
    expect(result.policySet.objects.map((o) => [o.kind, o.metadata.name, o.source.line])).toEqual([
      ['ClusterNetworkPolicy', 'deny-metadata', 2],
      ['BaselineAdminNetworkPolicy', 'default', 23],
    ]);
    // an error in a CRLF file still names its line
    const bad = load({ 'cluster/bad.yaml': UPSTREAM_ADMIN_CASES[7]!.yaml.replace(/\n/g, '\r\n') });
    expect(bad.ok ? [] : bad.errors.map(formatDiagnostic)).toEqual([
      'cluster/bad.yaml:7: spec.priority must be at most 1000, not 1001',
    ]);
  });

  it('two policies of one tier and version at one priority are an error; across versions they are ordered', () => {
    const cnp = (name: string, tier: string, priority: number) =>
      `apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata:\n  name: ${name}\nspec:\n  tier: ${tier}\n  priority: ${priority}\n  subject:\n    namespaces: {}\n`;
    const anp = (name: string, priority: number) =>
      `apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata:\n  name: ${name}\nspec:\n  priority: ${priority}\n  subject:\n    namespaces: {}\n`;
    const clash = load({ 'cluster/a.yaml': cnp('a', 'Admin', 5), 'cluster/b.yaml': cnp('b', 'Admin', 5) });
    expect(clash.ok ? [] : clash.errors.map(formatDiagnostic)).toEqual([
      'cluster/a.yaml:7: ClusterNetworkPolicy "a": priority 5 in tier Admin is also used by b (cluster/b.yaml:1); the order of two policies at one priority is undefined upstream, give each its own priority',
      'cluster/b.yaml:7: ClusterNetworkPolicy "b": priority 5 in tier Admin is also used by a (cluster/a.yaml:1); the order of two policies at one priority is undefined upstream, give each its own priority',
    ]);
    const ordered = load({
      'cluster/a.yaml': cnp('a', 'Admin', 5),
      'cluster/b.yaml': cnp('b', 'Baseline', 5),
      'cluster/c.yaml': anp('c', 5),
    });
    expect(ordered.ok ? [] : ordered.errors.map(formatDiagnostic)).toEqual([]);
    const anps = load({ 'cluster/a.yaml': anp('a', 7), 'cluster/b.yaml': anp('b', 7) });
    expect(anps.ok ? [] : anps.errors.map((e) => e.line)).toEqual([6, 6]);
  });

  it('refuses the wrong version of a kind, unknown kinds of the group, and namespace folders', () => {
    const result = load({
      'cluster/a.yaml':
        'apiVersion: policy.networking.k8s.io/v1alpha2\nkind: AdminNetworkPolicy\nmetadata:\n  name: x\nspec: {}\n---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: ClusterNetworkPolicy\nmetadata:\n  name: y\nspec: {}\n---\napiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicies\nmetadata:\n  name: z\n',
      'namespaces/shop/anp.yaml': UPSTREAM_ADMIN_CASES[2]!.yaml,
    });
    expect(result.ok ? [] : result.errors.map(formatDiagnostic)).toEqual([
      'cluster/a.yaml:1: AdminNetworkPolicy must use apiVersion policy.networking.k8s.io/v1alpha1, not policy.networking.k8s.io/v1alpha2',
      'cluster/a.yaml:7: ClusterNetworkPolicy must use apiVersion policy.networking.k8s.io/v1alpha2, not policy.networking.k8s.io/v1alpha1',
      'cluster/a.yaml:14: unknown kind "ClusterNetworkPolicies" in policy.networking.k8s.io/v1alpha2; expected one of AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy',
      'namespaces/shop/anp.yaml:2: AdminNetworkPolicy is cluster-scoped and belongs under cluster/, not namespaces/shop/ (namespace owners must not change cluster-wide policy)',
    ]);
  });

  it('reads the audit annotation of SPEC 9.5; status and server-written metadata are ignored', () => {
    const yaml =
      UPSTREAM_ADMIN_CASES[0]!.yaml.replace(
        'metadata:\n  name: deny-metadata\n',
        'metadata:\n  name: deny-metadata\n  annotations:\n    nyx.tracenyx.io/enforcement: audit\n  uid: 1234\n  resourceVersion: "9"\n',
      ) + 'status:\n  conditions: []\n';
    const result = load({ 'cluster/a.yaml': yaml, 'cluster/b.yaml': UPSTREAM_ADMIN_CASES[3]!.yaml });
    expect(result.ok ? [] : result.errors.map(formatDiagnostic)).toEqual([]);
    if (!result.ok) return;
    expect(result.policySet.objects.map(enforcementOf)).toEqual(['audit', 'enforce']);
  });
});
