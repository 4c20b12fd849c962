// SPEC sections 2-4: the verdict of one flow, effective and as-if-enforced, with its reasons.
//
// Policies are compiled once into data (selectors into predicates, CIDRs parsed, rules into lists of
// peers and ports); evaluation walks those lists. The nftables compiler of the next phase reads the
// same `CompiledPolicySet` (see `Evaluator.compiled`), so nothing here is tied to reporting.
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
import {
  type AdminTierPlan,
  adminTierPlan,
  type CompiledAdminTiers,
  compileAdminTiers,
  walkAdminTier,
} from './admin-tiers.js';
import { type Cidr, cidrContains, parseCidr, parseIp } from './cidr.js';
import type { FlowRecord, ResolvedFlow } from './flow-model.js';
import { compileFqdnMatch, type FqdnPredicate, normalizeDnsName } from './fqdn.js';
import { resolveFlow } from './inventory.js';
import type { Endpoint, Inventory, Pod } from './inventory-model.js';
import {
  type DefaultMode,
  type Direction,
  type FqdnMatch,
  type IpBlock,
  type LabelSelector,
  type NetworkPolicy,
  type NyxClusterNetworkPolicy,
  type NyxNetworkPolicy,
  objectId,
  type PolicyObject,
  type PolicySet,
  type Protocol,
} from './model.js';
import { compileSelector, type LabelPredicate } from './selector.js';
import type { Band, EnforcementPoint, FlowVerdict, Reason, Verdict } from './verdict-model.js';

// ---- compiled structures -------------------------------------------------------------------------

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

export type PolicyBand = 'platform' | 'application' | 'networkpolicy' | 'baseline';

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
   * Endpoint classes seen, verdicts computed (walks) and evaluations answered by `options.reuse`
   * so far: what the cache and the reuse saved, for benches.
   */
  stats(): { classes: number; walks: number; reused: number };
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

// ---- compilation -----------------------------------------------------------------------------------

const DIRECTIONS: readonly Direction[] = ['ingress', 'egress'];
const matchAll: LabelPredicate = () => true;

function where(o: PolicyObject, pointer: string): string {
  return `${o.source.file}:${o.lines[pointer] ?? o.source.line}`;
}

export function compileIpBlock(block: IpBlock): CompiledIpBlock | undefined {
  const cidr = parseCidr(block.cidr);
  if (!cidr) return undefined; // the loader reports malformed CIDRs; an unparsable one matches nothing
  const except = (block.except ?? []).map(parseCidr).filter((c): c is Cidr => c !== undefined);
  const compiled: CompiledIpBlock = { text: block.cidr, cidr, except };
  if (cidr.family === 'ipv4') {
    compiled.v4 = {
      ...v4Range(cidr),
      except: except
        .filter((e) => e.family === 'ipv4')
        .map((e) => {
          const r = v4Range(e);
          return [r.start, r.end];
        }),
    };
  }
  return compiled;
}

function v4Number(octets: readonly number[]): number {
  return ((octets[0]! << 24) >>> 0) + (octets[1]! << 16) + (octets[2]! << 8) + octets[3]!;
}

function v4Range(cidr: Cidr): { start: number; end: number } {
  const size = 2 ** (32 - cidr.prefixLength);
  const start = Math.floor(v4Number(cidr.range[0].toByteArray()) / size) * size;
  return { start, end: start + size - 1 };
}

function compilePorts(
  ports: Array<{ protocol?: Protocol; port?: number | string; endPort?: number }> | undefined,
) {
  // No `ports` (or an empty list) matches every port, as upstream does.
  if (!ports || ports.length === 0) return undefined;
  return ports.map((p): CompiledPort => {
    const protocol = p.protocol ?? 'TCP';
    if (p.port === undefined) return { protocol };
    if (typeof p.port === 'number' || /^[0-9]+$/.test(p.port)) {
      const port = Number(p.port);
      return { protocol, port, ...(p.endPort !== undefined ? { endPort: p.endPort } : {}) };
    }
    return { protocol, name: p.port };
  });
}

