// Shared by the kernel tests: a small two-node cluster (with IPv6 on two pods), its inventory, and
// a check that runs flows as real packets and compares them with the engine and an expectation.
import {
  compileEvaluator,
  compileRuleset,
  type Evaluator,
  type FlowVerdict,
  formatReason,
  type Inventory,
  type PolicySet,
  parseInventory,
  type Reason,
  resolveFlow,
} from '@nyx/core';
import type { ClusterSpec, NetnsCluster, Probe, ProbeOutcome } from '@nyx/test';
import { inventoryJson } from '../../core/src/testing/inventory.js';
import { readWouldDenyFindings } from '../src/nft.js';

export const CLUSTER: ClusterSpec = {
  nodes: [
    { name: 'n1', ip: '192.168.0.1' },
    { name: 'n2', ip: '192.168.0.2' },
  ],
  pods: [
    { ns: 'shop', name: 'web', ip: '10.1.0.1', ip6: 'fd00::1', node: 'n1' },
    { ns: 'shop', name: 'api', ip: '10.1.0.2', ip6: 'fd00::2', node: 'n1' },
    { ns: 'payments', name: 'pay', ip: '10.1.0.3', node: 'n1' },
    { ns: 'payments', name: 'ledger', ip: '10.1.0.4', node: 'n2' },
    { ns: 'kube-system', name: 'dns', ip: '10.1.0.5', node: 'n1' },
  ],
  world: ['203.0.113.10', '203.0.113.20'],
  ports: [53, 80, 443, 8080],
  // The world's DNS (on port 53 of its addresses): the agents' upstream in the FQDN tests.
  dnsZone: {
    'api.example.com': { address: '203.0.113.10', ttl: 3 },
    'other.example.org': { address: '203.0.113.20', ttl: 300 },
    // Its UDP answer is truncated: resolvers retry over TCP.
    'big.example.com': { address: '203.0.113.20', ttl: 300, truncate: true },
    'v6.example.com': { address6: '2001:db8::10', ttl: 300 },
  },
};

const LABELS: Record<string, Record<string, string>> = {
  'shop/web': { app: 'web' },
  'shop/api': { app: 'api' },
  'payments/pay': { app: 'pay' },
  'payments/ledger': { app: 'ledger' },
  'kube-system/dns': { app: 'dns' },
};

/** The `kubectl get namespaces,pods,nodes -A -o json` List of `CLUSTER`. */
export function clusterInventoryJson(spec: Pick<ClusterSpec, 'pods' | 'nodes'> = CLUSTER): unknown {
  return inventoryJson({
    namespaces: {
      shop: { team: 'shop' },
      payments: { team: 'payments', pci: 'true' },
      'kube-system': { 'kubernetes.io/metadata.name': 'kube-system' },
    },
    pods: spec.pods.map((p) => ({
      ns: p.ns,
      name: p.name,
      ip: p.ip6 ? [p.ip, p.ip6] : p.ip,
      node: p.node,
      labels: LABELS[`${p.ns}/${p.name}`] ?? {},
      ports: [{ name: 'http', containerPort: 8080 }],
    })),
    nodes: spec.nodes.map((n) => ({ name: n.name, ips: [n.ip] })),
  });
}

let parsed: Inventory | undefined;

export function clusterInventory(): Inventory {
  if (!parsed) {
    const result = parseInventory(clusterInventoryJson(), 'inventory.json');
    if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
    parsed = result.inventory;
  }
  return parsed;
}

/** Where a probe from `endpoint` runs and which address it binds. */
export function probeFrom(endpoint: string): Pick<Probe, 'from' | 'src'> {
  const node = CLUSTER.nodes.find((n) => n.name === endpoint);
  if (node) return { from: node.name, src: node.ip };
  if (CLUSTER.world.includes(endpoint)) return { from: 'world', src: endpoint };
  return { from: endpoint };
}

/** The address of a pod `<ns>/<name>` (its IPv6 one with `v6`), a node, or a world address. */
export function addressOf(endpoint: string, v6 = false): string {
  const node = CLUSTER.nodes.find((n) => n.name === endpoint);
  if (node) return node.ip;
  const pod = CLUSTER.pods.find((p) => `${p.ns}/${p.name}` === endpoint);
  if (pod) return v6 ? pod.ip6! : pod.ip;
  return endpoint;
}

