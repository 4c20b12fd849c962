// SPEC sections 2-4: the verdict of one flow, effective and as-if-enforced, with its reasons.
//
// Policies are compiled once into data (selectors into predicates, CIDRs parsed, rules into lists of
// peers and ports); evaluation walks those lists. `nyxctl compile` (core/src/nft.ts) renders the same
// per-pod plans (`Evaluator.planFor`), so nothing here is tied to reporting. One concept per file:
// policy-compiled.ts (the data), policy-compile.ts, policy-match.ts, policy-walk.ts (the walk and
// its reasons), policy-reuse.ts (across two revisions); this file wires them into an `Evaluator`
// (endpoint classes, per-pod plans, the verdict cache).
//
// Choices where the SPEC leaves room (also listed in the issue notes):
// - A flow with no enforcement point (neither end is a pod: node or world to node or world) is
//   allowed with one flow-wide reason of band `no-enforcement-point`.
// - A hostNetwork pod is its node, so it has no namespace: `excludedNamespaces` does not apply to it.
// - Short-circuits come in this order: excluded namespace, same pod, node-local probe. Their reason
//   is repeated at each enforcement point the flow has (SPEC section 7: `reasons` holds one entry per
//   enforcement point; section 4 lists `excluded namespace` and `node-local probe` among the reasons
//   a point carries), so a pod-to-pod flow into an excluded namespace has an egress and an ingress
//   entry, both `excluded namespace`. Only a flow with no enforcement point has a point-less reason.
// - An upstream `ipBlock` peer given a pod or node named `<ns>/<pod>` (no address in the flow)
//   matches when any of its addresses is in the block.
// - An isolation deny (band `networkpolicy` when NetworkPolicies isolate and allow nothing, band
//   `isolation` for NyxNetworkPolicy) has the text `isolated: no rule matched` and names every
//   policy that isolates the pod for that direction in `isolatedBy`; its `object` is the first of
//   them to look at: one with no rule of the direction (a default-deny) before one whose rules did
//   not match, then walk order (namespace/name, priority).
// - A `port` written as a numeric string ("80") is that number, not a port name.
// - A Nyx peer field present but empty (`to: []`, which the loader refuses) matches nothing; a peer
//   entry with neither selector (also refused) reads as every pod of its default scope.
// - Reasons carry `audit: true` when the deciding object (or the config, for `default`) is in audit;
//   in the effective walk a config in audit reads `default: allow (NyxClusterConfig in audit)`.

import { adminTierPlan } from './admin-tiers.js';
import type { FlowRecord, ResolvedFlow } from './flow-model.js';
import { normalizeDnsName } from './fqdn.js';
import { podCopiedFrom, resolveFlow } from './inventory.js';
import type { Endpoint, Inventory, Pod } from './inventory-model.js';
import type { Direction, PolicySet, Protocol } from './model.js';
import { compareText, compilePolicySet, DIRECTIONS } from './policy-compile.js';
import type { CompiledIpBlock, CompiledPolicy, CompiledPolicySet } from './policy-compiled.js';
import { BAND_ORDER } from './policy-facts.js';
import { blockContains, type ParsedIp, type PointContext, toParsedIp } from './policy-match.js';
import { changedPolicies, inPlanOf, sameAdminTiers, sameConfig } from './policy-reuse.js';
import {
  asIfEnforcedAt,
  EXCLUDED,
  evaluatePoint,
  flowWide,
  groupByPriority,
  inAudit,
  NODE_LOCAL,
  SAME_POD,
  type SubjectPlan,
} from './policy-walk.js';
import type { FlowVerdict, Reason } from './verdict-model.js';

export interface Evaluator {
  readonly policySet: PolicySet;
  readonly inventory: Inventory;
  readonly compiled: CompiledPolicySet;
  /** Both verdicts with reasons. Cached per equivalence class of endpoints; do not mutate the result. */
  evaluate(flow: ResolvedFlow): FlowVerdict;
  /**
   * True when `evaluate(flow)` is `options.reuse.evaluate(flow)`: no difference between the two
   * policy sets reaches the flow. Lets a caller that already holds that verdict skip the lookup.
   */
  reusesVerdict(flow: ResolvedFlow): boolean;
  /**
   * Endpoint classes seen, verdicts computed (walks), enforcement points walked (`points`: a walk
   * reuses a point that a flow of another class already walked) and evaluations answered by
   * `options.reuse` so far: what the caches and the reuse saved, for benches.
   */
  stats(): { classes: number; walks: number; points: number; reused: number };
  /**
   * The per-pod plan the walk reads at one enforcement point: the policies that select `pod`, per
   * band, in walk order. Pods of one equivalence class share one plan object. `nyxctl compile`
   * renders this plan; nothing re-derives it.
   */
  planFor(pod: Pod, direction: Direction): SubjectPlan;
}

