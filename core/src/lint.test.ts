import { describe, expect, it } from 'vitest';
import { compileEvaluator } from './evaluate.js';
import { FlowWindow } from './flows.js';
import { parseInventory } from './inventory.js';
import type { Inventory } from './inventory-model.js';
import { lintChange, lintPolicySet, selectorImplies } from './lint.js';
import { type LintFinding, lintFindingKey, ruleHitKey, staleRuleWindowProblem } from './lint-model.js';
import { loadPolicySet } from './load.js';
import type { PolicyFile, PolicySet } from './model.js';

function load(files: PolicyFile[]): PolicySet {
  const r = loadPolicySet(files);
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.file}:${e.line}: ${e.message}`).join('\n'));
  return r.policySet;
}

const ns = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } },
});
const pod = (
  namespace: string,
  name: string,
  labels: Record<string, string>,
  ip: string,
  node = 'node-a',
) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { namespace, name, labels },
  spec: {
    nodeName: node,
    containers: [{ name: 'c', ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }] }],
  },
  status: { podIP: ip, podIPs: [{ ip }] },
});

function inventory(): Inventory {
  const r = parseInventory(
    {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        ns('kube-system'),
        ns('shop', { environment: 'production' }),
        ns('blog'),
        ns('monitoring'),
        pod('kube-system', 'coredns-5d78c9869d-abcde', { 'k8s-app': 'kube-dns' }, '10.244.0.2'),
        pod('shop', 'api-7f9c6d5b8-x2x9q', { app: 'api' }, '10.244.1.10'),
        pod('shop', 'web-6c8d7f9b4-k8m2p', { app: 'web' }, '10.244.1.11'),
        pod('blog', 'wordpress-0', { app: 'wordpress' }, '10.244.2.5'),
        pod('monitoring', 'prometheus-0', { app: 'prometheus' }, '10.244.2.9'),
        {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: { name: 'node-a' },
          status: { addresses: [{ type: 'InternalIP', address: '10.0.0.11' }] },
        },
      ],
    },
    'inventory.json',
  );
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.inventory;
}

const config = (mode = 'deny-cross-namespace') => ({
  path: 'cluster/config.yaml',
  content: `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxClusterConfig
metadata:
  name: cluster
spec:
  defaultMode: ${mode}
  excludedNamespaces: [nyx-system]
`,
});

const dnsAndMetadata = {
  path: 'cluster/guardrails.yaml',
  content: `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxClusterNetworkPolicy
metadata:
  name: block-metadata
spec:
  tier: platform
  priority: 10
  policyTypes: [Egress]
  egress:
    - decision: Deny
      toIpBlock:
        cidr: 169.254.169.254/32
---
apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxClusterNetworkPolicy
metadata:
  name: allow-dns
spec:
  tier: platform
  priority: 90
  policyTypes: [Egress]
  egress:
    - decision: Allow
      to:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: kube-system
          podSelector:
            matchLabels:
              k8s-app: kube-dns
      ports:
        - protocol: UDP
          port: 53
        - protocol: TCP
          port: 53
`,
};

const nyx = (namespace: string, name: string, spec: string) => ({
  path: `namespaces/${namespace}/${name}.yaml`,
  content: `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxNetworkPolicy
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
${spec
  .trim()
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}
`,
});

const owners = (namespace: string) => ({
  path: `namespaces/${namespace}/OWNERS`,
  content: 'approvers: [acme/team]\n',
});

function findingsOf(
  files: PolicyFile[],
  extra: { inventory?: Inventory; ruleHits?: Map<string, number>; window?: FlowWindow } = {},
) {
  return lintPolicySet({ policySet: load(files), files, ...extra });
}

function only(rule: string, findings: ReturnType<typeof findingsOf>) {
  return findings.filter((f) => f.rule === rule);
}

describe('lintPolicySet', () => {
  it('a clean tree has no findings', () => {
    const files = [
      config(),
      dnsAndMetadata,
      owners('shop'),
      nyx(
        'shop',
        'api',
        `
podSelector:
  matchLabels: {app: api}
policyTypes: [Egress]
egress:
  - decision: Allow
    toFqdn:
      - matchName: api.stripe.com
    ports:
      - protocol: TCP
        port: 443
