// SPEC section 9: upstream admin policy in the walk. One hand-checked case (or a few) per point.
import { describe, expect, it } from 'vitest';
import { evaluate } from './evaluate.js';
import type { FlowRecord } from './flow-model.js';
import { lintPolicySet } from './lint.js';
import type { Protocol } from './model.js';
import { makeInventory } from './testing/inventory.js';
import { loadPolicies } from './testing/policies.js';
import { formatReason } from './verdict-model.js';

const inventory = makeInventory({
  namespaces: { shop: { team: 'shop' }, pay: { team: 'pay' }, mon: { team: 'mon' }, sys: {} },
  pods: [
    {
      ns: 'shop',
      name: 'web',
      ip: '10.0.1.1',
      node: 'n1',
      labels: { app: 'web' },
      ports: [{ name: 'http', containerPort: 8080 }],
    },
    {
      ns: 'shop',
      name: 'db',
      ip: '10.0.1.2',
      node: 'n2',
      labels: { app: 'db' },
      ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }],
    },
    { ns: 'pay', name: 'api', ip: '10.0.2.1', node: 'n1', labels: { app: 'api' } },
    { ns: 'mon', name: 'prom', ip: '10.0.3.1', node: 'n2', labels: { app: 'prom' } },
    { ns: 'sys', name: 'agent', ip: '192.168.0.2', node: 'n2', hostNetwork: true },
  ],
  nodes: [
    { name: 'n1', ips: ['192.168.0.1'], labels: { role: 'worker' } },
    { name: 'n2', ips: ['192.168.0.2'], labels: { role: 'infra' } },
  ],
});

const flow = (
  src: string,
  dst: string,
  port: number,
  protocol: Protocol = 'TCP',
  serverName?: string,
): FlowRecord => ({
  src,
  dst,
  protocol,
  port,
  ...(serverName ? { serverName } : {}),
});

const CNP = (name: string, tier: string, priority: number, body: string, annotations = '') =>
  `apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata:\n  name: ${name}\n${annotations}spec:\n  tier: ${tier}\n  priority: ${priority}\n${body}`;
const ANP = (name: string, priority: number, body: string) =>
  `apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata:\n  name: ${name}\nspec:\n  priority: ${priority}\n${body}`;
const BANP = (body: string) =>
  `apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata:\n  name: default\nspec:\n${body}`;

const ALL_NS = '  subject:\n    namespaces: {}\n';
const SHOP = '  subject:\n    namespaces: {matchLabels: {team: shop}}\n';
const ingressFrom = (action: string, peer = 'namespaces: {}', ports = '') =>
  `  ingress:\n  - action: ${action}\n    from:\n    - ${peer}\n${ports}`;
const egressTo = (action: string, peer: string, ports = '') =>
  `  egress:\n  - action: ${action}\n    to:\n    - ${peer}\n${ports}`;

const NP_ALLOW_ALL_INGRESS = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-all
  namespace: shop
spec:
  podSelector: {}
  ingress:
  - {}
`;
const NP_DENY_INGRESS = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-ingress
  namespace: shop
spec:
  podSelector: {}
  policyTypes: [Ingress]
`;
const NYX_PLATFORM_ALLOW = `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxClusterNetworkPolicy
metadata:
  name: platform-allow
spec:
  tier: platform
  priority: 10
  ingress:
  - decision: Allow
`;
const NYX_BASELINE_ALLOW = `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxClusterNetworkPolicy
metadata:
  name: baseline-allow
spec:
  tier: baseline
  priority: 950
  ingress:
  - decision: Allow
`;
const CONFIG = (mode: string, excluded = '[]') =>
  `apiVersion: nyx.tracenyx.io/v1alpha1\nkind: NyxClusterConfig\nmetadata:\n  name: cluster\nspec:\n  defaultMode: ${mode}\n  excludedNamespaces: ${excluded}\n`;

function verdict(docs: string[], f: FlowRecord) {
  const policies = loadPolicies(Object.fromEntries(docs.map((d, i) => [`cluster/p${i}.yaml`, d])));
  return evaluate(policies, inventory, f);
}
const ingressOf = (v: ReturnType<typeof verdict>) => v.reasons.find((r) => r.point === 'ingress')!;