export interface EvaluatorOptions {
  /**
   * An evaluator of another revision of the policy set over the same inventory (the base of a
   * change). A flow whose enforcement points see the same policies (same content and source lines)
   * under the same config in both gets that evaluator's verdict instead of a walk of its own: the
   * walk would read exactly the same data.
   */
  reuse?: Evaluator;
}

/** Labels as `[key, value, key, value, …]` in key order (most come sorted already). */
function sortedLabelList(labels: Readonly<Record<string, string>>): string[] {
  const keys = Object.keys(labels);
  for (let i = 1; i < keys.length; i++) {
    if (compareText(keys[i - 1]!, keys[i]!) > 0) {
      keys.sort(compareText);
      break;
    }
  }
  const list: string[] = [];
  for (const k of keys) list.push(k, labels[k]!);
  return list;
}

// A policy set compiles to the same data against any inventory: the agent recompiles its
// evaluator on every inventory change (pod churn) and keeps the policy set.
const compiledSets = new WeakMap<PolicySet, CompiledPolicySet>();

/**
 * Compiles the policy set against one inventory: selectors and CIDRs once, policies indexed by
 * namespace, cluster policies pre-filtered per namespace, verdicts cached per equivalence class.
 * With `options.reuse`, verdicts of flows that no difference between the two policy sets can reach
 * are taken from that evaluator (see `EvaluatorOptions`).
 */
