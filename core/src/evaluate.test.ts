import { describe, expect, it } from 'vitest';
import { compileEvaluator, evaluate } from './evaluate.js';
import type { FlowRecord } from './flow-model.js';
import { resolveFlow } from './inventory.js';
import type { PolicySet, Protocol } from './model.js';
import { makeInventory } from './testing/inventory.js';
import { loadPolicies } from './testing/policies.js';
import { formatReason } from './verdict-model.js';

const inventory = makeInventory({
  namespaces: {
    'cloudmart-payments': { environment: 'production' },
    shop: { environment: 'production', team: 'shop' },
    dev: { environment: 'dev' },
    'kube-system': {},
  },
  pods: [
    {
      ns: 'cloudmart-payments',
      name: 'payments-1',
      ip: '10.0.1.1',
      node: 'node-1',
      labels: { app: 'cloudmart-payments' },
    },
    {
      ns: 'cloudmart-payments',
      name: 'payments-2',
      ip: '10.0.1.3',
      node: 'node-1',
      labels: { app: 'cloudmart-payments' },
    },
    { ns: 'cloudmart-payments', name: 'worker', ip: '10.0.1.2', node: 'node-2', labels: { app: 'worker' } },
    {
      ns: 'shop',
      name: 'web',
      ip: '10.0.2.1',
      node: 'node-2',
      labels: { app: 'web' },
      ports: [{ name: 'http', containerPort: 8080 }],
    },
    {
      ns: 'shop',
      name: 'db',
      ip: ['10.0.2.2', 'fd00::2:2'],
      node: 'node-1',
      labels: { app: 'db' },
      ports: [{ name: 'pg', containerPort: 5432 }],
    },
    { ns: 'dev', name: 'tool', ip: '10.0.3.1', node: 'node-2', labels: { app: 'tool' } },
    { ns: 'kube-system', name: 'coredns', ip: '10.0.9.1', node: 'node-1', labels: { k8s: 'dns' } },
    { ns: 'kube-system', name: 'kube-proxy-a', ip: '192.168.0.1', node: 'node-1', hostNetwork: true },
  ],
  nodes: [
    { name: 'node-1', ips: ['192.168.0.1'] },
    { name: 'node-2', ips: ['192.168.0.2'] },
  ],
});

const STRIPE = '3.18.12.63';

function flow(
  src: string,
  dst: string,
  port: number,
  protocol: Protocol = 'TCP',
  serverName?: string,
): FlowRecord {
  return { src, dst, protocol, port, ...(serverName ? { serverName } : {}) };
}

function verdictOf(policies: PolicySet, f: FlowRecord) {
  return evaluate(policies, inventory, f);
}

const CONFIG = (mode: string, enforcement = 'enforce', excluded: string[] = []) => `
apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxClusterConfig
metadata:
  name: cluster
spec:
  defaultMode: ${mode}
  enforcement: ${enforcement}
  excludedNamespaces: [${excluded.join(', ')}]
`;

// The seed guide's examples, loaded unchanged.
const PAYMENTS = `
apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxNetworkPolicy
metadata:
  name: payments-egress-allowlist
  namespace: cloudmart-payments
spec:
  podSelector:
    matchLabels:
      app: cloudmart-payments
  priority: 100
  enforcement: enforce
  policyTypes:
    - Egress
  egress:
    - decision: Allow
      toFqdn:
        - matchName: api.stripe.com
      ports:
        - protocol: TCP
          port: 443
`;

const DENY_PUBLIC_INTERNET = `
apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxClusterNetworkPolicy
metadata:
  name: deny-public-internet
spec:
  tier: platform
  priority: 50
  enforcement: enforce
  namespaceSelector:
    matchLabels:
      environment: production
  policyTypes:
    - Egress
  egress:
    - decision: Deny
      toIpBlock:
        cidr: 0.0.0.0/0
`;

const nyxPolicy = (name: string, ns: string, body: string) => `
apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxNetworkPolicy
metadata:
  name: ${name}
  namespace: ${ns}
spec:
${body}`;

const clusterPolicy = (name: string, body: string) => `
apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxClusterNetworkPolicy
metadata:
  name: ${name}
spec:
${body}`;

