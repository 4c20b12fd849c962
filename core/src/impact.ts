// The impact of a change (SPEC section 5): which observed flows change verdict between the base and
// the head policy sets, with both explanations, and the lint findings the head adds.
import { compileEvaluator, type Evaluator } from './evaluate.js';
import type { EndResolution, ResolvedFlow } from './flow-model.js';
import {
  earlierTime,
  type FlowTuple,
  type FlowTupleIdentity,
  type FlowWindow,
  type FlowWindowCoverage,
  laterTime,
  skippedLineCount,
} from './flows.js';
import { type EndFallback, endpointLabel, resolveFlow } from './inventory.js';
import type { Inventory, Pod } from './inventory-model.js';
import { type ChangeRuleHits, lintChangeInSteps } from './lint.js';
import { type LintFinding, type RuleHitCounts, ruleHitKey, staleRuleWindowProblem } from './lint-model.js';
import type { Direction, PolicyFile, PolicySet, Protocol } from './model.js';
import { changedPolicies } from './policy-reuse.js';
import { planPolicyIds, type SubjectPlan } from './policy-walk.js';
import type { FlowVerdict, Reason, Verdict } from './verdict-model.js';

/**
 * What happened to a group of flows. The kinds partition the changes, first match wins:
 * - `newly-denied`: effective allow -> deny;
 * - `newly-allowed`: effective deny -> allow;
 * - `new-would-deny`: effective allow on both sides, the head's as-if-enforced verdict denies and the
 *   base's did not (an audit object would now deny it);
 * - `resolved-would-deny`: effective allow on both sides, the base had a would-deny finding, the head not;
 * - `as-if-enforced-changed`: effective deny on both sides, only the as-if-enforced verdict moved.
 */
export type ImpactChangeKind =
  | 'newly-denied'
  | 'newly-allowed'
  | 'new-would-deny'
  | 'resolved-would-deny'
  | 'as-if-enforced-changed';

export const IMPACT_KIND_ORDER: readonly ImpactChangeKind[] = [
  'newly-denied',
  'newly-allowed',
  'new-would-deny',
  'resolved-would-deny',
  'as-if-enforced-changed',
];

/** One side (base or head) of a change: both verdicts and their explanations. */
export interface ImpactSide {
  verdict: Verdict;
  asIfEnforced: Verdict;
  /** Reasons of the effective verdict, one per enforcement point. */
  reasons: Reason[];
  /** Reasons of the as-if-enforced verdict (where a would-deny names its audit rule). */
  asIfEnforcedReasons: Reason[];
}

/** A group of observed flows (same source workload, destination workload, protocol, port, serverName). */
export interface ImpactChange {
  kind: ImpactChangeKind;
  /** Source workload: a pod's `<ns>/<controller>`, `node/<name>`, or the world address. */
  src: string;
  dst: string;
  protocol: Protocol;
  port: number;
  serverName?: string;
  /** Connections (sum of `count`). */
  count: number;
  firstSeen?: string;
  lastSeen?: string;
  /** How many distinct flow tuples (pod-level) the group stands for. */
  flows: number;
  before: ImpactSide;
  after: ImpactSide;
  /**
   * Connections of the group whose pod ends are gone from the inventory and resolved by a
   * fallback of SPEC section 7 (by recorded workload, recorded labels, or workload read from the
   * pod name); absent when every end resolved directly.
   */
  resolvedBy?: { workload?: number; labels?: number; podName?: number };
  /** Up to three sentences saying which fallback resolved which gone pod (the explanation). */
  resolutionNotes?: string[];
}

export interface ImpactSummary {
  newlyDenied: number;
  newlyAllowed: number;
  newWouldDeny: number;
  resolvedWouldDeny: number;
  /** Sum of `count` over the records whose effective verdict goes from allow to deny. */
  newlyDeniedRecords: number;
}

