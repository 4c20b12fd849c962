// SPEC section 9: the upstream admin policy tiers in the walk of section 2. The Admin tier
// (ClusterNetworkPolicy tier Admin and AdminNetworkPolicy, one list by priority, v1alpha2 first at
// equal priority) is tried before band 1; the Baseline tier (ClusterNetworkPolicy tier Baseline by
// priority, then the BaselineAdminNetworkPolicy) after band 5. The evaluator calls `walkAdminTier`
// at those two places; rules compile to the evaluator's own `CompiledRule`, so peers and ports are
// matched by its one matcher (`firstMatchingRule`).
//
// Reading of SPEC 9.1 (upstream's): inside a policy the first matching rule decides for that policy;
// a policy none of whose rules match decides nothing and the walk goes on with the next policy of the
// tier; `Pass` ends the tier (Admin: on to band 1; Baseline: on to band 6).
import { compileFqdnMatch } from './fqdn.js';
import type { Pod } from './inventory-model.js';
import {
  type AdminPeer,
  type AdminPodsSelector,
  type AdminPortV1alpha1,
  type AdminProtocolV1alpha2,
  type AdminRule,
  type Direction,
  enforcementOf,
  isUpstreamAdminPolicy,
  type LabelSelector,
  objectId,
  type PolicySet,
  type Protocol,
  type UpstreamAdminPolicy,
} from './model.js';
import { compileIpBlock } from './policy-compile.js';
import type { CompiledPeers, CompiledPodPeer, CompiledPort, CompiledRule } from './policy-compiled.js';
import { firstMatchingRule, type PointContext } from './policy-match.js';
import { compileSelector, type LabelPredicate } from './selector.js';
import type { Band, EnforcementPoint, PassedBy, Reason } from './verdict-model.js';

export type AdminTier = 'Admin' | 'Baseline';
export type AdminAction = 'accept' | 'deny' | 'pass';

export interface CompiledAdminRule {
  rule: CompiledRule;
  action: AdminAction;
  name?: string;
}

export interface CompiledAdminPolicy {
  id: string;
  /** `rules[d]`'s compiled rules, as `firstMatchingRule` takes them (index = position). */
  matchable: Record<Direction, CompiledRule[] | undefined>;
  object: UpstreamAdminPolicy;
  tier: AdminTier;
  /** The BaselineAdminNetworkPolicy has none: it comes after every ClusterNetworkPolicy of its tier. */
  priority?: number;
  enforced: boolean;
  subject: (pod: Pod) => boolean;
  rules: Record<Direction, CompiledAdminRule[] | undefined>;
  /** Some rule has `domainNames`: the server name matters on any port. */
  hasDomainNames: boolean;
}

export interface CompiledAdminTiers {
  admin: CompiledAdminPolicy[];
  baseline: CompiledAdminPolicy[];
}

/** What one pod's point sees of the tiers: the policies whose subject selects it with rules for the direction. */
export interface AdminTierPlan {
  admin: CompiledAdminPolicy[];
  baseline: CompiledAdminPolicy[];
}

export const NO_ADMIN_TIERS: CompiledAdminTiers = { admin: [], baseline: [] };
export const EMPTY_ADMIN_PLAN: AdminTierPlan = { admin: [], baseline: [] };

const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

function selectorPredicate(selector: LabelSelector | undefined): LabelPredicate | undefined {
  return selector ? compileSelector(selector) : undefined;
}

function podsPeer(pods: AdminPodsSelector): CompiledPodPeer {
  // v1alpha2: an absent namespaceSelector is every namespace.
  return {
    namespace: undefined,
    namespaceSelector: selectorPredicate(pods.namespaceSelector),
    podSelector: compileSelector(pods.podSelector),
    selectors: {
      ...(pods.namespaceSelector ? { namespaceSelector: pods.namespaceSelector } : {}),
      podSelector: pods.podSelector,
    },
  };
}