describe('seed guide examples', () => {
  it('payments: Stripe on 443 allowed, everything else from that pod denied, other pods unaffected', () => {
    const set = loadPolicies({ 'namespaces/cloudmart-payments/egress.yaml': PAYMENTS });
    const stripe = verdictOf(
      set,
      flow('cloudmart-payments/payments-1', STRIPE, 443, 'TCP', 'api.stripe.com'),
    );
    expect(stripe.verdict).toBe('allow');
    expect(stripe.reasons).toEqual([
      {
        point: 'egress',
        band: 'application',
        object: 'NyxNetworkPolicy/cloudmart-payments/payments-egress-allowlist',
        rule: 0,
        decision: 'allow',
        text: 'NyxNetworkPolicy/cloudmart-payments/payments-egress-allowlist egress[0] Allow',
        source: 'namespaces/cloudmart-payments/egress.yaml:16',
      },
    ]);

    const other = verdictOf(
      set,
      flow('cloudmart-payments/payments-1', '8.8.8.8', 443, 'TCP', 'evil.example.com'),
    );
    expect(other.verdict).toBe('deny');
    expect(other.reasons[0]).toMatchObject({
      band: 'isolation',
      object: 'NyxNetworkPolicy/cloudmart-payments/payments-egress-allowlist',
      text: 'isolated: no rule matched',
      decision: 'deny',
    });
    // Plain HTTP to Stripe's address: FQDN matching is HTTPS on 443 only.
    expect(
      verdictOf(set, flow('cloudmart-payments/payments-1', STRIPE, 80, 'TCP', 'api.stripe.com')).verdict,
    ).toBe('deny');
    // Egress isolation covers pod-to-pod too.
    expect(verdictOf(set, flow('cloudmart-payments/payments-1', 'shop/web', 8080)).verdict).toBe('deny');
    // Other pods of the namespace, and ingress to the payments pod, are unaffected.
    expect(verdictOf(set, flow('cloudmart-payments/worker', '8.8.8.8', 443)).verdict).toBe('allow');
    const inbound = verdictOf(set, flow('shop/web', 'cloudmart-payments/payments-1', 8443));
    expect(inbound.verdict).toBe('allow');
    expect(inbound.reasons.map((r) => `${r.point} ${r.band}`)).toEqual(['egress default', 'ingress default']);
  });

  it('platform: deny-public-internet denies world egress from production namespaces only', () => {
    const set = loadPolicies({ 'cluster/deny-public-internet.yaml': DENY_PUBLIC_INTERNET });
    const prod = verdictOf(set, flow('shop/web', '8.8.8.8', 443));
    expect(prod.verdict).toBe('deny');
    expect(prod.reasons[0]).toMatchObject({
      point: 'egress',
      band: 'platform',
      object: 'NyxClusterNetworkPolicy/deny-public-internet',
      rule: 0,
      decision: 'deny',
      text: 'NyxClusterNetworkPolicy/deny-public-internet egress[0] Deny',
      source: 'cluster/deny-public-internet.yaml:16',
    });
    expect(verdictOf(set, flow('dev/tool', '8.8.8.8', 443)).verdict).toBe('allow');
    // 0.0.0.0/0 in a Nyx policy means "outside the cluster": pod-to-pod and pod-to-node untouched.
    expect(verdictOf(set, flow('shop/web', 'shop/db', 5432)).verdict).toBe('allow');
    expect(verdictOf(set, flow('shop/web', '192.168.0.1', 10250)).verdict).toBe('allow');
  });

  it('platform Deny 0.0.0.0/0 beats a namespace Allow (lower priority number wins)', () => {
    const set = loadPolicies({
      'cluster/deny-public-internet.yaml': DENY_PUBLIC_INTERNET,
      'namespaces/cloudmart-payments/egress.yaml': PAYMENTS,
    });
    const v = verdictOf(set, flow('cloudmart-payments/payments-1', STRIPE, 443, 'TCP', 'api.stripe.com'));
    expect(v.verdict).toBe('deny');
    expect(v.reasons[0]?.object).toBe('NyxClusterNetworkPolicy/deny-public-internet');
  });
});

