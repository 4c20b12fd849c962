// The band walk at one enforcement point over a pod's plan (SPEC section 4), the reasons it gives,
// and the short-circuits that decide before any band.

import { type AdminTierPlan, afterPass, walkAdminTier } from './admin-tiers.js';
import type { Endpoint } from './inventory-model.js';
import { where } from './policy-compile.js';
import type { CompiledPolicy, CompiledPolicySet, CompiledRule } from './policy-compiled.js';
import { BAND_ORDER } from './policy-facts.js';
import { firstMatchingRule, type PointContext } from './policy-match.js';
import type { Band, EnforcementPoint, FlowVerdict, Reason, Verdict } from './verdict-model.js';

/** Policies that select one pod (one equivalence class), per band, in walk order. */
export interface SubjectPlan {
  /**
   * Groups of equal priority, lower first; each group sorted by namespace/name. Only policies with
   * rules for this direction (the others can never have a hit here).
   */
  platform: CompiledPolicy[][];
  application: CompiledPolicy[][];
  baseline: CompiledPolicy[][];
  /** NetworkPolicies selecting the pod that isolate this direction, by namespace/name. */
  networkPolicies: CompiledPolicy[];
  /** NyxNetworkPolicies selecting the pod that list this direction in `policyTypes`, in walk order. */
  isolating: CompiledPolicy[];
  /** The enforced ones of `isolating` (what isolates in the effective walk). */
  enforcedIsolating: CompiledPolicy[];
  /** Some policy of the plan is in audit: the as-if-enforced walk may differ from the effective one. */
  hasAudit: boolean;
  /**
   * The policies in audit of the platform, application and baseline bands, in walk order with their
   * band's `BAND_ORDER`: the only ones that can make the as-if-enforced walk decide differently,
   * besides an isolating policy in audit (`auditIsolates`) and the config.
   */
  auditDeciders: ReadonlyArray<readonly [number, CompiledPolicy]>;
  /** Some isolating NyxNetworkPolicy of the plan is in audit. */
  auditIsolates: boolean;
  /** SPEC 9: the upstream admin policies whose subject selects the pod, per tier, in tier order. */
  adminTiers: AdminTierPlan;
  /** Some of `adminTiers` is in audit (the as-if-enforced walk is then walked again). */
  adminAudit: boolean;
}

/** The policies of one band that are in audit, in walk order, with the band's order. */
export function inAudit(
  order: number,
  policies: readonly CompiledPolicy[],
): Array<readonly [number, CompiledPolicy]> {
  return policies.filter((p) => !p.enforced).map((p) => [order, p] as const);
}

/** The ids of every policy a plan holds (any band, admin tiers included): the only ones its walk can name. */
export function planPolicyIds(plan: SubjectPlan): string[] {
  const ids: string[] = [];
  for (const bands of [plan.platform, plan.application, plan.baseline])
    for (const group of bands) for (const p of group) ids.push(p.id);
  for (const p of plan.networkPolicies) ids.push(p.id);
  for (const p of plan.isolating) ids.push(p.id);
  for (const p of plan.adminTiers.admin) ids.push(p.id);
  for (const p of plan.adminTiers.baseline) ids.push(p.id);
  return ids;
}

export function groupByPriority(policies: CompiledPolicy[]): CompiledPolicy[][] {
  const groups: CompiledPolicy[][] = [];
  for (const p of policies) {
    const last = groups[groups.length - 1];
    if (last && last[0]!.priority === p.priority) last.push(p);
    else groups.push([p]);
  }
  return groups;
}

export type Mode = 'effective' | 'asIfEnforced';

export function counts(p: CompiledPolicy, mode: Mode): boolean {
  return mode === 'asIfEnforced' || p.enforced;
}

// A rule belongs to one policy and one direction, so its reason is always the same record: built
// once and shared by every verdict it decides (verdicts and their reasons are read-only data).
const ruleReasons = new WeakMap<CompiledRule, Reason>();

/** The reason of a rule hit (one shared record per rule: `nyxctl compile --agent` attributes would-deny findings to it). */
export function ruleReason(
  p: CompiledPolicy,
  rule: CompiledRule,
  point: EnforcementPoint,
  band: Band,
): Reason {
  let reason = ruleReasons.get(rule);
  if (!reason) {
    const decision = rule.decision === 'deny' ? 'Deny' : 'Allow';
    reason = {
      point,
      band,
      object: p.id,
      rule: rule.index,
      decision: rule.decision,
      text: `${p.id} ${point}[${rule.index}] ${decision}`,
      source: rule.source,
      ...(p.enforced ? {} : { audit: true }),
    };
    ruleReasons.set(rule, reason);
  }
  return reason;
}

