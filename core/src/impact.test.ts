import { describe, expect, it } from 'vitest';
import type { FlowRecord } from './flow-model.js';
import { FlowWindow } from './flows.js';
import { computeImpact, countRuleHits, ImpactPass, impactEvaluators } from './impact.js';
import { resolveFlow } from './inventory.js';
import { ruleHitKey } from './lint-model.js';
import { makeInventory } from './testing/inventory.js';
import { loadPolicies } from './testing/policies.js';

const inventory = makeInventory({
  namespaces: { shop: { team: 'shop' }, db: { team: 'data' }, payments: { environment: 'production' } },
  pods: [
    {
      ns: 'shop',
      name: 'web-6d8f7-a1',
      ip: '10.0.1.1',
      labels: { app: 'web', 'pod-template-hash': '6d8f7' },
      owner: { kind: 'ReplicaSet', name: 'web-6d8f7' },
    },
    {
      ns: 'shop',
      name: 'web-6d8f7-b2',
      ip: '10.0.1.2',
      labels: { app: 'web', 'pod-template-hash': '6d8f7' },
      owner: { kind: 'ReplicaSet', name: 'web-6d8f7' },
    },
    {
      ns: 'shop',
      name: 'cart-55c9-x1',
      ip: '10.0.1.3',
      labels: { app: 'cart', 'pod-template-hash': '55c9' },
      owner: { kind: 'ReplicaSet', name: 'cart-55c9' },
    },
    {
      ns: 'db',
      name: 'postgres-0',
      ip: '10.0.2.1',
      labels: { app: 'postgres' },
      owner: { kind: 'StatefulSet', name: 'postgres' },
    },
    { ns: 'payments', name: 'api-1', ip: '10.0.3.1', labels: { app: 'api' } },
  ],
  nodes: [{ name: 'node-1', ips: ['192.168.0.1'] }],
});

function windowOf(records: FlowRecord[]): FlowWindow {
  const w = new FlowWindow();
  for (const r of records) w.add(r);
  return w;
}

const window = windowOf([
  {
    src: 'shop/web-6d8f7-a1',
    dst: 'shop/cart-55c9-x1',
    protocol: 'TCP',
    port: 8080,
    count: 10,
    firstSeen: '2026-11-20T10:00:00Z',
    lastSeen: '2026-11-21T10:00:00Z',
  },
  {
    src: 'shop/web-6d8f7-b2',
    dst: '10.0.1.3',
    protocol: 'TCP',
    port: 8080,
    count: 5,
    firstSeen: '2026-11-20T08:00:00Z',
    lastSeen: '2026-11-23T09:00:00Z',
  },
  { src: 'shop/web-6d8f7-a1', dst: 'db/postgres-0', protocol: 'TCP', port: 5432, count: 3 },
  {
    src: 'payments/api-1',
    dst: '54.1.2.3',
    protocol: 'TCP',
    port: 443,
    serverName: 'api.stripe.com',
    count: 7,
  },
  { src: 'shop/ghost-1', dst: 'shop/cart-55c9-x1', protocol: 'TCP', port: 8080, count: 4 },
  { src: 'shop/ghost-1', dst: 'shop/cart-55c9-x1', protocol: 'TCP', port: 8080 },
]);

const config = (mode: string) => `
apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxClusterConfig
metadata:
  name: cluster
spec:
  defaultMode: ${mode}
`;

const cartIngressOnlyFromCheckout = `
apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxNetworkPolicy
metadata:
  name: cart-ingress
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: cart
  policyTypes: [Ingress]
  ingress:
    - decision: Allow
      from:
        - podSelector:
            matchLabels:
              app: checkout
`;

const allowWebToCart = `
apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxNetworkPolicy
metadata:
  name: web-to-cart
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: cart
  ingress:
    - decision: Allow
      from:
        - podSelector:
            matchLabels:
              app: web
---
apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxNetworkPolicy
metadata:
  name: web-egress
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: web
  egress:
    - decision: Allow
      to:
        - podSelector:
            matchLabels:
              app: cart
`;

const auditDenyInternet = `
apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxClusterNetworkPolicy
metadata:
  name: deny-public-internet
spec:
  tier: platform
  priority: 50
  enforcement: audit
  namespaceSelector:
    matchLabels:
      environment: production
  egress:
    - decision: Deny
      toIpBlock:
        cidr: 0.0.0.0/0
`;

const selectsNothing = (name: string) => `
apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxNetworkPolicy
metadata:
  name: ${name}
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: ${name}
  ingress:
    - decision: Allow
`;

