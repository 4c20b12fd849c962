// Upstream network-policy-api conformance scenarios (v0.1.5 `conformance/tests`, the
// AdminNetworkPolicy "core ingress TCP" and "core priority" tests), re-expressed as data: the
// upstream manifest, the houses' namespaces and pods, and each probe with the outcome the upstream
// test asserts. The same ANP is also checked converted to v1alpha2 (what Calico 3.32 enforces).
import { describe, expect, it } from 'vitest';
import { convertToV1alpha2 } from './convert-admin.js';
import { compileEvaluator } from './evaluate.js';
import { resolveFlow } from './inventory.js';
import type { PolicySet } from './model.js';
import { makeInventory } from './testing/inventory.js';
import { loadPolicies } from './testing/policies.js';

const NS = (house: string) => `network-policy-conformance-${house}`;
const inventory = makeInventory({
  namespaces: Object.fromEntries(
    ['gryffindor', 'slytherin', 'hufflepuff', 'ravenclaw'].map((h) => [NS(h), { 'conformance-house': h }]),
  ),
  pods: [
    ['gryffindor', 'harry-potter'],
    ['slytherin', 'draco-malfoy'],
    ['hufflepuff', 'cedric-diggory'],
    ['ravenclaw', 'luna-lovegood'],
  ].flatMap(([house, name], i) =>
    [0, 1].map((n) => ({
      ns: NS(house!),
      name: `${name}-${n}`,
      ip: `10.9.${i}.${n + 1}`,
      labels: { 'conformance-house': house! },
      ports: [
        { name: 'web', containerPort: 80 },
        { name: 'dns', containerPort: 53, protocol: 'UDP' as const },
      ],
    })),
  ),
});

const rule = (name: string, action: string, house: string, port?: number) =>
  `  - name: "${name}"\n    action: "${action}"\n    from:\n    - namespaces:\n        matchLabels:\n          kubernetes.io/metadata.name: ${NS(house)}\n${
    port ? `    ports:\n      - portNumber:\n          protocol: TCP\n          port: ${port}\n` : ''
  }`;
const anp = (name: string, priority: number, rules: string[]) =>
  `apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata:\n  name: ${name}\nspec:\n  priority: ${priority}\n  subject:\n    namespaces:\n      matchLabels:\n          kubernetes.io/metadata.name: ${NS('gryffindor')}\n  ingress:\n${rules.join('')}`;

// conformance/base/admin_network_policy/core-ingress-tcp-rules.yaml
const INGRESS_TCP_RULES = [
  rule('allow-from-ravenclaw-everything', 'Allow', 'ravenclaw'),
  rule('deny-from-ravenclaw-everything', 'Deny', 'ravenclaw'),
  rule('pass-from-ravenclaw-everything', 'Pass', 'ravenclaw'),
  rule('deny-from-slytherin-at-port-80', 'Deny', 'slytherin', 80),
  rule('pass-from-slytherin-at-port-80', 'Pass', 'slytherin', 80),
  rule('allow-from-hufflepuff-at-port-80', 'Allow', 'hufflepuff', 80),
  rule('deny-from-hufflepuff-everything-else', 'Deny', 'hufflepuff'),
];
const BANP_DENY_ALL = `apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata:\n  name: default\nspec:\n  subject:\n    namespaces: {}\n  ingress:\n  - action: Deny\n    from:\n    - namespaces: {}\n`;