describe('bands and priorities', () => {
  it('Nyx toIpBlock never cuts pod-to-pod, but upstream ipBlock matches pod IPs', () => {
    const set = loadPolicies(
      nyxPolicy(
        'deny-ten',
        'shop',
        `  priority: 100
  egress:
    - decision: Deny
      toIpBlock:
        cidr: 10.0.0.0/8`,
      ),
    );
    expect(verdictOf(set, flow('shop/web', 'dev/tool', 80)).verdict).toBe('allow');
    expect(verdictOf(set, flow('shop/web', '10.99.0.1', 80)).verdict).toBe('deny');

    const upstream = loadPolicies(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: only-ten, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
    - to:
        - ipBlock: {cidr: 10.0.3.0/24}
`);
    const v = verdictOf(upstream, flow('shop/web', 'dev/tool', 80));
    expect(v.verdict).toBe('allow');
    expect(v.reasons[0]).toMatchObject({
      band: 'networkpolicy',
      object: 'NetworkPolicy/shop/only-ten',
      rule: 0,
    });
    expect(verdictOf(upstream, flow('shop/web', 'shop/db', 5432)).verdict).toBe('deny');
  });

  it('equal priority: Deny beats Allow; ties of the same decision name the first by namespace/name', () => {
    const set = loadPolicies(
      [
        nyxPolicy('b-allow', 'shop', `  priority: 300\n  egress:\n    - decision: Allow`),
        nyxPolicy('z-deny', 'shop', `  priority: 300\n  egress:\n    - decision: Deny`),
        nyxPolicy('c-deny', 'shop', `  priority: 300\n  egress:\n    - decision: Deny`),
      ].join('\n---\n'),
    );
    const v = verdictOf(set, flow('shop/web', 'dev/tool', 80));
    expect(v.verdict).toBe('deny');
    expect(v.reasons[0]?.object).toBe('NyxNetworkPolicy/shop/c-deny');
  });

  it('lower priority number wins over a later Deny', () => {
    const set = loadPolicies(
      [
        nyxPolicy('allow-first', 'shop', `  priority: 200\n  egress:\n    - decision: Allow`),
        nyxPolicy('deny-later', 'shop', `  priority: 300\n  egress:\n    - decision: Deny`),
      ].join('\n---\n'),
    );
    const v = verdictOf(set, flow('shop/web', 'dev/tool', 80));
    expect(v.verdict).toBe('allow');
    expect(v.reasons[0]?.object).toBe('NyxNetworkPolicy/shop/allow-first');
  });

  it('inside a policy, rules are tried in order and the first match is the hit', () => {
    const set = loadPolicies(
      nyxPolicy(
        'ordered',
        'shop',
        `  egress:
    - decision: Allow
      ports: [{port: 80}]
    - decision: Deny`,
      ),
    );
    expect(verdictOf(set, flow('shop/web', 'dev/tool', 80)).reasons[0]).toMatchObject({
      rule: 0,
      decision: 'allow',
    });
    expect(verdictOf(set, flow('shop/web', 'dev/tool', 81)).reasons[0]).toMatchObject({
      rule: 1,
      decision: 'deny',
    });
    // protocol defaults to TCP: UDP 80 does not match rule 0
    expect(verdictOf(set, flow('shop/web', 'dev/tool', 80, 'UDP')).reasons[0]).toMatchObject({ rule: 1 });
  });

  it('Nyx selectors: podSelector alone is the own namespace; cluster podSelector alone is any namespace', () => {
    const set = loadPolicies(
      [
        nyxPolicy(
          'to-db',
          'shop',
          `  policyTypes: [Egress]
  egress:
    - decision: Allow
      to: [{podSelector: {matchLabels: {app: tool}}}]`,
        ),
        clusterPolicy(
          'deny-to-tool',
          `  tier: platform
  priority: 10
  namespaceSelector: {matchLabels: {environment: dev}}
  egress:
    - decision: Deny
      to: [{podSelector: {matchLabels: {app: web}}}]`,
        ),
      ].join('\n---\n'),
    );
    // shop policy's podSelector app=tool means shop pods only: dev/tool is not matched → isolated.
    expect(verdictOf(set, flow('shop/web', 'dev/tool', 80)).reasons[0]?.band).toBe('isolation');
    // cluster policy's podSelector app=web matches shop/web from dev.
    expect(verdictOf(set, flow('dev/tool', 'shop/web', 80)).reasons[0]).toMatchObject({
      band: 'platform',
      decision: 'deny',
    });
  });

  it('rules of a direction not listed in policyTypes are ignored', () => {
    const set = loadPolicies(
      nyxPolicy(
        'egress-only',
        'shop',
        `  policyTypes: [Egress]
  egress:
    - decision: Allow
  ingress:
    - decision: Deny`,
      ),
    );
    const v = verdictOf(set, flow('dev/tool', 'shop/web', 8080));
    expect(v.verdict).toBe('allow');
    expect(v.reasons.find((r) => r.point === 'ingress')?.band).toBe('default');
  });

  it('a NyxNetworkPolicy without policyTypes isolates nothing', () => {
    const set = loadPolicies(
      nyxPolicy('no-types', 'shop', `  egress:\n    - decision: Allow\n      ports: [{port: 443}]`),
    );
    const v = verdictOf(set, flow('shop/web', '8.8.8.8', 80));
    expect(v.verdict).toBe('allow');
    expect(v.reasons[0]?.band).toBe('default');
  });
});

describe('baseline band', () => {
  const BASELINE = clusterPolicy(
    'baseline-deny-cross-ns',
    `  tier: baseline
  priority: 950
  ingress:
    - decision: Deny
      from: [{namespaceSelector: {matchLabels: {environment: dev}}}]`,
  );

  it('applies where nothing else decided', () => {
    const set = loadPolicies(BASELINE);
    const v = verdictOf(set, flow('dev/tool', 'shop/web', 8080));
    expect(v.verdict).toBe('deny');
    expect(v.reasons.find((r) => r.point === 'ingress')).toMatchObject({
      band: 'baseline',
      object: 'NyxClusterNetworkPolicy/baseline-deny-cross-ns',
    });
  });

  it('does not apply when an application policy decided', () => {
    const set = loadPolicies(
      [
        BASELINE,
        nyxPolicy('allow-in', 'shop', `  ingress:\n    - decision: Allow\n      ports: [{port: http}]`),
      ].join('\n---\n'),
    );
    const v = verdictOf(set, flow('dev/tool', 'shop/web', 8080));
    expect(v.verdict).toBe('allow');
    expect(v.reasons.find((r) => r.point === 'ingress')?.band).toBe('application');
  });

  it('does not apply when a NetworkPolicy decided', () => {
    const set = loadPolicies(
      [
        BASELINE,
        `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-all-in, namespace: shop}
spec:
  podSelector: {}
  ingress: [{}]`,
      ].join('\n---\n'),
    );
    const v = verdictOf(set, flow('dev/tool', 'shop/web', 8080));
    expect(v.verdict).toBe('allow');
    expect(v.reasons.find((r) => r.point === 'ingress')?.band).toBe('networkpolicy');
  });

  it('does not apply when isolation applies', () => {
    const allowAll = clusterPolicy(
      'baseline-allow',
      `  tier: baseline
  priority: 900
  egress:
    - decision: Allow`,
    );
    const set = loadPolicies([allowAll, PAYMENTS].join('\n---\n'));
    const v = verdictOf(set, flow('cloudmart-payments/payments-1', '8.8.8.8', 443));
    expect(v.verdict).toBe('deny');
    expect(v.reasons[0]?.band).toBe('isolation');
    expect(verdictOf(set, flow('cloudmart-payments/worker', '8.8.8.8', 443)).reasons[0]?.band).toBe(
      'baseline',
    );
  });
});

describe('default mode', () => {
  it('deny-cross-namespace leaves world traffic alone and denies cross-namespace pod traffic', () => {
    const set = loadPolicies({ 'cluster/config.yaml': CONFIG('deny-cross-namespace') });
    const cross = verdictOf(set, flow('shop/web', 'dev/tool', 80));
    expect(cross.verdict).toBe('deny');
    expect(cross.reasons).toEqual([
      expect.objectContaining({
        point: 'egress',
        band: 'default',
        decision: 'deny',
        text: 'default: deny-cross-namespace',
      }),
      expect.objectContaining({
        point: 'ingress',
        band: 'default',
        decision: 'deny',
        object: 'NyxClusterConfig/cluster',
      }),
    ]);
    expect(verdictOf(set, flow('shop/web', 'shop/db', 5432)).verdict).toBe('allow');
    expect(verdictOf(set, flow('shop/web', '8.8.8.8', 443)).verdict).toBe('allow');
    expect(verdictOf(set, flow('8.8.8.8', 'shop/web', 8080)).verdict).toBe('allow');
    // node → pod on another node is not pod-to-pod either
    expect(verdictOf(set, flow('192.168.0.1', 'shop/web', 8080)).verdict).toBe('allow');
  });

  it('deny denies everything not explicitly allowed; allow allows', () => {
    expect(verdictOf(loadPolicies(CONFIG('deny')), flow('shop/web', '8.8.8.8', 443)).verdict).toBe('deny');
    expect(verdictOf(loadPolicies(CONFIG('allow')), flow('shop/web', '8.8.8.8', 443)).verdict).toBe('allow');
    expect(verdictOf(loadPolicies(''), flow('shop/web', 'dev/tool', 1)).verdict).toBe('allow');
  });
});

describe('audit and enforce', () => {
  it('an audit object gives a would-deny naming it', () => {
    const set = loadPolicies(
      clusterPolicy(
        'audit-deny',
        `  tier: platform
  priority: 20
  enforcement: audit
  egress:
    - decision: Deny
      toIpBlock: {cidr: 0.0.0.0/0}`,
      ),
    );
    const v = verdictOf(set, flow('shop/web', '8.8.8.8', 443));
    expect(v.verdict).toBe('allow');
    expect(v.asIfEnforced).toBe('deny');
    expect(v.reasons[0]?.band).toBe('default');
    expect(v.asIfEnforcedReasons[0]).toMatchObject({
      band: 'platform',
      object: 'NyxClusterNetworkPolicy/audit-deny',
      rule: 0,
      decision: 'deny',
      audit: true,
    });
    expect(formatReason(v.asIfEnforcedReasons[0]!)).toBe(
      'egress: NyxClusterNetworkPolicy/audit-deny egress[0] Deny (audit) at policies.yaml:11',
    );
  });

  it('an audit NyxNetworkPolicy does not isolate effectively but does as-if-enforced', () => {
    const set = loadPolicies(PAYMENTS.replace('enforcement: enforce', 'enforcement: audit'));
    const v = verdictOf(set, flow('cloudmart-payments/payments-1', '8.8.8.8', 443));
    expect([v.verdict, v.asIfEnforced]).toEqual(['allow', 'deny']);
    expect(v.asIfEnforcedReasons[0]).toMatchObject({ band: 'isolation', audit: true });
  });

  it('a NyxClusterConfig in audit behaves as defaultMode allow for the effective verdict', () => {
    const set = loadPolicies(CONFIG('deny', 'audit'));
    const v = verdictOf(set, flow('shop/web', 'dev/tool', 80));
    expect([v.verdict, v.asIfEnforced]).toEqual(['allow', 'deny']);
    expect(v.reasons[0]?.text).toBe('default: allow (NyxClusterConfig in audit)');
    expect(v.asIfEnforcedReasons[0]).toMatchObject({ text: 'default: deny', audit: true });
  });
});

describe('short-circuits', () => {
  it('excluded namespace bypasses enforcement in both directions, even with the config in audit', () => {
    for (const enforcement of ['enforce', 'audit']) {
      const set = loadPolicies(CONFIG('deny', enforcement, ['kube-system']));
      for (const f of [
        flow('kube-system/coredns', 'shop/web', 8080),
        flow('shop/web', 'kube-system/coredns', 53, 'UDP'),
      ]) {
        const v = verdictOf(set, f);
        // one entry per enforcement point (SPEC section 7), each naming the exclusion
        const reasons = ['egress', 'ingress'].map((point) => ({
          point,
          band: 'excluded-namespace',
          decision: 'allow',
          text: 'excluded namespace',
        }));
        expect(v).toEqual({ verdict: 'allow', asIfEnforced: 'allow', reasons, asIfEnforcedReasons: reasons });
      }
      expect(verdictOf(set, flow('shop/web', 'dev/tool', 80)).asIfEnforced).toBe('deny');
    }
  });

  it('node-local probe: a node to a pod on that same node is allowed', () => {
    const set = loadPolicies(CONFIG('deny'));
    const v = verdictOf(set, flow('192.168.0.1', 'shop/db', 5432));
    expect(v.verdict).toBe('allow');
    expect(v.reasons).toEqual([
      { point: 'ingress', band: 'node-local', decision: 'allow', text: 'node-local probe' },
    ]);
    // another node is not a probe
    expect(verdictOf(set, flow('192.168.0.2', 'shop/db', 5432)).verdict).toBe('deny');
  });

  it('a hostNetwork pod is its node: node-local probe from it, and no enforcement point of its own', () => {
    const set = loadPolicies(CONFIG('deny'));
    expect(verdictOf(set, flow('kube-system/kube-proxy-a', 'shop/db', 5432)).reasons[0]?.band).toBe(
      'node-local',
    );
    const out = verdictOf(set, flow('kube-system/kube-proxy-a', '8.8.8.8', 443));
    expect(out.verdict).toBe('allow');
    expect(out.reasons).toEqual([
      { band: 'no-enforcement-point', decision: 'allow', text: 'no enforcement point' },
    ]);
    // to another node's pod: only the ingress point, which default deny denies
    const v = verdictOf(set, flow('kube-system/kube-proxy-a', 'shop/web', 8080));
    expect(v.verdict).toBe('deny');
    expect(v.reasons.map((r) => r.point)).toEqual(['ingress']);
  });

  it('same pod is always allowed', () => {
    const set = loadPolicies(CONFIG('deny'));
    expect(verdictOf(set, flow('shop/web', '10.0.2.1', 8080)).reasons).toEqual([
      { point: 'egress', band: 'same-pod', decision: 'allow', text: 'same pod' },
      { point: 'ingress', band: 'same-pod', decision: 'allow', text: 'same pod' },
    ]);
    // a sibling pod of the same Deployment on the same node is not the same pod
    expect(
      verdictOf(set, flow('cloudmart-payments/payments-1', 'cloudmart-payments/payments-2', 80)).verdict,
    ).toBe('deny');
  });
});

describe('ports and names', () => {
  it('named ports match a destination container port with that name, protocol and the flow port', () => {
    const set = loadPolicies(
      nyxPolicy(
        'pg-only',
        'shop',
        `  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress]
  ingress:
    - decision: Allow
      ports: [{port: pg}]`,
      ),
    );
    expect(verdictOf(set, flow('shop/web', 'shop/db', 5432)).verdict).toBe('allow');
    expect(verdictOf(set, flow('shop/web', 'shop/db', 5433)).verdict).toBe('deny');
    expect(verdictOf(set, flow('shop/web', 'shop/db', 5432, 'UDP')).verdict).toBe('deny');
  });

  it('endPort ranges', () => {
    const set = loadPolicies(
      nyxPolicy(
        'range',
        'shop',
        `  policyTypes: [Egress]
  egress:
    - decision: Allow
      ports: [{protocol: UDP, port: 30000, endPort: 30010}]`,
      ),
    );
    expect(verdictOf(set, flow('shop/web', '1.1.1.1', 30000, 'UDP')).verdict).toBe('allow');
    expect(verdictOf(set, flow('shop/web', '1.1.1.1', 30010, 'UDP')).verdict).toBe('allow');
    expect(verdictOf(set, flow('shop/web', '1.1.1.1', 30011, 'UDP')).verdict).toBe('deny');
    expect(verdictOf(set, flow('shop/web', '1.1.1.1', 30005, 'TCP')).verdict).toBe('deny');
  });

  it('FQDN: pattern on a world destination on TCP 443 only; never a pod', () => {
    const set = loadPolicies(
      nyxPolicy(
        'fqdn',
        'shop',
        `  policyTypes: [Egress]
  egress:
    - decision: Allow
      toFqdn: [{matchPattern: '*.example.com'}]
      ports: [{protocol: TCP, port: 443}]`,
      ),
    );
    expect(verdictOf(set, flow('shop/web', '1.2.3.4', 443, 'TCP', 'a.b.Example.com.')).verdict).toBe('allow');
    expect(verdictOf(set, flow('shop/web', '1.2.3.4', 443, 'TCP', 'example.com')).verdict).toBe('deny');
    expect(verdictOf(set, flow('shop/web', '1.2.3.4', 443)).verdict).toBe('deny');
    expect(verdictOf(set, flow('shop/web', 'dev/tool', 443, 'TCP', 'tool.example.com')).verdict).toBe('deny');
  });

  it('IPv6 world addresses match v6 blocks only', () => {
    const set = loadPolicies(
      nyxPolicy(
        'v6',
        'shop',
        `  egress:
    - decision: Deny
      toIpBlock: {cidr: '2001:db8::/32', except: ['2001:db8:1::/48']}`,
      ),
    );
    expect(verdictOf(set, flow('shop/web', '2001:db8:2::1', 443)).verdict).toBe('deny');
    expect(verdictOf(set, flow('shop/web', '2001:db8:1::1', 443)).verdict).toBe('allow');
    expect(verdictOf(set, flow('shop/web', '10.1.1.1', 443)).verdict).toBe('allow');
  });
});

describe('evaluator', () => {
  it('caches per equivalence class without mixing up pods of one Deployment', () => {
    const set = loadPolicies(PAYMENTS);
    const evaluator = compileEvaluator(set, inventory);
    const resolve = (f: FlowRecord) => {
      const r = resolveFlow(inventory, f);
      if (!r.ok) throw new Error(r.reason);
      return r.flow;
    };
    const a = evaluator.evaluate(resolve(flow('cloudmart-payments/payments-1', '8.8.8.8', 443)));
    const b = evaluator.evaluate(resolve(flow('cloudmart-payments/payments-2', '8.8.8.8', 443)));
    expect(b).toBe(a);
    const c = evaluator.evaluate(
      resolve(flow('cloudmart-payments/payments-1', STRIPE, 443, 'TCP', 'api.stripe.com')),
    );
    expect(c.verdict).toBe('allow');
    expect(evaluator.compiled.policies.map((p) => p.id)).toEqual([
      'NyxNetworkPolicy/cloudmart-payments/payments-egress-allowlist',
    ]);
  });

  it('formatReason prints flow-wide and per-point reasons for humans', () => {
    const set = loadPolicies({ 'cluster/config.yaml': CONFIG('deny-cross-namespace') });
    expect(formatReason(verdictOf(set, flow('shop/web', '10.0.2.1', 80)).reasons[0]!)).toBe(
      'egress: same pod',
    );
    expect(formatReason(verdictOf(set, flow('kube-system/kube-proxy-a', '8.8.8.8', 443)).reasons[0]!)).toBe(
      'no enforcement point',
    );
    expect(verdictOf(set, flow('shop/web', 'dev/tool', 80)).reasons.map(formatReason)).toEqual([
      'egress: default: deny-cross-namespace [NyxClusterConfig/cluster] at cluster/config.yaml:7',
      'ingress: default: deny-cross-namespace [NyxClusterConfig/cluster] at cluster/config.yaml:7',
    ]);
  });

  it('the convenience evaluate throws on an unknown pod', () => {
    expect(() => evaluate(loadPolicies(''), inventory, flow('shop/nope', 'shop/web', 80))).toThrow(
      'src: pod "shop/nope" is not in the inventory',
    );
  });
});

describe('evaluator at scale', () => {
  it('100,000 distinct tuples over 2,000 policies share verdicts per equivalence class', () => {
    const NS = 20;
    const APPS = 10;
    const REPLICAS = 10;
    const pods = [];
    for (let n = 0; n < NS; n++) {
      for (let a = 0; a < APPS; a++) {
        for (let r = 0; r < REPLICAS; r++) {
          pods.push({
            ns: `ns${n}`,
            name: `app${a}-${r}`,
            ip: `10.${n}.${a}.${r + 1}`,
            node: `node-${r % 4}`,
            labels: { app: `app${a}` },
            ports: [{ name: 'http', containerPort: 8080 }],
          });
        }
      }
    }
    const big = makeInventory({
      namespaces: Object.fromEntries(Array.from({ length: NS }, (_, n) => [`ns${n}`, { team: `t${n % 5}` }])),
      pods,
    });
    const files: Record<string, string> = {};
    for (let i = 0; i < 1900; i++) {
      files[`namespaces/ns${i % NS}/p${i}.yaml`] = nyxPolicy(
        `p${i}`,
        `ns${i % NS}`,
        `  podSelector: {matchLabels: {app: app${i % APPS}}}
  priority: ${100 + (i % 700)}
  ingress:
    - decision: ${i % 3 === 0 ? 'Deny' : 'Allow'}
      from: [{namespaceSelector: {matchLabels: {team: t${(i + 4) % 5}}}, podSelector: {matchLabels: {app: app${(i * 7) % APPS}}}}]
      ports: [{port: http}]
  egress:
    - decision: Allow
      toIpBlock: {cidr: ${i % 200}.0.0.0/8}`,
      );
    }
    for (let i = 0; i < 100; i++) {
      files[`cluster/c${i}.yaml`] = clusterPolicy(
        `c${i}`,
        `  tier: ${i % 2 ? 'platform' : 'baseline'}
  priority: ${i % 2 ? i % 100 : 900 + (i % 100)}
  namespaceSelector: {matchLabels: {team: t${i % 5}}}
  egress:
    - decision: Deny
      toIpBlock: {cidr: ${i}.${i}.0.0/16}`,
      );
    }
    const set = loadPolicies(files);
    expect(set.objects).toHaveLength(2000);
    const evaluator = compileEvaluator(set, big);
    const refs = pods.map((p) => `${p.ns}/${p.name}`);
    let count = 0;
    let denied = 0;
    // Like a real cluster: each pod calls every replica of 5 other apps of the next namespace
    // (50 pods) on its http port: 100,000 distinct (src pod, dst pod, port) tuples.
    for (let i = 0; i < pods.length; i++) {
      const n = Math.floor(i / (APPS * REPLICAS));
      const a = Math.floor(i / REPLICAS) % APPS;
      for (let k = 1; k <= 5; k++) {
        for (let r = 0; r < REPLICAS; r++) {
          for (const port of [8080]) {
            const dst = `ns${(n + 1) % NS}/app${(a + k) % APPS}-${r}`;
            const resolved = resolveFlow(big, { src: refs[i]!, dst, protocol: 'TCP', port });
            if (!resolved.ok) throw new Error(resolved.reason);
            if (evaluator.evaluate(resolved.flow).verdict === 'deny') denied++;
            count++;
          }
        }
      }
    }
    expect(count).toBe(100_000);
    expect(denied).toBeGreaterThan(0);
    const { classes, walks } = evaluator.stats();
    expect(classes).toBe(NS * APPS);
    // one walk per (src class, dst class, port): 200 classes x 5 peer apps
    expect(walks).toBe(NS * APPS * 5);
  });
});

describe('the verdict cache key', () => {
  it('keeps ports outside 0-65535 apart from the numeric keys of other destinations', () => {
    const set = loadPolicies({
      'cluster/config.yaml': CONFIG('allow'),
      'namespaces/shop/web.yaml': nyxPolicy(
        'web-http',
        'shop',
        `  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
    - decision: Allow
      ports: [{protocol: TCP, port: 80}]`,
      ),
    });
    const evaluator = compileEvaluator(set, inventory);
    const at = (dst: string, port: number, protocol: Protocol = 'TCP') => {
      const resolved = resolveFlow(inventory, flow('dev/tool', dst, port, protocol));
      if (!resolved.ok) throw new Error(resolved.reason);
      return evaluator.evaluate(resolved.flow).verdict;
    };
    // Classes by first sight: dev/tool 0, shop/web 1, shop/db 2. Port 65616 to class 1 would, as a
    // plain number, be the key of TCP 80 to class 2.
    expect(at('shop/web', 65536 + 80)).toBe('deny');
    expect(at('shop/db', 80)).toBe('allow');
    expect(at('shop/web', 80)).toBe('allow');
    expect(at('shop/web', 80, 'UDP')).toBe('deny');
    expect(at('shop/web', 80.5)).toBe('deny');
    expect(evaluator.stats().walks).toBe(5);
  });
});

describe('an isolation deny names every policy that isolates the pod (issue 15)', () => {
  // The Kubernetes docs' default-deny-all plus a DNS allowance, as a namespace copies them.
  const upstream = loadPolicies({
    'namespaces/shop/default-deny-all.yaml': `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny-all
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
`,
    'namespaces/shop/allow-dns-egress.yaml': `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-dns-egress
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
    - ports:
        - protocol: UDP
          port: 53
`,
  });

  it('blames the default-deny first and lists the other isolating policy', () => {
    const v = verdictOf(upstream, flow('shop/web', '8.8.8.8', 443));
    expect(v.verdict).toBe('deny');
    expect(v.reasons).toEqual([
      {
        point: 'egress',
        band: 'networkpolicy',
        object: 'NetworkPolicy/shop/default-deny-all',
        isolatedBy: ['NetworkPolicy/shop/default-deny-all', 'NetworkPolicy/shop/allow-dns-egress'],
        decision: 'deny',
        text: 'isolated: no rule matched',
        source: 'namespaces/shop/default-deny-all.yaml:2',
      },
    ]);
    // Ingress is isolated by the default-deny alone.
    const inbound = verdictOf(upstream, flow('dev/tool', 'shop/web', 8080));
    expect(inbound.reasons.find((r) => r.point === 'ingress')).toMatchObject({
      object: 'NetworkPolicy/shop/default-deny-all',
      isolatedBy: ['NetworkPolicy/shop/default-deny-all'],
    });
  });

  it('names every isolating NyxNetworkPolicy too, audit ones only as if enforced', () => {
    const nyx = (name: string, enforcement: string, egress: string) => `
apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxNetworkPolicy
metadata:
  name: ${name}
  namespace: shop
spec:
  enforcement: ${enforcement}
  policyTypes: [Egress]
${egress}
`;
    const set = loadPolicies({
      'namespaces/shop/a-allow-dns.yaml': nyx(
        'a-allow-dns',
        'enforce',
        '  egress:\n    - decision: Allow\n      ports: [{ protocol: UDP, port: 53 }]',
      ),
      'namespaces/shop/b-lockdown.yaml': nyx('b-lockdown', 'enforce', ''),
      'namespaces/shop/c-audit.yaml': nyx('c-audit', 'audit', ''),
    });
    const v = verdictOf(set, flow('shop/web', '8.8.8.8', 443));
    expect(v.reasons[0]).toMatchObject({
      band: 'isolation',
      object: 'NyxNetworkPolicy/shop/b-lockdown',
      isolatedBy: ['NyxNetworkPolicy/shop/b-lockdown', 'NyxNetworkPolicy/shop/a-allow-dns'],
    });
    expect(v.asIfEnforcedReasons[0]).toMatchObject({
      object: 'NyxNetworkPolicy/shop/b-lockdown',
      isolatedBy: [
        'NyxNetworkPolicy/shop/b-lockdown',
        'NyxNetworkPolicy/shop/a-allow-dns',
        'NyxNetworkPolicy/shop/c-audit',
      ],
    });
    expect(v.asIfEnforcedReasons[0]?.audit).toBeUndefined();
  });
});