`,
      ),
    ];
    expect(findingsOf(files, { inventory: inventory() })).toEqual([]);
  });

  it('shadowed-rule: a namespace Allow to the internet under a platform Deny of 0.0.0.0/0 (says by what)', () => {
    const files = [
      config(),
      dnsAndMetadata,
      {
        path: 'cluster/deny-public-internet.yaml',
        content: `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxClusterNetworkPolicy
metadata:
  name: deny-public-internet
spec:
  tier: platform
  priority: 50
  namespaceSelector:
    matchLabels:
      environment: production
  policyTypes: [Egress]
  egress:
    - decision: Deny
      toIpBlock:
        cidr: 0.0.0.0/0
`,
      },
      owners('shop'),
      owners('blog'),
      nyx(
        'shop',
        'api',
        `
podSelector:
  matchLabels: {app: api}
egress:
  - decision: Allow
    toFqdn:
      - matchName: api.stripe.com
    ports:
      - protocol: TCP
        port: 443
  - decision: Allow
    toIpBlock:
      cidr: 203.0.113.0/24
    ports:
      - protocol: TCP
        port: 443
`,
      ),
      // blog is not production: the guardrail does not apply, nothing is shadowed there
      nyx(
        'blog',
        'wp',
        `
egress:
  - decision: Allow
    toIpBlock:
      cidr: 203.0.113.0/24
    ports:
      - protocol: TCP
        port: 443
`,
      ),
    ];
    const shadowed = only('shadowed-rule', findingsOf(files, { inventory: inventory() }));
    expect(shadowed).toEqual([
      {
        severity: 'warning',
        rule: 'shadowed-rule',
        object: 'NyxNetworkPolicy/shop/api',
        file: 'namespaces/shop/api.yaml',
        line: 10,
        message:
          'egress[0] Allow never decides: NyxClusterNetworkPolicy/deny-public-internet egress[0] Deny (platform band, priority 50) matches every flow it could match and decides first',
        hint: 'remove the rule, or ask the platform team (cluster/OWNERS) for an exception in the guardrail',
      },
      expect.objectContaining({ line: 16, object: 'NyxNetworkPolicy/shop/api' }),
    ]);
    // Without the inventory the namespace labels are unknown: nothing can be proven.
    expect(only('shadowed-rule', findingsOf(files))).toEqual([]);
  });

  it('shadowed-rule: an earlier rule of the same policy covering a later one', () => {
    const files = [
      config(),
      owners('shop'),
      nyx(
        'shop',
        'api',
        `
egress:
  - decision: Deny
    toIpBlock:
      cidr: 10.0.0.0/8
  - decision: Allow
    toIpBlock:
      cidr: 10.1.0.0/16
    ports:
      - protocol: TCP
        port: 5432
`,
      ),
    ];
    const [f] = only('shadowed-rule', findingsOf(files));
    expect(f?.message).toContain(
      'egress[1] Allow never decides: NyxNetworkPolicy/shop/api egress[0] Deny (an earlier rule',
    );
    expect(f?.line).toBe(11);
  });

  it('selector-matches-nothing: a label typo, with the labels that exist', () => {
    const files = [
      config(),
      dnsAndMetadata,
      owners('shop'),
      nyx(
        'shop',
        'api',
        `
podSelector:
  matchLabels: {app: apii}
ingress:
  - decision: Allow
    from:
      - namespaceSelector:
          matchLabels: {kubernetes.io/metadata.name: monitoring}
        podSelector:
          matchLabels: {app: prometheus}
      - namespaceSelector:
          matchLabels: {team: nobody}
    ports:
      - protocol: TCP
        port: 9090
`,
      ),
    ];
    const found = only('selector-matches-nothing', findingsOf(files, { inventory: inventory() }));
    expect(found.map((f) => [f.line, f.message])).toEqual([
      [7, 'the policy selects no pod: no pod has app=apii (pods there have app=api, app=web)'],
      [16, 'ingress[0] from[1] namespaceSelector matches nothing: no namespace has the label team'],
    ]);
    expect(only('selector-matches-nothing', findingsOf(files))).toEqual([]); // needs the inventory
  });

  it('missing-dns-egress: an egress-isolating policy without DNS to kube-dns', () => {
    const files = [
      config(),
      owners('shop'),
      nyx(
        'shop',
        'api',
        `