export function compileEvaluator(
  policySet: PolicySet,
  inventory: Inventory,
  options: EvaluatorOptions = {},
): Evaluator {
  let compiled = compiledSets.get(policySet);
  if (!compiled) {
    compiled = compilePolicySet(policySet);
    compiledSets.set(policySet, compiled);
  }

  // Index: namespaced policies by namespace, cluster policies filtered per namespace lazily.
  const namespaced = new Map<string, CompiledPolicy[]>();
  const cluster: CompiledPolicy[] = [];
  for (const p of compiled.policies) {
    if (p.namespace === undefined) cluster.push(p);
    else {
      const list = namespaced.get(p.namespace);
      if (list) list.push(p);
      else namespaced.set(p.namespace, [p]);
    }
  }
  const clusterByNamespace = new Map<string, CompiledPolicy[]>();
  const clusterFor = (pod: Pod): CompiledPolicy[] => {
    let list = clusterByNamespace.get(pod.namespace);
    if (!list) {
      list = cluster.filter((p) => p.namespaceSelector(pod.namespaceLabels));
      clusterByNamespace.set(pod.namespace, list);
    }
    return list;
  };

  // Address blocks are the only peers that look at an address. A pod's equivalence class includes
  // which upstream ipBlocks its addresses fall in (Nyx blocks never match pods); a world address's
  // class is which blocks of any kind contain it, so distinct internet addresses that no policy
  // tells apart share one cached verdict (a refinement of "a world endpoint's class is its IP").
  const distinctBlocks = (upstream: boolean): CompiledIpBlock[] => {
    const byText = new Map<string, CompiledIpBlock>();
    for (const p of compiled.policies) {
      if (upstream && p.band !== 'networkpolicy') continue;
      for (const d of DIRECTIONS) {
        for (const r of p.rules[d] ?? []) {
          for (const b of r.peers?.ipBlocks ?? [])
            byText.set(`${b.text}-${b.except.map((e) => e.text).join(',')}`, b);
        }
      }
    }
    // Upstream admin `networks` match any address, pod IPs included, like upstream ipBlock.
    for (const p of [...compiled.adminTiers.admin, ...compiled.adminTiers.baseline]) {
      for (const d of DIRECTIONS) {
        for (const r of p.matchable[d] ?? []) {
          for (const b of r.peers?.ipBlocks ?? []) byText.set(`${b.text}-`, b);
        }
      }
    }
    return [...byText.values()];
  };
  const upstreamBlocks = distinctBlocks(true);
  const allBlocks = distinctBlocks(false);
  const parsedIps = new Map<string, ParsedIp[]>();
  const parseIps = (ips: readonly string[]): ParsedIp[] => {
    const key = ips.join(',');
    let parsed = parsedIps.get(key);
    if (!parsed) {
      parsed = ips.map(toParsedIp).filter((ip): ip is ParsedIp => ip !== undefined);
      parsedIps.set(key, parsed);
    }
    return parsed;
  };
  const endpointIps = (e: Endpoint): readonly string[] =>
    e.ip !== undefined ? [e.ip] : e.kind === 'pod' ? e.pod.ips : e.kind === 'node' ? e.node.addresses : [];
  // Asked for every ip-block rule a walk tries: kept per endpoint object (ends resolve to one
  // shared object per reference), so that a hit makes no array or key.
  const ipsByEndpoint = new WeakMap<Endpoint, ParsedIp[]>();
  const ipsOf = (e: Endpoint): ParsedIp[] => {
    let ips = ipsByEndpoint.get(e);
    if (!ips) {
      ips = parseIps(endpointIps(e));
      ipsByEndpoint.set(e, ips);
    }
    return ips;
  };
  const signatureCache = { upstream: new Map<string, string>(), all: new Map<string, string>() };
  const blockSignature = (ips: readonly string[], which: 'upstream' | 'all'): string => {
    const blocks = which === 'upstream' ? upstreamBlocks : allBlocks;
    if (blocks.length === 0) return '';
    const key = ips.join(',');
    const cache = signatureCache[which];
    let sig = cache.get(key);
    if (sig === undefined) {
      // The indices of the blocks holding one of the addresses (sparse: usually a handful).
      const parsed = parseIps(ips);
      sig = '';
      for (let i = 0; i < blocks.length; i++) {
        const block = blocks[i]!;
        for (const ip of parsed) {
          if (blockContains(block, ip)) {
            sig += `${i},`;
            break;
          }
        }
      }
      cache.set(key, sig);
    }
    return sig;
  };

  // Caches keyed by pod, plan or reason are plain Maps, not WeakMaps: those objects belong to the
  // inventory and the policy set this evaluator holds anyway (a gone pod's stand-in is memoised per
  // identity), and a Map lookup by object is several times cheaper on these hot paths.
  //
  // A pod's class: namespace, labels, container ports (pods of one Deployment share it). The node
  // is left out on purpose: it only matters for the node-local probe, which is decided before the
  // cache, so leaving it in would only split a Deployment spread over nodes into several classes.
  // Per-pod caches go by `podCopiedFrom`: a gone pod's stand-in shares its current pod's entries.
  const podClassText = new Map<Pod, string>();
  const podClass = (of: Pod): string => {
    const pod = podCopiedFrom(of);
    let text = podClassText.get(pod);
    if (text === undefined) {
      text = JSON.stringify([pod.namespace, podPortsText(pod), ...sortedLabelList(pod.labels)]);
      podClassText.set(pod, text);
    }
    return text;
  };
  const classIds = new DenseIds<string>();
  // Class id of a pod seen at one address (or at all its addresses), cached on the pod.
  const podClassIds = new Map<Pod, Map<string, number>>();
  const podClassId = (of: Pod, ip: string | undefined): number => {
    const pod = podCopiedFrom(of);
    let byIp = podClassIds.get(pod);
    if (!byIp) {
      byIp = new Map();
      podClassIds.set(pod, byIp);
    }
    const key = ip ?? '';
    let id = byIp.get(key);
    if (id === undefined) {
      id = classIds.of(`p${podClass(pod)}|${blockSignature(ip !== undefined ? [ip] : pod.ips, 'upstream')}`);
      byIp.set(key, id);
    }
    return id;
  };
  const classOfEndpoint = (e: Endpoint): number => {
    switch (e.kind) {
      case 'pod':
        return podClassId(e.pod, e.ip);
      case 'node':
        return classIds.of(`n${e.node.name}|${e.ip ?? ''}`);
      case 'world':
        return classIds.of(`w${blockSignature([e.ip], 'all')}`);
    }
  };
  // Callers that resolve each distinct end once (impact's window pass) hand in the same endpoint
  // object for every flow it is part of: its class is looked up once per object.
  const endpointClasses = new WeakMap<Endpoint, number>();
  const endpointClass = (e: Endpoint): number => {
    let id = endpointClasses.get(e);
    if (id === undefined) {
      id = classOfEndpoint(e);
      endpointClasses.set(e, id);
    }
    return id;
  };

  const plans = new Map<string, Record<Direction, SubjectPlan>>();
  const planByPod = new Map<Pod, Record<Direction, SubjectPlan>>();
  const planFor = (of: Pod, direction: Direction): SubjectPlan => {
    const pod = podCopiedFrom(of);
    const cached = planByPod.get(pod);
    if (cached) return cached[direction];
    const key = podClass(pod);
    let plan = plans.get(key);
    if (!plan) {
      const selecting = (p: CompiledPolicy) => p.podSelector(pod.labels);
      const mine = (namespaced.get(pod.namespace) ?? []).filter(selecting);
      const clusterMine = clusterFor(pod).filter(selecting);
      const forDirection = (d: Direction): SubjectPlan => {
        const withRules = (p: CompiledPolicy) => (p.rules[d]?.length ?? 0) > 0;
        const platform = clusterMine.filter((p) => p.band === 'platform' && withRules(p));
        const application = mine.filter((p) => p.band === 'application' && withRules(p));
        const baseline = clusterMine.filter((p) => p.band === 'baseline' && withRules(p));
        const isolating = mine.filter((p) => p.band === 'application' && p.isolates[d]);
        const networkPolicies = mine.filter((p) => p.band === 'networkpolicy' && p.isolates[d]);
        const tiers = adminTierPlan(compiled.adminTiers, pod, d);
        const adminAudit = [...tiers.admin, ...tiers.baseline].some((p) => !p.enforced);
        return {
          platform: groupByPriority(platform),
          application: groupByPriority(application),
          baseline: groupByPriority(baseline),
          networkPolicies,
          isolating,
          enforcedIsolating: isolating.filter((p) => p.enforced),
          hasAudit:
            adminAudit || [...platform, ...application, ...baseline, ...isolating].some((p) => !p.enforced),
          auditDeciders: [
            ...inAudit(BAND_ORDER.platform, platform),
            ...inAudit(BAND_ORDER.application, application),
            ...inAudit(BAND_ORDER.baseline, baseline),
          ],
          auditIsolates: isolating.some((p) => !p.enforced),
          adminTiers: tiers,
          adminAudit,
        };
      };
      plan = { ingress: forDirection('ingress'), egress: forDirection('egress') };
      plans.set(key, plan);
    }
    planByPod.set(pod, plan);
    return plan[direction];
  };

  // Upstream admin `domainNames` read the server name on any port (SPEC 9.2).
  const serverNameOnAnyPort = [...compiled.adminTiers.admin, ...compiled.adminTiers.baseline].some(
    (p) => p.hasDomainNames,
  );
  // Verdicts by source class, then `destinationKey` (destination class, protocol, port, server name).
  const cache = new Map<number, Map<number | string, FlowVerdict>>();
  let walks = 0;
  let reused = 0;

  // Reuse: only over the same inventory and config; then a point is unchanged when no changed
  // policy (either version) can be in its plan, so both plans hold the same policies.
  const reuse =
    options.reuse &&
    options.reuse.inventory === inventory &&
    sameConfig(options.reuse.compiled, compiled) &&
    sameAdminTiers(options.reuse.compiled, compiled)
      ? options.reuse
      : undefined;
  const changed = reuse ? changedPolicies(reuse.compiled, compiled) : [];
  const unchangedByClass = new Map<string, Record<Direction, boolean>>();
  const unchangedByPod = new Map<Pod, Record<Direction, boolean>>();
  const unchangedPoint = (of: Pod, direction: Direction): boolean => {
    const pod = podCopiedFrom(of);
    let unchanged = unchangedByPod.get(pod);
    if (!unchanged) {
      const key = podClass(pod);
      unchanged = unchangedByClass.get(key);
      if (!unchanged) {
        unchanged = {
          ingress: !changed.some((p) => inPlanOf(p, pod, 'ingress')),
          egress: !changed.some((p) => inPlanOf(p, pod, 'egress')),
        };
        unchangedByClass.set(key, unchanged);
      }
      unchangedByPod.set(pod, unchanged);
    }
    return unchanged[direction];
  };
  const reusable = (flow: ResolvedFlow): boolean =>
    (flow.src.kind !== 'pod' || unchangedPoint(flow.src.pod, 'egress')) &&
    (flow.dst.kind !== 'pod' || unchangedPoint(flow.dst.pod, 'ingress'));

  // Point results by plan content: pods of many classes (labels differ) are selected by the same
  // policies, and what one enforcement point decides depends only on what its plan holds, the
  // subject's namespace and container ports, the peer's class and the service (see `pointAt`).
  // Such points share one walk across flows whose other point differs.
  const planKeyIds = new DenseIds<string>();
  const planKeys = new Map<SubjectPlan, number>();
  const planKey = (pod: Pod, direction: Direction, plan: SubjectPlan): number => {
    let id = planKeys.get(plan);
    if (id === undefined) {
      // A plan object belongs to one pod class (namespace, labels, ports): its namespace and ports
      // are the pod's. Group order follows from the policies' priorities, so ids suffice.
      const ids = (policies: ReadonlyArray<{ id: string }>) => policies.map((p) => p.id).join(',');
      const text = [
        direction,
        pod.namespace,
        podPortsText(pod),
        ids(plan.platform.flat()),
        ids(plan.application.flat()),
        ids(plan.baseline.flat()),
        ids(plan.networkPolicies),
        ids(plan.isolating),
        ids(plan.adminTiers.admin),
        ids(plan.adminTiers.baseline),
      ].join('\u0000');
      id = planKeyIds.of(text);
      planKeys.set(plan, id);
    }
    return id;
  };
  interface PointResult {
    effective: Reason;
    /** `effective`'s dense id among this evaluator's reasons: what `verdictOf` keys verdicts by. */
    effectiveId: number;
    /** Computed when a flow through this point needs it (some plan or the config is in audit). */
    asIfEnforced?: Reason;
  }
  const reasonIds = new DenseIds<Reason>();
  const points = new Map<number, Map<number | string, PointResult>>();
  let pointWalks = 0;
  const pointAt = (ctx: PointContext, plan: SubjectPlan, src: Endpoint, dst: Endpoint): PointResult => {
    const planId = planKey(ctx.subject, ctx.direction, plan);
    let byPeer = points.get(planId);
    if (!byPeer) {
      byPeer = new Map();
      points.set(planId, byPeer);
    }
    // The peer's class and the service; the server name only where a name can match (egress to the world).
    const key =
      ctx.direction === 'egress'
        ? destinationKey(endpointClass(ctx.peer), ctx, serverNameOnAnyPort)
        : serviceKey(endpointClass(ctx.peer), ctx.protocol, ctx.port);
    let result = byPeer.get(key);
    if (!result) {
      pointWalks++;
      const effective = evaluatePoint(compiled, plan, ctx, 'effective', src, dst);
      result = { effective, effectiveId: reasonIds.of(effective) };
      byPeer.set(key, result);
    }
    return result;
  };

  // Verdicts by their reasons: flows of different classes that every point decides alike share one
  // verdict object (read-only), so that callers serialise or count it once. A flow whose
  // as-if-enforced walk is its effective walk (nothing in audit) is keyed by a number made of its
  // points' reason ids; any other by text.
  const verdicts = new Map<number | string, FlowVerdict>();
  const newVerdict = (reasons: Reason[], asIfEnforcedReasons: Reason[]): FlowVerdict => ({
    verdict: reasons.every((r) => r.decision === 'allow') ? 'allow' : 'deny',
    asIfEnforced: asIfEnforcedReasons.every((r) => r.decision === 'allow') ? 'allow' : 'deny',
    reasons,
    asIfEnforcedReasons,
  });
  const verdictOfPoints = (
    egress: PointResult | undefined,
    ingress: PointResult | undefined,
  ): FlowVerdict => {
    const e = egress ? egress.effectiveId + 1 : 0;
    const i = ingress ? ingress.effectiveId + 1 : 0;
    if (e >= REASON_ID_ROOM || i >= REASON_ID_ROOM) {
      const reasons = [egress?.effective, ingress?.effective].filter((r): r is Reason => r !== undefined);
      return verdictOf(reasons, reasons);
    }
    const key = e * REASON_ID_ROOM + i;
    let verdict = verdicts.get(key);
    if (!verdict) {
      const reasons: Reason[] = [];
      if (egress) reasons.push(egress.effective);
      if (ingress) reasons.push(ingress.effective);
      verdict = newVerdict(reasons, reasons);
      verdicts.set(key, verdict);
    }
    return verdict;
  };
  const verdictOf = (reasons: Reason[], asIfEnforcedReasons: Reason[]): FlowVerdict => {
    let key = '';
    for (const r of reasons) key += `${reasonIds.of(r)},`;
    key += asIfEnforcedReasons === reasons ? '=' : '|';
    if (asIfEnforcedReasons !== reasons) for (const r of asIfEnforcedReasons) key += `${reasonIds.of(r)},`;
    let verdict = verdicts.get(key);
    if (!verdict) {
      verdict = newVerdict(reasons, asIfEnforcedReasons);
      verdicts.set(key, verdict);
    }
    return verdict;
  };

  const walk = (flow: ResolvedFlow): FlowVerdict => {
    const { src, dst, protocol, port, serverName } = flow;
    if (src.kind !== 'pod' && dst.kind !== 'pod') {
      // Neither end is a pod (node or world to node or world): nothing enforces anything here.
      return flowWide('no-enforcement-point', 'no enforcement point');
    }
    // One point per pod end: egress at a pod source, ingress at a pod destination.
    let egress: PointContext | undefined;
    let egressPlan: SubjectPlan | undefined;
    let egressPoint: PointResult | undefined;
    if (src.kind === 'pod') {
      egress = { direction: 'egress', subject: src.pod, peer: dst, ipsOf, dst, protocol, port, serverName };
      egressPlan = planFor(src.pod, 'egress');
      egressPoint = pointAt(egress, egressPlan, src, dst);
    }
    let ingress: PointContext | undefined;
    let ingressPlan: SubjectPlan | undefined;
    let ingressPoint: PointResult | undefined;
    if (dst.kind === 'pod') {
      ingress = { direction: 'ingress', subject: dst.pod, peer: src, ipsOf, dst, protocol, port, serverName };
      ingressPlan = planFor(dst.pod, 'ingress');
      ingressPoint = pointAt(ingress, ingressPlan, src, dst);
    }
    // Nothing in audit on either point (config included): the as-if-enforced walk is the same walk.
    if (compiled.configEnforced && !egressPlan?.hasAudit && !ingressPlan?.hasAudit)
      return verdictOfPoints(egressPoint, ingressPoint);
    const reasons: Reason[] = [];
    const asIfEnforcedReasons: Reason[] = [];
    const addPoint = (point: PointResult, plan: SubjectPlan, ctx: PointContext): void => {
      reasons.push(point.effective);
      point.asIfEnforced ??= asIfEnforcedAt(compiled, plan, ctx, point.effective, src, dst);
      asIfEnforcedReasons.push(point.asIfEnforced);
    };
    if (egressPoint) addPoint(egressPoint, egressPlan!, egress!);
    if (ingressPoint) addPoint(ingressPoint, ingressPlan!, ingress!);
    return verdictOf(reasons, asIfEnforcedReasons);
  };

  const excluded = (e: Endpoint) => e.kind === 'pod' && compiled.excludedNamespaces.has(e.pod.namespace);

  return {
    policySet,
    inventory,
    compiled,
    stats: () => ({ classes: classIds.size, walks, points: pointWalks, reused }),
    planFor,
    // Short-circuits need no check: with the same config they give both evaluators the same
    // shared verdict.
    reusesVerdict: (flow) => reuse !== undefined && reusable(flow),
    evaluate(flow: ResolvedFlow): FlowVerdict {
      const { src, dst } = flow;
      // Short-circuits decide before any band (at each point the flow has), whatever the config's enforcement.
      // A hostNetwork pod is a node: it has no namespace, so exclusions never apply to it.
      if (excluded(src) || excluded(dst)) return EXCLUDED(src, dst);
      if (src.kind === 'pod' && dst.kind === 'pod' && src.pod === dst.pod) return SAME_POD(src, dst);
      if (src.kind === 'node' && dst.kind === 'pod' && dst.pod.nodeName === src.node.name) {
        return NODE_LOCAL(src, dst);
      }
      // Nothing that differs from the reused evaluator reaches this flow: its verdict is the same.
      if (reuse && reusable(flow)) {
        reused++;
        return reuse.evaluate(flow);
      }
      const srcClass = endpointClass(src);
      let bySource = cache.get(srcClass);
      if (!bySource) {
        bySource = new Map();
        cache.set(srcClass, bySource);
      }
      const key = destinationKey(endpointClass(dst), flow, serverNameOnAnyPort);
      let verdict = bySource.get(key);
      if (!verdict) {
        verdict = walk(flow);
        walks++;
        bySource.set(key, verdict);
      }
      return verdict;
    },
  };
}

