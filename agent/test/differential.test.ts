// SPEC section 6: "for any policy set and flow, the verdict that the engine computes is what the
// kernel does". Seeded random policy sets (the property tests' generators) over the property-test
// cluster, built as network namespaces; each set is compiled for both nodes and loaded with nft, and
// random flows are sent as real packets (their waits overlap). The kernel's outcome must equal the
// engine's effective verdict for every flow.
import {
  compileEvaluator,
  compileRuleset,
  type FlowRecord,
  formatReason,
  type PolicyObject,
  resolveFlow,
} from '@nyx/core';
import { type NetnsCluster, type Probe, startNetnsCluster } from '@nyx/test';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { propertyTestInventory } from '../../core/src/testing/inventory.js';
import {
  adminPolicy,
  config,
  type PolicyDraft,
  policyDraft,
  policySetOf,
} from '../../core/src/testing/policy-arbitraries.js';
import { PROPERTY_CLUSTER } from './cluster.js';

const POLICY_SETS = 24;
const FLOWS_PER_SET = 50;
const ADMIN_SETS = 12;

let cluster: NetnsCluster;
beforeAll(async () => {
  cluster = await startNetnsCluster(PROPERTY_CLUSTER);
});
afterAll(async () => {
  await cluster?.close();
});

/** Where a probe from `address` runs: the pod's namespace, the node's, or the world's. */
function origin(address: string): string {
  const pod = PROPERTY_CLUSTER.pods.find((p) => p.ip === address);
  if (pod) return `${pod.ns}/${pod.name}`;
  const node = PROPERTY_CLUSTER.nodes.find((n) => n.ip === address);
  if (node) return node.name;
  return 'world';
}

async function differential(
  drafts: fc.Arbitrary<PolicyDraft[]>,
  sets: number,
  minEach: number,
): Promise<void> {
  {
    const inventory = propertyTestInventory();
    const addresses = [
      ...PROPERTY_CLUSTER.pods.map((p) => p.ip),
      ...PROPERTY_CLUSTER.nodes.map((n) => n.ip),
      ...PROPERTY_CLUSTER.world,
    ];
    const flowArb = fc
      .record({
        src: fc.constantFrom(...addresses),
        dst: fc.constantFrom(...addresses),
        protocol: fc.constantFrom<'TCP' | 'UDP'>('TCP', 'UDP'),
        port: fc.constantFrom(...PROPERTY_CLUSTER.ports),
      })
      .filter((f) => f.src !== f.dst && !(origin(f.src) === 'world' && origin(f.dst) === 'world'));
    const setArb = fc.record({
      drafts,
      cfg: config,
      flows: fc.array(flowArb, { minLength: FLOWS_PER_SET, maxLength: FLOWS_PER_SET }),
    });
    let denied = 0;
    let allowed = 0;
    for (let seed = 1; seed <= sets; seed++) {
      const [drawn] = fc.sample(setArb, { seed, numRuns: 1 });
      const { drafts, cfg, flows } = drawn!;
      const objects: PolicyObject[] = drafts.map((d, i) => d(`p${i}`, `f${i}.yaml`));
      const policySet = policySetOf(objects, cfg);
      const evaluator = compileEvaluator(policySet, inventory);
      const scripts = new Map<string, string>();
      for (const node of PROPERTY_CLUSTER.nodes) {
        const { script } = compileRuleset({ evaluator, node: node.name });
        scripts.set(node.name, script);
        await cluster.loadRuleset(node.name, script);
      }
      const probes: Probe[] = flows.map((f) => ({
        from: origin(f.src),
        ...(origin(f.src).includes('/') ? {} : { src: f.src }),
        dst: f.dst,
        protocol: f.protocol,
        port: f.port,
      }));
      const outcomes = await cluster.probe(probes);
      flows.forEach((f, i) => {
        const record: FlowRecord = { src: f.src, dst: f.dst, protocol: f.protocol, port: f.port };
        const resolved = resolveFlow(inventory, record);
        if (!resolved.ok) throw new Error(resolved.reason);
        const verdict = evaluator.evaluate(resolved.flow);
        const kernel = outcomes[i] === 'timeout' ? 'deny' : 'allow';
        if (kernel === 'deny') denied++;
        else allowed++;
        if (kernel !== verdict.verdict) {
          throw new Error(
            [
              `seed ${seed}: ${f.src} -> ${f.dst} ${f.protocol}/${f.port}: kernel ${kernel} (${outcomes[i]}), engine ${verdict.verdict}`,
              ...verdict.reasons.map((r) => `  ${formatReason(r)}`),
              `policy set: ${JSON.stringify({ objects: objects.map((o) => ({ kind: o.kind, name: o.metadata.name, namespace: (o as { namespace?: string }).namespace, spec: (o as { spec: unknown }).spec })), config: cfg })}`,
              ...[...scripts].map(([node, script]) => `--- ${node}\n${script}`),
            ].join('\n'),
          );
        }
        expect(outcomes[i]).not.toBe('error');
      });
    }
    // The sets must exercise both outcomes, or the comparison proves little.
    expect(denied).toBeGreaterThan(minEach);
    expect(allowed).toBeGreaterThan(minEach);
  }
}

describe('kernel = engine (differential)', () => {
  it(`${POLICY_SETS} seeded policy sets x ${FLOWS_PER_SET} real flows: the kernel's outcome is the effective verdict`, async () => {
    await differential(fc.array(policyDraft, { minLength: 1, maxLength: 6 }), POLICY_SETS, 50);
  });

  it(`${ADMIN_SETS} seeded sets with upstream admin policy (SPEC 9) x ${FLOWS_PER_SET} real flows: kernel = engine`, async () => {
    const mixed = fc
      .tuple(fc.array(adminPolicy, { minLength: 1, maxLength: 4 }), fc.array(policyDraft, { maxLength: 3 }))
      .map(([admin, others]) => [...admin, ...others]);
    await differential(mixed, ADMIN_SETS, 30);
  });
});