function compilePeers(peers: readonly AdminPeer[]): CompiledPeers {
  const compiled: CompiledPeers = {
    pods: [],
    ipBlocks: [],
    // Upstream: `networks` matches any address in the CIDR, pod IPs included (SPEC 9.2).
    ipBlocksMatchClusterAddresses: true,
    fqdns: [],
    fqdnMatches: [],
    nodes: [],
    fqdnsOnAnyPort: true,
  };
  for (const peer of peers) {
    if (peer.namespaces) {
      compiled.pods.push({
        namespace: undefined,
        namespaceSelector: compileSelector(peer.namespaces),
        podSelector: undefined,
        selectors: { namespaceSelector: peer.namespaces },
      });
    }
    if (peer.pods) compiled.pods.push(podsPeer(peer.pods));
    if (peer.nodes) compiled.nodes!.push(compileSelector(peer.nodes));
    for (const text of peer.networks ?? []) {
      const block = compileIpBlock({ cidr: text });
      if (block) compiled.ipBlocks.push(block);
    }
    for (const name of peer.domainNames ?? []) {
      const match = name.startsWith('*.') ? { matchPattern: name } : { matchName: name };
      compiled.fqdns.push(compileFqdnMatch(match));
      compiled.fqdnMatches.push(match);
    }
  }
  return compiled;
}

/** A named port resolves on the destination pod with that port's own protocol: one entry per protocol. */
function namedPort(name: string): CompiledPort[] {
  return PROTOCOLS.map((protocol) => ({ protocol, name }));
}

function compileV1alpha1Ports(ports: readonly AdminPortV1alpha1[]): CompiledPort[] {
  return ports.flatMap((p): CompiledPort[] => {
    if (p.portNumber) return [{ protocol: p.portNumber.protocol ?? 'TCP', port: p.portNumber.port }];
    if (p.portRange)
      return [{ protocol: p.portRange.protocol ?? 'TCP', port: p.portRange.start, endPort: p.portRange.end }];
    return p.namedPort !== undefined ? namedPort(p.namedPort) : [];
  });
}

function compileV1alpha2Protocols(protocols: readonly AdminProtocolV1alpha2[]): CompiledPort[] {
  return protocols.flatMap((p): CompiledPort[] => {
    if (p.destinationNamedPort !== undefined) return namedPort(p.destinationNamedPort);
    const out: CompiledPort[] = [];
    for (const [key, protocol] of [
      ['tcp', 'TCP'],
      ['udp', 'UDP'],
      ['sctp', 'SCTP'],
    ] as const) {
      const entry = p[key];
      if (!entry) continue;
      const dport = entry.destinationPort;
      if (dport?.number !== undefined) out.push({ protocol, port: dport.number });
      else if (dport?.range) out.push({ protocol, port: dport.range.start, endPort: dport.range.end });
      else out.push({ protocol });
    }
    return out;
  });
}

function where(o: UpstreamAdminPolicy, pointer: string): string {
  return `${o.source.file}:${o.lines[pointer] ?? o.source.line}`;
}

function compileRule(o: UpstreamAdminPolicy, direction: Direction, rule: AdminRule, index: number) {
  const peers = (direction === 'egress' ? rule.to : rule.from) ?? [];
  const ports =
    o.kind === 'ClusterNetworkPolicy'
      ? rule.protocols && compileV1alpha2Protocols(rule.protocols)
      : rule.ports && compileV1alpha1Ports(rule.ports);
  const action: AdminAction = rule.action === 'Deny' ? 'deny' : rule.action === 'Pass' ? 'pass' : 'accept';
  const compiled: CompiledAdminRule = {
    rule: {
      index,
      decision: action === 'deny' ? 'deny' : 'allow',
      peers: compilePeers(peers),
      ...(ports && ports.length > 0 ? { ports } : {}),
      source: where(o, `/spec/${direction}/${index}`),
    },
    action,
    ...(rule.name !== undefined ? { name: rule.name } : {}),
  };
  return compiled;
}