function compileSelectorPeer(
  peer: { namespaceSelector?: LabelSelector; podSelector?: LabelSelector },
  ownNamespace: string | undefined,
): CompiledPodPeer {
  // `podSelector` alone = pods of the policy's own namespace (namespaced kinds) or of any namespace
  // (cluster policies: ownNamespace undefined). A peer with neither selector is rejected by the
  // loader; here it reads as "every pod" of that same scope.
  // Every compiled object of one type has the same fields in the same order (absent ones as
  // undefined), so the hot matching loops see one shape.
  const compiled: CompiledPodPeer = {
    namespace: peer.namespaceSelector ? undefined : ownNamespace,
    namespaceSelector: peer.namespaceSelector ? compileSelector(peer.namespaceSelector) : undefined,
    podSelector: peer.podSelector ? compileSelector(peer.podSelector) : undefined,
    selectors: {
      ...(peer.namespaceSelector ? { namespaceSelector: peer.namespaceSelector } : {}),
      ...(peer.podSelector ? { podSelector: peer.podSelector } : {}),
    },
  };
  return compiled;
}

function compileNyxRule(
  o: NyxNetworkPolicy | NyxClusterNetworkPolicy,
  direction: Direction,
  rule: {
    decision: 'Allow' | 'Deny';
    ports?: Array<{ protocol?: Protocol; port?: number | string; endPort?: number }>;
    to?: Array<{ namespaceSelector?: LabelSelector; podSelector?: LabelSelector }>;
    from?: Array<{ namespaceSelector?: LabelSelector; podSelector?: LabelSelector }>;
    toIpBlock?: IpBlock;
    fromIpBlock?: IpBlock;
    toFqdn?: FqdnMatch[];
  },
  index: number,
): CompiledRule {
  const ownNamespace = o.kind === 'NyxNetworkPolicy' ? o.namespace : undefined;
  const selectors = direction === 'egress' ? rule.to : rule.from;
  const block = direction === 'egress' ? rule.toIpBlock : rule.fromIpBlock;
  const fqdn = direction === 'egress' ? rule.toFqdn : undefined;
  const hasPeerField = selectors !== undefined || block !== undefined || fqdn !== undefined;
  const compiledBlock = block ? compileIpBlock(block) : undefined;
  const ports = compilePorts(rule.ports);
  return {
    index,
    decision: rule.decision === 'Deny' ? 'deny' : 'allow',
    peers: hasPeerField
      ? {
          pods: (selectors ?? []).map((p) => compileSelectorPeer(p, ownNamespace)),
          ipBlocks: compiledBlock ? [compiledBlock] : [],
          ipBlocksMatchClusterAddresses: false,
          fqdns: (fqdn ?? []).map(compileFqdnMatch),
        }
      : undefined,
    ports,
    source: where(o, `/spec/${direction}/${index}`),
  };
}

function compileNyx(o: NyxNetworkPolicy | NyxClusterNetworkPolicy): CompiledPolicy {
  const spec = o.spec;
  const types = spec.policyTypes;
  const listed = (d: Direction) =>
    types === undefined || types.includes(d === 'ingress' ? 'Ingress' : 'Egress');
  const rules = {} as Record<Direction, CompiledRule[] | undefined>;
  for (const d of DIRECTIONS) {
    // Rules of a direction that `policyTypes` does not list are ignored (lint warns about them).
    const list = spec[d];
    rules[d] = listed(d) && list ? list.map((r, i) => compileNyxRule(o, d, r, i)) : undefined;
  }
  const isNamespaced = o.kind === 'NyxNetworkPolicy';
  const isolates = {
    ingress: isNamespaced && (types?.includes('Ingress') ?? false),
    egress: isNamespaced && (types?.includes('Egress') ?? false),
  };
  const band: PolicyBand =
    o.kind === 'NyxNetworkPolicy' ? 'application' : o.spec.tier === 'baseline' ? 'baseline' : 'platform';
  return {
    id: objectId(o),
    object: o,
    band,
    priority: spec.priority ?? 500,
    enforced: (spec.enforcement ?? 'enforce') === 'enforce',
    namespace: isNamespaced ? o.namespace : undefined,
    namespaceSelector:
      o.kind === 'NyxClusterNetworkPolicy' && o.spec.namespaceSelector
        ? compileSelector(o.spec.namespaceSelector)
        : matchAll,
    podSelector: spec.podSelector ? compileSelector(spec.podSelector) : matchAll,
    rules,
    isolates,
    source: where(o, ''),
  };
}

