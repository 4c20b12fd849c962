// `nyxctl compile` (SPEC section 7): the points of its contract that are about the script itself.
// The kernel side of the contract (points 1-6 and 10) is shown in agent/test/compile-contract.test.ts.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InventorySpec, inventoryJson } from '../../core/src/testing/inventory.js';
import { nyxctl } from './run-nyxctl.js';

const HEAD = 'apiVersion: nyx.tracenyx.io/v1alpha1';
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nyx-compile-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SPEC: InventorySpec = {
  namespaces: { shop: {}, payments: {} },
  pods: [
    { ns: 'shop', name: 'web', ip: ['10.1.0.1', 'fd00::1'], node: 'n1', labels: { app: 'web' } },
    {
      ns: 'payments',
      name: 'pay',
      ip: '10.1.0.3',
      node: 'n2',
      labels: { app: 'pay' },
      ports: [{ name: 'http', containerPort: 8080 }],
    },
  ],
  nodes: [
    { name: 'n1', ips: ['192.168.0.1'] },
    { name: 'n2', ips: ['192.168.0.2'] },
  ],
};

let n = 0;
async function setup(
  files: Record<string, string>,
  spec: InventorySpec = SPEC,
): Promise<{ tree: string; inventory: string }> {
  const tree = join(dir, `t${n++}`);
  await mkdir(tree, { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(tree, path, '..'), { recursive: true });
    await writeFile(join(tree, path), text);
  }
  const inventory = join(tree, '..', `inventory${n}.json`);
  await writeFile(inventory, JSON.stringify(inventoryJson(spec)));
  return { tree, inventory };
}

const EGRESS = {
  'namespaces/shop/egress.yaml': `${HEAD}
kind: NyxNetworkPolicy
metadata: {name: egress, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
    - decision: Allow
      to: [{namespaceSelector: {}}]
      ports: [{port: http}]
    - decision: Allow
      toFqdn: [{matchName: api.stripe.com}]
      ports: [{protocol: TCP, port: 443}]
`,
};