export interface ImpactCoverage {
  /** Flow records in the window. */
  records: number;
  /** Sum of `count` over those records (connections). */
  connections: number;
  /** Distinct flow tuples in the window (src, dst, protocol, port, serverName). */
  distinctFlows: number;
  /** Records whose `<ns>/<pod>` the inventory lacks: counted here, not evaluated (SPEC section 7). */
  unresolved: number;
  /** Up to five examples of why records did not resolve. */
  unresolvedExamples: string[];
  /** Lines of the flow file that did not become records (replies, duplicate reports, …), by why. */
  skipped?: Record<string, number>;
  /** Their total (absent: none). */
  skippedLines?: number;
  /** Earliest first-seen time in the window, when any record had a time. */
  from?: string;
  to?: string;
  /** Sorted namespaces of the pods seen at either end of an evaluated flow. */
  namespaces: string[];
  /**
   * Records and connections by how they resolved (SPEC section 7, "Flow endpoints outlive their
   * pods"): every end directly; some end by its recorded workload; by its recorded labels; by the
   * workload read from its pod name (a record counts under the last of these its ends needed); not
   * at all (`unresolved`, not evaluated). Always set by `computeImpact`.
   */
  resolution?: {
    direct: ResolutionCounts;
    workload: ResolutionCounts;
    labels: ResolutionCounts;
    podName: ResolutionCounts;
    unresolved: ResolutionCounts;
  };
}

export interface ImpactReport {
  summary: ImpactSummary;
  /** Newly denied first, then by kind, then by count descending. */
  changes: ImpactChange[];
  /** Lint findings of the head that the base did not have (by `lintFindingKey`), errors first, then by file:line. */
  lint: LintFinding[];
  coverage: ImpactCoverage;
}

export interface ComputeImpactInput {
  base: PolicySet;
  head: PolicySet;
  inventory: Inventory;
  window: FlowWindow;
  /** The whole base / head trees (OWNERS files…), for lint's ownership checks; optional. */
  baseFiles?: readonly PolicyFile[];
  headFiles?: readonly PolicyFile[];
  /** From `impactEvaluators` for these base, head and inventory, when tuples were evaluated ahead. */
  evaluators?: ImpactEvaluators;
}

/** The base and head evaluators of an impact (see `ImpactPass`). */
export interface ImpactEvaluators {
  base: Evaluator;
  head: Evaluator;
}

export function impactEvaluators(base: PolicySet, head: PolicySet, inventory: Inventory): ImpactEvaluators {
  const baseEvaluator = compileEvaluator(base, inventory);
  // The head differs from the base by a few objects: flows they cannot reach keep the base verdict.
  return { base: baseEvaluator, head: compileEvaluator(head, inventory, { reuse: baseEvaluator }) };
}

function isWouldDeny(v: FlowVerdict): boolean {
  return v.verdict === 'allow' && v.asIfEnforced === 'deny';
}

function classify(before: FlowVerdict, after: FlowVerdict): ImpactChangeKind | undefined {
  if (before.verdict === after.verdict && before.asIfEnforced === after.asIfEnforced) return undefined;
  if (before.verdict === 'allow' && after.verdict === 'deny') return 'newly-denied';
  if (before.verdict === 'deny' && after.verdict === 'allow') return 'newly-allowed';
  if (isWouldDeny(after) && !isWouldDeny(before)) return 'new-would-deny';
  if (isWouldDeny(before) && !isWouldDeny(after)) return 'resolved-would-deny';
  return 'as-if-enforced-changed';
}

function side(v: FlowVerdict): ImpactSide {
  return {
    verdict: v.verdict,
    asIfEnforced: v.asIfEnforced,
    reasons: v.reasons.map((r) => ({ ...r })),
    asIfEnforcedReasons: v.asIfEnforcedReasons.map((r) => ({ ...r })),
  };
}