/** Compiles `policySet` for both nodes and loads each script in its node. */
export async function enforce(cluster: NetnsCluster, policySet: PolicySet): Promise<Evaluator> {
  const evaluator = compileEvaluator(policySet, clusterInventory());
  for (const node of CLUSTER.nodes) {
    await cluster.loadRuleset(node.name, compileRuleset({ evaluator, node: node.name }).script);
  }
  return evaluator;
}

export interface FlowCase {
  from: string;
  to: string;
  protocol?: 'TCP' | 'UDP';
  port: number;
  expect: 'allow' | 'deny';
  v6?: boolean;
}

/**
 * Sends every flow at once; checks that the engine's effective verdict and the kernel's outcome
 * both equal the expectation. Returns the mismatches as readable lines (empty when all agree).
 */
export async function checkFlows(
  cluster: NetnsCluster,
  evaluator: Evaluator,
  cases: readonly FlowCase[],
): Promise<string[]> {
  const probes: Probe[] = cases.map((c) => ({
    ...probeFrom(c.from),
    dst: addressOf(c.to, c.v6),
    protocol: c.protocol ?? 'TCP',
    port: c.port,
  }));
  const outcomes: ProbeOutcome[] = await cluster.probe(probes);
  const problems: string[] = [];
  cases.forEach((c, i) => {
    const src = probes[i]!.src ?? addressOf(c.from, c.v6);
    const resolved = resolveFlow(evaluator.inventory, {
      src,
      dst: probes[i]!.dst,
      protocol: c.protocol ?? 'TCP',
      port: c.port,
    });
    if (!resolved.ok) throw new Error(resolved.reason);
    const verdict = evaluator.evaluate(resolved.flow);
    const kernel = outcomes[i] === 'timeout' ? 'deny' : outcomes[i] === 'connected' ? 'allow' : outcomes[i];
    if (verdict.verdict !== c.expect || kernel !== c.expect) {
      problems.push(
        `${c.from} -> ${c.to}${c.v6 ? ' (IPv6)' : ''} ${c.protocol ?? 'TCP'}/${c.port}: expected ${c.expect}, engine ${verdict.verdict}, kernel ${kernel} [${verdict.reasons.map(formatReason).join('; ')}]`,
      );
    }
  });
  return problems;
}

/** Compiles `policySet` with the agent's would-deny rules (SPEC 8.7) for both nodes and loads them. */
export async function enforceWithFindings(
  cluster: NetnsCluster,
  policySet: PolicySet,
): Promise<{ evaluator: Evaluator; reasons: Map<string, readonly Reason[]> }> {
  const evaluator = compileEvaluator(policySet, clusterInventory());
  const reasons = new Map<string, readonly Reason[]>();
  for (const node of CLUSTER.nodes) {
    const ruleset = compileRuleset({ evaluator, node: node.name, agent: { wouldDeny: true } });
    await cluster.loadRuleset(node.name, ruleset.script);
    reasons.set(node.name, ruleset.wouldDenyReasons);
  }
  return { evaluator, reasons };
}

/**
 * The would-deny findings the kernels of `nodes` recorded, by flow tuple (`src dst PROTO port`):
 * each as `<point>: <reason>` with the deciding reason of the script in force on that node.
 */
export async function kernelFindings(
  cluster: NetnsCluster,
  reasons: ReadonlyMap<string, readonly Reason[]>,
): Promise<Map<string, string[]>> {
  const byFlow = new Map<string, string[]>();
  for (const [node, list] of reasons) {
    const found = await readWouldDenyFindings((args) => cluster.exec(node, ['nft', ...args]));
    for (const f of found) {
      const key = `${f.src} ${f.dst} ${f.protocol} ${f.port}`;
      const reason = list[f.reasonId];
      const texts = byFlow.get(key) ?? [];
      texts.push(reason ? formatReason(reason) : `unknown reason #${f.reasonId} on ${node}`);
      byFlow.set(key, texts.sort());
    }
  }
  return byFlow;
}

/** The engine's would-deny finding of a flow: its as-if-enforced denies, one per point (else none). */
export function engineFindings(verdict: FlowVerdict): string[] {
  if (verdict.verdict !== 'allow' || verdict.asIfEnforced !== 'deny') return [];
  // The kernel records the deciding reason; an upstream Pass met before it (`passedBy`) is the
  // engine's explanation of how the walk got there, which the kernel does not record.
  return verdict.asIfEnforcedReasons
    .filter((r) => r.decision === 'deny')
    .map(({ passedBy: _passedBy, ...decider }) => formatReason(decider))
    .sort();
}