podSelector:
  matchLabels: {app: api}
policyTypes: [Egress]
egress:
  - decision: Allow
    toFqdn:
      - matchName: api.stripe.com
    ports:
      - protocol: TCP
        port: 443
`,
      ),
    ];
    for (const inv of [inventory(), undefined]) {
      const found = only('missing-dns-egress', findingsOf(files, inv ? { inventory: inv } : {}));
      expect(found.map((f) => [f.object, f.line, f.message])).toEqual([
        [
          'NyxNetworkPolicy/shop/api',
          9,
          'the policy isolates egress but DNS to kube-dns (UDP and TCP 53) is not allowed for its pods',
        ],
      ]);
    }
    // Allowing only UDP still leaves TCP 53 (large answers) blocked.
    const udpOnly = [
      ...files,
      nyx(
        'shop',
        'dns',
        `
egress:
  - decision: Allow
    to:
      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
        podSelector: {matchLabels: {k8s-app: kube-dns}}
    ports:
      - protocol: UDP
        port: 53
`,
      ),
    ];
    expect(only('missing-dns-egress', findingsOf(udpOnly, { inventory: inventory() }))[0]?.message).toContain(
      '(TCP 53)',
    );
    expect(
      only('missing-dns-egress', findingsOf([...files, dnsAndMetadata], { inventory: inventory() })),
    ).toEqual([]);
  });

  it('metadata-reachable: a namespace with egress policy that can reach 169.254.169.254', () => {
    const files = [
      config(),
      owners('shop'),
      nyx(
        'shop',
        'api',
        `
egress:
  - decision: Allow
    toIpBlock:
      cidr: 0.0.0.0/0
    ports:
      - protocol: TCP
        port: 80
`,
      ),
    ];
    const found = only('metadata-reachable', findingsOf(files, { inventory: inventory() }));
    expect(found).toHaveLength(1);
    expect(found[0]!.message).toContain('pods of namespace shop (e.g. shop/');
    // Without an inventory a stand-in pod of the policy is evaluated instead.
    const standIn = only('metadata-reachable', findingsOf(files));
    expect(standIn.map((f) => f.message.split(' (')[0])).toEqual([
      'pods of namespace shop can reach the cloud metadata address 169.254.169.254',
    ]);
    expect(found[0]!.message).toContain('169.254.169.254');
    expect(
      only('metadata-reachable', findingsOf([...files, dnsAndMetadata], { inventory: inventory() })),
    ).toEqual([]);
  });

  it('rule-without-ports and plaintext-egress', () => {
    const files = [
      config(),
      owners('shop'),
      nyx(
        'shop',
        'api',
        `
egress:
  - decision: Allow
    to:
      - podSelector: {matchLabels: {app: web}}
  - decision: Allow
    toIpBlock:
      cidr: 198.51.100.0/24
    ports:
      - protocol: TCP
        port: 443
      - protocol: TCP
        port: 80
  - decision: Deny
    toIpBlock:
      cidr: 192.0.2.0/24
`,
      ),
    ];
    const found = findingsOf(files).filter(
      (f) => f.rule === 'rule-without-ports' || f.rule === 'plaintext-egress',
    );
    expect(found.map((f) => [f.rule, f.line, f.message])).toEqual([
      ['rule-without-ports', 8, 'egress[0] allows every port and protocol'],
      ['plaintext-egress', 17, 'egress[1] allows plaintext HTTP (TCP 80) to addresses outside the cluster'],
    ]);
  });

  it('namespace-without-default-deny when the cluster default is allow', () => {
    const files = [
      config('allow'),
      owners('shop'),
      owners('blog'),
      nyx(
        'shop',
        'default-deny',
        `
podSelector: {}
policyTypes: [Ingress, Egress]
`,
      ),
      nyx(
        'blog',
        'ingress-only',
        `