function walkGroups(
  groups: CompiledPolicy[][],
  ctx: PointContext,
  mode: Mode,
  band: Band,
): Reason | undefined {
  const point = ctx.direction;
  // Indexed loops: this runs for every point walked, and iterator objects would be garbage.
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g]!;
    let allowPolicy: CompiledPolicy | undefined;
    let allowRule: CompiledRule | undefined;
    for (let k = 0; k < group.length; k++) {
      const p = group[k]!;
      if (!counts(p, mode)) continue;
      const rules = p.rules[point];
      if (!rules) continue;
      const rule = firstMatchingRule(rules, ctx);
      if (!rule) continue;
      // Groups are sorted by namespace/name, so the first hit of each decision is the tie-break
      // winner; a Deny hit beats every Allow hit of the group.
      if (rule.decision === 'deny') return ruleReason(p, rule, point, band);
      if (!allowRule) {
        allowPolicy = p;
        allowRule = rule;
      }
    }
    if (allowPolicy && allowRule) return ruleReason(allowPolicy, allowRule, point, band);
  }
  return undefined;
}

// Reasons are read-only data: the ones that do not depend on the flow are built once and shared.
const isolationReasons = new WeakMap<readonly CompiledPolicy[], Partial<Record<EnforcementPoint, Reason>>>();

/**
 * The isolation deny of a point, naming every policy that isolates the pod for this direction
 * (`isolatedBy`). The `object` is the one a reader should look at first: a policy with no rule of
 * this direction (a default-deny) before one whose rules merely did not match, then walk order.
 * The effective walk lists only enforced policies; the as-if-enforced walk all of them.
 */
export function isolationReason(
  isolating: readonly CompiledPolicy[],
  point: EnforcementPoint,
  band: 'networkpolicy' | 'isolation',
): Reason {
  let byPoint = isolationReasons.get(isolating);
  if (!byPoint) {
    byPoint = {};
    isolationReasons.set(isolating, byPoint);
  }
  let reason = byPoint[point];
  if (!reason) {
    // Not by enforcement: promoting audit objects must leave the as-if-enforced reason as it is.
    const p = isolating.find((q) => (q.rules[point]?.length ?? 0) === 0) ?? isolating[0]!;
    reason = {
      point,
      band,
      object: p.id,
      isolatedBy: [p, ...isolating.filter((q) => q !== p)].map((q) => q.id),
      decision: 'deny',
      text: 'isolated: no rule matched',
      // NetworkPolicy: the object; NyxNetworkPolicy: its policyTypes, which is what isolates.
      source: band === 'isolation' ? where(p.object, '/spec/policyTypes') : p.source,
      ...(p.enforced ? {} : { audit: true }),
    };
    byPoint[point] = reason;
  }
  return reason;
}

type DefaultReasons = Record<Mode, Record<EnforcementPoint, Partial<Record<Verdict, Reason>>>>;
const defaultReasons = new WeakMap<CompiledPolicySet, DefaultReasons>();

export function defaultReason(
  compiled: CompiledPolicySet,
  mode: Mode,
  point: EnforcementPoint,
  decision: Verdict,
): Reason {
  let table = defaultReasons.get(compiled);
  if (!table) {
    table = {
      effective: { egress: {}, ingress: {} },
      asIfEnforced: { egress: {}, ingress: {} },
    };
    defaultReasons.set(compiled, table);
  }
  const byDecision = table[mode][point];
  let reason = byDecision[decision];
  if (!reason) {
    const defaultMode = compiled.defaultMode[mode];
    const configInAudit = compiled.configId !== undefined && !compiled.configEnforced;
    reason = {
      point,
      band: 'default',
      ...(compiled.configId ? { object: compiled.configId } : {}),
      decision,
      text:
        mode === 'effective' && configInAudit && compiled.defaultMode.asIfEnforced !== 'allow'
          ? 'default: allow (NyxClusterConfig in audit)'
          : `default: ${defaultMode}`,
      ...(compiled.configSource ? { source: compiled.configSource } : {}),
      ...(mode === 'asIfEnforced' && configInAudit ? { audit: true } : {}),
    };
    byDecision[decision] = reason;
  }
  return reason;
}

export function evaluatePoint(
  compiled: CompiledPolicySet,
  plan: SubjectPlan,
  ctx: PointContext,
  mode: Mode,
  src: Endpoint,
  dst: Endpoint,
): Reason {
  // SPEC 9.1: the Admin tier of upstream admin policy, before band 1.
  if (plan.adminTiers.admin.length > 0) {
    const admin = walkAdminTier(plan.adminTiers.admin, ctx, mode === 'asIfEnforced', 'admin-tier');
    if (admin && 'reason' in admin) return admin.reason;
    if (admin) return afterPass(evaluateBelowAdminTier(compiled, plan, ctx, mode, src, dst), admin.pass);
  }
  return evaluateBelowAdminTier(compiled, plan, ctx, mode, src, dst);
}

