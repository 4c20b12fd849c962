// Seeded property tests of SPEC 9.1–9.2 against a model written from the SPEC's words: random sets of
// ClusterNetworkPolicy (v1alpha2) and AdminNetworkPolicy/BaselineAdminNetworkPolicy (v1alpha1),
// loaded through the real loader, on random flows. Covers tier order across versions, Pass,
// first match within a policy, and numbered and named ports in both versions.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileEvaluator } from './evaluate.js';
import type { FlowRecord } from './flow-model.js';
import { resolveFlow } from './inventory.js';
import type { Pod } from './inventory-model.js';
import { type PolicyDraft, policyYaml, type RuleDraft, setArb } from './testing/admin-drafts.js';
import { propertyTestInventory } from './testing/inventory.js';
import { loadPolicies } from './testing/policies.js';

const SEED = 2026_09_01;
const inventory = propertyTestInventory();

// ---- the model, from SPEC 9.1–9.2 -----------------------------------------------------------------

function ruleMatches(r: RuleDraft, peer: Pod | undefined, dst: Pod | undefined, f: FlowRecord): boolean {
  if (!peer || (r.peerNs !== '*' && peer.namespace !== r.peerNs)) return false;
  if (r.port.kind === 'number') return r.port.protocol === f.protocol && r.port.port === f.port;
  if (r.port.kind === 'named')
    return (dst?.ports ?? []).some(
      (c) => c.name === 'web' && c.protocol === f.protocol && c.containerPort === f.port,
    );
  return true;
}

function tierOrder(a: { d: PolicyDraft; i: number }, b: { d: PolicyDraft; i: number }): number {
  const banp = (x: PolicyDraft) => x.version === 'v1alpha1' && x.tier === 'Baseline';
  if (banp(a.d) !== banp(b.d)) return banp(a.d) ? 1 : -1;
  return (
    a.d.priority - b.d.priority || (a.d.version === b.d.version ? 0 : a.d.version === 'v1alpha2' ? -1 : 1)
  );
}

function tierDecision(
  drafts: PolicyDraft[],
  tier: 'Admin' | 'Baseline',
  dir: 'ingress' | 'egress',
  subject: Pod,
  peer: Pod | undefined,
  dst: Pod | undefined,
  f: FlowRecord,
): 'allow' | 'deny' | undefined {
  const ordered = drafts
    .map((d, i) => ({ d, i }))
    .filter(({ d }) => d.tier === tier)
    .sort(tierOrder);
  for (const { d } of ordered) {
    if (d.subjectNs !== '*' && d.subjectNs !== subject.namespace) continue;
    const hit = d[dir].find((r) => ruleMatches(r, peer, dst, f));
    if (!hit) continue;
    if (hit.action === 'pass') return undefined;
    return hit.action === 'accept' ? 'allow' : 'deny';
  }
  return undefined;
}

const POD_ENDS = ['a/p1', 'a/p2', 'b/p3', 'b/p4', 'c/p5'];
const flowArb: fc.Arbitrary<FlowRecord> = fc
  .record({
    src: fc.constantFrom(...POD_ENDS, '8.8.8.8'),
    dst: fc.constantFrom(...POD_ENDS, '8.8.8.8'),
    protocol: fc.constantFrom<'TCP' | 'UDP'>('TCP', 'UDP'),
    port: fc.constantFrom(53, 80, 8080),
  })
  .filter((f) => f.src !== f.dst);

describe('SPEC 9 properties (seeded)', () => {
  it('the engine agrees with the model of SPEC 9.1–9.2 on tier order, Pass, first match and ports in both versions', () => {
    fc.assert(
      fc.property(
        setArb,
        fc.array(flowArb, { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        (drafts, flows, denyDefault) => {
          const files: Record<string, string> = Object.fromEntries(
            drafts.map((d, i) => [`cluster/p${i}.yaml`, policyYaml(d, i)]),
          );
          if (denyDefault)
            files['cluster/config.yaml'] =
              'apiVersion: nyx.tracenyx.io/v1alpha1\nkind: NyxClusterConfig\nmetadata:\n  name: cluster\nspec:\n  defaultMode: deny\n';
          const evaluator = compileEvaluator(loadPolicies(files), inventory);
          for (const f of flows) {
            const resolved = resolveFlow(inventory, f);
            if (!resolved.ok) throw new Error(resolved.reason);
            const { src, dst } = resolved.flow;
            const srcPod = src.kind === 'pod' ? src.pod : undefined;
            const dstPod = dst.kind === 'pod' ? dst.pod : undefined;
            const point = (dir: 'ingress' | 'egress', subject: Pod, peer: Pod | undefined) =>
              tierDecision(drafts, 'Admin', dir, subject, peer, dstPod, f) ??
              tierDecision(drafts, 'Baseline', dir, subject, peer, dstPod, f) ??
              (denyDefault ? 'deny' : 'allow');
            const decisions = [
              ...(srcPod ? [point('egress', srcPod, dstPod)] : []),
              ...(dstPod ? [point('ingress', dstPod, srcPod)] : []),
            ];
            const expected = decisions.every((x) => x === 'allow') ? 'allow' : 'deny';
            expect(
              evaluator.evaluate(resolved.flow).verdict,
              `${JSON.stringify(f)}\n${Object.values(files).join('---\n')}`,
            ).toBe(expected);
          }
        },
      ),
      { seed: SEED, numRuns: 1000 },
    );
  });
});