describe('nyxctl compile', () => {
  it('4. prints only the script on stdout, replacing only table inet nyx; an empty tree compiles with a note', async () => {
    const { tree, inventory } = await setup({});
    const run = await nyxctl('compile', '--policies', tree, '--inventory', inventory, '--node', 'n1');
    expect(run.code).toBe(0);
    expect(run.stdout.startsWith('# nyxctl compile: node n1')).toBe(true);
    const tables = run.stdout.match(/^(table|delete table|destroy)[^\n]*/gm);
    expect(tables).toEqual(['table inet nyx', 'delete table inet nyx', 'table inet nyx {']);
    expect(run.stdout).toMatch(/type filter hook forward priority filter; policy accept;/);
    expect(run.stdout).not.toMatch(/\breject\b/);
    expect(run.stderr).toMatch(/no policy object/);
  });

  it('4. a --node the inventory lacks exits 2; an invalid tree exits 2 with file:line and nothing on stdout', async () => {
    const { tree, inventory } = await setup({
      'namespaces/shop/bad.yaml': `${HEAD}\nkind: NyxNetworkPolicy\nmetadata: {name: bad, namespace: shop}\nspec:\n  priority: 5\n`,
    });
    const unknown = await nyxctl('compile', '--policies', tree, '--inventory', inventory, '--node', 'n9');
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/node "n9" is not in the inventory/);
    expect(unknown.stderr).toMatch(/bad\.yaml:5: /);
  });

  it('5. no reject anywhere (drop only); 7. toFqdn sets are declared per rule with timeouts and filled only by the agent', async () => {
    const { tree, inventory } = await setup(EGRESS);
    const plain = await nyxctl('compile', '--policies', tree, '--inventory', inventory, '--node', 'n1');
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/set fq0_4 \{\n\t\ttype ipv4_addr\n\t\tflags timeout\n\t\}/);
    expect(plain.stdout).toMatch(/ip daddr @fq0_4 ip daddr != @cluster4 tcp dport 443/);
    expect(plain.stdout).not.toMatch(/chain dns|set flows4/);
    const agent = await nyxctl(
      'compile',
      '--policies',
      tree,
      '--inventory',
      inventory,
      '--node',
      'n1',
      '--agent',
      '--pod-interfaces',
      'cali*',
    );
    expect(agent.code).toBe(0);
    expect(agent.stdout).toMatch(/type nat hook prerouting priority dstnat/);
    expect(agent.stdout).toMatch(/udp dport 53 redirect to :5353/);
    expect(agent.stdout).toMatch(/set flows4 \{[^}]*flags dynamic,timeout/);
    expect(agent.stdout).toMatch(/ct state new ip saddr @local4 update @flows4/);
    expect(agent.stdout).toMatch(
      /iifname "cali\*" meta nfproto ipv4 ip saddr != @local4 counter name unknown_pods/,
    );
  });

  it('SPEC 8.7: --agent prints the would-deny rules too (the as-if-enforced walk, records only); plain compile has none', async () => {
    const { tree, inventory } = await setup({
      'namespaces/shop/audit.yaml': `${HEAD}
kind: NyxNetworkPolicy
metadata: {name: web-out-audit, namespace: shop}
spec:
  enforcement: audit
  podSelector: {matchLabels: {app: web}}
  egress:
    - decision: Deny
      to: [{namespaceSelector: {}}]
`,
    });
    const args = ['compile', '--policies', tree, '--inventory', inventory, '--node', 'n1'];
    const plain = await nyxctl(...args);
    expect(plain.code).toBe(0);
    expect(plain.stdout).not.toMatch(/would_deny|0x80000000/);
    // The audit policy changes nothing the kernel enforces.
    expect(plain.stdout).not.toMatch(/\bdrop\b/);
    const agent = await nyxctl(...args, '--agent');
    expect(agent.code).toBe(0);
    expect(agent.stdout).toMatch(
      /# would-deny #0: egress: NyxNetworkPolicy\/shop\/web-out-audit egress\[0\] Deny at namespaces\/shop\/audit\.yaml:8\n\tchain wr[0-9a-f]+ \{/,
    );
    // To a pod of another node: pending until the first reply; else recorded at once. Never a drop.
    expect(agent.stdout).toMatch(
      /\n\t\tip daddr @remote4 update @would_deny_pending4 \{ ip saddr \. ip daddr \. meta l4proto \. th dport \. 0 \} ct mark set ct mark or 0x80000000 accept\n/,
    );
    expect(agent.stdout).toContain(
      'meta nfproto ipv6 update @would_deny6 { ip6 saddr . ip6 daddr . meta l4proto . th dport . 0 } accept',
    );
    expect(agent.stdout).toMatch(
      /chain would_deny_forward_egress \{\n\t\ttype filter hook forward priority filter \+ 1; policy accept;/,
    );
    expect(agent.stdout).toMatch(/ip saddr vmap @would_deny_egress4/);
    expect(agent.stdout).not.toMatch(/\bdrop\b/);
  });

  it("8. one node's script depends on the whole inventory: a remote pod's named port is in n1's script", async () => {
    const a = await setup(EGRESS);
    const before = await nyxctl('compile', '--policies', a.tree, '--inventory', a.inventory, '--node', 'n1');
    expect(before.stdout).toContain('10.1.0.3 . tcp . 8080');
    const moved = await setup(EGRESS, {
      ...SPEC,
      pods: SPEC.pods!.map((p) =>
        p.name === 'pay' ? { ...p, ports: [{ name: 'http', containerPort: 9090 }] } : p,
      ),
    });
    const after = await nyxctl(
      'compile',
      '--policies',
      moved.tree,
      '--inventory',
      moved.inventory,
      '--node',
      'n1',
    );
    expect(after.stdout).toContain('10.1.0.3 . tcp . 9090');
    expect(after.stdout).not.toContain('10.1.0.3 . tcp . 8080');
  });

  it('9. help states the contract: routed pods, drop not reject, anti-spoofing is the CNI job, whole-inventory dependency', async () => {
    const help = await nyxctl('compile', '--help');
    expect(help.stdout).toMatch(/routed/);
    expect(help.stdout).toMatch(/dropped, not rejected/);
    expect(help.stdout).toMatch(/anti-spoofing[^.]*CNI/);
    expect(help.stdout).toMatch(/whole\s+inventory/);
  });

  it('10. IPv4 and IPv6 in the one inet table', async () => {
    const { tree, inventory } = await setup({});
    const run = await nyxctl('compile', '--policies', tree, '--inventory', inventory, '--node', 'n1');
    expect(run.stdout).toMatch(/map egress6 \{\n\t\ttype ipv6_addr : verdict/);
    expect(run.stdout).toMatch(/ip6 saddr vmap @egress6/);
  });
});