/**
 * Connections per verdict. Evaluators share one verdict object among all the flows of a class, so
 * counting per object and expanding to rule keys once at the end (`ruleHitsOf`) costs one map
 * update per flow instead of building keys for every flow.
 */
type CountsByVerdict = Map<FlowVerdict, number>;

function countVerdict(counts: CountsByVerdict, verdict: FlowVerdict, count: number): void {
  counts.set(verdict, (counts.get(verdict) ?? 0) + count);
}

/** Each rule a verdict's reasons name (effective or as-if-enforced) once: its `ruleHitKey` and a reason naming it. */
function forEachRuleOf(verdict: FlowVerdict, visit: (key: string, reason: Reason) => void): void {
  const keys = new Set<string>();
  for (const reasons of [verdict.reasons, verdict.asIfEnforcedReasons]) {
    for (const r of reasons) {
      if (r.object === undefined || r.rule === undefined || r.point === undefined) continue;
      const key = ruleHitKey(r.object, r.point, r.rule);
      if (keys.has(key)) continue;
      keys.add(key);
      visit(key, r);
    }
  }
}

/** The rules named by the verdicts, each once per verdict, weighted by its connections. */
function ruleHitsOf(counts: CountsByVerdict): Map<string, number> {
  const hits = new Map<string, number>();
  for (const [verdict, count] of counts) {
    forEachRuleOf(verdict, (key) => hits.set(key, (hits.get(key) ?? 0) + count));
  }
  return hits;
}

interface WindowPass {
  coverage: FlowWindowCoverage;
  unresolved: number;
  unresolvedExamples: string[];
  namespaces: Set<string>;
  resolution: Record<RecordResolution, ResolutionCounts>;
}

/** What `walkWindow` tells its visitor about a tuple's ends beyond the resolved flow. */
interface TupleResolution {
  by: EndResolution;
  /** The fallbacks used, for the explanation. */
  notes: EndFallback[];
}

/**
 * Walks the window's distinct tuples once, resolving each and handing it to `visit`. Unresolved
 * `<ns>/<pod>` ends are counted, not evaluated.
 */
/** How a record resolved: the last step of SPEC section 7's order that either of its ends needed. */
export type RecordResolution = EndResolution | 'unresolved';

const RESOLUTION_RANK: Readonly<Record<EndResolution, number>> = {
  direct: 0,
  workload: 1,
  labels: 2,
  'pod-name': 3,
};

/** Records and connections of a window by how they resolved. */
export interface ResolutionCounts {
  records: number;
  connections: number;
}

const DIRECT: TupleResolution = { by: 'direct', notes: [] };

/** The fallbacks a tuple's ends needed, from `resolveFlow` (absent: both resolved directly). */
type TupleFallbacks = { src?: EndFallback; dst?: EndFallback } | undefined;

/** How a tuple's two ends resolved: directly (one shared record), else by which fallbacks. */
function tupleResolution(fallbacks: TupleFallbacks): TupleResolution {
  if (!fallbacks) return DIRECT;
  const notes = [fallbacks.src, fallbacks.dst].filter((f): f is EndFallback => f !== undefined);
  return { by: resolutionBy(fallbacks), notes };
}

/** The last step of SPEC section 7's order that either end needed (no object made: most tuples). */
function resolutionBy(fallbacks: TupleFallbacks): EndResolution {
  const a = fallbacks?.src?.by ?? 'direct';
  const b = fallbacks?.dst?.by ?? 'direct';
  return RESOLUTION_RANK[b] > RESOLUTION_RANK[a] ? b : a;
}

/**
 * A tuple resolved as `resolveFlow` resolves a record (SPEC section 7: an end the inventory lacks
 * goes through the fallbacks with its recorded identity), its pod namespaces noted in `namespaces`.
 */