podSelector: {}
policyTypes: [Ingress]
`,
      ),
    ];
    const found = only('namespace-without-default-deny', findingsOf(files));
    expect(found.map((f) => [f.object, f.file, f.message])).toEqual([
      [
        'Namespace/blog',
        'namespaces/blog/ingress-only.yaml',
        'namespace blog has no default-deny for egress and the cluster default is allow',
      ],
    ]);
    const withInventory = only(
      'namespace-without-default-deny',
      findingsOf(files, { inventory: inventory() }),
    );
    expect(withInventory.map((f) => f.object)).toEqual([
      'Namespace/kube-system',
      'Namespace/monitoring',
      'Namespace/blog',
    ]);
    expect(only('namespace-without-default-deny', findingsOf([config(), ...files.slice(1)]))).toEqual([]);
  });

  it('ipblock-overlaps-cluster and ipblock-too-broad', () => {
    const files = [
      config(),
      owners('shop'),
      nyx(
        'shop',
        'api',
        `
egress:
  - decision: Allow
    toIpBlock:
      cidr: 10.244.0.0/16
    ports:
      - protocol: TCP
        port: 5432
  - decision: Allow
    toIpBlock:
      cidr: 64.0.0.0/3
    ports:
      - protocol: TCP
        port: 443
  - decision: Deny
    toIpBlock:
      cidr: 0.0.0.0/0
`,
      ),
    ];
    const found = findingsOf(files, { inventory: inventory() }).filter((f) => f.rule.startsWith('ipblock'));
    expect(found.map((f) => [f.rule, f.line])).toEqual([
      ['ipblock-overlaps-cluster', 10],
      ['ipblock-too-broad', 16],
    ]);
    expect(found[0]!.message).toContain('pod kube-system/coredns-5d78c9869d-abcde (10.244.0.2)');
  });

  it('stale-rule: allow rules no observed flow hit (needs hit counts); deny rules are never stale', () => {
    const files = [
      config(),
      owners('shop'),
      nyx(
        'shop',
        'api',
        `
egress:
  - decision: Allow
    toFqdn: [{matchName: api.stripe.com}]
    ports: [{protocol: TCP, port: 443}]
  - decision: Allow
    toFqdn: [{matchName: old.example.com}]
    ports: [{protocol: TCP, port: 443}]
  - decision: Deny
    toIpBlock: {cidr: 0.0.0.0/0}
  - decision: Allow
    to:
      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: nyx-system}}
    ports: [{protocol: TCP, port: 9000}]
`,
      ),
    ];
    // egress[3] only reaches an excluded namespace: it cannot be hit while the exclusion lasts.
    const hits = new Map([[ruleHitKey('NyxNetworkPolicy/shop/api', 'egress', 0), 12]]);
    const found = only('stale-rule', findingsOf(files, { ruleHits: hits }));
    expect(found.map((f) => [f.severity, f.line, f.message])).toEqual([
      ['info', 11, 'no observed flow hit egress[1] in the window'],
    ]);
    expect(only('stale-rule', findingsOf(files))).toEqual([]);
  });

  it('orphan-policy: a policy whose namespace no longer exists', () => {
    const files = [
      config(),
      owners('legacy'),
      nyx('legacy', 'old', 'podSelector: {}\npolicyTypes: [Ingress]'),
    ];
    const found = only('orphan-policy', findingsOf(files, { inventory: inventory() }));
    expect(found.map((f) => [f.object, f.message])).toEqual([
      [
        'NyxNetworkPolicy/legacy/old',
        'namespace legacy does not exist in the inventory: the policy protects nothing',
      ],
    ]);
  });

  it('missing-owners: a namespace folder without OWNERS is an error; a bad OWNERS is reported', () => {
    const files = [
      config(),
      owners('shop'),
      nyx('shop', 'a', 'podSelector: {}\npolicyTypes: [Ingress]'),
      nyx('blog', 'b', 'podSelector: {}\npolicyTypes: [Ingress]'),
      { path: 'OWNERS', content: 'approvrs: [x]\n' },
      { path: '.github/CODEOWNERS', content: '* @ok\n/cluster/ not-a-handle!\n' },
    ];
    const found = findingsOf(files).filter((f) => f.rule === 'missing-owners' || f.rule === 'invalid-owners');
    expect(found.map((f) => [f.severity, f.rule, f.file, f.line])).toEqual([
      ['error', 'invalid-owners', '.github/CODEOWNERS', 2],
      ['error', 'invalid-owners', 'OWNERS', 1],
      ['error', 'invalid-owners', 'OWNERS', 1],
      ['error', 'missing-owners', 'namespaces/blog/b.yaml', 1],
    ]);
    expect(found[3]!.message).toBe(
      'namespace folder namespaces/blog/ has no OWNERS file: every namespace needs a named owner',
    );
  });

  it('ignored-direction: rules of a direction policyTypes does not list', () => {
    const files = [
      config(),
      owners('shop'),
      nyx(
        'shop',
        'api',
        `
