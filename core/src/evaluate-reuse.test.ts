// `compileEvaluator(head, inventory, { reuse: base })` takes the base's verdict where no difference
// between the two policy sets can reach a flow: property tests that the answer is exactly a fresh
// head evaluator's, over random base sets and random changes (edit, add, remove, move a line, config).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileEvaluator } from './evaluate.js';
import type { FlowRecord } from './flow-model.js';
import { FlowWindow } from './flows.js';
import { computeImpact, countRuleHits, impactEvaluators } from './impact.js';
import { endpointLabel, resolveFlow } from './inventory.js';
import { lintChange, lintPolicySet } from './lint.js';
import { type LintFinding, lintFindingKey } from './lint-model.js';
import type { PolicyObject, PolicySet } from './model.js';
import { makeInventory, propertyTestInventory } from './testing/inventory.js';
import { config, policyDraft, policySetOf } from './testing/policy-arbitraries.js';
import type { FlowVerdict } from './verdict-model.js';

const inventory = propertyTestInventory();

const ENDPOINTS = ['a/p1', 'a/p2', 'b/p3', 'b/p4', 'c/p5', 'c/h', '192.168.0.1', '8.8.8.8', '1.2.3.4'];

/** What happens to one base policy in the head. */
const edit = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'keep' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'remove' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'move-line' as const }) },
  { weight: 2, arbitrary: policyDraft.map((d) => ({ kind: 'replace' as const, draft: d })) },
);

const changeArb = fc
  .record({
    drafts: fc.array(policyDraft, { maxLength: 8 }),
    config,
    added: fc.array(policyDraft, { maxLength: 2 }),
    headConfig: fc.option(config, { nil: undefined }),
  })
  .chain((c) =>
    fc.record({
      change: fc.constant(c),
      edits: fc.array(edit, { minLength: c.drafts.length, maxLength: c.drafts.length }),
    }),
  );

type Pair = typeof changeArb extends fc.Arbitrary<infer T> ? T : never;

function buildPair({ change, edits }: Pair): {
  base: PolicySet;
  head: PolicySet;
} {
  const baseObjects = change.drafts.map((d, i) => d(`p${i}`, `f${i}.yaml`, 1));
  const headObjects: PolicyObject[] = [];
  change.drafts.forEach((d, i) => {
    const e = edits[i]!;
    // A fresh object of the same content for kept policies: reuse must compare content, not identity.
    if (e.kind === 'keep') headObjects.push(d(`p${i}`, `f${i}.yaml`, 1));
    else if (e.kind === 'move-line') headObjects.push(d(`p${i}`, `f${i}.yaml`, 7));
    else if (e.kind === 'replace') headObjects.push(e.draft(`p${i}`, `f${i}.yaml`, 1));
  });
  change.added.forEach((d, i) => {
    headObjects.push(d(`new${i}`, `new${i}.yaml`, 1));
  });
  const headConfig = change.headConfig === undefined ? change.config : (change.headConfig ?? undefined);
  return { base: policySetOf(baseObjects, change.config), head: policySetOf(headObjects, headConfig) };
}

const flowArb: fc.Arbitrary<FlowRecord> = fc
  .record({
    src: fc.constantFrom(...ENDPOINTS),
    dst: fc.constantFrom(...ENDPOINTS),
    protocol: fc.constantFrom<'TCP' | 'UDP'>('TCP', 'UDP'),
    port: fc.constantFrom(53, 80, 443),
    count: fc.integer({ min: 1, max: 5 }),
  })
  .map((f) => f);

function windowOf(flows: readonly FlowRecord[]): FlowWindow {
  const window = new FlowWindow();
  for (const f of flows) window.add(f);
  return window;
}

/** The findings of `head` that `base` lacks (by `lintFindingKey`): what a change adds. */
function addedFindings(base: readonly LintFinding[], head: readonly LintFinding[]): LintFinding[] {
  const known = new Set(base.map(lintFindingKey));
  return head.filter((f) => !known.has(lintFindingKey(f)));
}

function resolved(f: FlowRecord) {
  const r = resolveFlow(inventory, f);
  if (!r.ok) throw new Error(r.reason);
  return r.flow;
}

