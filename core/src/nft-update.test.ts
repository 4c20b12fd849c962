import { describe, expect, it } from 'vitest';
import { compileEvaluator } from './evaluate.js';
import { loadPolicySet } from './load.js';
import { compileRuleset } from './nft.js';
import { rulesetUpdate } from './nft-update.js';
import { type InventorySpec, makeInventory, type PodSpec } from './testing/inventory.js';

const HEAD = 'apiVersion: nyx.tracenyx.io/v1alpha1';
const FILES = {
  'cluster/config.yaml': `${HEAD}\nkind: NyxClusterConfig\nmetadata: {name: cluster}\nspec: {defaultMode: deny}\n`,
  'namespaces/shop/web.yaml': `${HEAD}
kind: NyxNetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  egress:
    - decision: Allow
      to: [{namespaceSelector: {matchLabels: {team: payments}}, podSelector: {matchLabels: {app: pay}}}]
      ports: [{port: http}]
`,
  'namespaces/payments/pay.yaml': `${HEAD}
kind: NyxNetworkPolicy
metadata: {name: pay, namespace: payments}
spec:
  podSelector: {matchLabels: {app: pay}}
  ingress:
    - decision: Allow
      from: [{namespaceSelector: {matchLabels: {team: shop}}, podSelector: {matchLabels: {app: web}}}]
`,
};
const loaded = loadPolicySet(Object.entries(FILES).map(([path, content]) => ({ path, content })));
if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
const policySet = loaded.policySet;

const http = [{ name: 'http', containerPort: 8080 }];
const BASE: PodSpec[] = [
  { ns: 'shop', name: 'web-1', ip: '10.1.0.1', labels: { app: 'web' }, node: 'n1', ports: http },
  { ns: 'shop', name: 'api-1', ip: '10.1.0.2', labels: { app: 'api' }, node: 'n1', ports: http },
  { ns: 'payments', name: 'pay-1', ip: '10.1.0.3', labels: { app: 'pay' }, node: 'n2', ports: http },
];

function script(pods: PodSpec[], node = 'n1'): string {
  const spec: InventorySpec = {
    namespaces: { shop: { team: 'shop' }, payments: { team: 'payments' } },
    pods,
    nodes: [
      { name: 'n1', ips: ['192.168.0.1'] },
      { name: 'n2', ips: ['192.168.0.2'] },
    ],
  };
  const evaluator = compileEvaluator(policySet, makeInventory(spec));
  return compileRuleset({ evaluator, node, agent: { flowCapture: true, dnsProxyPort: 5353 } }).script;
}