podSelector: {}
policyTypes: [Ingress]
egress:
  - decision: Allow
    toFqdn: [{matchName: api.stripe.com}]
    ports: [{protocol: TCP, port: 443}]
`,
      ),
    ];
    const found = only('ignored-direction', findingsOf(files));
    expect(found.map((f) => [f.line, f.message, f.hint])).toEqual([
      [
        9,
        'egress rules are ignored: policyTypes lists only Ingress',
        'add Egress to policyTypes, or delete the egress rules',
      ],
    ]);
  });

  it('excluded-namespace-traffic: how much observed traffic crosses the gap (needs the window)', () => {
    const files = [
      {
        path: 'cluster/config.yaml',
        content: `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxClusterConfig
metadata:
  name: cluster
spec:
  defaultMode: deny-cross-namespace
  excludedNamespaces:
    - kube-system
    - nyx-system
`,
      },
    ];
    const window = new FlowWindow();
    window.add({
      src: 'shop/api-7f9c6d5b8-x2x9q',
      dst: 'kube-system/coredns-5d78c9869d-abcde',
      protocol: 'UDP',
      port: 53,
      count: 40,
    });
    window.add({ src: '10.244.1.11', dst: '10.244.0.2', protocol: 'UDP', port: 53, count: 2 });
    window.add({ src: 'shop/api-7f9c6d5b8-x2x9q', dst: 'blog/wordpress-0', protocol: 'TCP', port: 80 });
    const found = only('excluded-namespace-traffic', findingsOf(files, { inventory: inventory(), window }));
    expect(found.map((f) => [f.severity, f.line, f.message])).toEqual([
      [
        'info',
        8,
        '42 connections (2 distinct flows) in the window have an end in excluded namespace kube-system: they bypass enforcement',
      ],
    ]);
  });

  it('selector-matches-nothing: a guardrail whose namespaceSelector matches no namespace', () => {
    const files = [
      config(),
      {
        path: 'cluster/g.yaml',
        content: `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxClusterNetworkPolicy
metadata:
  name: deny-prod-internet
spec:
  tier: platform
  priority: 50
  namespaceSelector:
    matchLabels:
      environment: prod
  policyTypes: [Egress]
  egress:
    - decision: Deny
      toIpBlock:
        cidr: 0.0.0.0/0
`,
      },
    ];
    const found = only('selector-matches-nothing', findingsOf(files, { inventory: inventory() }));
    expect(found.map((f) => [f.line, f.message])).toEqual([
      [
        8,
        'the policy selects no pod: namespaceSelector: no namespace has environment=prod (namespaces there have environment=production)',
      ],
    ]);
  });

  it('shadowed-rule: a lower-priority namespace policy for all pods decides first; audit deciders do not count', () => {
    const early = (enforcement: string) =>
      nyx(
        'shop',
        'early',
        `
podSelector: {}
priority: 150
enforcement: ${enforcement}
egress:
  - decision: Deny
    toFqdn: [{matchName: api.stripe.com}]
    ports: [{protocol: TCP, port: 443}]
`,
      );
    const late = nyx(
      'shop',
      'late',
      `
podSelector:
  matchLabels: {app: api}
priority: 600
egress:
  - decision: Allow
    toFqdn: [{matchName: api.stripe.com}]
    ports: [{protocol: TCP, port: 443}]
