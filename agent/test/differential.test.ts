// SPEC section 6: "for any policy set and flow, the verdict that the engine computes is what the
// kernel does". Seeded random policy sets (the property tests' generators) over the property-test
// cluster, built as network namespaces; each set is compiled for both nodes and loaded with nft, and
// random flows are sent as real packets (their waits overlap). The kernel's outcome must equal the
// engine's effective verdict for every flow, and the kernel records a would-deny finding (with the
// same deciding reasons) exactly when the engine reports one.
import {
  compileEvaluator,
  compileRuleset,
  type FlowRecord,
  formatReason,
  type PolicyObject,
  type Reason,
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
import { engineFindings, kernelFindings } from './kernel.js';

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
  minFindings: number,
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
    let findings = 0;
    for (let seed = 1; seed <= sets; seed++) {
      const [drawn] = fc.sample(setArb, { seed, numRuns: 1 });
      const { drafts, cfg, flows } = drawn!;
      const objects: PolicyObject[] = drafts.map((d, i) => d(`p${i}`, `f${i}.yaml`));
      const policySet = policySetOf(objects, cfg);
      const evaluator = compileEvaluator(policySet, inventory);
      const scripts = new Map<string, string>();
      const reasons = new Map<string, readonly Reason[]>();
      for (const node of PROPERTY_CLUSTER.nodes) {
        // With the agent's would-deny rules: they must change no outcome, and record exactly the
        // engine's would-deny findings.
        const ruleset = compileRuleset({ evaluator, node: node.name, agent: { wouldDeny: true } });
        scripts.set(node.name, ruleset.script);
        reasons.set(node.name, ruleset.wouldDenyReasons);
        await cluster.loadRuleset(node.name, ruleset.script);
      }
      const probes: Probe[] = flows.map((f) => ({
        from: origin(f.src),
        ...(origin(f.src).includes('/') ? {} : { src: f.src }),
        dst: f.dst,
        protocol: f.protocol,
        port: f.port,
      }));
      const outcomes = await cluster.probe(probes);
      const found = await kernelFindings(cluster, reasons);
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
        const kernelFound = found.get(`${f.src} ${f.dst} ${f.protocol} ${f.port}`) ?? [];
        const engineFound = engineFindings(verdict);
        if (engineFound.length > 0) findings++;
        if (JSON.stringify(kernelFound) !== JSON.stringify(engineFound)) {
          throw new Error(
            [
              `seed ${seed}: ${f.src} -> ${f.dst} ${f.protocol}/${f.port}: would-deny findings differ`,
              `  kernel: ${JSON.stringify(kernelFound)}`,
              `  engine: ${JSON.stringify(engineFound)} (verdict ${verdict.verdict}, as-if-enforced ${verdict.asIfEnforced})`,
              ...verdict.asIfEnforcedReasons.map((r) => `  as-if-enforced ${formatReason(r)}`),
              `policy set: ${JSON.stringify({ objects: objects.map((o) => ({ kind: o.kind, name: o.metadata.name, namespace: (o as { namespace?: string }).namespace, spec: (o as { spec: unknown }).spec })), config: cfg })}`,
              ...[...scripts].map(([node, script]) => `--- ${node}\n${script}`),
            ].join('\n'),
          );
        }
      });
    }
    // The sets must exercise both outcomes, or the comparison proves little.
    expect(denied).toBeGreaterThan(minEach);
    expect(allowed).toBeGreaterThan(minEach);
    expect(findings).toBeGreaterThan(minFindings);
  }
}

describe('kernel = engine (differential)', () => {
  it(`${POLICY_SETS} seeded policy sets x ${FLOWS_PER_SET} real flows: the kernel's outcome is the effective verdict`, async () => {
    await differential(fc.array(policyDraft, { minLength: 1, maxLength: 6 }), POLICY_SETS, 50, 50);
  });

  it(`${ADMIN_SETS} seeded sets with upstream admin policy (SPEC 9) x ${FLOWS_PER_SET} real flows: kernel = engine`, async () => {
    const mixed = fc
      .tuple(fc.array(adminPolicy, { minLength: 1, maxLength: 4 }), fc.array(policyDraft, { maxLength: 3 }))
      .map(([admin, others]) => [...admin, ...others]);
    await differential(mixed, ADMIN_SETS, 30, 15);
  });
});
