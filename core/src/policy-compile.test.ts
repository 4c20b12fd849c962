import { describe, expect, it } from 'vitest';
import { compilePolicySet } from './policy-compile.js';
import { loadPolicies } from './testing/policies.js';

describe('compilePolicySet', () => {
  it('keeps every selector and toFqdn entry as written beside the predicate compiled from it', () => {
    const compiled = compilePolicySet(
      loadPolicies({
        'cluster/dns.yaml': `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxClusterNetworkPolicy
metadata:
  name: api-out
spec:
  tier: platform
  priority: 10
  namespaceSelector:
    matchLabels: { team: shop }
  podSelector:
    matchLabels: { app: api }
  egress:
    - decision: Allow
      toFqdn:
        - matchName: api.example.com
      ports:
        - protocol: TCP
          port: 443
`,
        'namespaces/shop/np.yaml': `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny
  namespace: shop
spec:
  podSelector: {}
`,
      }),
    );
    const cluster = compiled.policies.find((p) => p.band === 'platform');
    const upstream = compiled.policies.find((p) => p.band === 'networkpolicy');
    expect(cluster!.selectors).toEqual({
      namespaceSelector: { matchLabels: { team: 'shop' } },
      podSelector: { matchLabels: { app: 'api' } },
    });
    expect(cluster!.podSelector({ app: 'api' })).toBe(true);
    expect(cluster!.rules.egress![0]!.peers!.fqdnMatches).toEqual([{ matchName: 'api.example.com' }]);
    expect(upstream!.selectors).toEqual({ podSelector: {} });
  });
});