function compileNetworkPolicy(o: NetworkPolicy): CompiledPolicy {
  const spec = o.spec;
  // Upstream inference: Ingress always; Egress when the policy has egress rules.
  const types =
    spec.policyTypes ??
    (['Ingress', ...((spec.egress?.length ?? 0) > 0 ? ['Egress' as const] : [])] as const);
  const isolates = { ingress: types.includes('Ingress'), egress: types.includes('Egress') };
  const rules = {} as Record<Direction, CompiledRule[] | undefined>;
  for (const d of DIRECTIONS) {
    if (!isolates[d]) {
      rules[d] = undefined;
      continue;
    }
    const list = (d === 'ingress' ? spec.ingress : spec.egress) ?? [];
    rules[d] = list.map((r, index): CompiledRule => {
      const peers = (d === 'ingress' ? (r as { from?: unknown[] }).from : (r as { to?: unknown[] }).to) as
        | Array<{ podSelector?: LabelSelector; namespaceSelector?: LabelSelector; ipBlock?: IpBlock }>
        | undefined;
      const ports = compilePorts(r.ports);
      const compiled: CompiledRule = {
        index,
        decision: 'allow',
        peers: undefined,
        ports,
        source: where(o, `/spec/${d}/${index}`),
      };
      // An absent or empty peer list matches every peer (upstream).
      if (peers && peers.length > 0) {
        const pods: CompiledPodPeer[] = [];
        const ipBlocks: CompiledIpBlock[] = [];
        for (const p of peers) {
          if (p.ipBlock) {
            const b = compileIpBlock(p.ipBlock);
            if (b) ipBlocks.push(b);
          } else {
            pods.push(compileSelectorPeer(p, o.namespace));
          }
        }
        compiled.peers = { pods, ipBlocks, ipBlocksMatchClusterAddresses: true, fqdns: [] };
      }
      return compiled;
    });
  }
  return {
    id: objectId(o),
    object: o,
    band: 'networkpolicy',
    priority: 0,
    enforced: true,
    namespace: o.namespace,
    namespaceSelector: matchAll,
    podSelector: compileSelector(spec.podSelector ?? {}),
    rules,
    isolates,
    source: where(o, ''),
  };
}