interface Scenario {
  name: string;
  policies: string[];
  /** [client pod, server pod, port, expected] */
  probes: Array<[string, string, number, 'allow' | 'deny']>;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'core ingress TCP: rules as written (first match: Allow from ravenclaw, Deny slytherin at 80, Allow hufflepuff at 80 then Deny)',
    policies: [anp('ingress-tcp', 3, INGRESS_TCP_RULES)],
    probes: [
      ['ravenclaw/luna-lovegood-0', 'gryffindor/harry-potter-0', 80, 'allow'],
      ['ravenclaw/luna-lovegood-1', 'gryffindor/harry-potter-0', 8080, 'allow'],
      ['hufflepuff/cedric-diggory-0', 'gryffindor/harry-potter-1', 80, 'allow'],
      ['hufflepuff/cedric-diggory-1', 'gryffindor/harry-potter-1', 8080, 'deny'],
      ['slytherin/draco-malfoy-0', 'gryffindor/harry-potter-0', 80, 'deny'],
      ['slytherin/draco-malfoy-1', 'gryffindor/harry-potter-0', 8080, 'allow'],
    ],
  },
  {
    name: 'core ingress TCP: the Deny from ravenclaw moved first',
    policies: [
      anp('ingress-tcp', 3, [INGRESS_TCP_RULES[1]!, INGRESS_TCP_RULES[0]!, ...INGRESS_TCP_RULES.slice(2)]),
    ],
    probes: [
      ['ravenclaw/luna-lovegood-0', 'gryffindor/harry-potter-1', 80, 'deny'],
      ['ravenclaw/luna-lovegood-1', 'gryffindor/harry-potter-1', 8080, 'deny'],
    ],
  },
  {
    name: 'core ingress TCP: the Pass from ravenclaw moved first, a BANP denying everything decides',
    policies: [
      anp('ingress-tcp', 3, [INGRESS_TCP_RULES[2]!, INGRESS_TCP_RULES[0]!, INGRESS_TCP_RULES[1]!]),
      BANP_DENY_ALL,
    ],
    probes: [
      ['ravenclaw/luna-lovegood-0', 'gryffindor/harry-potter-0', 80, 'deny'],
      ['slytherin/draco-malfoy-0', 'gryffindor/harry-potter-0', 80, 'deny'],
    ],
  },
  {
    name: 'core priority: of two ANPs the lower priority decides; raising it hands the decision over',
    policies: [
      anp('old-priority-60-new-priority-40', 60, [rule('deny-from-ravenclaw', 'Deny', 'ravenclaw')]),
      anp('priority-50', 50, [rule('allow-from-ravenclaw', 'Allow', 'ravenclaw')]),
    ],
    probes: [['ravenclaw/luna-lovegood-0', 'gryffindor/harry-potter-0', 80, 'allow']],
  },
  {
    name: 'core priority: after the update (60 → 40) the Deny decides',
    policies: [
      anp('old-priority-60-new-priority-40', 40, [rule('deny-from-ravenclaw', 'Deny', 'ravenclaw')]),
      anp('priority-50', 50, [rule('allow-from-ravenclaw', 'Allow', 'ravenclaw')]),
    ],
    probes: [['ravenclaw/luna-lovegood-0', 'gryffindor/harry-potter-0', 80, 'deny']],
  },
];

function check(set: PolicySet, probes: Scenario['probes']): void {
  const evaluator = compileEvaluator(set, inventory);
  for (const [client, server, port, expected] of probes) {
    const [ch, cp] = client.split('/');
    const [sh, sp] = server.split('/');
    const resolved = resolveFlow(inventory, {
      src: `${NS(ch!)}/${cp}`,
      dst: `${NS(sh!)}/${sp}`,
      protocol: 'TCP',
      port,
    });
    if (!resolved.ok) throw new Error(resolved.reason);
    expect(evaluator.evaluate(resolved.flow).verdict, `${client} -> ${server}:${port}`).toBe(expected);
  }
}

describe('upstream conformance scenarios (network-policy-api v0.1.5), as data', () => {
  for (const s of SCENARIOS) {
    it(s.name, () => {
      const set = loadPolicies(Object.fromEntries(s.policies.map((p, i) => [`cluster/p${i}.yaml`, p])));
      check(set, s.probes);
      const converted = convertToV1alpha2(set);
      expect(converted.ok).toBe(true);
      if (converted.ok) check(converted.policySet, s.probes);
    });
  }
});