function resolveTuple(
  inventory: Inventory,
  tuple: FlowTupleIdentity,
  namespaces: Set<string>,
): ReturnType<typeof resolveFlow> {
  const resolved = resolveFlow(inventory, tuple);
  if (resolved.ok) {
    const { src, dst } = resolved.flow;
    if (src.kind === 'pod') namespaces.add(src.pod.namespace);
    if (dst.kind === 'pod') namespaces.add(dst.pod.namespace);
  }
  return resolved;
}

function walkWindow(
  inventory: Inventory,
  window: FlowWindow,
  visit: (flow: ResolvedFlow, tuple: FlowTuple, resolution: TupleResolution) => void,
): WindowPass {
  const counts = (): ResolutionCounts => ({ records: 0, connections: 0 });
  const pass: WindowPass = {
    coverage: window.coverage(),
    unresolved: 0,
    unresolvedExamples: [],
    namespaces: new Set(),
    resolution: {
      direct: counts(),
      workload: counts(),
      labels: counts(),
      'pod-name': counts(),
      unresolved: counts(),
    },
  };
  for (const tuple of window.tuples()) {
    const resolved = resolveTuple(inventory, tuple, pass.namespaces);
    if (!resolved.ok) {
      pass.unresolved += tuple.records;
      pass.resolution.unresolved.records += tuple.records;
      pass.resolution.unresolved.connections += tuple.count;
      if (pass.unresolvedExamples.length < 5) pass.unresolvedExamples.push(resolved.reason);
      continue;
    }
    const resolution = tupleResolution(resolved.fallbacks);
    const counted = pass.resolution[resolution.by];
    counted.records += tuple.records;
    counted.connections += tuple.count;
    visit(resolved.flow, tuple, resolution);
  }
  return pass;
}

/**
 * How often each rule decided a flow of the window (effective or as-if-enforced), weighted by
 * `count`, keyed by `ruleHitKey(object, direction, rule)`: the input of lint's stale-rule check.
 */
export function countRuleHits(input: {
  policySet: PolicySet;
  inventory: Inventory;
  window: FlowWindow;
  evaluator?: Evaluator;
}): RuleHitCounts {
  return ruleHitsOverWindow(input).ruleHits;
}

/**
 * `countRuleHits` with how much of the window it rests on: `records` and how many of them did not
 * resolve (see `staleRuleWindowProblem`, which says when the hits cannot support stale-rule claims).
 */
export function ruleHitsOverWindow(input: {
  policySet: PolicySet;
  inventory: Inventory;
  window: FlowWindow;
  evaluator?: Evaluator;
}): { ruleHits: RuleHitCounts; records: number; unresolved: number } {
  const evaluator = input.evaluator ?? compileEvaluator(input.policySet, input.inventory);
  const counts: CountsByVerdict = new Map();
  const pass = walkWindow(input.inventory, input.window, (flow, tuple) => {
    countVerdict(counts, evaluator.evaluate(flow), tuple.count);
  });
  return { ruleHits: ruleHitsOf(counts), records: pass.coverage.records, unresolved: pass.unresolved };
}

/** Examples of fallback explanations kept per change. */
const MAX_FALLBACK_NOTES = 3;

function noteFallback(change: ImpactChange, resolution: TupleResolution, count: number): void {
  const byFallback = change.resolvedBy ?? {};
  const key = resolution.by === 'pod-name' ? 'podName' : (resolution.by as 'workload' | 'labels');
  byFallback[key] = (byFallback[key] ?? 0) + count;
  change.resolvedBy = byFallback;
  const notes = change.resolutionNotes ?? [];
  for (const n of resolution.notes) {
    if (notes.length < MAX_FALLBACK_NOTES && !notes.includes(n.text)) notes.push(n.text);
  }
  change.resolutionNotes = notes;
}

const KIND_RANK: Readonly<Record<ImpactChangeKind, number>> = Object.fromEntries(
  IMPACT_KIND_ORDER.map((k, i) => [k, i]),
) as Record<ImpactChangeKind, number>;