/** Bands 1 to 6 of SPEC section 2, with the Baseline tier of SPEC 9.1 before the default. */
function evaluateBelowAdminTier(
  compiled: CompiledPolicySet,
  plan: SubjectPlan,
  ctx: PointContext,
  mode: Mode,
  src: Endpoint,
  dst: Endpoint,
): Reason {
  const point = ctx.direction;
  // 1. platform band
  const platform = walkGroups(plan.platform, ctx, mode, 'platform');
  if (platform) return platform;
  // 2. application band
  const application = walkGroups(plan.application, ctx, mode, 'application');
  if (application) return application;
  // 3. upstream NetworkPolicy: isolated when any selects the pod for this direction.
  const isolatingNp = plan.networkPolicies;
  if (isolatingNp.length > 0) {
    for (const p of isolatingNp) {
      const rule = firstMatchingRule(p.rules[point] ?? [], ctx);
      if (rule) return ruleReason(p, rule, point, 'networkpolicy');
    }
    return isolationReason(isolatingNp, point, 'networkpolicy');
  }
  // 4. isolation by an enforced (or, as-if-enforced, any) NyxNetworkPolicy listing this direction.
  // Reaching here means no application policy had a hit, so none of its rules matched.
  const isolating = mode === 'asIfEnforced' ? plan.isolating : plan.enforcedIsolating;
  if (isolating.length > 0) return isolationReason(isolating, point, 'isolation');
  // 5. baseline band
  const baseline = walkGroups(plan.baseline, ctx, mode, 'baseline');
  if (baseline) return baseline;
  // SPEC 9.1: the Baseline tier of upstream admin policy, after band 5.
  if (plan.adminTiers.baseline.length > 0) {
    const tier = walkAdminTier(plan.adminTiers.baseline, ctx, mode === 'asIfEnforced', 'baseline-tier');
    if (tier && 'reason' in tier) return tier.reason;
    if (tier) return afterPass(defaultAt(compiled, mode, point, src, dst), tier.pass);
  }
  // 6. default
  return defaultAt(compiled, mode, point, src, dst);
}

function defaultAt(
  compiled: CompiledPolicySet,
  mode: Mode,
  point: EnforcementPoint,
  src: Endpoint,
  dst: Endpoint,
): Reason {
  const defaultMode = compiled.defaultMode[mode];
  const decision: Verdict =
    defaultMode === 'allow'
      ? 'allow'
      : defaultMode === 'deny'
        ? 'deny'
        : src.kind === 'pod' && dst.kind === 'pod' && src.pod.namespace !== dst.pod.namespace
          ? 'deny'
          : 'allow';
  return defaultReason(compiled, mode, point, decision);
}

/**
 * The as-if-enforced reason at a point whose effective reason is known. The as-if-enforced walk
 * reads the same policies plus those in audit: when no policy in audit has a hit in the bands up to
 * the one that decided (and none in audit isolates, where the walk reaches band 4), it decides the
 * same way; at the default only the default's as-if-enforced mode differs. Otherwise, walk again.
 */
export function asIfEnforcedAt(
  compiled: CompiledPolicySet,
  plan: SubjectPlan,
  ctx: PointContext,
  effective: Reason,
  src: Endpoint,
  dst: Endpoint,
): Reason {
  const decidedAt = BAND_ORDER[effective.band as keyof typeof BAND_ORDER];
  let same = !(decidedAt >= BAND_ORDER.isolation && plan.auditIsolates) && !plan.adminAudit;
  const deciders = plan.auditDeciders;
  for (let k = 0; k < deciders.length; k++) {
    const [order, p] = deciders[k]!;
    if (!same || order > decidedAt) break;
    const rules = p.rules[ctx.direction];
    if (rules && firstMatchingRule(rules, ctx)) same = false;
  }
  if (!same) return evaluatePoint(compiled, plan, ctx, 'asIfEnforced', src, dst);
  return effective.band === 'default'
    ? defaultAt(compiled, 'asIfEnforced', ctx.direction, src, dst)
    : effective;
}

export function flowWide(band: Band, text: string): FlowVerdict {
  const reason: Reason = { band, decision: 'allow', text };
  return { verdict: 'allow', asIfEnforced: 'allow', reasons: [reason], asIfEnforcedReasons: [reason] };
}

/**
 * The verdicts of a short-circuit (excluded namespace, same pod, node-local probe): allowed, with the
 * reason repeated at each enforcement point the flow has (egress when the source is a pod, ingress
 * when the destination is), as SPEC section 7 asks for "one entry per enforcement point" and section 4
 * lists these among the reasons a point carries. Built once per band and shared (read-only data).
 */
function shortCircuit(band: Band, text: string): (src: Endpoint, dst: Endpoint) => FlowVerdict {
  const at = (points: EnforcementPoint[]): FlowVerdict => {
    const reasons = points.map((point): Reason => ({ point, band, decision: 'allow', text }));
    return { verdict: 'allow', asIfEnforced: 'allow', reasons, asIfEnforcedReasons: reasons };
  };
  const both = at(['egress', 'ingress']);
  const egress = at(['egress']);
  const ingress = at(['ingress']);
  const none = flowWide(band, text);
  return (src, dst) =>
    src.kind === 'pod' ? (dst.kind === 'pod' ? both : egress) : dst.kind === 'pod' ? ingress : none;
}

export const EXCLUDED = shortCircuit('excluded-namespace', 'excluded namespace');
export const SAME_POD = shortCircuit('same-pod', 'same pod');
export const NODE_LOCAL = shortCircuit('node-local', 'node-local probe');