/** Reason ids below this make a numeric verdict key (`verdictOfPoints`): two of them stay exact in a double. */
const REASON_ID_ROOM = 2 ** 22;

/** Dense ids (0, 1, 2, …) for keys, in the order first seen. */
class DenseIds<K> {
  readonly #ids = new Map<K, number>();

  of(key: K): number {
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = this.#ids.size;
      this.#ids.set(key, id);
    }
    return id;
  }

  get size(): number {
    return this.#ids.size;
  }
}

/** A pod's container ports as sorted text: what its named ports can match. */
function podPortsText(pod: Pod): string {
  return pod.ports
    .map((p) => `${p.name ?? ''}:${p.containerPort}/${p.protocol}`)
    .sort()
    .join(',');
}

const PROTOCOL_INDEX: Readonly<Record<Protocol, number>> = { TCP: 0, UDP: 1, SCTP: 2 };

/** Ports (0-65535) times protocols: the room a service takes in a numeric `destinationKey`. */
const SERVICES = 65536 * 4;

/**
 * Destination class, protocol, port and (where `toFqdn` can match: a world destination on TCP
 * 443) the normalized server name, as one cache key: a number (exact below 2^53, as class ids are
 * far below 2^32) for the usual port without a name.
 */
function destinationKey(
  dstClass: number,
  flow: Pick<ResolvedFlow, 'dst' | 'protocol' | 'port' | 'serverName'>,
  serverNameOnAnyPort: boolean,
): number | string {
  const { protocol, port } = flow;
  if (
    flow.dst.kind === 'world' &&
    flow.serverName !== undefined &&
    (serverNameOnAnyPort || (protocol === 'TCP' && port === 443))
  )
    return `${dstClass},${protocol},${port},n${normalizeDnsName(flow.serverName)}`;
  return serviceKey(dstClass, protocol, port);
}