/**
 * The impact of going from `base` to `head` on the observed window (SPEC section 5 and the JSON of
 * section 7). Each distinct tuple is resolved once and, when the change reaches it (a point whose
 * plan holds a policy the change touched, or a different config), evaluated once per side; the
 * others keep their verdict and are not evaluated (see `ImpactPass`). The evaluators cache by
 * endpoint class, so the cost grows with distinct tuples, not records.
 */
export function computeImpact(input: ComputeImpactInput): ImpactReport {
  const pass = new ImpactPass(input);
  pass.addTuples(input.window.identitiesFrom(0));
  return pass.finish(input.window);
}

/** What one distinct tuple of a window came to: both sides' verdicts and how its ends resolved. */
interface TupleOutcome {
  /**
   * Both sides' verdicts. Absent for the tuples no difference between the sides reaches (the head
   * evaluator `reusesVerdict`): their one verdict cannot be a change, and only the stale-rule check
   * may ask for it (see `ImpactPass.#hitsOfReused`).
   */
  before?: FlowVerdict;
  after?: FlowVerdict;
  resolution: TupleResolution;
  /** Connections of the tuples that came to this outcome (summed by `finish`). */
  connections: number;
  /** Where the verdict changed (both verdicts are then set): the change's kind and the flow, grouped by `finish`. */
  change?: { kind: ImpactChangeKind; flow: ResolvedFlow };
}

/**
 * `computeImpact` in steps, for a caller that discovers a window's tuples while reading it
 * (`nyxctl impact`): `addTuples` resolves, evaluates and classifies tuples as they come (what
 * identifies a tuple decides all of that; counts and times do not), so that once the read ends,
 * `finish` only adds up the window's counts per tuple and lints the stale rules. A tuple the change
 * cannot reach (the head evaluator `reusesVerdict`: no policy the change added, removed or edited is
 * in the plan of either of its points, same config) keeps its verdict, so it is not evaluated at
 * all; most of a window is such tuples. Tuples must be
 * added in the window's id order (first seen first), each once; `finish` adds those not added yet.
 * The report is the one `computeImpact` gives.
 */
export class ImpactPass {
  readonly #input: Omit<ComputeImpactInput, 'window'>;
  readonly #evaluators: ImpactEvaluators;
  /** By tuple id; null: an end did not resolve. */
  readonly #outcomes: Array<TupleOutcome | null> = [];
  /** Shared outcomes of the tuples whose verdict did not change, by verdicts and resolution. */
  readonly #unchanged = new Map<FlowVerdict, Map<FlowVerdict, Map<EndResolution, TupleOutcome>>>();
  /** Shared outcomes of the tuples no difference reaches, by resolution. */
  readonly #reused = new Map<EndResolution, TupleOutcome>();
  readonly #unresolvedExamples: string[] = [];
  readonly #namespaces = new Set<string>();
  readonly #lint: (hits: ChangeRuleHits) => LintFinding[];
  /** Ids of the policies the change added, removed or edited (either version). */
  readonly #changedIds: ReadonlySet<string>;