`,
    );
    const enforced = only('shadowed-rule', findingsOf([config(), owners('shop'), early('enforce'), late]));
    expect(enforced.map((f) => [f.object, f.severity, f.message])).toEqual([
      [
        'NyxNetworkPolicy/shop/late',
        'warning',
        'egress[0] Allow never decides: NyxNetworkPolicy/shop/early egress[0] Deny (application band, priority 150) matches every flow it could match and decides first',
      ],
    ]);
    // An audit policy is skipped by the effective walk: the enforced rule still decides there.
    expect(only('shadowed-rule', findingsOf([config(), owners('shop'), early('audit'), late]))).toEqual([]);
  });

  it("shadowed-rule: the seed guide's own payments allowlist under its deny-public-internet guardrail", () => {
    // Both documents exactly as the hardening guide prints them.
    const seedGuardrail = `apiVersion: nyx.tracenyx.io/v1alpha1
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
    const seedPayments = `apiVersion: nyx.tracenyx.io/v1alpha1
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
    const inv = parseInventory(
      {
        kind: 'List',
        items: [
          ns('cloudmart-payments', { environment: 'production' }),
          pod(
            'cloudmart-payments',
            'cloudmart-payments-5f7d9c8b6-j4npx',
            { app: 'cloudmart-payments' },
            '10.244.2.50',
          ),
        ],
      },
      'inventory.json',
    );
    if (!inv.ok) throw new Error('inventory');
    const files = [
      { path: 'cluster/deny-public-internet.yaml', content: seedGuardrail },
      { path: 'namespaces/cloudmart-payments/payments.yaml', content: seedPayments },
      owners('cloudmart-payments'),
    ];
    const found = only('shadowed-rule', findingsOf(files, { inventory: inv.inventory }));
    expect(found.map((f) => `${f.file}:${f.line}: ${f.message}`)).toEqual([
      'namespaces/cloudmart-payments/payments.yaml:15: egress[0] Allow never decides: NyxClusterNetworkPolicy/deny-public-internet egress[0] Deny (platform band, priority 50) matches every flow it could match and decides first',
    ]);
  });

  it('shadowed-rule: pod peers, proven from the selectors alone', () => {
    const files = [
      config(),
      {
        path: 'cluster/protect-db.yaml',
        content: `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxClusterNetworkPolicy
metadata:
  name: protect-db
spec:
  tier: platform
  priority: 20
  policyTypes: [Egress]
  egress:
    - decision: Deny
      to:
        - namespaceSelector:
            matchLabels: {kubernetes.io/metadata.name: blog}
          podSelector:
            matchExpressions:
              - {key: app, operator: In, values: [mysql, postgres]}
`,
      },
      owners('shop'),
      nyx(
        'shop',
        'api',
        `
egress:
  - decision: Allow
    to:
      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: blog, team: web}}
        podSelector: {matchLabels: {app: mysql, tier: db}}
    ports: [{protocol: TCP, port: 3306}]
  - decision: Allow
    to:
      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: blog}}
        podSelector: {matchLabels: {app: wordpress}}
    ports: [{protocol: TCP, port: 8080}]
`,
      ),
    ];
    const found = only('shadowed-rule', findingsOf(files));
    expect(found.map((f) => [f.line, f.message])).toEqual([
      [
        8,
        'egress[0] Allow never decides: NyxClusterNetworkPolicy/protect-db egress[0] Deny (platform band, priority 20) matches every flow it could match and decides first',
      ],
    ]);
  });
});

describe('lintPolicySet shadowing without an inventory', () => {
  it('a subject included by selector text is proven; a merely overlapping one is not', () => {
    const early = (selector: string) =>
      nyx(
        'shop',
        'early',
        `
podSelector:
  matchLabels: {${selector}}
priority: 150
egress:
  - decision: Deny
    toIpBlock: {cidr: 192.0.2.0/24}
`,
      );
    const late = nyx(
      'shop',
      'late',
      `
podSelector:
  matchLabels: {app: api, track: canary}
priority: 600
egress:
  - decision: Allow
    toIpBlock: {cidr: 192.0.2.0/28}
    ports: [{protocol: TCP, port: 443}]