describe('SPEC 9.1: where the tiers sit in the walk', () => {
  it('an Admin Deny comes before band 1 and band 3: it beats a Nyx platform Allow and an allowing NetworkPolicy', () => {
    const v = verdict(
      [
        CNP(
          'deny-pay',
          'Admin',
          5,
          `${SHOP}${ingressFrom('Deny', 'namespaces: {matchLabels: {team: pay}}')}`,
        ),
        NYX_PLATFORM_ALLOW,
        NP_ALLOW_ALL_INGRESS,
      ],
      flow('pay/api', 'shop/web', 8080),
    );
    expect(v.verdict).toBe('deny');
    expect(ingressOf(v)).toMatchObject({
      band: 'admin-tier',
      object: 'ClusterNetworkPolicy/deny-pay',
      rule: 0,
      tier: 'Admin',
      priority: 5,
    });
  });

  it('an Admin Accept is final: a NetworkPolicy that isolates the pod is not consulted', () => {
    const v = verdict(
      [
        ANP('allow-mon', 1, `${SHOP}${ingressFrom('Allow', 'namespaces: {matchLabels: {team: mon}}')}`),
        NP_DENY_INGRESS,
      ],
      flow('mon/prom', 'shop/web', 8080),
    );
    expect(v.verdict).toBe('allow');
    expect(ingressOf(v)).toMatchObject({
      band: 'admin-tier',
      object: 'AdminNetworkPolicy/allow-mon',
      decision: 'allow',
    });
    // another source is not matched by the ANP: the NetworkPolicy isolates and denies
    expect(
      verdict(
        [
          ANP('allow-mon', 1, `${SHOP}${ingressFrom('Allow', 'namespaces: {matchLabels: {team: mon}}')}`),
          NP_DENY_INGRESS,
        ],
        flow('pay/api', 'shop/web', 8080),
      ).verdict,
    ).toBe('deny');
  });

  it('Admin tier order: lower priority first across both versions; at equal priority the v1alpha2 object first', () => {
    const anpDeny3 = ANP('anp-deny', 3, `${ALL_NS}${ingressFrom('Deny')}`);
    const cnpAccept5 = CNP('cnp-accept', 'Admin', 5, `${ALL_NS}${ingressFrom('Accept')}`);
    expect(ingressOf(verdict([anpDeny3, cnpAccept5], flow('pay/api', 'shop/web', 80))).object).toBe(
      'AdminNetworkPolicy/anp-deny',
    );
    const cnpAccept3 = CNP('cnp-accept', 'Admin', 3, `${ALL_NS}${ingressFrom('Accept')}`);
    expect(ingressOf(verdict([anpDeny3, cnpAccept3], flow('pay/api', 'shop/web', 80))).object).toBe(
      'ClusterNetworkPolicy/cnp-accept',
    );
  });

  it('Admin Pass skips the rest of the Admin tier and goes on to band 1 (here: the NetworkPolicy decides)', () => {
    const pass = CNP('pass-shop', 'Admin', 1, `${SHOP}${ingressFrom('Pass')}`);
    const deny = CNP('deny-all', 'Admin', 2, `${ALL_NS}${ingressFrom('Deny')}`);
    const v = verdict([pass, deny, NP_ALLOW_ALL_INGRESS], flow('pay/api', 'shop/web', 80));
    expect(v.verdict).toBe('allow');
    expect(ingressOf(v)).toMatchObject({ band: 'networkpolicy', object: 'NetworkPolicy/shop/allow-all' });
    // without the Pass, the Deny decides
    expect(verdict([deny, NP_ALLOW_ALL_INGRESS], flow('pay/api', 'shop/web', 80)).verdict).toBe('deny');
  });

  it('the explanation of what decides after a Pass records the Pass (SPEC 9.4), both tiers, in walk order', () => {
    const adminPass = CNP('pass-shop', 'Admin', 1, `${SHOP}${ingressFrom('Pass')}`);
    const baselinePass = CNP('pass-baseline', 'Baseline', 3, `${ALL_NS}${ingressFrom('Pass')}`);
    const v = verdict([adminPass, baselinePass, CONFIG('deny')], flow('pay/api', 'shop/web', 80));
    const r = ingressOf(v);
    expect(r).toMatchObject({ band: 'default', decision: 'deny' });
    expect(r.passedBy).toEqual([
      {
        object: 'ClusterNetworkPolicy/pass-shop',
        apiVersion: 'policy.networking.k8s.io/v1alpha2',
        tier: 'Admin',
        priority: 1,
        rule: 0,
        text: 'ClusterNetworkPolicy/pass-shop ingress[0] Pass (policy.networking.k8s.io/v1alpha2, tier Admin, priority 1)',
        source: 'cluster/p0.yaml:11',
      },
      {
        object: 'ClusterNetworkPolicy/pass-baseline',
        apiVersion: 'policy.networking.k8s.io/v1alpha2',
        tier: 'Baseline',
        priority: 3,
        rule: 0,
        text: 'ClusterNetworkPolicy/pass-baseline ingress[0] Pass (policy.networking.k8s.io/v1alpha2, tier Baseline, priority 3)',
        source: 'cluster/p1.yaml:11',
      },
    ]);
    expect(formatReason(r)).toBe(
      'ingress: default: deny [NyxClusterConfig/cluster] (after ClusterNetworkPolicy/pass-shop ingress[0] Pass (policy.networking.k8s.io/v1alpha2, tier Admin, priority 1) at cluster/p0.yaml:11) (after ClusterNetworkPolicy/pass-baseline ingress[0] Pass (policy.networking.k8s.io/v1alpha2, tier Baseline, priority 3) at cluster/p1.yaml:11) at cluster/p2.yaml:6',
    );
    // one reason object per (decider, pass): verdicts stay shared between flows
    const again = verdict([adminPass, baselinePass, CONFIG('deny')], flow('pay/api', 'shop/web', 81));
    expect(ingressOf(again).passedBy).toEqual(r.passedBy);
    // no Pass, no passedBy
    expect(ingressOf(verdict([CONFIG('deny')], flow('pay/api', 'shop/web', 80))).passedBy).toBeUndefined();
  });

  it('a policy none of whose rules match decides nothing: the next policy of the tier is tried', () => {
    const noMatch = CNP(
      'only-mon',
      'Admin',
      1,
      `${ALL_NS}${ingressFrom('Accept', 'namespaces: {matchLabels: {team: mon}}')}`,
    );
    const deny = CNP('deny-all', 'Admin', 2, `${ALL_NS}${ingressFrom('Deny')}`);
    expect(ingressOf(verdict([noMatch, deny], flow('pay/api', 'shop/web', 80))).object).toBe(
      'ClusterNetworkPolicy/deny-all',
    );
  });

  it('inside a policy the first matching rule decides', () => {
    const body = `${ALL_NS}  ingress:\n  - name: web-port\n    action: Accept\n    from:\n    - namespaces: {}\n    protocols:\n    - tcp: {destinationPort: {number: 8080}}\n  - name: rest\n    action: Deny\n    from:\n    - namespaces: {}\n`;
    const policy = CNP('first-match', 'Admin', 1, body);
    expect(ingressOf(verdict([policy], flow('pay/api', 'shop/web', 8080)))).toMatchObject({
      decision: 'allow',
      rule: 0,
      ruleName: 'web-port',
    });
    expect(ingressOf(verdict([policy], flow('pay/api', 'shop/web', 9090)))).toMatchObject({
      decision: 'deny',
      rule: 1,
      ruleName: 'rest',
    });
  });

  it('the Baseline tier comes after band 5 and before the default; Pass goes on to the default', () => {
    const banp = BANP(`${ALL_NS}${ingressFrom('Deny')}`);
    // nothing else: the BANP denies under defaultMode allow
    expect(ingressOf(verdict([banp], flow('pay/api', 'shop/web', 80)))).toMatchObject({
      band: 'baseline-tier',
      object: 'BaselineAdminNetworkPolicy/default',
      tier: 'Baseline',
    });
    // a NetworkPolicy selecting the pod decides first (band 3)
    expect(verdict([banp, NP_ALLOW_ALL_INGRESS], flow('pay/api', 'shop/web', 80)).verdict).toBe('allow');
    // the Nyx baseline band (5) decides before the Baseline tier
    expect(ingressOf(verdict([banp, NYX_BASELINE_ALLOW], flow('pay/api', 'shop/web', 80))).band).toBe(
      'baseline',
    );
    // CNP Baseline before the BANP; its Pass skips the BANP and reaches the default
    const pass = CNP('pass', 'Baseline', 900, `${ALL_NS}${ingressFrom('Pass')}`);
    const v = verdict([banp, pass, CONFIG('deny')], flow('pay/api', 'shop/web', 80));
    expect(ingressOf(v)).toMatchObject({ band: 'default', decision: 'deny' });
    expect(verdict([banp, pass], flow('pay/api', 'shop/web', 80)).verdict).toBe('allow');
  });

  it('an object with no rule for a direction takes no part in it; the tiers never isolate', () => {
    const egressOnly = CNP(
      'egress-only',
      'Admin',
      1,
      `${ALL_NS}${egressTo('Deny', 'namespaces: {matchLabels: {team: mon}}')}`,
    );
    const v = verdict([egressOnly], flow('pay/api', 'shop/web', 80));
    expect(v.verdict).toBe('allow');
    expect(ingressOf(v).band).toBe('default');
    expect(v.reasons.find((r) => r.point === 'egress')!.band).toBe('default');
  });

  it('excluded namespaces bypass the tiers too', () => {
    const deny = CNP('deny-all', 'Admin', 1, `${ALL_NS}${ingressFrom('Deny')}`);
    const v = verdict([deny, CONFIG('allow', '[pay]')], flow('pay/api', 'shop/web', 80));
    expect(v.verdict).toBe('allow');
    expect(v.reasons[0]!.band).toBe('excluded-namespace');
  });
});

