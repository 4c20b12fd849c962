// `compileEvaluator(head, inventory, { reuse: base })` takes the base's verdict where no difference
// between the two policy sets can reach a flow: property tests that the answer is exactly a fresh
// head evaluator's, over random base sets and random changes (edit, add, remove, move a line, config).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileEvaluator } from './evaluate.js';
import type { FlowRecord } from './flow-model.js';
import { FlowWindow } from './flows.js';
import { computeImpact, endpointWorkload } from './impact.js';
import { resolveFlow } from './inventory.js';
import type {
  LabelSelector,
  NyxEgressRule,
  NyxIngressRule,
  NyxPort,
  PolicyObject,
  PolicySet,
} from './model.js';
import { makeInventory, propertyTestInventory } from './testing/inventory.js';
import type { FlowVerdict } from './verdict-model.js';

const inventory = propertyTestInventory();

const ENDPOINTS = ['a/p1', 'a/p2', 'b/p3', 'b/p4', 'c/p5', 'c/h', '192.168.0.1', '8.8.8.8', '1.2.3.4'];

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const selector = fc.constantFrom<LabelSelector>(
  {},
  { matchLabels: { app: 'x' } },
  { matchLabels: { app: 'y' } },
);
const nsSelector = fc.constantFrom<LabelSelector>(
  {},
  { matchLabels: { env: 'prod' } },
  { matchLabels: { env: 'dev' } },
);
const peer = fc.oneof(fc.record({ podSelector: selector }), fc.record({ namespaceSelector: nsSelector }));
const ipBlock = fc.constantFrom({ cidr: '0.0.0.0/0' }, { cidr: '8.8.0.0/16' }, { cidr: '10.0.0.0/8' });
const ports = fc.option(fc.constantFrom<NyxPort[]>([{ port: 80 }], [{ protocol: 'UDP', port: 53 }]), {
  nil: undefined,
});
const decision = fc.constantFrom<'Allow' | 'Deny'>('Allow', 'Deny');
const enforcement = fc.constantFrom<'audit' | 'enforce' | undefined>('audit', 'enforce', undefined);
const policyTypes = fc.option(
  fc.constantFrom<Array<'Ingress' | 'Egress'>>(['Ingress'], ['Egress'], ['Ingress', 'Egress']),
  { nil: undefined },
);
const egressRule: fc.Arbitrary<NyxEgressRule> = fc
  .record(
    { decision, ports, to: fc.array(peer, { minLength: 1, maxLength: 2 }), toIpBlock: ipBlock },
    { requiredKeys: ['decision'] },
  )
  .map(stripUndefined);
const ingressRule: fc.Arbitrary<NyxIngressRule> = fc
  .record(
    { decision, ports, from: fc.array(peer, { minLength: 1, maxLength: 2 }), fromIpBlock: ipBlock },
    { requiredKeys: ['decision'] },
  )
  .map(stripUndefined);

/** A policy without its name and place; `place` gives both (and the line, to move it). */
type Draft = (name: string, file: string, line: number) => PolicyObject;

const head = (
  kind: string,
  name: string,
  file: string,
  line: number,
  apiVersion = 'nyx.tracenyx.io/v1alpha1',
) => ({
  apiVersion,
  kind,
  metadata: { name },
  source: { file, line },
  lines: {},
});