`,
    );
    const base = [config(), owners('shop')];
    expect(
      only('shadowed-rule', findingsOf([...base, early('app: api'), late])).map((f) => f.object),
    ).toEqual(['NyxNetworkPolicy/shop/late']);
    expect(only('shadowed-rule', findingsOf([...base, early('app: api, tier: web'), late]))).toEqual([]);
  });
});

describe('selectorImplies', () => {
  it('holds only when the text proves inclusion', () => {
    expect(selectorImplies({}, { matchLabels: { a: '1' } })).toBe(true);
    expect(selectorImplies({ matchLabels: { a: '1' } }, { matchLabels: { a: '1', b: '2' } })).toBe(true);
    expect(selectorImplies({ matchLabels: { a: '1', b: '2' } }, { matchLabels: { a: '1' } })).toBe(false);
    expect(
      selectorImplies(
        { matchExpressions: [{ key: 'a', operator: 'In', values: ['1', '2'] }] },
        { matchExpressions: [{ key: 'a', operator: 'In', values: ['2'] }] },
      ),
    ).toBe(true);
    expect(
      selectorImplies(
        { matchExpressions: [{ key: 'a', operator: 'In', values: ['1'] }] },
        { matchExpressions: [{ key: 'a', operator: 'In', values: ['1', '2'] }] },
      ),
    ).toBe(false);
    expect(
      selectorImplies({ matchExpressions: [{ key: 'a', operator: 'Exists' }] }, { matchLabels: { a: 'x' } }),
    ).toBe(true);
    expect(
      selectorImplies(
        { matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['x'] }] },
        { matchLabels: { a: 'y' } },
      ),
    ).toBe(true);
    expect(selectorImplies({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['x'] }] }, {})).toBe(
      false,
    );
    expect(selectorImplies({ matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }, {})).toBe(false);
  });
});

describe('lintPolicySet sharing work between the base and head of a change', () => {
  it('a shared evaluator changes no finding; lintChange gives the head findings the base lacks', () => {
    const guarded = nyx(
      'shop',
      'api',
      `
podSelector:
  matchLabels: {app: api}
policyTypes: [Egress]
egress:
  - decision: Allow
    toIpBlock:
      cidr: 0.0.0.0/0
  - decision: Allow
    to:
      - podSelector: {matchLabels: {app: wbe}}
`,
    );
    const blog = nyx(
      'blog',
      'wordpress',
      `
egress:
  - decision: Allow
    toIpBlock:
      cidr: 10.0.0.0/4
    ports:
      - protocol: TCP
        port: 80
`,
    );
    const baseFiles = [config(), owners('shop'), guarded, blog, dnsAndMetadata];
    // The head edits one policy, moves another down a line (same content, other line), drops the
    // guardrails and adds a policy for a namespace that does not exist.
    const headFiles = [
      config(),
      owners('shop'),
      { ...guarded, content: guarded.content.replace('app: wbe', 'app: web') },
      { ...blog, content: `# moved\n${blog.content}` },
      nyx('gone', 'x', 'egress:\n  - decision: Allow\n'),
    ];
    const inv = inventory();
    const base = load(baseFiles);
    const head = load(headFiles);
    const ruleHits = new Map([[ruleHitKey('NyxNetworkPolicy/shop/api', 'egress', 0), 3]]);
    const plain = (policySet: PolicySet, files: PolicyFile[]) =>
      lintPolicySet({ policySet, files, inventory: inv, ruleHits });
    const baseEvaluator = compileEvaluator(base, inv);
    const headEvaluator = compileEvaluator(head, inv, { reuse: baseEvaluator });
    const baseFindings = plain(base, baseFiles);
    const headFindings = plain(head, headFiles);
    // A shared evaluator changes no finding.
    expect(
      lintPolicySet({
        policySet: base,
        files: baseFiles,
        inventory: inv,
        ruleHits,
        evaluator: baseEvaluator,
      }),
    ).toEqual(baseFindings);
    expect(
      lintPolicySet({
        policySet: head,
        files: headFiles,
        inventory: inv,
        ruleHits,
        evaluator: headEvaluator,
      }),
    ).toEqual(headFindings);
    // lintChange: the head's findings the base lacks, as filtering two plain runs gives them.
    const known = new Set(baseFindings.map(lintFindingKey));
    const expected = headFindings.filter((f) => !known.has(lintFindingKey(f)));
    const change = lintChange({
      base: { policySet: base, files: baseFiles, inventory: inv, ruleHits, evaluator: baseEvaluator },
      head: { policySet: head, files: headFiles, inventory: inv, ruleHits, evaluator: headEvaluator },
    });
    expect(change).toEqual(expected);
    expect(change.map((f) => f.rule)).toContain('orphan-policy');
    // Over two inventory objects nothing is skipped, with the same answer.
    expect(
      lintChange({
        base: { policySet: base, files: baseFiles, inventory: inv, ruleHits },
        head: { policySet: head, files: headFiles, inventory: inventory(), ruleHits },
      }),
    ).toEqual(expected);
    // The fixture exercises the skipped and the checked paths: per-object findings on unchanged,
    // edited and moved objects, and the probes.
    const rules = new Set(headFindings.map((f) => f.rule));
    for (const r of ['metadata-reachable', 'missing-dns-egress', 'orphan-policy', 'ipblock-overlaps-cluster'])
      expect(rules).toContain(r);
    expect(baseFindings.map((f) => f.rule)).toContain('selector-matches-nothing');
    const moved = (fs: LintFinding[]) =>
      fs.find((f) => f.object === 'NyxNetworkPolicy/blog/wordpress' && f.rule === 'ipblock-too-broad')?.line;
    expect(moved(headFindings)).toBe((moved(baseFindings) ?? 0) + 1);
  });
});