describe('SPEC 9.2: upstream peers and ports', () => {
  it('networks match any address in the CIDR, pod IPs included: 0.0.0.0/0 also cuts pod-to-pod traffic', () => {
    const deny = CNP('deny-world', 'Admin', 1, `${ALL_NS}${egressTo('Deny', 'networks: ["0.0.0.0/0"]')}`);
    expect(verdict([deny], flow('shop/web', 'pay/api', 80)).verdict).toBe('deny');
    expect(verdict([deny], flow('shop/web', '8.8.8.8', 53, 'UDP')).verdict).toBe('deny');
    const metadata = CNP(
      'deny-metadata',
      'Admin',
      1,
      `${ALL_NS}${egressTo('Deny', 'networks: ["169.254.169.254/32"]')}`,
    );
    expect(verdict([metadata], flow('shop/web', '169.254.169.254', 80)).verdict).toBe('deny');
    expect(verdict([metadata], flow('shop/web', '169.254.169.253', 80)).verdict).toBe('allow');
  });

  it('nodes match the Node labels of a node address or a hostNetwork pod', () => {
    const deny = CNP(
      'deny-infra',
      'Admin',
      1,
      `${ALL_NS}${egressTo('Deny', 'nodes: {matchLabels: {role: infra}}')}`,
    );
    expect(verdict([deny], flow('shop/web', '192.168.0.2', 10250)).verdict).toBe('deny');
    expect(verdict([deny], flow('shop/web', 'sys/agent', 10250)).verdict).toBe('deny');
    expect(verdict([deny], flow('shop/web', '192.168.0.1', 10250)).verdict).toBe('allow');
  });

  it('pods: v1alpha1 needs both selectors; v1alpha2 without namespaceSelector means every namespace', () => {
    const cnp = CNP(
      'pods',
      'Admin',
      1,
      `${ALL_NS}${egressTo('Deny', 'pods: {podSelector: {matchLabels: {app: api}}}')}`,
    );
    expect(verdict([cnp], flow('shop/web', 'pay/api', 80)).verdict).toBe('deny');
    expect(verdict([cnp], flow('shop/web', 'mon/prom', 80)).verdict).toBe('allow');
    const anp = ANP(
      'pods',
      1,
      `${ALL_NS}${egressTo('Deny', 'pods: {namespaceSelector: {matchLabels: {team: shop}}, podSelector: {}}')}`,
    );
    expect(verdict([anp], flow('pay/api', 'shop/db', 80)).verdict).toBe('deny');
    expect(verdict([anp], flow('pay/api', 'mon/prom', 80)).verdict).toBe('allow');
  });

  it('a named port resolves on the destination pod with that port’s protocol, in both versions, and never matches outside the cluster', () => {
    const v1 = ANP(
      'named',
      1,
      `${ALL_NS}${egressTo('Deny', 'namespaces: {}', '    ports:\n    - namedPort: dns\n')}`,
    );
    const v2 = CNP(
      'named',
      'Admin',
      1,
      `${ALL_NS}${egressTo('Deny', 'namespaces: {}', '    protocols:\n    - destinationNamedPort: dns\n')}`,
    );
    for (const p of [v1, v2]) {
      expect(verdict([p], flow('shop/web', 'shop/db', 53, 'UDP')).verdict).toBe('deny');
      expect(verdict([p], flow('shop/web', 'shop/db', 53, 'TCP')).verdict).toBe('allow');
      expect(verdict([p], flow('shop/web', 'shop/db', 54, 'UDP')).verdict).toBe('allow');
    }
    const world = CNP(
      'named-world',
      'Admin',
      1,
      `${ALL_NS}  egress:\n  - action: Deny\n    to:\n    - pods: {podSelector: {}}\n    protocols:\n    - destinationNamedPort: http\n`,
    );
    expect(verdict([world], flow('shop/db', 'shop/web', 8080)).verdict).toBe('deny');
    expect(verdict([world], flow('shop/db', '8.8.8.8', 8080)).verdict).toBe('allow');
  });

  it('port numbers and ranges with their protocol; v1alpha1 protocol defaults to TCP', () => {
    const v1 = ANP(
      'ports',
      1,
      `${ALL_NS}${ingressFrom('Deny', 'namespaces: {}', '    ports:\n    - portNumber: {port: 80}\n    - portRange: {protocol: UDP, start: 1000, end: 2000}\n')}`,
    );
    expect(verdict([v1], flow('pay/api', 'shop/web', 80)).verdict).toBe('deny');
    expect(verdict([v1], flow('pay/api', 'shop/web', 80, 'UDP')).verdict).toBe('allow');
    expect(verdict([v1], flow('pay/api', 'shop/web', 2000, 'UDP')).verdict).toBe('deny');
    expect(verdict([v1], flow('pay/api', 'shop/web', 2001, 'UDP')).verdict).toBe('allow');
    const v2 = CNP(
      'ports',
      'Admin',
      1,
      `${ALL_NS}${ingressFrom('Deny', 'namespaces: {}', '    protocols:\n    - sctp: {destinationPort: {range: {start: 9000, end: 9010}}}\n')}`,
    );
    expect(verdict([v2], flow('pay/api', 'shop/web', 9005, 'SCTP')).verdict).toBe('deny');
    expect(verdict([v2], flow('pay/api', 'shop/web', 9005, 'TCP')).verdict).toBe('allow');
  });

  it('domainNames match the server name like toFqdn, on any port the rule lists', () => {
    const accept = CNP(
      'dns-allow',
      'Admin',
      1,
      `${ALL_NS}${egressTo('Accept', 'domainNames: ["*.example.com"]', '    protocols:\n    - tcp: {destinationPort: {number: 8443}}\n')}`,
    );
    const deny = CNP('deny-world', 'Admin', 2, `${ALL_NS}${egressTo('Deny', 'networks: ["0.0.0.0/0"]')}`);
    expect(
      verdict([accept, deny], flow('shop/web', '203.0.113.9', 8443, 'TCP', 'api.example.com')).verdict,
    ).toBe('allow');
    expect(verdict([accept, deny], flow('shop/web', '203.0.113.9', 8443, 'TCP', 'example.com')).verdict).toBe(
      'deny',
    );
    expect(verdict([accept, deny], flow('shop/web', '203.0.113.9', 8443, 'TCP', 'evil.org')).verdict).toBe(
      'deny',
    );
    expect(
      verdict([accept, deny], flow('shop/web', '203.0.113.9', 443, 'TCP', 'api.example.com')).verdict,
    ).toBe('deny');
  });
});