/** Compiles a policy set once: selectors into predicates, CIDRs parsed, rules into lists. */
export function compilePolicySet(policySet: PolicySet): CompiledPolicySet {
  const policies: CompiledPolicy[] = [];
  for (const o of policySet.objects) {
    if (o.kind === 'NyxNetworkPolicy' || o.kind === 'NyxClusterNetworkPolicy') policies.push(compileNyx(o));
    else if (o.kind === 'NetworkPolicy') policies.push(compileNetworkPolicy(o));
  }
  // Stable order independent of file order: band walk order, then priority, then namespace/name.
  policies.sort((a, b) => a.priority - b.priority || compareText(a.id, b.id));
  const config = policySet.config;
  const mode = config?.spec.defaultMode ?? 'allow';
  const configEnforced = (config?.spec.enforcement ?? 'enforce') === 'enforce';
  return {
    policies,
    excludedNamespaces: new Set(config?.spec.excludedNamespaces ?? []),
    // A NyxClusterConfig in audit behaves as `defaultMode: allow` for the effective verdict.
    defaultMode: { effective: configEnforced ? mode : 'allow', asIfEnforced: mode },
    ...(config ? { configId: objectId(config), configSource: where(config, '/spec/defaultMode') } : {}),
    configEnforced,
    adminTiers: compileAdminTiers(policySet),
  };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---- matching ------------------------------------------------------------------------------------

/** A parsed address; IPv4 also as a uint32 for the fast path. */
export interface ParsedIp {
  ip: NonNullable<ReturnType<typeof parseIp>>;
  v4?: number;
}

export function toParsedIp(text: string): ParsedIp | undefined {
  const ip = parseIp(text);
  if (!ip) return undefined;
  return ip.kind() === 'ipv4' ? { ip, v4: v4Number(ip.toByteArray()) } : { ip };
}

/**
 * The test evaluation applies for an ip block (inside `cidr`, outside every `except`), as a
 * predicate for other checks (lint); undefined when the CIDR is malformed.
 */
export function ipBlockMatcher(block: IpBlock): ((addr: ParsedIp) => boolean) | undefined {
  const compiled = compileIpBlock(block);
  return compiled && ((addr) => blockContains(compiled, addr));
}

function blockContains(block: CompiledIpBlock, addr: ParsedIp): boolean {
  if (addr.v4 !== undefined) {
    const r = block.v4;
    if (!r) return false; // an IPv6 block never holds an IPv4 address
    const n = addr.v4;
    if (n < r.start || n > r.end) return false;
    for (const [start, end] of r.except) if (n >= start && n <= end) return false;
    return true;
  }
  return cidrContains(block.cidr, addr.ip) && !block.except.some((e) => cidrContains(e, addr.ip));
}

/** True when `pod` is one of the pods a selector peer matches (the one matcher, also for nft sets). */
export function podPeerMatches(peer: CompiledPodPeer, pod: Pod): boolean {
  if (peer.namespace !== undefined && pod.namespace !== peer.namespace) return false;
  if (peer.namespaceSelector && !peer.namespaceSelector(pod.namespaceLabels)) return false;
  if (peer.podSelector && !peer.podSelector(pod.labels)) return false;
  return true;
}

/** What a point needs to know about the flow, prepared once per evaluation. */
export interface PointContext {
  direction: Direction;
  subject: Pod;
  peer: Endpoint;
  /** Parsed addresses of an endpoint (the flow's address, else every address it has); shared, cached. */
  ipsOf: (endpoint: Endpoint) => ParsedIp[];
  dst: Endpoint;
  protocol: Protocol;
  port: number;
  serverName: string | undefined;
}

function peersMatch(peers: CompiledPeers, ctx: PointContext): boolean {
  const peer = ctx.peer;
  // Plain loops: this runs for every rule a walk tries.
  if (peer.kind === 'pod') {
    for (const p of peers.pods) if (podPeerMatches(p, peer.pod)) return true;
  }
  if (peers.ipBlocks.length > 0 && (peer.kind === 'world' || peers.ipBlocksMatchClusterAddresses)) {
    const ips = ctx.ipsOf(peer);
    for (const b of peers.ipBlocks) for (const ip of ips) if (blockContains(b, ip)) return true;
  }
  if (peers.nodes !== undefined && peers.nodes.length > 0 && peer.kind === 'node') {
    const labels = peer.node.labels ?? {};
    for (const n of peers.nodes) if (n(labels)) return true;
  }
  if (
    peers.fqdns.length > 0 &&
    ctx.direction === 'egress' &&
    peer.kind === 'world' &&
    (peers.fqdnsOnAnyPort === true || (ctx.protocol === 'TCP' && ctx.port === 443)) &&
    ctx.serverName !== undefined
  ) {
    const name = ctx.serverName;
    if (peers.fqdns.some((f) => f(name))) return true;
  }
  return false;
}

function portsMatch(ports: CompiledPort[], ctx: PointContext): boolean {
  for (const p of ports) {
    if (p.protocol !== ctx.protocol) continue;
    if (p.name !== undefined) {
      const dst = ctx.dst;
      if (
        dst.kind === 'pod' &&
        dst.pod.ports.some(
          (c) => c.name === p.name && c.protocol === ctx.protocol && c.containerPort === ctx.port,
        )
      ) {
        return true;
      }
      continue;
    }
    if (p.port === undefined) return true;
    if (ctx.port >= p.port && ctx.port <= (p.endPort ?? p.port)) return true;
  }
  return false;
}

/** The first rule of `rules` whose peer and port match: the policy's hit. */
export function firstMatchingRule(
  rules: readonly CompiledRule[],
  ctx: PointContext,
): CompiledRule | undefined {
  for (const rule of rules) {
    if (rule.ports && !portsMatch(rule.ports, ctx)) continue;
    if (rule.peers && !peersMatch(rule.peers, ctx)) continue;
    return rule;
  }
  return undefined;
}

// ---- the walk --------------------------------------------------------------------------------------

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

/** Walk order of the bands a point's reason can come from. */
const BAND_ORDER: Readonly<
  Record<'platform' | 'application' | 'networkpolicy' | 'isolation' | 'baseline' | 'default', number>
> = {
  platform: 0,
  application: 1,
  networkpolicy: 2,
  isolation: 3,
  baseline: 4,
  default: 5,
};

/** The policies of one band that are in audit, in walk order, with the band's order. */
function inAudit(
  order: number,
  policies: readonly CompiledPolicy[],
): Array<readonly [number, CompiledPolicy]> {
  return policies.filter((p) => !p.enforced).map((p) => [order, p] as const);
}

function groupByPriority(policies: CompiledPolicy[]): CompiledPolicy[][] {
  const groups: CompiledPolicy[][] = [];
  for (const p of policies) {
    const last = groups[groups.length - 1];
    if (last && last[0]!.priority === p.priority) last.push(p);
    else groups.push([p]);
  }
  return groups;
}

type Mode = 'effective' | 'asIfEnforced';

function counts(p: CompiledPolicy, mode: Mode): boolean {
  return mode === 'asIfEnforced' || p.enforced;
}

// A rule belongs to one policy and one direction, so its reason is always the same record: built
// once and shared by every verdict it decides (verdicts and their reasons are read-only data).
const ruleReasons = new WeakMap<CompiledRule, Reason>();

function ruleReason(p: CompiledPolicy, rule: CompiledRule, point: EnforcementPoint, band: Band): Reason {
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
  for (const group of groups) {
    let allowPolicy: CompiledPolicy | undefined;
    let allowRule: CompiledRule | undefined;
    for (const p of group) {
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
function isolationReason(
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

function defaultReason(
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

function evaluatePoint(
  compiled: CompiledPolicySet,
  plan: SubjectPlan,
  ctx: PointContext,
  mode: Mode,
  src: Endpoint,
  dst: Endpoint,
): Reason {
  const point = ctx.direction;
  // SPEC 9.1: the Admin tier of upstream admin policy, before band 1.
  if (plan.adminTiers.admin.length > 0) {
    const admin = walkAdminTier(plan.adminTiers.admin, ctx, mode === 'asIfEnforced', 'admin-tier');
    if (admin) return admin;
  }
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
    if (tier) return tier;
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
function asIfEnforcedAt(
  compiled: CompiledPolicySet,
  plan: SubjectPlan,
  ctx: PointContext,
  effective: Reason,
  src: Endpoint,
  dst: Endpoint,
): Reason {
  const decidedAt = BAND_ORDER[effective.band as keyof typeof BAND_ORDER];
  let same = !(decidedAt >= BAND_ORDER.isolation && plan.auditIsolates) && !plan.adminAudit;
  for (const [order, p] of plan.auditDeciders) {
    if (!same || order > decidedAt) break;
    const rules = p.rules[ctx.direction];
    if (rules && firstMatchingRule(rules, ctx)) same = false;
  }
  if (!same) return evaluatePoint(compiled, plan, ctx, 'asIfEnforced', src, dst);
  return effective.band === 'default'
    ? defaultAt(compiled, 'asIfEnforced', ctx.direction, src, dst)
    : effective;
}

function flowWide(band: Band, text: string): FlowVerdict {
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

const EXCLUDED = shortCircuit('excluded-namespace', 'excluded namespace');
const SAME_POD = shortCircuit('same-pod', 'same pod');
const NODE_LOCAL = shortCircuit('node-local', 'node-local probe');

function sortedEntries(r: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(r).sort(([a], [b]) => compareText(a, b)));
}

const objectTexts = new WeakMap<PolicyObject, string>();

/**
 * Everything an object is (kind, metadata, spec, source file and lines) as one string, cached per
 * object: two objects with the same text compile to the same policy with the same reasons and get
 * the same per-object lint findings. Compares objects across two loads of a tree (base and head).
 */
export function objectText(o: PolicyObject): string {
  let text = objectTexts.get(o);
  if (text === undefined) {
    text = JSON.stringify(o);
    objectTexts.set(o, text);
  }
  return text;
}

/** The config as the walk reads it: default modes, enforcement, source, excluded namespaces. */
function sameConfig(a: CompiledPolicySet, b: CompiledPolicySet): boolean {
  return (
    a.defaultMode.effective === b.defaultMode.effective &&
    a.defaultMode.asIfEnforced === b.defaultMode.asIfEnforced &&
    a.configEnforced === b.configEnforced &&
    a.configId === b.configId &&
    a.configSource === b.configSource &&
    a.excludedNamespaces.size === b.excludedNamespaces.size &&
    [...a.excludedNamespaces].every((ns) => b.excludedNamespaces.has(ns))
  );
}

/** Both sets hold the same upstream admin policies (reuse is per-point otherwise; SPEC 9 keeps it simple). */
function sameAdminTiers(a: CompiledPolicySet, b: CompiledPolicySet): boolean {
  const texts = (c: CompiledPolicySet) =>
    [...c.adminTiers.admin, ...c.adminTiers.baseline].map((p) => objectText(p.object)).join('\n');
  return a.adminTiers === b.adminTiers || texts(a) === texts(b);
}

/**
 * The policies of either set whose id is missing from the other set or whose object differs: both
 * versions of a changed policy, the added ones and the removed ones.
 */
function changedPolicies(a: CompiledPolicySet, b: CompiledPolicySet): CompiledPolicy[] {
  // Ids are unique within a set (the loader refuses duplicates).
  const textsOfA = new Map(a.policies.map((p) => [p.id, objectText(p.object)]));
  const textsOfB = new Map(b.policies.map((p) => [p.id, objectText(p.object)]));
  const differs = (p: CompiledPolicy) => textsOfA.get(p.id) !== textsOfB.get(p.id);
  return [...a.policies.filter(differs), ...b.policies.filter(differs)];
}

/**
 * Whether `p` can be in a pod's plan for `direction`: it selects the pod (as `planFor` filters) and
 * has rules for that direction or isolates it.
 */
function inPlanOf(p: CompiledPolicy, pod: Pod, direction: Direction): boolean {
  if ((p.rules[direction]?.length ?? 0) === 0 && !p.isolates[direction]) return false;
  if (p.namespace !== undefined ? p.namespace !== pod.namespace : !p.namespaceSelector(pod.namespaceLabels))
    return false;
  return p.podSelector(pod.labels);
}

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
  const compiled = compilePolicySet(policySet);

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
  const ipsOf = (e: Endpoint): ParsedIp[] => parseIps(endpointIps(e));
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

  // A pod's class: namespace, labels, container ports (pods of one Deployment share it). The node
  // is left out on purpose: it only matters for the node-local probe, which is decided before the
  // cache, so leaving it in would only split a Deployment spread over nodes into several classes.
  const podClassText = new WeakMap<Pod, string>();
  const podClass = (pod: Pod): string => {
    let text = podClassText.get(pod);
    if (text === undefined) {
      const ports = pod.ports.map((p) => `${p.name ?? ''}:${p.containerPort}/${p.protocol}`).sort();
      text = JSON.stringify([pod.namespace, sortedEntries(pod.labels), ports]);
      podClassText.set(pod, text);
    }
    return text;
  };
  const classIds = new Map<string, number>();
  const classId = (text: string): number => {
    let id = classIds.get(text);
    if (id === undefined) {
      id = classIds.size;
      classIds.set(text, id);
    }
    return id;
  };
  // Class id of a pod seen at one address (or at all its addresses), cached on the pod.
  const podClassIds = new WeakMap<Pod, Map<string, number>>();
  const podClassId = (pod: Pod, ip: string | undefined): number => {
    let byIp = podClassIds.get(pod);
    if (!byIp) {
      byIp = new Map();
      podClassIds.set(pod, byIp);
    }
    const key = ip ?? '';
    let id = byIp.get(key);
    if (id === undefined) {
      id = classId(`p${podClass(pod)}|${blockSignature(ip !== undefined ? [ip] : pod.ips, 'upstream')}`);
      byIp.set(key, id);
    }
    return id;
  };
  const classOfEndpoint = (e: Endpoint): number => {
    switch (e.kind) {
      case 'pod':
        return podClassId(e.pod, e.ip);
      case 'node':
        return classId(`n${e.node.name}|${e.ip ?? ''}`);
      case 'world':
        return classId(`w${blockSignature([e.ip], 'all')}`);
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
  const planByPod = new WeakMap<Pod, Record<Direction, SubjectPlan>>();
  const planFor = (pod: Pod, direction: Direction): SubjectPlan => {
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
  const unchangedByPod = new WeakMap<Pod, Record<Direction, boolean>>();
  const unchangedPoint = (pod: Pod, direction: Direction): boolean => {
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

  const walk = (flow: ResolvedFlow): FlowVerdict => {
    const { src, dst } = flow;
    const points: PointContext[] = [];
    const { protocol, port, serverName } = flow;
    if (src.kind === 'pod') {
      points.push({
        direction: 'egress',
        subject: src.pod,
        peer: dst,
        ipsOf,
        dst,
        protocol,
        port,
        serverName,
      });
    }
    if (dst.kind === 'pod') {
      points.push({
        direction: 'ingress',
        subject: dst.pod,
        peer: src,
        ipsOf,
        dst,
        protocol,
        port,
        serverName,
      });
    }
    if (points.length === 0) {
      // Neither end is a pod (node or world to node or world): nothing enforces anything here.
      return flowWide('no-enforcement-point', 'no enforcement point');
    }
    const reasons: Reason[] = [];
    for (const ctx of points) {
      reasons.push(evaluatePoint(compiled, planFor(ctx.subject, ctx.direction), ctx, 'effective', src, dst));
    }
    // Nothing in audit on either point (config included): the as-if-enforced walk is the same walk.
    const sameWalk =
      compiled.configEnforced && points.every((ctx) => !planFor(ctx.subject, ctx.direction).hasAudit);
    let asIfEnforcedReasons = reasons;
    if (!sameWalk) {
      asIfEnforcedReasons = [];
      for (let i = 0; i < points.length; i++) {
        const ctx = points[i]!;
        const plan = planFor(ctx.subject, ctx.direction);
        asIfEnforcedReasons.push(asIfEnforcedAt(compiled, plan, ctx, reasons[i]!, src, dst));
      }
    }
    return {
      verdict: reasons.every((r) => r.decision === 'allow') ? 'allow' : 'deny',
      asIfEnforced: asIfEnforcedReasons.every((r) => r.decision === 'allow') ? 'allow' : 'deny',
      reasons,
      asIfEnforcedReasons,
    };
  };

  const excluded = (e: Endpoint) => e.kind === 'pod' && compiled.excludedNamespaces.has(e.pod.namespace);

  return {
    policySet,
    inventory,
    compiled,
    stats: () => ({ classes: classIds.size, walks, reused }),
    planFor,
    // Short-circuits need no check: with the same config they give both evaluators the same
    // shared verdict.
    reusesVerdict: (flow) => reuse !== undefined && reusable(flow),
    evaluate(flow: ResolvedFlow): FlowVerdict {
      const { src, dst } = flow;
      // Short-circuits decide the whole flow before any point, whatever the config's enforcement.
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

const PROTOCOL_INDEX: Readonly<Record<Protocol, number>> = { TCP: 0, UDP: 1, SCTP: 2 };

/** Ports (0-65535) times protocols: the room a service takes in a numeric `destinationKey`. */
const SERVICES = 65536 * 4;

/**
 * Destination class, protocol, port and (where `toFqdn` can match: a world destination on TCP
 * 443) the normalized server name, as one cache key: a number (exact below 2^53, as class ids are
 * far below 2^32) for the usual port without a name.
 */
function destinationKey(dstClass: number, flow: ResolvedFlow, serverNameOnAnyPort: boolean): number | string {
  const { protocol, port } = flow;
  if (
    flow.dst.kind === 'world' &&
    flow.serverName !== undefined &&
    (serverNameOnAnyPort || (protocol === 'TCP' && port === 443))
  )
    return `${dstClass},${protocol},${port},n${normalizeDnsName(flow.serverName)}`;
  const index = PROTOCOL_INDEX[protocol];
  return Number.isInteger(port) && port >= 0 && port < 65536 && index !== undefined
    ? dstClass * SERVICES + port * 4 + index
    : `${dstClass},${protocol},${port}`;
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

/** One line for humans: `egress: NyxClusterNetworkPolicy/x egress[0] Deny (audit) at cluster/x.yaml:12`. */
export function formatReason(reason: Reason): string {
  const parts: string[] = [];
  parts.push(reason.point ? `${reason.point}: ${reason.text}` : reason.text);
  if (reason.object && !reason.text.includes(reason.object)) parts.push(`[${reason.object}]`);
  if (reason.audit) parts.push('(audit)');
  if (reason.source) parts.push(`at ${reason.source}`);
  return parts.join(' ');
}