describe('computeImpact', () => {
  it('groups a newly denied flow by workload, summing counts and widening first/last seen', () => {
    const base = loadPolicies({ 'cluster/config.yaml': config('allow') });
    const head = loadPolicies({
      'cluster/config.yaml': config('allow'),
      'namespaces/shop/cart.yaml': cartIngressOnlyFromCheckout,
    });
    const report = computeImpact({ base, head, inventory, window });
    expect(report.summary).toEqual({
      newlyDenied: 1,
      newlyAllowed: 0,
      newWouldDeny: 0,
      resolvedWouldDeny: 0,
      newlyDeniedRecords: 15,
    });
    expect(report.changes).toHaveLength(1);
    const c = report.changes[0]!;
    expect(c).toMatchObject({
      kind: 'newly-denied',
      src: 'shop/web',
      dst: 'shop/cart',
      protocol: 'TCP',
      port: 8080,
      count: 15,
      flows: 2,
      firstSeen: '2026-11-20T08:00:00Z',
      lastSeen: '2026-11-23T09:00:00Z',
    });
    expect(c.before.verdict).toBe('allow');
    expect(c.before.reasons.some((r) => r.band === 'default')).toBe(true);
    expect(c.after.verdict).toBe('deny');
    expect(c.after.reasons).toContainEqual(
      expect.objectContaining({
        point: 'ingress',
        band: 'isolation',
        decision: 'deny',
        object: 'NyxNetworkPolicy/shop/cart-ingress',
      }),
    );
  });

  it('reports a newly allowed flow', () => {
    const base = loadPolicies({ 'cluster/config.yaml': config('deny') });
    const head = loadPolicies({
      'cluster/config.yaml': config('deny'),
      'namespaces/shop/web-to-cart.yaml': allowWebToCart,
    });
    const report = computeImpact({ base, head, inventory, window });
    expect(report.summary.newlyAllowed).toBe(1);
    expect(report.summary.newlyDenied).toBe(0);
    expect(report.changes.map((c) => [c.kind, c.src, c.dst, c.count])).toEqual([
      ['newly-allowed', 'shop/web', 'shop/cart', 15],
    ]);
    expect(report.changes[0]!.after.reasons).toContainEqual(
      expect.objectContaining({ band: 'application', object: 'NyxNetworkPolicy/shop/web-to-cart', rule: 0 }),
    );
  });

  it('reports an audit policy as new would-deny findings naming the audit rule, and nothing newly denied', () => {
    const base = loadPolicies({ 'cluster/config.yaml': config('allow') });
    const head = loadPolicies({
      'cluster/config.yaml': config('allow'),
      'cluster/deny-internet.yaml': auditDenyInternet,
    });
    const report = computeImpact({ base, head, inventory, window });
    expect(report.summary).toMatchObject({ newlyDenied: 0, newWouldDeny: 1, newlyDeniedRecords: 0 });
    const c = report.changes[0]!;
    expect(c).toMatchObject({
      kind: 'new-would-deny',
      src: 'payments/api-1',
      dst: '54.1.2.3',
      serverName: 'api.stripe.com',
      count: 7,
    });
    expect(c.after).toMatchObject({ verdict: 'allow', asIfEnforced: 'deny' });
    expect(c.after.asIfEnforcedReasons).toContainEqual(
      expect.objectContaining({
        object: 'NyxClusterNetworkPolicy/deny-public-internet',
        rule: 0,
        decision: 'deny',
      }),
    );
    // Reverting the audit policy resolves the finding.
    const back = computeImpact({ base: head, head: base, inventory, window });
    expect(back.summary.resolvedWouldDeny).toBe(1);
    expect(back.changes[0]!.kind).toBe('resolved-would-deny');
  });

  it('says nothing changed and still fills coverage, counting unresolved pods', () => {
    const base = loadPolicies({ 'cluster/config.yaml': config('allow') });
    const report = computeImpact({ base, head: base, inventory, window });
    expect(report.summary).toEqual({
      newlyDenied: 0,
      newlyAllowed: 0,
      newWouldDeny: 0,
      resolvedWouldDeny: 0,
      newlyDeniedRecords: 0,
    });
    expect(report.changes).toEqual([]);
    expect(report.coverage).toEqual({
      records: 6,
      connections: 30,
      distinctFlows: 5,
      unresolved: 2,
      unresolvedExamples: ['src: pod "shop/ghost-1" is not in the inventory'],
      skipped: {},
      skippedLines: 0,
      from: '2026-11-20T08:00:00Z',
      to: '2026-11-23T09:00:00Z',
      namespaces: ['db', 'payments', 'shop'],
      resolution: {
        direct: { records: 4, connections: 25 },
        workload: { records: 0, connections: 0 },
        labels: { records: 0, connections: 0 },
        podName: { records: 0, connections: 0 },
        unresolved: { records: 2, connections: 5 },
      },
    });
  });

  it('lists only the lint findings the head adds', () => {
    const base = loadPolicies({
      'cluster/config.yaml': config('allow'),
      'namespaces/shop/a.yaml': selectsNothing('ghost-a'),
    });
    const head = loadPolicies({
      'cluster/config.yaml': config('allow'),
      'namespaces/shop/a.yaml': selectsNothing('ghost-a'),
      'namespaces/shop/b.yaml': selectsNothing('ghost-b'),
    });
    const report = computeImpact({ base, head, inventory, window });
    const nothing = report.lint.filter((f) => f.rule === 'selector-matches-nothing');
    expect(nothing.map((f) => f.object)).toEqual(['NyxNetworkPolicy/shop/ghost-b']);
    expect(nothing[0]!.file).toBe('namespaces/shop/b.yaml');
    expect(computeImpact({ base: head, head, inventory, window }).lint).toEqual([]);
  });

  it('reports each of 100,000 distinct world tuples newly denied', () => {
    const base = loadPolicies({ 'cluster/config.yaml': config('allow') });
    const head = loadPolicies({
      'cluster/config.yaml': config('allow'),
      'namespaces/shop/cart.yaml': cartIngressOnlyFromCheckout,
    });
    const big = new FlowWindow();
    for (let i = 0; i < 100_000; i++) {
      // 1,000 outside addresses x 100 ports, as a busy ingress would see.
      const a = i % 1000;
      big.add({
        src: `10.9.${a >> 8}.${a & 255}`,
        dst: 'shop/cart-55c9-x1',
        protocol: 'TCP',
        port: 1 + Math.floor(i / 1000),
      });
    }
    // How fast is measured by `npm run bench`; this checks the answer at this size.
    const report = computeImpact({ base, head, inventory, window: big });
    expect(report.coverage.distinctFlows).toBe(100_000);
    // Each world address is its own group: 100,000 newly denied distinct flows.
    expect(report.summary.newlyDenied).toBe(100_000);
    expect(report.summary.newlyDeniedRecords).toBe(100_000);
  }, 120_000);
});