describe('SPEC 9.4 and 9.5: explanations and audit', () => {
  it('names object, API version, tier, priority and the rule (name, else index)', () => {
    const named = CNP(
      'deny-metadata',
      'Admin',
      10,
      `${ALL_NS}  egress:\n  - name: metadata\n    action: Deny\n    to:\n    - networks: ["169.254.169.254/32"]\n`,
    );
    const r = verdict([named], flow('shop/web', '169.254.169.254', 80)).reasons[0]!;
    expect(r).toMatchObject({
      point: 'egress',
      band: 'admin-tier',
      object: 'ClusterNetworkPolicy/deny-metadata',
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      tier: 'Admin',
      priority: 10,
      rule: 0,
      ruleName: 'metadata',
      decision: 'deny',
      source: 'cluster/p0.yaml:11',
    });
    expect(formatReason(r)).toBe(
      'egress: ClusterNetworkPolicy/deny-metadata egress rule "metadata" Deny (policy.networking.k8s.io/v1alpha2, tier Admin, priority 10) at cluster/p0.yaml:11',
    );
    const banp = verdict(
      [BANP(`${ALL_NS}${ingressFrom('Allow')}`), CONFIG('deny')],
      flow('pay/api', 'shop/web', 80),
    );
    expect(ingressOf(banp).text).toBe(
      'BaselineAdminNetworkPolicy/default ingress[0] Allow (policy.networking.k8s.io/v1alpha1, tier Baseline)',
    );
  });

  it('the audit annotation makes an object audit-only: a would-deny finding, no drop', () => {
    const audit = '  annotations:\n    nyx.tracenyx.io/enforcement: audit\n';
    const deny = CNP(
      'deny-pay',
      'Admin',
      5,
      `${SHOP}${ingressFrom('Deny', 'namespaces: {matchLabels: {team: pay}}')}`,
      audit,
    );
    const v = verdict([deny], flow('pay/api', 'shop/web', 8080));
    expect(v.verdict).toBe('allow');
    expect(v.asIfEnforced).toBe('deny');
    expect(v.asIfEnforcedReasons.find((r) => r.point === 'ingress')).toMatchObject({
      band: 'admin-tier',
      audit: true,
      object: 'ClusterNetworkPolicy/deny-pay',
    });
    // an audited Pass does not skip the enforced tier in the effective walk
    const pass = CNP('pass', 'Admin', 1, `${ALL_NS}${ingressFrom('Pass')}`, audit);
    const denyAll = CNP('deny-all', 'Admin', 2, `${ALL_NS}${ingressFrom('Deny')}`);
    const w = verdict([pass, denyAll, NP_ALLOW_ALL_INGRESS], flow('pay/api', 'shop/web', 80));
    expect([w.verdict, w.asIfEnforced]).toEqual(['deny', 'allow']);
  });
});

