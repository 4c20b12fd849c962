// Verdicts carry their reasons as data (SPEC sections 2-4): evaluate, explain, impact, the bot and
// the tests all read these same records.

export type Verdict = 'allow' | 'deny';
export type EnforcementPoint = 'egress' | 'ingress';

/**
 * Which step of the evaluation decided. The first six are the bands of SPEC section 2 in walk order;
 * the rest are the short-circuits that decide before any band.
 */
export type Band =
  | 'platform'
  | 'application'
  | 'networkpolicy'
  | 'isolation'
  | 'baseline'
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
  /** 0-based index into the deciding object's `ingress` or `egress` list (the point's direction). */
  rule?: number;
  decision: Verdict;
  /**
   * Human text, e.g. `NyxClusterNetworkPolicy/deny-public-internet egress[0] Deny`,
   * `isolated: no rule matched`, `default: deny-cross-namespace`, `excluded namespace`, `node-local probe`.
   */
  text: string;
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