function compileSubject(o: UpstreamAdminPolicy): (pod: Pod) => boolean {
  const { namespaces, pods } = o.spec.subject;
  if (namespaces) {
    const ns = compileSelector(namespaces);
    return (pod) => ns(pod.namespaceLabels);
  }
  if (pods) {
    const ns = selectorPredicate(pods.namespaceSelector);
    const sel = compileSelector(pods.podSelector);
    return (pod) => (ns === undefined || ns(pod.namespaceLabels)) && sel(pod.labels);
  }
  return () => false;
}

function compileAdminPolicy(o: UpstreamAdminPolicy): CompiledAdminPolicy {
  const rules = {} as Record<Direction, CompiledAdminRule[] | undefined>;
  let hasDomainNames = false;
  for (const d of ['ingress', 'egress'] as const) {
    const list = o.spec[d];
    // An object with no rule for a direction takes no part in it (SPEC 9.1).
    rules[d] = list && list.length > 0 ? list.map((r, i) => compileRule(o, d, r, i)) : undefined;
    for (const r of list ?? []) {
      if ((r.to ?? []).some((p) => p.domainNames !== undefined)) hasDomainNames = true;
    }
  }
  const tier: AdminTier =
    o.kind === 'AdminNetworkPolicy'
      ? 'Admin'
      : o.kind === 'BaselineAdminNetworkPolicy'
        ? 'Baseline'
        : o.spec.tier!;
  return {
    id: objectId(o),
    matchable: { ingress: rules.ingress?.map((r) => r.rule), egress: rules.egress?.map((r) => r.rule) },
    object: o,
    tier,
    ...(o.spec.priority !== undefined ? { priority: o.spec.priority } : {}),
    enforced: enforcementOf(o) === 'enforce',
    subject: compileSubject(o),
    rules,
    hasDomainNames,
  };
}