/** An endpoint class, protocol and port as one cache key (a number for the usual port). */
function serviceKey(endpointClass: number, protocol: Protocol, port: number): number | string {
  const index = PROTOCOL_INDEX[protocol];
  return Number.isInteger(port) && port >= 0 && port < 65536 && index !== undefined
    ? endpointClass * SERVICES + port * 4 + index
    : `${endpointClass},${protocol},${port}`;
}

const evaluators = new WeakMap<PolicySet, WeakMap<Inventory, Evaluator>>();

/**
 * Convenience: evaluates one flow, compiling once per policySet/inventory pair. A `FlowRecord` is
 * resolved first; an end the inventory cannot resolve throws an Error naming it.
 */
export function evaluate(
  policySet: PolicySet,
  inventory: Inventory,
  flow: FlowRecord | ResolvedFlow,
): FlowVerdict {
  let byInventory = evaluators.get(policySet);
  if (!byInventory) {
    byInventory = new WeakMap();
    evaluators.set(policySet, byInventory);
  }
  let evaluator = byInventory.get(inventory);
  if (!evaluator) {
    evaluator = compileEvaluator(policySet, inventory);
    byInventory.set(inventory, evaluator);
  }
  if (typeof flow.src === 'string') {
    const resolved = resolveFlow(inventory, flow as FlowRecord);
    if (!resolved.ok) throw new Error(resolved.reason);
    return evaluator.evaluate(resolved.flow);
  }
  return evaluator.evaluate(flow as ResolvedFlow);
}