describe('countRuleHits', () => {
  it('counts the rules that decided flows, weighted by count', () => {
    const policySet = loadPolicies({
      'cluster/config.yaml': config('deny'),
      'namespaces/shop/web-to-cart.yaml': allowWebToCart,
    });
    const hits = countRuleHits({ policySet, inventory, window });
    expect(hits.get(ruleHitKey('NyxNetworkPolicy/shop/web-to-cart', 'ingress', 0))).toBe(15);
  });
});

describe('ImpactPass', () => {
  const base = loadPolicies({
    'cluster/config.yaml': config('allow'),
    'cluster/deny-public.yaml': auditDenyInternet,
  });
  const head = loadPolicies({
    'cluster/config.yaml': config('deny'),
    'namespaces/shop/web-to-cart.yaml': allowWebToCart,
    'namespaces/shop/cart.yaml': cartIngressOnlyFromCheckout,
  });

  it('gives the report computeImpact gives when tuples come in steps before the window is complete', () => {
    const plain = computeImpact({ base, head, inventory, window });
    expect(plain.changes.length).toBeGreaterThan(0);
    expect(plain.coverage.unresolved).toBeGreaterThan(0);
    // The window's tuples in two steps (one whose source the inventory lacks among them), then
    // `finish`, which also counts the stale rules.
    const evaluators = impactEvaluators(base, head, inventory);
    const pass = new ImpactPass({ base, head, inventory, evaluators });
    const identities = window.identitiesFrom(0);
    pass.addTuples(identities.slice(0, 2));
    expect(pass.added).toBe(2);
    expect(evaluators.base.stats().walks).toBeGreaterThan(0);
    pass.addTuples(identities.slice(2));
    expect(pass.finish(window)).toEqual(plain);
  });

  it('adds, at finish, the tuples the window discovered after the last step', () => {
    const plain = computeImpact({ base, head, inventory, window });
    const pass = new ImpactPass({ base, head, inventory });
    pass.addTuples(window.identitiesFrom(0).slice(0, 1));
    expect(pass.finish(window)).toEqual(plain);
  });

  it('counts what the window aggregated after a tuple was added (counts, times, records)', () => {
    const growing = windowOf([]);
    const pass = new ImpactPass({ base, head, inventory });
    const record: FlowRecord = {
      src: 'shop/web-6d8f7-a1',
      dst: 'shop/cart-55c9-x1',
      protocol: 'TCP',
      port: 8080,
      count: 2,
      firstSeen: '2026-11-20T10:00:00Z',
      lastSeen: '2026-11-20T10:00:00Z',
    };
    growing.add(record);
    pass.addTuples(growing.identitiesFrom(0));
    growing.add({ ...record, count: 5, firstSeen: '2026-11-19T09:00:00Z', lastSeen: '2026-11-21T09:00:00Z' });
    const report = pass.finish(growing);
    expect(report).toEqual(computeImpact({ base, head, inventory, window: growing }));
    expect(report.coverage).toMatchObject({ records: 2, connections: 7, from: '2026-11-19T09:00:00Z' });
  });
});

