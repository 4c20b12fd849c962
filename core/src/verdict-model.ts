// Verdicts carry their reasons as data (SPEC sections 2-4): evaluate, explain, impact, the bot and
// the tests all read these same records.

export type Verdict = 'allow' | 'deny';
export type EnforcementPoint = 'egress' | 'ingress';

/**
 * Which step of the evaluation decided. The first six are the bands of SPEC section 2 in walk order;
 * the rest are the short-circuits that decide before any band.
 */
export type Band =
  /** SPEC 9.1: upstream admin policy, Admin tier (before band 1). */
  | 'admin-tier'
  | 'platform'
  | 'application'
  | 'networkpolicy'
  | 'isolation'
  | 'baseline'
  /** SPEC 9.1: upstream admin policy, Baseline tier (after band 5). */
  | 'baseline-tier'
  | 'default'
  | 'excluded-namespace'
  | 'node-local'
  | 'same-pod'
  /** Neither end is a pod (node or world to node or world): no enforcement point, allowed. */
  | 'no-enforcement-point';

export interface Reason {
  /** Absent only for reasons that decide the whole flow before any point (excluded namespace, same pod, node-local probe). */
  point?: EnforcementPoint;
  band: Band;
  /** `Kind/namespace/name` or `Kind/name` of the deciding object (the isolating policy for `isolation`). */
  object?: string;
  /**
   * For an isolation deny (`isolated: no rule matched`): every policy that isolates the pod for this
   * direction, `object` first. A pod is isolated by all of them at once, not by the first alone.
   */
  isolatedBy?: string[];
  /** 0-based index into the deciding object's `ingress` or `egress` list (the point's direction). */
  rule?: number;
  decision: Verdict;
  /**
   * Human text, e.g. `NyxClusterNetworkPolicy/deny-public-internet egress[0] Deny`,
   * `isolated: no rule matched`, `default: deny-cross-namespace`, `excluded namespace`, `node-local probe`.
   */
  text: string;
  /** Upstream admin policy (SPEC 9.4): the rule's `name`, when it has one. */
  ruleName?: string;
  /** Upstream admin policy: the object's API version. */
  apiVersion?: string;
  /** Upstream admin policy: `Admin` or `Baseline`. */
  tier?: 'Admin' | 'Baseline';
  /** Upstream admin policy: the object's priority (the BaselineAdminNetworkPolicy has none). */
  priority?: number;
  /** `file:line` of the deciding rule or object, when there is one. */
  source?: string;
  /** True when the deciding object is in `audit` (only in as-if-enforced reasons). */
  audit?: boolean;
}

export interface FlowVerdict {
  /** Effective: only enforced objects count (SPEC section 3). */
  verdict: Verdict;
  /** The same walk with every object treated as enforced. */
  asIfEnforced: Verdict;
  /** One entry per enforcement point (or a single flow-wide reason), for the effective verdict. */
  reasons: Reason[];
  /** The same for the as-if-enforced verdict. */
  asIfEnforcedReasons: Reason[];
}

/** How many isolating policies a text names before "and N more". */
const ISOLATED_BY_SHOWN = 3;

/**
 * `isolated by NetworkPolicy/checkout/default-deny-all, NetworkPolicy/checkout/allow-dns-egress`
 * (the first three, then "and N more") for an isolation deny; undefined for any other reason.
 */
export function isolatedByText(reason: Reason): string | undefined {
  const list = reason.isolatedBy;
  if (!list || list.length === 0) return undefined;
  const shown = list.slice(0, ISOLATED_BY_SHOWN).join(', ');
  const more = list.length - ISOLATED_BY_SHOWN;
  return `isolated by ${shown}${more > 0 ? ` and ${more} more` : ''}`;
}