describe('lintPolicySet checks each distinct peer and ip block once per inventory', () => {
  it('the same podSelector peer in two namespaces is judged in each one', () => {
    const peerTo = (namespace: string) =>
      nyx(
        namespace,
        'to-web',
        `
egress:
  - decision: Allow
    to:
      - podSelector: {matchLabels: {app: web}}
    ports:
      - protocol: TCP
        port: 80
  - decision: Deny
    toIpBlock:
      cidr: 10.244.0.0/16
`,
      );
    const inv = inventory();
    const files = [config(), owners('shop'), owners('blog'), peerTo('shop'), peerTo('blog')];
    const found = findingsOf(files, { inventory: inv });
    // shop has app=web pods, blog has none: the cached answer for shop must not answer for blog.
    expect(only('selector-matches-nothing', found).map((f) => f.object)).toEqual([
      'NyxNetworkPolicy/blog/to-web',
    ]);
    expect(only('ipblock-overlaps-cluster', found).map((f) => f.object)).toEqual([
      'NyxNetworkPolicy/blog/to-web',
      'NyxNetworkPolicy/shop/to-web',
    ]);
    // A second run over the same inventory (answers from the caches) finds the same.
    expect(findingsOf(files, { inventory: inv })).toEqual(found);
  });
});

describe('staleRuleWindowProblem (issue 15)', () => {
  it('holds rule hits only over a window that mostly resolved', () => {
    expect(staleRuleWindowProblem({ records: 0, unresolved: 0 })).toBe('the flow window is empty');
    expect(staleRuleWindowProblem({ records: 100, unresolved: 51 })).toBe(
      'only 49 of 100 flow records resolved against the inventory',
    );
    expect(staleRuleWindowProblem({ records: 100, unresolved: 50 })).toBeUndefined();
  });
});

describe('lintChange scoped to the namespaces a change touches', () => {
  it('keeps the baseline rules that an earlier band shadows out of the isolation check on both sides', () => {
    // `everything` (platform) shadows the baseline rule; the head then isolates blog's egress,
    // which would also shadow it. A full lint reports the rule once, as shadowed by the platform
    // policy, on both sides: nothing new. The change touches only blog, so lintChange must still
    // know that the platform policy shadows the rule, or it reports the isolation as new.
    const cluster = {
      path: 'cluster/policies.yaml',
      content: `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxClusterNetworkPolicy
metadata:
  name: everything
spec:
  tier: platform
  priority: 10
  egress:
    - decision: Allow
---
apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxClusterNetworkPolicy
metadata:
  name: blog-out
spec:
  tier: baseline
  priority: 900
  namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: blog
  egress:
    - decision: Allow
`,
    };
    const isolateBlog = nyx('blog', 'isolate', 'policyTypes: [Egress]\n');
    const inv = inventory();
    const base = load([config(), cluster]);
    const head = load([config(), cluster, isolateBlog]);
    const full = (policySet: PolicySet) => lintPolicySet({ policySet, inventory: inv });
    const known = new Set(full(base).map(lintFindingKey));
    const expected = full(head).filter((f) => !known.has(lintFindingKey(f)));
    expect(
      full(head).filter((f) => f.rule === 'shadowed-rule' && f.object === 'NyxClusterNetworkPolicy/blog-out'),
    ).toHaveLength(1);
    expect(
      lintChange({ base: { policySet: base, inventory: inv }, head: { policySet: head, inventory: inv } }),
    ).toEqual(expected);
    expect(expected.filter((f) => f.rule === 'shadowed-rule')).toEqual([]);
  });
});
