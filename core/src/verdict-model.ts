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
  /**
   * Absent only when the flow has no enforcement point (neither end is a pod): short-circuits
   * (excluded namespace, same pod, node-local probe) repeat their reason at each point the flow has.
   */
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
  /**
   * Upstream admin policy (SPEC 9.1, 9.4): the `Pass` rules this flow went through before what
   * decided it (an Admin-tier Pass before a Nyx band, a Baseline-tier Pass before the default), in
   * walk order.
   */
  passedBy?: PassedBy[];
}

/** A `Pass` rule of an upstream admin policy that handed the flow on (SPEC 9.1). */
export interface PassedBy {
  object: string;
  apiVersion: string;
  tier: 'Admin' | 'Baseline';
  priority?: number;
  rule: number;
  ruleName?: string;
  /** e.g. `ClusterNetworkPolicy/pass-mon ingress rule "monitoring" Pass (policy.networking.k8s.io/v1alpha2, tier Admin, priority 5)` */
  text: string;
  source?: string;
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

/** How `formatReason` writes a reason for one medium; every field has a plain-text default. */
export interface ReasonFormat {
  /** Lead with the enforcement point (`egress: …`); off where the point has a column of its own. */
  point?: boolean;
  /** Name the deciding object (`[kind/ns/name]`) when the text does not; off where the source says it. */
  object?: boolean;
  /** Applied to the text and to the source, which come from the tree (Markdown escapes them). */
  escape?: (text: string) => string;
  /** Appends the (escaped) source: ` at namespaces/x.yaml:12` by default. */
  source?: (source: string) => string;
}

/**
 * The one way a reason is written for people (the impact comment, `nyxctl explain`, the bot's
 * `/nyx explain`, test diagnostics): `egress: <text> (isolated by …)` or `… [object]`, then
 * `(audit)`, then each upstream Pass the flow went through (`(after <rule> Pass (…) <source>)`),
 * then the source. `reasonFormatter(format)` gives the writer for one medium.
 */
export function reasonFormatter(format: ReasonFormat = {}): (reason: Reason) => string {
  const {
    point = true,
    object = true,
    escape: escapeText = (t: string) => t,
    source = (s: string) => ` at ${s}`,
  } = format;
  return (reason) => {
    let text = point && reason.point ? `${reason.point}: ${reason.text}` : reason.text;
    const isolatedBy = isolatedByText(reason);
    if (isolatedBy) text += ` (${isolatedBy})`;
    else if (object && reason.object && !reason.text.includes(reason.object)) text += ` [${reason.object}]`;
    if (reason.audit) text += ' (audit)';
    let passes = '';
    for (const pass of reason.passedBy ?? [])
      passes += ` (after ${escapeText(pass.text)}${pass.source ? source(escapeText(pass.source)) : ''})`;
    return `${escapeText(text)}${passes}${reason.source ? source(escapeText(reason.source)) : ''}`;
  };
}

/** One line for humans: `egress: NyxClusterNetworkPolicy/x egress[0] Deny (audit) at cluster/x.yaml:12`. */
export const formatReason: (reason: Reason) => string = reasonFormatter();