describe('compileEvaluator with reuse', () => {
  it('gives exactly the verdicts of a fresh evaluator of the head, in any evaluation order', () => {
    let reused = 0;
    let walked = 0;
    fc.assert(
      fc.property(
        changeArb,
        fc.array(flowArb, { minLength: 1, maxLength: 25 }),
        fc.boolean(),
        (pair, flows, baseFirst) => {
          const { base, head } = buildPair(pair);
          const baseEvaluator = compileEvaluator(base, inventory);
          if (baseFirst) for (const f of flows) baseEvaluator.evaluate(resolved(f));
          const incremental = compileEvaluator(head, inventory, { reuse: baseEvaluator });
          const fresh = compileEvaluator(head, inventory);
          for (const f of flows) {
            const flow = resolved(f);
            expect(incremental.evaluate(flow)).toEqual(fresh.evaluate(flow));
            // What computeImpact relies on to skip the head's lookup.
            if (incremental.reusesVerdict(flow))
              expect(incremental.evaluate(flow)).toBe(baseEvaluator.evaluate(flow));
          }
          reused += incremental.stats().reused;
          walked += incremental.stats().walks;
        },
      ),
      { numRuns: 300 },
    );
    // Both paths are exercised.
    expect(reused).toBeGreaterThan(100);
    expect(walked).toBeGreaterThan(100);
  });

  it('computeImpact gives the report of head and base evaluated on their own', () => {
    fc.assert(
      fc.property(changeArb, fc.array(flowArb, { minLength: 1, maxLength: 25 }), (pair, flows) => {
        const { base, head } = buildPair(pair);
        const window = windowOf(flows);
        const report = computeImpact({ base, head, inventory, window });
        // The reference: the same comparison from two fresh evaluators, flow by flow.
        const baseEvaluator = compileEvaluator(base, inventory);
        const headEvaluator = compileEvaluator(head, inventory);
        const expected = new Map<string, [FlowVerdict, FlowVerdict]>();
        for (const t of window.tuples()) {
          const flow = resolved(t);
          const before = baseEvaluator.evaluate(flow);
          const after = headEvaluator.evaluate(flow);
          if (before.verdict !== after.verdict || before.asIfEnforced !== after.asIfEnforced)
            expected.set(
              `${endpointLabel(flow.src, 'workload')} ${endpointLabel(flow.dst, 'workload')} ${t.protocol} ${t.port}`,
              [before, after],
            );
        }
        expect(report.changes).toHaveLength(expected.size); // one pod per workload here
        for (const c of report.changes) {
          const [before, after] = expected.get(`${c.src} ${c.dst} ${c.protocol} ${c.port}`) ?? [];
          expect(c.before).toEqual(before);
          expect(c.after).toEqual(after);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("computeImpact's lint has the stale-rule findings of the full rule hits of both sides", () => {
    // computeImpact evaluates only the tuples a change reaches, and the others only for the rules
    // whose staleness rests on them: the findings must be those of every tuple evaluated on both sides.
    let newlyStale = 0;
    fc.assert(
      fc.property(changeArb, fc.array(flowArb, { minLength: 1, maxLength: 25 }), (pair, flows) => {
        const { base, head } = buildPair(pair);
        const window = windowOf(flows);
        const report = computeImpact({ base, head, inventory, window });
        const baseHits = countRuleHits({ policySet: base, inventory, window });
        const headHits = countRuleHits({ policySet: head, inventory, window });
        // Two full lints, each over its side's full rule hits (no shortcut of lintChange either).
        const expected = addedFindings(
          lintPolicySet({ policySet: base, inventory, ruleHits: baseHits }),
          lintPolicySet({ policySet: head, inventory, ruleHits: headHits }),
        );
        expect(report.lint.filter((f) => f.rule === 'stale-rule')).toEqual(
          expected.filter((f) => f.rule === 'stale-rule'),
        );
        if (expected.some((f) => f.rule === 'stale-rule')) newlyStale++;
      }),
      { numRuns: 300 },
    );
    // Runs where the head has new stale rules (impact.test.ts has the case a tuple the change does
    // not reach keeps a rule alive: random sets hardly make it).
    expect(newlyStale).toBeGreaterThan(20);
  });

  it('lintChange gives the head findings that filtering two full lints gives', () => {
    // lintChange skips what the change cannot move (per-object checks of unchanged objects, the
    // cross-object checks outside the namespaces it touched): the answer must be the plain one.
    const seen = new Set<string>();
    fc.assert(
      fc.property(changeArb, fc.boolean(), (pair, shareEvaluators) => {
        const { base, head } = buildPair(pair);
        const evaluators = shareEvaluators ? impactEvaluators(base, head, inventory) : undefined;
        const full = (policySet: PolicySet) => lintPolicySet({ policySet, inventory });
        const expected = addedFindings(full(base), full(head));
        const change = lintChange({
          base: { policySet: base, inventory, ...(evaluators ? { evaluator: evaluators.base } : {}) },
          head: { policySet: head, inventory, ...(evaluators ? { evaluator: evaluators.head } : {}) },
        });
        expect(change).toEqual(expected);
        for (const f of change) seen.add(f.rule);
      }),
      { numRuns: 1000 },
    );
    // The cross-object checks that lintChange scopes to the change found something.
    for (const rule of ['shadowed-rule', 'missing-dns-egress', 'metadata-reachable'])
      expect(seen).toContain(rule);
  });

  it('does not reuse across inventories or when the config differs', () => {
    const base = policySetOf([], { defaultMode: 'deny' });
    const other = compileEvaluator(base, makeInventory({ namespaces: {}, pods: [], nodes: [] }));
    const flow = resolved({ src: 'a/p1', dst: 'b/p3', protocol: 'TCP', port: 80 });
    expect(compileEvaluator(base, inventory, { reuse: other }).evaluate(flow).verdict).toBe('deny');
    const allowAll = compileEvaluator(policySetOf([], { defaultMode: 'allow' }), inventory);
    allowAll.evaluate(flow);
    const denyAll = compileEvaluator(base, inventory, { reuse: allowAll });
    expect(denyAll.evaluate(flow).verdict).toBe('deny');
    expect(denyAll.stats()).toMatchObject({ walks: 1, reused: 0 });
  });
});