describe('lint of upstream admin policy', () => {
  const lint = (docs: string[], withInventory = true) =>
    lintPolicySet({
      policySet: loadPolicies(Object.fromEntries(docs.map((d, i) => [`cluster/p${i}.yaml`, d]))),
      ...(withInventory ? { inventory } : {}),
    }).filter((f) => f.rule.startsWith('admin-'));

  it('networks that also hold cluster addresses: 0.0.0.0/0 always, other blocks by the inventory; Pass is fine', () => {
    const world = CNP('deny-world', 'Admin', 1, `${ALL_NS}${egressTo('Deny', 'networks: ["0.0.0.0/0"]')}`);
    expect(lint([world], false).map((f) => [f.rule, f.line, f.message])).toEqual([
      [
        'admin-networks-cut-pod-traffic',
        13,
        'egress[0] Deny networks 0.0.0.0/0 also matches every pod and node address (upstream networks match cluster addresses): it decides pod-to-pod traffic too',
      ],
    ]);
    const tenNet = CNP('deny-ten', 'Admin', 2, `${ALL_NS}${egressTo('Deny', 'networks: ["10.0.0.0/16"]')}`);
    expect(lint([tenNet]).map((f) => f.message)).toEqual([
      'egress[0] Deny networks 10.0.0.0/16 also matches pod shop/web (10.0.1.1) (upstream networks match cluster addresses): it decides pod-to-pod traffic too',
    ]);
    expect(lint([tenNet], false)).toEqual([]);
    const metadata = CNP(
      'deny-metadata',
      'Admin',
      3,
      `${ALL_NS}${egressTo('Deny', 'networks: ["169.254.169.254/32"]')}`,
    );
    const pass = CNP('pass-world', 'Admin', 4, `${ALL_NS}${egressTo('Pass', 'networks: ["0.0.0.0/0"]')}`);
    expect(lint([metadata, pass])).toEqual([]);
  });

  it('a subject that selects no pod', () => {
    const none = CNP(
      'nobody',
      'Admin',
      1,
      `  subject:\n    namespaces: {matchLabels: {team: nobody}}\n${ingressFrom('Deny')}`,
    );
    expect(lint([none]).map((f) => [f.rule, f.object, f.line])).toEqual([
      ['admin-subject-matches-nothing', 'ClusterNetworkPolicy/nobody', 8],
    ]);
    expect(lint([none], false)).toEqual([]);
  });
});

