// Property tests (fast-check) over random small policy sets of mixed kinds, bands and enforcement,
// evaluated on random flows against a small fixed inventory (SPEC section 3's promise to reviewers).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileEvaluator } from './evaluate.js';
import type { FlowRecord } from './flow-model.js';
import { resolveFlow } from './inventory.js';
import type { PolicyObject, PolicySet } from './model.js';
import { propertyTestInventory } from './testing/inventory.js';
import {
  config,
  type PolicyDraft,
  policyDraft,
  policySetOf,
  stripUndefined,
} from './testing/policy-arbitraries.js';
import type { FlowVerdict, Reason } from './verdict-model.js';

const inventory = propertyTestInventory();

const ENDPOINTS = [
  'a/p1',
  'a/p2',
  'b/p3',
  'b/p4',
  'c/p5',
  'c/h',
  '10.0.0.1',
  '192.168.0.1',
  '8.8.8.8',
  '1.2.3.4',
];

/** A policy set as a list of drafts (named and placed in files by index) plus an optional config. */
const policySetArb = fc.record({
  drafts: fc.array(policyDraft, { maxLength: 8 }),
  config,
});

function buildSet(drafts: PolicyDraft[], cfg: object | undefined, order?: number[]): PolicySet {
  const objects = drafts.map((d, i) => d(`p${i}`, `f${i}.yaml`));
  return policySetOf(order ? order.map((i) => objects[i]!) : objects, cfg);
}

function promote(set: PolicySet): PolicySet {
  const objects = set.objects.map((o) =>
    o.kind === 'NetworkPolicy' ? o : ({ ...o, spec: { ...o.spec, enforcement: 'enforce' } } as PolicyObject),
  );
  const config = objects.find((o) => o.kind === 'NyxClusterConfig');
  return { objects, ignored: [], ...(config?.kind === 'NyxClusterConfig' ? { config } : {}) };
}

const flowArb: fc.Arbitrary<FlowRecord> = fc
  .record({
    src: fc.constantFrom(...ENDPOINTS),
    dst: fc.constantFrom(...ENDPOINTS),
    protocol: fc.constantFrom<'TCP' | 'UDP'>('TCP', 'UDP'),
    port: fc.constantFrom(53, 80, 443, 8080),
    serverName: fc.option(fc.constantFrom('api.example.com', 'a.b.example.com', 'evil.net'), {
      nil: undefined,
    }),
  })
  .map((f) => stripUndefined(f));

function verdicts(set: PolicySet, flows: FlowRecord[]): FlowVerdict[] {
  const evaluator = compileEvaluator(set, inventory);
  return flows.map((f) => {
    const resolved = resolveFlow(inventory, f);
    if (!resolved.ok) throw new Error(resolved.reason);
    return evaluator.evaluate(resolved.flow);
  });
}

function withoutAudit(reasons: Reason[]): Reason[] {
  return reasons.map(({ audit: _audit, ...r }) => r);
}

const RUNS = { numRuns: 200 };

describe('evaluation properties', () => {
  it('promoting every object to enforce turns exactly the would-deny findings into denies', () => {
    let findings = 0;
    fc.assert(
      fc.property(
        policySetArb,
        fc.array(flowArb, { minLength: 1, maxLength: 20 }),
        ({ drafts, config }, flows) => {
          const set = buildSet(drafts, config);
          const before = verdicts(set, flows);
          const after = verdicts(promote(set), flows);
          before.forEach((b, i) => {
            const a = after[i]!;
            expect(a.verdict).toBe(b.asIfEnforced);
            expect(a.asIfEnforced).toBe(b.asIfEnforced);
            expect(withoutAudit(a.reasons)).toEqual(withoutAudit(b.asIfEnforcedReasons));
            // a would-deny finding (effective allow, as-if-enforced deny) names an audit object or config
            if (b.verdict === 'allow' && b.asIfEnforced === 'deny') {
              findings++;
              expect(b.asIfEnforcedReasons.some((r) => r.decision === 'deny' && r.audit)).toBe(true);
            }
          });
        },
      ),
      RUNS,
    );
    // the generators do produce would-deny findings, so the property is not vacuous
    expect(findings).toBeGreaterThan(10);
  });

  it('evaluation is independent of object and file order', () => {
    fc.assert(
      fc.property(
        policySetArb.chain(({ drafts, config }) =>
          fc.record({
            drafts: fc.constant(drafts),
            config: fc.constant(config),
            order: fc.shuffledSubarray(
              drafts.map((_, i) => i),
              { minLength: drafts.length, maxLength: drafts.length },
            ),
          }),
        ),
        fc.array(flowArb, { minLength: 1, maxLength: 20 }),
        ({ drafts, config, order }, flows) => {
          expect(verdicts(buildSet(drafts, config, order), flows)).toEqual(
            verdicts(buildSet(drafts, config), flows),
          );
        },
      ),
      RUNS,
    );
  });

  it('as-if-enforced of an all-enforced set equals effective', () => {
    fc.assert(
      fc.property(
        policySetArb,
        fc.array(flowArb, { minLength: 1, maxLength: 20 }),
        ({ drafts, config }, flows) => {
          for (const v of verdicts(promote(buildSet(drafts, config)), flows)) {
            expect(v.asIfEnforced).toBe(v.verdict);
            expect(v.asIfEnforcedReasons).toEqual(v.reasons);
          }
        },
      ),
      RUNS,
    );
  });

  it('the equivalence-class cache agrees with a fresh evaluator for every flow', () => {
    fc.assert(
      fc.property(
        policySetArb,
        fc.array(flowArb, { minLength: 1, maxLength: 30 }),
        ({ drafts, config }, flows) => {
          const set = buildSet(drafts, config);
          const cached = verdicts(set, flows);
          flows.forEach((f, i) => {
            expect(verdicts(set, [f])[0]).toEqual(cached[i]);
          });
        },
      ),
      { numRuns: 100 },
    );
  });
});
