// The facts of SPEC section 4 that every reader of a policy shares: which band a policy sits in and
// the walk order of the bands, the default priority and the band limits, which directions a policy
// lists and isolates (upstream `policyTypes` inference included), and where a rule's peers are. The
// evaluator, lint, load, ownership and the nftables renderer read them here, so the simulator and the
// kernel cannot drift apart (SPEC section 6).

import type {
  Direction,
  IpBlock,
  LabelSelector,
  NetworkPolicy,
  NyxClusterNetworkPolicy,
  NyxNetworkPolicy,
  PolicyObject,
} from './model.js';

/** A Nyx policy: namespaced or cluster-wide. */
export type NyxPolicy = NyxNetworkPolicy | NyxClusterNetworkPolicy;

/** A policy object that has rules (Nyx or upstream NetworkPolicy). */
export type RuleObject = NyxPolicy | NetworkPolicy;

/** Priority of a NyxNetworkPolicy that sets none. */
export const DEFAULT_PRIORITY = 500;

/** The priority ranges of the Nyx bands (inclusive). */
export const BAND_LIMITS = {
  platform: { min: 0, max: 99 },
  namespace: { min: 100, max: 899 },
  baseline: { min: 900, max: 999 },
} as const;

/** The band a policy's rules decide in. */
export type PolicyBand = 'platform' | 'application' | 'networkpolicy' | 'baseline';

/** Every band a point's reason can come from that has a place in the walk. */
export type WalkBand = PolicyBand | 'isolation' | 'default';

/** Walk order of the bands at one enforcement point (SPEC section 4): lower decides first. */
export const BAND_ORDER: Readonly<Record<WalkBand, number>> = {
  platform: 0,
  application: 1,
  networkpolicy: 2,
  isolation: 3,
  baseline: 4,
  default: 5,
};

/** The band of a policy: tier for cluster policies, application for namespaced Nyx policies. */
export function policyBand(o: RuleObject): PolicyBand {
  if (o.kind === 'NetworkPolicy') return 'networkpolicy';
  if (o.kind === 'NyxNetworkPolicy') return 'application';
  return o.spec.tier === 'baseline' ? 'baseline' : 'platform';
}

/**
 * The Nyx priority of an object: a NyxNetworkPolicy's defaults to `DEFAULT_PRIORITY`, a cluster
 * policy's is required; undefined for every other kind (NetworkPolicy has none).
 */
export function priorityOf(o: NyxPolicy): number;
export function priorityOf(o: PolicyObject): number | undefined;
export function priorityOf(o: PolicyObject): number | undefined {
  if (o.kind === 'NyxClusterNetworkPolicy') return o.spec.priority;
  if (o.kind === 'NyxNetworkPolicy') return o.spec.priority ?? DEFAULT_PRIORITY;
  return undefined;
}

/** The upstream inference when `policyTypes` is omitted: Ingress always, Egress when there are egress rules. */
export function upstreamPolicyTypes(spec: NetworkPolicy['spec']): ReadonlyArray<'Ingress' | 'Egress'> {
  return spec.policyTypes ?? ['Ingress', ...((spec.egress?.length ?? 0) > 0 ? ['Egress' as const] : [])];
}

/** The `policyTypes` value naming a direction. */
export function policyTypeOf(d: Direction): 'Ingress' | 'Egress' {
  return d === 'ingress' ? 'Ingress' : 'Egress';
}

/**
 * Whether a policy's rules of a direction apply: a NetworkPolicy's when its (inferred) `policyTypes`
 * list the direction, a Nyx policy's when it lists the direction or has no `policyTypes`.
 */
export function listsDirection(o: RuleObject, d: Direction): boolean {
  const types = o.kind === 'NetworkPolicy' ? upstreamPolicyTypes(o.spec) : o.spec.policyTypes;
  return types === undefined || types.includes(policyTypeOf(d));
}

/**
 * Whether a policy isolates the pods it selects in a direction: a NetworkPolicy listing it (with the
 * upstream inference), a NyxNetworkPolicy listing it in `policyTypes`. Cluster policies never isolate.
 */
export function isolatesDirection(o: RuleObject, d: Direction): boolean {
  if (o.kind === 'NyxClusterNetworkPolicy') return false;
  if (o.kind === 'NetworkPolicy') return upstreamPolicyTypes(o.spec).includes(policyTypeOf(d));
  return o.spec.policyTypes?.includes(policyTypeOf(d)) ?? false;
}

/** The rules of one direction as written (before any `policyTypes` filtering). */
export function rulesOf(o: RuleObject, d: Direction): readonly unknown[] | undefined {
  return d === 'ingress' ? o.spec.ingress : o.spec.egress;
}

/** A peer of an upstream NetworkPolicy rule. */
export interface UpstreamPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: IpBlock;
}

/** The `from` (ingress) or `to` (egress) peers of an upstream NetworkPolicy rule. */
export function upstreamPeersOf(rule: unknown, d: Direction): UpstreamPeer[] | undefined {
  return (d === 'egress' ? (rule as { to?: unknown[] }).to : (rule as { from?: unknown[] }).from) as
    | UpstreamPeer[]
    | undefined;
}

/** The peer fields of a Nyx rule, read for one direction. */
export interface NyxRulePeers<S, B, F> {
  /** `to` (egress) or `from` (ingress): selector peers. */
  selectors: S[] | undefined;
  /** `toIpBlock` or `fromIpBlock`. */
  ipBlock: B | undefined;
  /** `toFqdn` (egress only). */
  fqdn: F[] | undefined;
}

/** The selector, ip block and FQDN peers of a Nyx rule in one direction. */
export function nyxPeersOf<S, B, F>(
  rule: { to?: S[]; from?: S[]; toIpBlock?: B; fromIpBlock?: B; toFqdn?: F[] },
  d: Direction,
): NyxRulePeers<S, B, F> {
  return d === 'egress'
    ? { selectors: rule.to, ipBlock: rule.toIpBlock, fqdn: rule.toFqdn }
    : { selectors: rule.from, ipBlock: rule.fromIpBlock, fqdn: undefined };
}