/** Walk order inside a tier: priority (lower first), v1alpha2 before v1alpha1 at equal priority, the BANP last. */
function tierOrder(a: CompiledAdminPolicy, b: CompiledAdminPolicy): number {
  const pa = a.priority ?? Number.POSITIVE_INFINITY;
  const pb = b.priority ?? Number.POSITIVE_INFINITY;
  if (pa !== pb) return pa - pb;
  const va = a.object.kind === 'ClusterNetworkPolicy' ? 0 : 1;
  const vb = b.object.kind === 'ClusterNetworkPolicy' ? 0 : 1;
  return va - vb || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The tiers of a policy set; `NO_ADMIN_TIERS` (shared) when it has none, so trees without them pay nothing. */
export function compileAdminTiers(policySet: PolicySet): CompiledAdminTiers {
  const objects = policySet.objects.filter(isUpstreamAdminPolicy);
  if (objects.length === 0) return NO_ADMIN_TIERS;
  const compiled = objects.map(compileAdminPolicy);
  return {
    admin: compiled.filter((p) => p.tier === 'Admin').sort(tierOrder),
    baseline: compiled.filter((p) => p.tier === 'Baseline').sort(tierOrder),
  };
}

export function adminTierPlan(tiers: CompiledAdminTiers, pod: Pod, direction: Direction): AdminTierPlan {
  if (tiers === NO_ADMIN_TIERS) return EMPTY_ADMIN_PLAN;
  const take = (p: CompiledAdminPolicy) => p.rules[direction] !== undefined && p.subject(pod);
  return { admin: tiers.admin.filter(take), baseline: tiers.baseline.filter(take) };
}

export type AdminBand = Extract<Band, 'admin-tier' | 'baseline-tier'>;

const reasons = new WeakMap<CompiledAdminRule, Reason>();

function ruleLabel(rule: CompiledAdminRule, direction: Direction): string {
  return rule.name !== undefined
    ? `${direction} rule ${JSON.stringify(rule.name)}`
    : `${direction}[${rule.rule.index}]`;
}

/** The reason of an upstream admin rule's hit (one shared record per rule). */
export function adminReason(
  p: CompiledAdminPolicy,
  rule: CompiledAdminRule,
  point: EnforcementPoint,
  band: AdminBand,
) {
  let reason = reasons.get(rule);
  if (!reason) {
    const action =
      rule.action === 'deny' ? 'Deny' : p.object.kind === 'ClusterNetworkPolicy' ? 'Accept' : 'Allow';
    const priority = p.priority !== undefined ? `, priority ${p.priority}` : '';
    reason = {
      point,
      band,
      object: p.id,
      rule: rule.rule.index,
      ...(rule.name !== undefined ? { ruleName: rule.name } : {}),
      apiVersion: p.object.apiVersion,
      tier: p.tier,
      ...(p.priority !== undefined ? { priority: p.priority } : {}),
      decision: rule.action === 'deny' ? 'deny' : 'allow',
      text: `${p.id} ${ruleLabel(rule, point)} ${action} (${p.object.apiVersion}, tier ${p.tier}${priority})`,
      source: rule.rule.source,
      ...(p.enforced ? {} : { audit: true }),
    };
    reasons.set(rule, reason);
  }
  return reason;
}

const passes = new WeakMap<CompiledAdminRule, PassedBy>();

function passNote(p: CompiledAdminPolicy, rule: CompiledAdminRule, point: EnforcementPoint): PassedBy {
  let note = passes.get(rule);
  if (!note) {
    const priority = p.priority !== undefined ? `, priority ${p.priority}` : '';
    note = {
      object: p.id,
      apiVersion: p.object.apiVersion,
      tier: p.tier,
      ...(p.priority !== undefined ? { priority: p.priority } : {}),
      rule: rule.rule.index,
      ...(rule.name !== undefined ? { ruleName: rule.name } : {}),
      text: `${p.id} ${ruleLabel(rule, point)} Pass (${p.object.apiVersion}, tier ${p.tier}${priority})`,
      ...(rule.rule.source !== undefined ? { source: rule.rule.source } : {}),
    };
    passes.set(rule, note);
  }
  return note;
}

/** What one tier did at one point: decided (a reason), passed (by which rule), or nothing matched. */
export type AdminTierOutcome = { reason: Reason } | { pass: PassedBy } | undefined;

/**
 * One tier at one point: the first policy (in tier order) whose first matching rule is Accept/Allow
 * or Deny decides; a matching Pass ends the tier undecided (and says which rule passed, for the
 * explanation of what decides next); policies in audit count only when `asIfEnforced`.
 */
export function walkAdminTier(
  policies: readonly CompiledAdminPolicy[],
  ctx: PointContext,
  asIfEnforced: boolean,
  band: AdminBand,
): AdminTierOutcome {
  const point = ctx.direction;
  for (const p of policies) {
    if (!asIfEnforced && !p.enforced) continue;
    const matchable = p.matchable[point];
    if (!matchable) continue;
    const hit = firstMatchingRule(matchable, ctx);
    if (!hit) continue;
    const rule = p.rules[point]![hit.index]!;
    if (rule.action === 'pass') return { pass: passNote(p, rule, point) };
    return { reason: adminReason(p, rule, point, band) };
  }
  return undefined;
}

const passedReasons = new WeakMap<Reason, WeakMap<PassedBy, Reason>>();

/**
 * `reason` (what decided after a Pass) with the Pass recorded in front of its own `passedBy`: one
 * object per (reason, pass), so verdicts stay shared between flows as they are without a Pass.
 */
export function afterPass(reason: Reason, pass: PassedBy): Reason {
  let byPass = passedReasons.get(reason);
  if (!byPass) {
    byPass = new WeakMap();
    passedReasons.set(reason, byPass);
  }
  let out = byPass.get(pass);
  if (!out) {
    out = { ...reason, passedBy: [pass, ...(reason.passedBy ?? [])] };
    byPass.set(pass, out);
  }
  return out;
}