const draft: fc.Arbitrary<Draft> = fc.oneof(
  fc
    .record({
      ns: fc.constantFrom('a', 'b', 'c'),
      podSelector: fc.option(selector, { nil: undefined }),
      priority: fc.option(fc.constantFrom(100, 500), { nil: undefined }),
      enforcement,
      policyTypes,
      ingress: fc.option(fc.array(ingressRule, { maxLength: 2 }), { nil: undefined }),
      egress: fc.option(fc.array(egressRule, { maxLength: 2 }), { nil: undefined }),
    })
    .map(
      ({ ns, ...spec }): Draft =>
        (name, file, line) =>
          ({
            ...head('NyxNetworkPolicy', name, file, line),
            namespace: ns,
            spec: stripUndefined(spec),
          }) as PolicyObject,
    ),
  fc
    .record({
      tier: fc.constantFrom<'platform' | 'baseline'>('platform', 'baseline'),
      namespaceSelector: fc.option(nsSelector, { nil: undefined }),
      podSelector: fc.option(selector, { nil: undefined }),
      enforcement,
      ingress: fc.option(fc.array(ingressRule, { maxLength: 2 }), { nil: undefined }),
      egress: fc.option(fc.array(egressRule, { maxLength: 2 }), { nil: undefined }),
    })
    .map(
      (spec): Draft =>
        (name, file, line) =>
          ({
            ...head('NyxClusterNetworkPolicy', name, file, line),
            spec: stripUndefined({ ...spec, priority: spec.tier === 'platform' ? 10 : 900 }),
          }) as PolicyObject,
    ),
  fc
    .record({
      ns: fc.constantFrom('a', 'b', 'c'),
      podSelector: selector,
      policyTypes,
      ingress: fc.option(
        fc.array(fc.record({ from: fc.array(peer, { maxLength: 1 }), ports }, { requiredKeys: [] })),
        {
          nil: undefined,
        },
      ),
      egress: fc.option(
        fc.array(
          fc.record(
            {
              to: fc.array(
                fc.oneof(
                  peer,
                  ipBlock.map((b) => ({ ipBlock: b })),
                ),
                { maxLength: 1 },
              ),
              ports,
            },
            { requiredKeys: [] },
          ),
        ),
        { nil: undefined },
      ),
    })
    .map(
      ({ ns, ...spec }): Draft =>
        (name, file, line) =>
          ({
            ...head('NetworkPolicy', name, file, line, 'networking.k8s.io/v1'),
            namespace: ns,
            spec: stripUndefined(spec),
          }) as PolicyObject,
    ),
);

const config = fc.option(
  fc.record({
    defaultMode: fc.constantFrom<'allow' | 'deny' | 'deny-cross-namespace'>(
      'allow',
      'deny',
      'deny-cross-namespace',
    ),
    enforcement,
    excludedNamespaces: fc.constantFrom<string[]>([], ['c']),
  }),
  { nil: undefined },
);

/** What happens to one base policy in the head. */
const edit = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'keep' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'remove' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'move-line' as const }) },
  { weight: 2, arbitrary: draft.map((d) => ({ kind: 'replace' as const, draft: d })) },
);

const changeArb = fc
  .record({
    drafts: fc.array(draft, { maxLength: 8 }),
    config,
    added: fc.array(draft, { maxLength: 2 }),
    headConfig: fc.option(config, { nil: undefined }),
  })
  .chain((c) =>
    fc.record({
      change: fc.constant(c),
      edits: fc.array(edit, { minLength: c.drafts.length, maxLength: c.drafts.length }),
    }),
  );

function setOf(objects: PolicyObject[], cfg: object | undefined): PolicySet {
  const set: PolicySet = { objects, ignored: [] };
  if (cfg) {
    const configObject = {
      ...head('NyxClusterConfig', 'cluster', 'cluster/config.yaml', 1),
      spec: stripUndefined(cfg),
    } as PolicyObject;
    set.objects = [...objects, configObject];
    if (configObject.kind === 'NyxClusterConfig') set.config = configObject;
  }
  return set;
}

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
  return { base: setOf(baseObjects, change.config), head: setOf(headObjects, headConfig) };
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
        const window = new FlowWindow();
        for (const f of flows) window.add(f);
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
              `${endpointWorkload(flow.src)} ${endpointWorkload(flow.dst)} ${t.protocol} ${t.port}`,
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

  it('does not reuse across inventories or when the config differs', () => {
    const base = setOf([], { defaultMode: 'deny' });
    const other = compileEvaluator(base, makeInventory({ namespaces: {}, pods: [], nodes: [] }));
    const flow = resolved({ src: 'a/p1', dst: 'b/p3', protocol: 'TCP', port: 80 });
    expect(compileEvaluator(base, inventory, { reuse: other }).evaluate(flow).verdict).toBe('deny');
    const allowAll = compileEvaluator(setOf([], { defaultMode: 'allow' }), inventory);
    allowAll.evaluate(flow);
    const denyAll = compileEvaluator(base, inventory, { reuse: allowAll });
    expect(denyAll.evaluate(flow).verdict).toBe('deny');
    expect(denyAll.stats()).toMatchObject({ walks: 1, reused: 0 });
  });
});