describe('stale-rule findings rest on a window that resolved (issue 15)', () => {
  const head = loadPolicies({
    'namespaces/shop/web.yaml': `
apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxNetworkPolicy
metadata:
  name: web
spec:
  podSelector: { matchLabels: { app: web } }
  egress:
    - decision: Allow
      ports: [{ protocol: TCP, port: 5432 }]
      to: [{ namespaceSelector: { matchLabels: { team: data } } }]
`,
  });
  const base = loadPolicies({});
  const stale = (records: FlowRecord[]) =>
    computeImpact({ base, head, inventory, window: windowOf(records) }).lint.filter(
      (f) => f.rule === 'stale-rule',
    );
  const resolved: FlowRecord = {
    src: 'shop/web-6d8f7-a1',
    dst: 'shop/cart-55c9-x1',
    protocol: 'TCP',
    port: 8080,
  };
  const ghost: FlowRecord = { src: 'shop/web-gone-z9', dst: 'db/postgres-0', protocol: 'TCP', port: 5432 };

  it('claims no stale rule when most records did not resolve', () => {
    expect(stale([resolved, ghost, ghost, ghost])).toEqual([]);
    expect(stale([])).toEqual([]);
  });

  it('claims it over a window that resolved', () => {
    expect(stale([resolved, resolved, ghost]).map((f) => f.object)).toEqual(['NyxNetworkPolicy/shop/web']);
  });
});

describe('stale rules of a change evaluated only where it reaches', () => {
  // `egress-db` is unchanged; the head puts a Deny before it for the web pods only. Tuples from web
  // are reached by the change; cart's are not, and are evaluated only to tell whether the rule
  // still has a hit in the head.
  const egressDb = `
apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxNetworkPolicy
metadata:
  name: egress-db
spec:
  podSelector: {}
  egress:
    - decision: Allow
      ports: [{ protocol: TCP, port: 5432 }]
      to: [{ namespaceSelector: { matchLabels: { team: data } } }]
`;
  const base = loadPolicies({ 'namespaces/shop/egress-db.yaml': egressDb });
  const head = loadPolicies({
    'namespaces/shop/egress-db.yaml': egressDb,
    'namespaces/shop/web-no-db.yaml': `
apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxNetworkPolicy
metadata:
  name: web-no-db
spec:
  priority: 100
  podSelector: { matchLabels: { app: web } }
  egress:
    - decision: Deny
      to: [{ namespaceSelector: { matchLabels: { team: data } } }]
`,
  });
  const fromWeb: FlowRecord = { src: 'shop/web-6d8f7-a1', dst: 'db/postgres-0', protocol: 'TCP', port: 5432 };
  const fromCart: FlowRecord = {
    src: 'shop/cart-55c9-x1',
    dst: 'db/postgres-0',
    protocol: 'TCP',
    port: 5432,
  };
  const staleRules = (records: FlowRecord[]) =>
    computeImpact({ base, head, inventory, window: windowOf(records) })
      .lint.filter((f) => f.rule === 'stale-rule')
      .map((f) => `${f.object} ${f.message}`);

  it('finds the rule newly stale when only the reached tuples hit it', () => {
    expect(staleRules([fromWeb])).toEqual([
      'NyxNetworkPolicy/shop/egress-db no observed flow hit egress[0] in the window',
    ]);
  });

  it('does not when a tuple the change does not reach still hits it', () => {
    const evaluators = impactEvaluators(base, head, inventory);
    const cart = resolveFlow(inventory, fromCart);
    expect(cart.ok && evaluators.head.reusesVerdict(cart.flow)).toBe(true);
    expect(staleRules([fromWeb, fromCart])).toEqual([]);
    expect(staleRules([fromCart, fromWeb])).toEqual([]);
  });
});