describe('rulesetUpdate', () => {
  it('a new pod of an existing plan is element additions and the generation, not a replace', () => {
    const before = script(BASE);
    const after = script([
      ...BASE,
      { ns: 'shop', name: 'web-2', ip: '10.1.0.9', labels: { app: 'web' }, node: 'n1', ports: http },
    ]);
    const update = rulesetUpdate(before, after);
    expect(update.kind).toBe('elements');
    if (update.kind !== 'elements') return;
    expect(update.deleted).toBe(0);
    // cluster, pods, local, the peer set of pay's ingress rule, and both verdict maps.
    expect(update.script).toMatch(/^add element inet nyx cluster4 \{ 10\.1\.0\.9 \}$/m);
    expect(update.script).toMatch(/^add element inet nyx local4 \{ 10\.1\.0\.9 \}$/m);
    expect(update.script).toMatch(/^add element inet nyx egress4 \{ 10\.1\.0\.9 : jump e[0-9a-f]{8} \}$/m);
    // The chains that hold the generation are rewritten in the same transaction.
    const generation = /generation (0x[0-9a-f]{8})/.exec(after)![1]!;
    expect(update.script).toContain('flush chain inet nyx forward');
    expect(update.script).toContain(`ct mark and 0x7fff0000 == ${generation} accept`);
    expect(update.script).not.toContain('delete table');
  });

  it('a relabelled pod moves to another plan in use: its map key is deleted and added again', () => {
    const web2: PodSpec = { ...BASE[0]!, name: 'web-2', ip: '10.1.0.9' };
    const before = script([...BASE, web2]);
    const after = script([{ ...BASE[0]!, labels: { app: 'api' } }, ...BASE.slice(1), web2]);
    const update = rulesetUpdate(before, after);
    expect(update.kind).toBe('elements');
    if (update.kind !== 'elements') return;
    expect(update.script).toMatch(/^delete element inet nyx egress4 \{ 10\.1\.0\.1 \}$/m);
    expect(update.script).toMatch(/^add element inet nyx egress4 \{ 10\.1\.0\.1 : jump e[0-9a-f]{8} \}$/m);
  });

  it('a removed remote pod leaves its sets; same script again is unchanged', () => {
    const before = script(BASE);
    const after = script(BASE.slice(0, 2).concat({ ...BASE[2]!, name: 'pay-2', ip: '10.1.0.4' }));
    const update = rulesetUpdate(before, after);
    expect(update.kind).toBe('elements');
    if (update.kind !== 'elements') return;
    expect(update.script).toMatch(/^delete element inet nyx pods4 \{ 10\.1\.0\.3 \}$/m);
    expect(update.script).toMatch(/^add element inet nyx pods4 \{ 10\.1\.0\.4 \}$/m);
    expect(rulesetUpdate(after, after)).toEqual({ kind: 'unchanged' });
  });

  it("a plan's first pod on the node declares its chains, its last pod's departure deletes them", () => {
    const before = script(BASE);
    const after = script([
      ...BASE,
      { ns: 'payments', name: 'pay-2', ip: '10.1.0.7', labels: { app: 'pay' }, node: 'n1', ports: http },
    ]);
    const update = rulesetUpdate(before, after);
    expect(update.kind).toBe('elements');
    if (update.kind !== 'elements') return;
    const chain = /^\tchain (i[0-9a-f]{8}) \{$/m.exec(update.script)?.[1];
    // pay's ingress chain and the set of its peers (web pods), which no plan of n1 used before.
    expect(update.declared).toBe(2);
    // Declared before the map element that jumps to it.
    expect(update.script.indexOf(`chain ${chain}`)).toBeLessThan(
      update.script.indexOf(`add element inet nyx ingress4 { 10.1.0.7 : jump ${chain} }`),
    );
    const back = rulesetUpdate(after, before);
    expect(back.kind).toBe('elements');
    if (back.kind !== 'elements') return;
    expect(back.removed).toBe(2);
    expect(back.script).toMatch(
      new RegExp(
        `delete element inet nyx ingress4 \\{ 10\\.1\\.0\\.7 \\}[^]*flush chain inet nyx ${chain}\ndelete chain inet nyx ${chain}`,
      ),
    );
  });

  it('the first address of a family, a changed policy or nothing in force is a table replace', () => {
    const before = script(BASE);
    const v6 = script([{ ...BASE[0]!, ip: ['10.1.0.1', 'fd00::1'] }, ...BASE.slice(1)]);
    const policyChanged = before.replace('ct state related accept', 'ct state related counter accept');
    for (const next of [v6, policyChanged]) {
      const update = rulesetUpdate(before, next);
      expect(update).toEqual({ kind: 'replace', script: next, reason: 'the structure changed' });
    }
    expect(rulesetUpdate(undefined, before).kind).toBe('replace');
    expect(rulesetUpdate('flush ruleset\n', before).kind).toBe('replace');
  });

  it('sets the kernel fills (toFqdn, flow capture) are left alone', () => {
    const withFqdn = (elements: string) =>
      script(BASE).replace(
        'table inet nyx {',
        `table inet nyx {\n\tset fq0_4 {\n\t\ttype ipv4_addr\n\t\tflags timeout\n${elements}\t}`,
      );
    const update = rulesetUpdate(
      withFqdn(''),
      withFqdn('\t\telements = {\n\t\t\t203.0.113.10 timeout 30s\n\t\t}\n'),
    );
    expect(update).toEqual({ kind: 'unchanged' });
  });
});
