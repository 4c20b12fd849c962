// Property tests (fast-check) over random small policy sets of mixed kinds, bands and enforcement,
// evaluated on random flows against a small fixed inventory (SPEC section 3's promise to reviewers).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileEvaluator } from './evaluate.js';
import type { FlowRecord } from './flow-model.js';
import { resolveFlow } from './inventory.js';
import type {
  Enforcement,
  FqdnMatch,
  IpBlock,
  LabelSelector,
  NyxEgressRule,
  NyxIngressRule,
  NyxPeer,
  NyxPort,
  PolicyObject,
  PolicySet,
} from './model.js';
import { propertyTestInventory } from './testing/inventory.js';
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

const selector = fc.constantFrom<LabelSelector>(
  {},
  { matchLabels: { app: 'x' } },
  { matchLabels: { app: 'y' } },
  { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['x'] }] },
);
const nsSelector = fc.constantFrom<LabelSelector>(
  {},
  { matchLabels: { env: 'prod' } },
  { matchLabels: { env: 'dev' } },
  { matchLabels: { 'kubernetes.io/metadata.name': 'c' } },
);
const peer = fc.oneof(
  fc.record({ podSelector: selector }),
  fc.record({ namespaceSelector: nsSelector }),
  fc.record({ namespaceSelector: nsSelector, podSelector: selector }),
) as fc.Arbitrary<NyxPeer>;
const ipBlock = fc.constantFrom<IpBlock>(
  { cidr: '0.0.0.0/0' },
  { cidr: '10.0.0.0/8', except: ['10.0.1.0/24'] },
  { cidr: '8.8.0.0/16' },
  { cidr: '192.168.0.0/16' },
);
const ports = fc.option(
  fc.constantFrom<NyxPort[]>(
    [{ port: 80 }],
    [{ protocol: 'TCP', port: 443 }],
    [{ protocol: 'UDP', port: 53 }],
    [{ port: 'web' }],
    [{ port: 50, endPort: 100 }],
  ),
  { nil: undefined },
);
const decision = fc.constantFrom<'Allow' | 'Deny'>('Allow', 'Deny');
const enforcement = fc.constantFrom<Enforcement | undefined>('audit', 'enforce', undefined);
const policyTypes = fc.option(
  fc.constantFrom<Array<'Ingress' | 'Egress'>>(['Ingress'], ['Egress'], ['Ingress', 'Egress']),
  { nil: undefined },
);

const egressRule: fc.Arbitrary<NyxEgressRule> = fc
  .record(
    {
      decision,
      ports,
      to: fc.array(peer, { minLength: 1, maxLength: 2 }),
      toIpBlock: ipBlock,
      toFqdn: fc.constantFrom<FqdnMatch[]>(
        [{ matchName: 'api.example.com' }],
        [{ matchPattern: '*.example.com' }],
      ),
    },
    { requiredKeys: ['decision'] },
  )
  .map((r) => stripUndefined(r));
const ingressRule: fc.Arbitrary<NyxIngressRule> = fc
  .record(
    { decision, ports, from: fc.array(peer, { minLength: 1, maxLength: 2 }), fromIpBlock: ipBlock },
    { requiredKeys: ['decision'] },
  )
  .map((r) => stripUndefined(r));

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

type Draft = (name: string, file: string) => PolicyObject;

const base = (kind: string, name: string, file: string, apiVersion = 'nyx.tracenyx.io/v1alpha1') => ({
  apiVersion,
  kind,
  metadata: { name },
  source: { file, line: 1 },
  lines: {},
});

const nyxPolicy: fc.Arbitrary<Draft> = fc
  .record({
    ns: fc.constantFrom('a', 'b', 'c'),
    podSelector: fc.option(selector, { nil: undefined }),
    priority: fc.option(fc.constantFrom(100, 200, 500), { nil: undefined }),
    enforcement,
    policyTypes,
    ingress: fc.option(fc.array(ingressRule, { maxLength: 3 }), { nil: undefined }),
    egress: fc.option(fc.array(egressRule, { maxLength: 3 }), { nil: undefined }),
  })
  .map(
    ({ ns, ...spec }) =>
      (name, file) =>
        ({
          ...base('NyxNetworkPolicy', name, file),
          namespace: ns,
          spec: stripUndefined(spec),
        }) as PolicyObject,
  );

const clusterPolicy: fc.Arbitrary<Draft> = fc
  .record({
    tier: fc.constantFrom<'platform' | 'baseline'>('platform', 'baseline'),
    rank: fc.constantFrom(0, 1),
    namespaceSelector: fc.option(nsSelector, { nil: undefined }),
    podSelector: fc.option(selector, { nil: undefined }),
    enforcement,
    policyTypes,
    ingress: fc.option(fc.array(ingressRule, { maxLength: 3 }), { nil: undefined }),
    egress: fc.option(fc.array(egressRule, { maxLength: 3 }), { nil: undefined }),
  })
  .map(
    ({ rank, ...spec }) =>
      (name, file) =>
        ({
          ...base('NyxClusterNetworkPolicy', name, file),
          spec: stripUndefined({
            ...spec,
            priority: spec.tier === 'platform' ? [10, 50][rank] : [900, 950][rank],
          }),
        }) as PolicyObject,
  );

const upstreamPeer = fc.oneof(
  peer,
  ipBlock.map((b) => ({ ipBlock: b })),
);
const networkPolicy: fc.Arbitrary<Draft> = fc
  .record({
    ns: fc.constantFrom('a', 'b', 'c'),
    podSelector: selector,
    policyTypes,
    ingress: fc.option(
      fc.array(fc.record({ from: fc.array(upstreamPeer, { maxLength: 2 }), ports }, { requiredKeys: [] }), {
        maxLength: 2,
      }),
      { nil: undefined },
    ),
    egress: fc.option(
      fc.array(fc.record({ to: fc.array(upstreamPeer, { maxLength: 2 }), ports }, { requiredKeys: [] }), {
        maxLength: 2,
      }),
      { nil: undefined },
    ),
  })
  .map(
    ({ ns, ...spec }) =>
      (name, file) =>
        ({
          ...base('NetworkPolicy', name, file, 'networking.k8s.io/v1'),
          namespace: ns,
          spec: stripUndefined(spec),
        }) as PolicyObject,
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

/** A policy set as a list of drafts (named and placed in files by index) plus an optional config. */
const policySetArb = fc.record({
  drafts: fc.array(fc.oneof(nyxPolicy, clusterPolicy, networkPolicy), { maxLength: 8 }),
  config,
});

function buildSet(drafts: Draft[], cfg: object | undefined, order?: number[]): PolicySet {
  const objects = drafts.map((d, i) => d(`p${i}`, `f${i}.yaml`));
  const ordered = order ? order.map((i) => objects[i]!) : objects;
  const set: PolicySet = { objects: ordered, ignored: [] };
  if (cfg) {
    const configObject = {
      ...base('NyxClusterConfig', 'cluster', 'cluster/config.yaml'),
      spec: stripUndefined(cfg),
    } as PolicyObject;
    set.objects = [...set.objects, configObject];
    if (configObject.kind === 'NyxClusterConfig') set.config = configObject;
  }
  return set;
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
