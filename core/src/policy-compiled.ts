// The compiled policy set (SPEC sections 1-4 as data): selectors compiled into predicates, CIDRs
// parsed, rules as lists of peers and ports, each with the source it came from. What the walk, lint
// and the ruleset renderer (core/src/nft.ts) read.

import type { CompiledAdminTiers } from './admin-tiers.js';
import type { Cidr } from './cidr.js';
import type { FqdnPredicate } from './fqdn.js';
import type { DefaultMode, Direction, FqdnMatch, LabelSelector, PolicyObject, Protocol } from './model.js';
import type { PolicyBand } from './policy-facts.js';
import type { LabelPredicate } from './selector.js';
import type { Verdict } from './verdict-model.js';

/** Matches an address in `cidr` and in none of `except`. */
export interface CompiledIpBlock {
  text: string;
  cidr: Cidr;
  except: Cidr[];
  /** IPv4 blocks as inclusive uint32 ranges, for a fast path (same answer as `cidr`/`except`). */
  v4?: { start: number; end: number; except: Array<[number, number]> };
}

/**
 * A selector peer. Matches a pod whose namespace is `namespace` (when set), whose namespace labels
 * match `namespaceSelector` (when set) and whose labels match `podSelector` (when set).
 */
export interface CompiledPodPeer {
  namespace?: string;
  namespaceSelector?: LabelPredicate;
  podSelector?: LabelPredicate;
  /** The selectors the predicates were compiled from, as written (for renderings such as nft comments). */
  selectors: { namespaceSelector?: LabelSelector; podSelector?: LabelSelector };
}

export interface CompiledPeers {
  pods: CompiledPodPeer[];
  ipBlocks: CompiledIpBlock[];
  /**
   * Nyx `toIpBlock`/`fromIpBlock` match `world` addresses only; upstream NetworkPolicy `ipBlock`
   * matches any address, pod and node IPs included.
   */
  ipBlocksMatchClusterAddresses: boolean;
  /** `toFqdn`: a `world` destination on TCP 443 whose server name fits one of these. */
  fqdns: FqdnPredicate[];
  /** The `toFqdn` entries the predicates were compiled from, as written (same order). */
  fqdnMatches: FqdnMatch[];
  /** Upstream admin `nodes` peers: a node (or hostNetwork pod) whose Node labels match. */
  nodes?: LabelPredicate[];
  /** Upstream admin `domainNames`: the server name matches on any port the rule lists (SPEC 9.2). */
  fqdnsOnAnyPort?: boolean;
}

/** A port entry; `name` is a named port resolved against the destination pod's container ports. */
export interface CompiledPort {
  protocol: Protocol;
  port?: number;
  endPort?: number;
  name?: string;
}

export interface CompiledRule {
  /** 0-based index into the policy's list for this direction. */
  index: number;
  decision: Verdict;
  /** Undefined: every peer. */
  peers?: CompiledPeers;
  /** Undefined: every port and protocol. */
  ports?: CompiledPort[];
  /** `file:line` of the rule. */
  source: string;
}

export type { PolicyBand } from './policy-facts.js';

export interface CompiledPolicy {
  id: string;
  object: PolicyObject;
  band: PolicyBand;
  /** Nyx priority (NyxNetworkPolicy default 500); 0 for NetworkPolicy, which has none. */
  priority: number;
  /** `enforcement` of a Nyx object; NetworkPolicy is always enforced. */
  enforced: boolean;
  /** The policy's namespace (namespaced kinds), whose pods it selects. */
  namespace?: string;
  /** Cluster policies: namespaces whose labels match are in scope. */
  namespaceSelector: LabelPredicate;
  podSelector: LabelPredicate;
  /** The selectors the predicates were compiled from, as written (absent: the predicate matches all). */
  selectors: { namespaceSelector?: LabelSelector; podSelector?: LabelSelector };
  /** Rules per direction; undefined when the policy says nothing for that direction (ignored). */
  rules: Record<Direction, CompiledRule[] | undefined>;
  /**
   * Directions this policy isolates: listed `policyTypes` of a NyxNetworkPolicy (band 4), upstream
   * `policyTypes` (inferred when omitted) of a NetworkPolicy (band 3). Cluster policies never isolate.
   */
  isolates: Record<Direction, boolean>;
  source: string;
}

export interface CompiledPolicySet {
  policies: CompiledPolicy[];
  excludedNamespaces: ReadonlySet<string>;
  /** `defaultMode` when everything is enforced, and as the effective walk sees it. */
  defaultMode: { effective: DefaultMode; asIfEnforced: DefaultMode };
  configId?: string;
  configSource?: string;
  configEnforced: boolean;
  /** SPEC 9: the upstream admin policy tiers (`NO_ADMIN_TIERS` when the tree has none). */
  adminTiers: CompiledAdminTiers;
}