describe('lint: rules shadowed across the upstream tiers (SPEC 9.1)', () => {
  const shadowed = (files: Record<string, string>, withInventory = true) =>
    lintPolicySet({ policySet: loadPolicies(files), ...(withInventory ? { inventory } : {}) })
      .filter((f) => f.rule === 'shadowed-rule')
      .map((f) => `${f.file}:${f.line}: ${f.severity} ${f.message} (${f.hint})`);
  const NYX_ALLOW_METADATA = `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxNetworkPolicy
metadata:
  name: allow-metadata
spec:
  egress:
  - decision: Allow
    toIpBlock: {cidr: 169.254.169.254/32}
    ports: [{port: 80}]
`;
  const DENY_METADATA = CNP(
    'deny-metadata',
    'Admin',
    10,
    `${ALL_NS}  egress:\n  - name: metadata\n    action: Deny\n    to:\n    - networks: ["169.254.0.0/16"]\n`,
  );

  it('a namespace Allow that an Admin-tier Deny of the same peers always overrides: file:line of both', () => {
    const files = { 'cluster/deny.yaml': DENY_METADATA, 'namespaces/shop/allow.yaml': NYX_ALLOW_METADATA };
    const expected = [
      'namespaces/shop/allow.yaml:7: warning egress[0] Allow never decides: ClusterNetworkPolicy/deny-metadata egress rule "metadata" Deny (policy.networking.k8s.io/v1alpha2, tier Admin, priority 10) matches every flow it could match and decides first (the Admin tier decides at cluster/deny.yaml:11: remove the rule, or ask the platform team (cluster/OWNERS) for a Pass there)',
    ];
    expect(shadowed(files)).toEqual(expected);
    expect(shadowed(files, false)).toEqual(expected); // shown from the text alone
    // the same through a v1alpha1 AdminNetworkPolicy whose ports cover the rule's
    const anp = ANP(
      'deny-pay-ingress',
      3,
      `${ALL_NS}  ingress:\n  - action: Deny\n    from:\n    - namespaces: {matchLabels: {team: pay}}\n    ports:\n    - portRange: {start: 1, end: 9000}\n`,
    );
    const allowPay = `apiVersion: nyx.tracenyx.io/v1alpha1\nkind: NyxNetworkPolicy\nmetadata:\n  name: allow-pay\nspec:\n  ingress:\n  - decision: Allow\n    from:\n    - namespaceSelector: {matchLabels: {team: pay}}\n      podSelector: {matchLabels: {app: api}}\n    ports: [{port: 8080}]\n`;
    expect(shadowed({ 'cluster/anp.yaml': anp, 'namespaces/shop/allow-pay.yaml': allowPay })).toEqual([
      'namespaces/shop/allow-pay.yaml:7: warning ingress[0] Allow never decides: AdminNetworkPolicy/deny-pay-ingress ingress[0] Deny (policy.networking.k8s.io/v1alpha1, tier Admin, priority 3) matches every flow it could match and decides first (the Admin tier decides at cluster/anp.yaml:10: remove the rule, or ask the platform team (cluster/OWNERS) for a Pass there)',
    ]);
  });

  it('an upstream NetworkPolicy rule the Admin tier always decides first (selector and ipBlock peers)', () => {
    const np = `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: from-pay\nspec:\n  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Ingress, Egress]\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: {team: pay}}\n      podSelector: {matchLabels: {app: api}}\n    ports:\n    - port: 8080\n  egress:\n  - to:\n    - ipBlock: {cidr: 169.254.169.254/32}\n  - to:\n    - podSelector: {}\n`;
    const denyPay = CNP(
      'deny-pay',
      'Admin',
      5,
      `${SHOP}${ingressFrom('Deny', 'namespaces: {matchLabels: {team: pay}}')}`,
    );
    expect(
      shadowed({
        'cluster/deny-pay.yaml': denyPay,
        'cluster/deny.yaml': DENY_METADATA,
        'namespaces/shop/np.yaml': np,
      }),
    ).toEqual([
      'namespaces/shop/np.yaml:9: warning ingress[0] Allow never decides: ClusterNetworkPolicy/deny-pay ingress[0] Deny (policy.networking.k8s.io/v1alpha2, tier Admin, priority 5) matches every flow it could match and decides first (the Admin tier decides at cluster/deny-pay.yaml:11: remove the rule, or ask the platform team (cluster/OWNERS) for a Pass there)',
      'namespaces/shop/np.yaml:15: warning egress[0] Allow never decides: ClusterNetworkPolicy/deny-metadata egress rule "metadata" Deny (policy.networking.k8s.io/v1alpha2, tier Admin, priority 10) matches every flow it could match and decides first (the Admin tier decides at cluster/deny.yaml:11: remove the rule, or ask the platform team (cluster/OWNERS) for a Pass there)',
    ]);
  });

  it('nothing is claimed when the Admin rule does not cover, a Pass comes first, or the admin policy is in audit', () => {
    const narrow = DENY_METADATA.replace('169.254.0.0/16', '169.254.169.0/30');
    expect(
      shadowed({ 'cluster/deny.yaml': narrow, 'namespaces/shop/allow.yaml': NYX_ALLOW_METADATA }),
    ).toEqual([]);
    const pass = CNP(
      'pass-shop',
      'Admin',
      1,
      `${SHOP}${egressTo('Pass', 'networks: ["169.254.169.254/32"]')}`,
    );
    expect(
      shadowed({
        'cluster/pass.yaml': pass,
        'cluster/deny.yaml': DENY_METADATA,
        'namespaces/shop/allow.yaml': NYX_ALLOW_METADATA,
      }),
    ).toEqual([]);
    const audited = DENY_METADATA.replace(
      'spec:',
      'metadata:\n  annotations:\n    nyx.tracenyx.io/enforcement: audit\nspec:',
    ).replace('metadata:\n  name: deny-metadata\nmetadata:\n', 'metadata:\n  name: deny-metadata\n');
    expect(audited).toContain('nyx.tracenyx.io/enforcement: audit');
    expect(
      shadowed({ 'cluster/deny.yaml': audited, 'namespaces/shop/allow.yaml': NYX_ALLOW_METADATA }),
    ).toEqual([]);
    // a subject that leaves out the policy's namespace
    const payOnly = DENY_METADATA.replace(ALL_NS, '  subject:\n    namespaces: {matchLabels: {team: pay}}\n');
    expect(
      shadowed({ 'cluster/deny.yaml': payOnly, 'namespaces/shop/allow.yaml': NYX_ALLOW_METADATA }),
    ).toEqual([]);
  });

  it('a Baseline-tier rule that namespace isolation always decides first (NetworkPolicy or Nyx policyTypes)', () => {
    const banpShop = BANP(
      `  subject:\n    namespaces: {matchLabels: {kubernetes.io/metadata.name: shop}}\n${ingressFrom('Deny')}`,
    );
    const files = { 'cluster/banp.yaml': banpShop, 'namespaces/shop/deny.yaml': NP_DENY_INGRESS };
    const expected = (scope: string) => [
      `cluster/banp.yaml:9: info ingress[0] Deny (policy.networking.k8s.io/v1alpha1, tier Baseline) never decides: every pod it applies to${scope} is isolated for ingress by NetworkPolicy/shop/deny-ingress, which decides first (allow or deny) (isolation decides at namespaces/shop/deny.yaml:8: the baseline only decides where a namespace expresses nothing; remove the rule if no namespace is meant to rely on it)`,
    ];
    expect(shadowed(files)).toEqual(expected(' in the inventory'));
    expect(shadowed(files, false)).toEqual(expected(''));
    // every namespace: pay, mon have no isolation, so the Baseline still decides for them
    const banpAll = BANP(`${ALL_NS}${ingressFrom('Deny')}`);
    expect(shadowed({ 'cluster/banp.yaml': banpAll, 'namespaces/shop/deny.yaml': NP_DENY_INGRESS })).toEqual(
      [],
    );
    // a Nyx baseline-band rule under a NyxNetworkPolicy that isolates ingress
    const nyxIsolate = `apiVersion: nyx.tracenyx.io/v1alpha1\nkind: NyxNetworkPolicy\nmetadata:\n  name: isolate\nspec:\n  policyTypes: [Ingress]\n`;
    const baselineShop = NYX_BASELINE_ALLOW.replace(
      '  priority: 950\n',
      '  priority: 950\n  namespaceSelector: {matchLabels: {team: shop}}\n',
    );
    expect(
      shadowed({ 'cluster/baseline.yaml': baselineShop, 'namespaces/shop/isolate.yaml': nyxIsolate }),
    ).toEqual([
      'cluster/baseline.yaml:10: info ingress[0] Allow never decides: every pod it applies to in the inventory is isolated for ingress by NyxNetworkPolicy/shop/isolate, which decides first (allow or deny) (isolation decides at namespaces/shop/isolate.yaml:6: the baseline only decides where a namespace expresses nothing; remove the rule if no namespace is meant to rely on it)',
    ]);
    // an isolation only for egress leaves the ingress baseline alone
    expect(
      shadowed({
        'cluster/baseline.yaml': baselineShop,
        'namespaces/shop/isolate.yaml': nyxIsolate.replace('[Ingress]', '[Egress]'),
      }),
    ).toEqual([]);
  });
});