  constructor(input: Omit<ComputeImpactInput, 'window'>) {
    const { base, head, inventory } = input;
    this.#input = input;
    this.#evaluators = input.evaluators ?? impactEvaluators(base, head, inventory);
    this.#changedIds = new Set(
      changedPolicies(this.#evaluators.base.compiled, this.#evaluators.head.compiled).map((p) => p.id),
    );
    // Both lints use the evaluators (compiled policies, cached and reused verdicts) and check only
    // the objects the change touched; the stale-rule check waits for the window's rule hits.
    this.#lint = lintChangeInSteps({
      base: {
        policySet: base,
        inventory,
        evaluator: this.#evaluators.base,
        ...(input.baseFiles ? { files: input.baseFiles } : {}),
      },
      head: {
        policySet: head,
        inventory,
        evaluator: this.#evaluators.head,
        ...(input.headFiles ? { files: input.headFiles } : {}),
      },
    });
  }

  /** Tuples added so far: the next one added is the window's tuple of this id. */
  get added(): number {
    return this.#outcomes.length;
  }

  addTuples(tuples: Iterable<FlowTupleIdentity>): void {
    const { inventory } = this.#input;
    const { base: baseEvaluator, head: headEvaluator } = this.#evaluators;
    for (const tuple of tuples) {
      const resolved = resolveTuple(inventory, tuple, this.#namespaces);
      if (!resolved.ok) {
        this.#outcomes.push(null);
        if (this.#unresolvedExamples.length < 5) this.#unresolvedExamples.push(resolved.reason);
        continue;
      }
      const { flow, fallbacks } = resolved;
      // Most of a window is out of a change's reach: same verdict on both sides, no need to know it.
      if (headEvaluator.reusesVerdict(flow)) {
        this.#outcomes.push(this.#reusedOutcome(resolutionBy(fallbacks)));
        continue;
      }
      const before = baseEvaluator.evaluate(flow);
      const after = headEvaluator.evaluate(flow);
      const kind = classify(before, after);
      this.#outcomes.push(
        kind
          ? { before, after, resolution: tupleResolution(fallbacks), connections: 0, change: { kind, flow } }
          : this.#unchangedOutcome(before, after, resolutionBy(fallbacks)),
      );
    }
  }

  #reusedOutcome(by: EndResolution): TupleOutcome {
    let outcome = this.#reused.get(by);
    if (!outcome) {
      outcome = { resolution: by === 'direct' ? DIRECT : { by, notes: [] }, connections: 0 };
      this.#reused.set(by, outcome);
    }
    return outcome;
  }

  #unchangedOutcome(before: FlowVerdict, after: FlowVerdict, by: EndResolution): TupleOutcome {
    let byAfter = this.#unchanged.get(before);
    if (!byAfter) {
      byAfter = new Map();
      this.#unchanged.set(before, byAfter);
    }
    let byResolution = byAfter.get(after);
    if (!byResolution) {
      byResolution = new Map();
      byAfter.set(after, byResolution);
    }
    // Only how the ends resolved counts here (the fallback notes explain changes).
    let outcome = byResolution.get(by);
    if (!outcome) {
      outcome = { before, after, resolution: by === 'direct' ? DIRECT : { by, notes: [] }, connections: 0 };
      byResolution.set(by, outcome);
    }
    return outcome;
  }

  /** The report over `window`, whose tuples (those added so far first) this pass has been given. */
  finish(window: FlowWindow): ImpactReport {
    if (this.added < window.distinct) this.addTuples(window.identitiesFrom(this.added));
    const counts = (): ResolutionCounts => ({ records: 0, connections: 0 });
    const resolution: Record<RecordResolution, ResolutionCounts> = {
      direct: counts(),
      workload: counts(),
      labels: counts(),
      'pod-name': counts(),
      unresolved: counts(),
    };
    const groups = new Map<string, ImpactChange>();
    const summary: ImpactSummary = {
      newlyDenied: 0,
      newlyAllowed: 0,
      newWouldDeny: 0,
      resolvedWouldDeny: 0,
      newlyDeniedRecords: 0,
    };
    const outcomes = this.#outcomes;
    for (let id = 0; id < window.distinct; id++) {
      const outcome = outcomes[id]!;
      const count = window.countOf(id);
      const records = window.recordsOf(id);
      const counted = resolution[outcome ? outcome.resolution.by : 'unresolved'];
      counted.records += records;
      counted.connections += count;
      if (!outcome) continue;
      outcome.connections += count;
      if (outcome.change) this.#group(groups, summary, outcome, window, id, count);
    }
    // Connections per verdict, for the rule hits: each outcome once.
    const baseCounts: CountsByVerdict = new Map();
    const headCounts: CountsByVerdict = new Map();
    const seen = new Set<TupleOutcome>();
    for (const outcome of outcomes) {
      if (!outcome?.before || !outcome.after || seen.has(outcome)) continue;
      seen.add(outcome);
      countVerdict(baseCounts, outcome.before, outcome.connections);
      countVerdict(headCounts, outcome.after, outcome.connections);
    }

    const changes = [...groups.values()].sort(
      (a, b) =>
        KIND_RANK[a.kind] - KIND_RANK[b.kind] ||
        b.count - a.count ||
        (a.src < b.src ? -1 : a.src > b.src ? 1 : 0) ||
        (a.dst < b.dst ? -1 : a.dst > b.dst ? 1 : 0) ||
        a.port - b.port,
    );
    for (const c of changes) {
      if (c.kind === 'newly-denied') summary.newlyDenied += 1;
      else if (c.kind === 'newly-allowed') summary.newlyAllowed += 1;
      else if (c.kind === 'new-would-deny') summary.newWouldDeny += 1;
      else if (c.kind === 'resolved-would-deny') summary.resolvedWouldDeny += 1;
    }

    // Rule hits only over a window that resolved: no stale-rule claim rests on traffic that was
    // not looked at (the window statement says how much that was).
    const windowCoverage = window.coverage();
    const unresolved = resolution.unresolved.records;
    const hitsHold = staleRuleWindowProblem({ records: windowCoverage.records, unresolved }) === undefined;
    const severityRank = { error: 0, warning: 1, info: 2 } as const;
    let hits: ChangeRuleHits = {};
    if (hitsHold) {
      const baseHits = ruleHitsOf(baseCounts);
      const headHits = ruleHitsOf(headCounts);
      this.#hitsOfReused(window, baseCounts, baseHits, headHits);
      hits = { base: baseHits, head: headHits };
    }
    const lint = this.#lint(hits).sort(
      (a, b) =>
        severityRank[a.severity] - severityRank[b.severity] ||
        (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
        a.line - b.line,
    );

    const coverage: ImpactCoverage = {
      records: windowCoverage.records,
      connections: windowCoverage.connections,
      distinctFlows: windowCoverage.distinct,
      unresolved,
      unresolvedExamples: this.#unresolvedExamples,
      skipped: { ...windowCoverage.skipped },
      skippedLines: skippedLineCount(windowCoverage.skipped),
      namespaces: [...this.#namespaces].sort(),
      resolution: {
        direct: resolution.direct,
        workload: resolution.workload,
        labels: resolution.labels,
        podName: resolution['pod-name'],
        unresolved: resolution.unresolved,
      },
    };
    if (windowCoverage.from !== undefined) coverage.from = windowCoverage.from;
    if (windowCoverage.to !== undefined) coverage.to = windowCoverage.to;
    return { summary, changes, lint, coverage };
  }

  /**
   * Completes the rule hits of the evaluated tuples (`baseHits`, `headHits`, from `baseCounts`) with
   * those of the reused tuples as far as the stale-rule check can tell: a reused tuple's rules hit
   * both sides alike, so they cannot make a rule stale on one side only, except a rule the
   * evaluated tuples hit in the base and not in the head: whether the head finds it stale (a new
   * finding) rests on the reused tuples. For those rules alone, the reused tuples whose enforcement
   * point holds the rule's policy are evaluated (the base's verdict, which is also the head's) until
   * each rule has a hit. A changed (or added, or removed) policy is in no reused tuple's plan, so its
   * rules need no search.
   * Other counts stay partial: only "no hit" is read (see `checkStale` in lint.ts).
   */
  #hitsOfReused(
    window: FlowWindow,
    baseCounts: CountsByVerdict,
    baseHits: Map<string, number>,
    headHits: Map<string, number>,
  ): void {
    const evaluator = this.#evaluators.base;
    if (this.#reused.size === 0) return;
    const changed = this.#changedIds;
    const open = new Set<string>();
    // Policy ids of the open rules, by the point their rules are read at.
    const policies: Record<Direction, Set<string>> = { ingress: new Set(), egress: new Set() };
    for (const verdict of baseCounts.keys()) {
      forEachRuleOf(verdict, (key, reason) => {
        if ((headHits.get(key) ?? 0) > 0 || !((baseHits.get(key) ?? 0) > 0) || changed.has(reason.object!))
          return;
        open.add(key);
        policies[reason.point!].add(reason.object!);
      });
    }
    if (open.size === 0) return;
    const holdsOpenPolicy = new Map<SubjectPlan, boolean>();
    const reaches = (pod: Pod, direction: Direction): boolean => {
      const plan = evaluator.planFor(pod, direction);
      let holds = holdsOpenPolicy.get(plan);
      if (holds === undefined) {
        holds = planPolicyIds(plan).some((id) => policies[direction].has(id));
        holdsOpenPolicy.set(plan, holds);
      }
      return holds;
    };
    // The reused tuples are resolved again (ends resolve once per reference, then from a cache):
    // cheaper, where a window needs it at all, than keeping every resolved flow until now.
    const reused = new Set(this.#reused.values());
    const { inventory } = this.#input;
    for (let id = 0; id < window.distinct && open.size > 0; id++) {
      const outcome = this.#outcomes[id];
      if (!outcome || !reused.has(outcome)) continue;
      const resolved = resolveFlow(inventory, window.identityOf(id));
      if (!resolved.ok) continue;
      const { flow } = resolved;
      if (
        !(flow.src.kind === 'pod' && reaches(flow.src.pod, 'egress')) &&
        !(flow.dst.kind === 'pod' && reaches(flow.dst.pod, 'ingress'))
      )
        continue;
      const count = window.countOf(id);
      forEachRuleOf(evaluator.evaluate(flow), (key) => {
        if (!open.delete(key)) return;
        baseHits.set(key, (baseHits.get(key) ?? 0) + count);
        headHits.set(key, (headHits.get(key) ?? 0) + count);
      });
    }
  }

  /** Adds tuple `id` (whose verdict changed) to its group of changes. */
  #group(
    groups: Map<string, ImpactChange>,
    summary: ImpactSummary,
    outcome: TupleOutcome,
    window: FlowWindow,
    id: number,
    count: number,
  ): void {
    const { kind, flow } = outcome.change!;
    const { resolution } = outcome;
    if (kind === 'newly-denied') summary.newlyDeniedRecords += count;
    const src = endpointLabel(flow.src, 'workload');
    const dst = endpointLabel(flow.dst, 'workload');
    const firstSeen = window.firstSeenOf(id);
    const lastSeen = window.lastSeenOf(id);
    // The kind is part of the key: pods of one workload normally share labels and so a verdict,
    // but when they do not, their changes stay apart rather than one hiding the other.
    const key = `${kind}\u0000${src}\u0000${dst}\u0000${flow.protocol}\u0000${flow.port}\u0000${flow.serverName ?? ''}`;
    const group = groups.get(key);
    if (group) {
      group.count += count;
      group.flows += 1;
      if (resolution.by !== 'direct') noteFallback(group, resolution, count);
      const first = earlierTime(group.firstSeen, firstSeen);
      const last = laterTime(group.lastSeen, lastSeen);
      if (first !== undefined) group.firstSeen = first;
      if (last !== undefined) group.lastSeen = last;
      return;
    }
    const change: ImpactChange = {
      kind,
      src,
      dst,
      protocol: flow.protocol,
      port: flow.port,
      count,
      flows: 1,
      before: side(outcome.before!),
      after: side(outcome.after!),
    };
    if (flow.serverName !== undefined) change.serverName = flow.serverName;
    if (firstSeen !== undefined) change.firstSeen = firstSeen;
    if (lastSeen !== undefined) change.lastSeen = lastSeen;
    if (resolution.by !== 'direct') noteFallback(change, resolution, count);
    groups.set(key, change);
  }
}
