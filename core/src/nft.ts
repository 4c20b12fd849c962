// SPEC section 7, `nyxctl compile`: the evaluator's per-pod plans (`Evaluator.planFor`) rendered as
// one nftables script for the pods of one node. Nothing here decides a verdict on its own: each
// point chain is the band walk of `evaluatePoint` over the same plan, in the same order, with the
// effective (enforced-only) reading of SPEC section 3.
//
// Shape of the script (one `inet nyx` table, replaced whole in one `nft -f` transaction):
// - `forward` (pod traffic is routed, so every flow of a local pod crosses it) and `input` (a local
//   pod's egress to the node itself) accept `ct state related`, replies, and established packets
//   whose connection was allowed under this generation of the ruleset; then excluded namespaces;
//   then `egress4/6` (local pod source → its egress chain) and `ingress4/6` (local pod destination →
//   its ingress chain) verdict maps. An allow at one point returns, so a same-node flow meets the
//   other point in the same pass; only a deny ends the walk (drop, never reject).
// - A point chain walks the bands: per priority group, a `jump` into each policy's first-match
//   deny pass (an Allow hit returns, a Deny hit drops: a Deny hit beats every Allow hit of its
//   group), then the group's Allow rules (`return`: the point allows); then NetworkPolicy
//   isolation, Nyx isolation, the baseline band and the default, as in the engine.
// - Point chains are shared by every pod whose plan renders to the same text (pods of one
//   Deployment), and peers are named address sets, so lookups do not grow with the pod count.
// - Allowed connections get the ruleset's generation in the upper 16 bits of their conntrack mark;
//   an established packet of an older generation walks the chains again: a new ruleset cuts open
//   connections it denies and keeps (or restores) the ones it allows (SPEC section 7, point 6),
//   within the same transaction, without a conntrack tool.
import { adminReason, type CompiledAdminPolicy } from './admin-tiers.js';
import { cidrNetworkText } from './cidr.js';
import type { Evaluator } from './evaluate.js';
import type { FqdnPredicate } from './fqdn.js';
import { addressOwners } from './inventory.js';
import type { Pod } from './inventory-model.js';
import type { Direction } from './model.js';
import type {
  CompiledPeers,
  CompiledPodPeer,
  CompiledPolicy,
  CompiledPort,
  CompiledRule,
} from './policy-compiled.js';
import { podPeerMatches } from './policy-match.js';
import { defaultReason, isolationReason, type Mode, ruleReason, type SubjectPlan } from './policy-walk.js';
import type { Band, Reason } from './verdict-model.js';

/**
 * The conntrack mark bits that hold the ruleset generation. The agent owns the upper 16 bits of the
 * mark (the lower 16 are left alone): bits 16-30 are the generation, bit 31 is `WOULD_DENY_PENDING`.
 */
export const GENERATION_MASK = 0x7fff0000;
/**
 * Conntrack mark bit of a connection whose egress would-deny finding waits for the first reply: the
 * destination is a pod of another node, whose ingress point may still drop it (agent script only).
 */
export const WOULD_DENY_PENDING = 0x80000000;

/** A `toFqdn` rule's address set: the agent fills it from the DNS answers it proxies. */
export interface FqdnSet {
  /** Set name without the family suffix: `<name>_4` and `<name>_6` are declared. */
  name: string;
  /** `<kind>/<ns>/<name> egress[<i>]` and where it is written. */
  rule: string;
  source: string;
  /** True when a DNS name belongs in this set (the rule's `matchName`/`matchPattern`). */
  matches: (dnsName: string) => boolean;
}

/** An address the agent learned from a DNS answer, with the record's TTL. */
export interface FqdnElement {
  address: string;
  ttlSeconds: number;
}

/** What the agent adds to `nyxctl compile`'s script in the same transaction (SPEC section 8.7). */
export interface AgentExtras {
  /**
   * The addresses the agent learned from DNS answers for the names a `toFqdn` rule matches
   * (`matches` is the rule's name/pattern test): re-added on every replace, which empties sets.
   */
  fqdnElementsFor?: (matches: (dnsName: string) => boolean) => readonly FqdnElement[];
  /** Record new connections of local pods in the `flows4`/`flows6` dynamic sets (counters, no verdict). */
  flowCapture?: boolean;
  /** Redirect local pods' DNS (UDP and TCP 53) to the agent's proxy on this port of the node. */
  dnsProxyPort?: number;
  /**
   * The node's pod interfaces as an nft wildcard (`cali*`): traffic of a local pod the inventory
   * does not list yet is held to the cluster's default posture and counted (`unknown_pods`).
   */
  podInterfaces?: string;
  /**
   * Record would-deny findings (SPEC section 3): the as-if-enforced walk of the same plans, in base
   * chains after the enforcing ones, adds each new flow it would deny, with the id of the deciding
   * reason (`CompiledRuleset.wouldDenyReasons`), to dynamic sets with counters; never a drop.
   */
  wouldDeny?: boolean;
}

export interface RulesetInput {
  evaluator: Evaluator;
  /** The node's name as in the inventory (`spec.nodeName` of its pods). */
  node: string;
  agent?: AgentExtras;
}

export interface CompiledRuleset {
  /** The whole `nft -f` script. */
  script: string;
  /** The 16-bit generation written into conntrack marks (a hash of the policy part of the script). */
  generation: number;
  /** The pods this node enforces, by address. */
  localPods: ReadonlyMap<string, Pod>;
  fqdnSets: readonly FqdnSet[];
  /**
   * The reasons a would-deny finding of the agent's script can name, by id: the id is the last
   * field of an element of the `would_deny4/6` and `would_deny_pending4/6` sets. Empty unless
   * `agent.wouldDeny`.
   */
  wouldDenyReasons: readonly Reason[];
}

type Family = 'ip' | 'ip6';
const FAMILIES: readonly Family[] = ['ip', 'ip6'];
const SUFFIX: Readonly<Record<Family, string>> = { ip: '4', ip6: '6' };
const ADDR_TYPE: Readonly<Record<Family, string>> = { ip: 'ipv4_addr', ip6: 'ipv6_addr' };
const PROTO: Readonly<Record<string, string>> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };

function familyOf(address: string): Family {
  return address.includes(':') ? 'ip6' : 'ip';
}

/** A match that is the same in both families, or one text per family (absent: cannot match there). */
type Alternative = { any: string } | { ip?: string; ip6?: string };

const ANY: Alternative = { any: '' };

function join(...parts: string[]): string {
  return parts.filter((p) => p !== '').join(' ');
}

function combine(a: Alternative, b: Alternative): string[] {
  if ('any' in a && 'any' in b) return [join(a.any, b.any)];
  const out: string[] = [];
  for (const f of FAMILIES) {
    const left = 'any' in a ? a.any : a[f];
    const right = 'any' in b ? b.any : b[f];
    if (left !== undefined && right !== undefined) out.push(join(left, right));
  }
  return out;
}

/**
 * A stable name for what `key` describes (8 hex digits of its hash), so a ruleset's structure does
 * not move when pods come and go: names are not numbered by first use. A hash collision between
 * two different things only adds a suffix.
 */
class StableNames {
  private readonly taken = new Set<string>();

  name(base: string): string {
    let name = base;
    for (let i = 1; this.taken.has(name); i++) name = `${base}x${i}`;
    this.taken.add(name);
    return name;
  }
}

function hash8(text: string): string {
  return fnv1a(text).toString(16).padStart(8, '0');
}

/**
 * Named sets, named after what they select (a peer's selectors, a namespace, a port name) rather
 * than their elements, and declared in name order: pod churn changes their elements, not their
 * names (SPEC 7 point 8, incremental updates). Sets of one key with different elements (two
 * different selectors written alike) get different names.
 */
class SetTable {
  private readonly byKey = new Map<string, Array<{ elements: string[]; name: string }>>();
  private readonly names = new StableNames();
  private readonly byName = new Map<string, string>();

  /** A named set of addresses of one family; its name (`fixed`, or derived from `key`). */
  addresses(
    family: Family,
    key: string,
    addresses: readonly string[],
    comment: string,
    fixed?: string,
  ): string {
    const elements = [...new Set(addresses)].sort();
    return this.declare(`a${family}:${key}`, family, ADDR_TYPE[family], elements, comment, fixed);
  }

  /** A named set of `address . protocol . port` (named ports resolved on destination pods). */
  services(family: Family, key: string, elements: readonly string[], comment: string): string {
    const sorted = [...new Set(elements)].sort();
    return this.declare(
      `s${family}:${key}`,
      family,
      `${ADDR_TYPE[family]} . inet_proto . inet_service`,
      sorted,
      comment,
    );
  }

  /** The declarations, in name order (independent of which pod used a set first). */
  get declarations(): string[] {
    return [...this.byName.keys()].sort().map((name) => this.byName.get(name)!);
  }

  private declare(
    key: string,
    family: Family,
    type: string,
    elements: string[],
    comment: string,
    fixed?: string,
  ): string {
    // Same key and same elements: the same set (compared element-wise: no big key strings).
    const sameKey = this.byKey.get(key) ?? [];
    let name = sameKey.find(
      (s) => s.elements.length === elements.length && s.elements.every((e, i) => e === elements[i]),
    )?.name;
    if (name === undefined) {
      name = this.names.name(fixed ?? `s${hash8(key)}_${SUFFIX[family]}`);
      sameKey.push({ elements, name });
      this.byKey.set(key, sameKey);
      this.byName.set(
        name,
        `\t# ${comment}\n\tset ${name} {\n\t\ttype ${type}\n${elementsLine(elements)}\t}`,
      );
    }
    return name;
  }
}

function elementsLine(elements: readonly string[]): string {
  if (elements.length === 0) return '';
  const lines: string[] = [];
  for (let i = 0; i < elements.length; i += 8) lines.push(elements.slice(i, i + 8).join(', '));
  return `\t\telements = {\n\t\t\t${lines.join(',\n\t\t\t')}\n\t\t}\n`;
}

/**
 * Chains deduplicated by body: pods whose plans render alike share one chain, named after its body
 * (so a chain keeps its name whichever pods use it) and declared in name order.
 */
class ChainTable {
  private readonly byBody = new Map<string, string>();
  private readonly byName = new Map<string, string>();
  private readonly names = new StableNames();

  constructor(private readonly prefix: string) {}

  named(body: readonly string[], comment: string): string {
    const text = body.join('\n');
    let name = this.byBody.get(text);
    if (name === undefined) {
      name = this.names.name(`${this.prefix}${hash8(text)}`);
      this.byBody.set(text, name);
      this.byName.set(
        name,
        `\t# ${comment}\n\tchain ${name} {\n${body.map((l) => `\t\t${l}`).join('\n')}\n\t}`,
      );
    }
    return name;
  }

  get declarations(): string[] {
    return [...this.byName.keys()].sort().map((name) => this.byName.get(name)!);
  }
}

/**
 * One rendering of the engine's band walk into point chains: the effective walk (a deny drops) or,
 * in the agent's script, the as-if-enforced walk of SPEC section 3 (a deny is recorded as a
 * would-deny finding of the reason that decided it, and never dropped).
 */
interface Walk {
  mode: Mode;
  denyChains: ChainTable;
  pointChains: Record<Direction, ChainTable>;
  /** The statement that ends the walk on a deny decided by `reason`. */
  deny: (reason: Reason) => string;
}

function countsIn(walk: Walk, p: { enforced: boolean }): boolean {
  return walk.mode === 'asIfEnforced' || p.enforced;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

function ruleLabel(p: CompiledPolicy, direction: Direction, rule: CompiledRule): string {
  return `${p.id} ${direction}[${rule.index}] ${rule.decision === 'deny' ? 'Deny' : 'Allow'} at ${rule.source}`;
}

/**
 * Renders the pods of `node` as one `nft -f` script (SPEC section 7, `nyxctl compile`), plus the
 * agent's extras when `agent` is given (`nyxctl compile --agent`, SPEC section 8.7).
 */
export function compileRuleset({ evaluator, node, agent }: RulesetInput): CompiledRuleset {
  const { compiled, inventory } = evaluator;
  const owners = addressOwners(inventory);
  const sets = new SetTable();

  // Addresses by what they resolve to (resolveEndpoint's index: the engine's own resolution).
  const byFamily = <T>(make: () => T): Record<Family, T> => ({ ip: make(), ip6: make() });
  const clusterAddresses = byFamily<string[]>(() => []);
  const podAddresses = byFamily<string[]>(() => []);
  const podEntries: Array<{ address: string; pod: Pod }> = [];
  const localPods = new Map<string, Pod>();
  for (const [address, owner] of owners) {
    clusterAddresses[familyOf(address)].push(address);
    if (owner.kind !== 'pod') continue;
    podAddresses[familyOf(address)].push(address);
    podEntries.push({ address, pod: owner.pod });
    if (owner.pod.nodeName === node) localPods.set(address, owner.pod);
  }
  const clusterSet = byFamily(() => '');
  const podSet = byFamily(() => '');
  for (const f of FAMILIES) {
    clusterSet[f] = sets.addresses(
      f,
      'cluster',
      clusterAddresses[f],
      'cluster addresses: pods and nodes (any other address is world)',
      `cluster${SUFFIX[f]}`,
    );
    podSet[f] = sets.addresses(f, 'pods', podAddresses[f], 'pod addresses', `pods${SUFFIX[f]}`);
  }
  // A family the cluster has addresses in gets its sets even when they are empty (an empty set
  // matches nothing, as an absent rule would): a pod coming or going then changes elements only.
  const present = (f: Family): boolean => clusterAddresses[f].length > 0;
  // Pod entries by namespace: a namespaced peer (most of them) only looks at its own namespace.
  const entriesByNamespace = new Map<string, Array<{ address: string; pod: Pod }>>();
  for (const e of podEntries) {
    const list = entriesByNamespace.get(e.pod.namespace);
    if (list) list.push(e);
    else entriesByNamespace.set(e.pod.namespace, [e]);
  }
  const podsOfPeer = (peer: CompiledPodPeer): Array<{ address: string; pod: Pod }> => {
    if (peer.namespace !== undefined) {
      return (entriesByNamespace.get(peer.namespace) ?? []).filter((e) => podPeerMatches(peer, e.pod));
    }
    const out: Array<{ address: string; pod: Pod }> = [];
    for (const entries of entriesByNamespace.values()) {
      // One namespace-label test per namespace, then the pods of the namespaces that pass.
      if (peer.namespaceSelector && !peer.namespaceSelector(entries[0]!.pod.namespaceLabels)) continue;
      for (const e of entries) if (podPeerMatches(peer, e.pod)) out.push(e);
    }
    return out;
  };
  /** The pods a rule's selector peers match (the order does not matter: sets are sorted). */
  const podsOfPeers = (peers: CompiledPeers): Array<{ address: string; pod: Pod }> => {
    if (peers.pods.length === 1) return podsOfPeer(peers.pods[0]!);
    const seen = new Set<string>();
    const out: Array<{ address: string; pod: Pod }> = [];
    for (const peer of peers.pods) {
      for (const e of podsOfPeer(peer)) {
        if (seen.has(e.address)) continue;
        seen.add(e.address);
        out.push(e);
      }
    }
    return out;
  };
  const podAddressSets = (
    pods: Array<{ address: string }>,
    key: string,
    comment: string,
    fixed?: (f: Family) => string,
  ): Alternative => {
    const alt: { ip?: string; ip6?: string } = {};
    for (const f of FAMILIES) {
      if (!present(f)) continue;
      const list = pods.filter((p) => familyOf(p.address) === f).map((p) => p.address);
      alt[f] = sets.addresses(f, key, list, comment, fixed?.(f));
    }
    return alt;
  };

  // `toFqdn` sets, one per rule, named by walk order (stable for a given policy set).
  const fqdnSets: FqdnSet[] = [];
  const fqdnSetOf = new Map<CompiledRule, FqdnSet>();
  const adminPolicies = [...compiled.adminTiers.admin, ...compiled.adminTiers.baseline];
  const fqdnRuleOwners = [
    ...compiled.policies.map((p) => ({ id: p.id, rules: p.rules.egress ?? [] })),
    ...adminPolicies.map((p) => ({ id: p.id, rules: p.matchable.egress ?? [] })),
  ];
  for (const p of fqdnRuleOwners) {
    for (const rule of p.rules) {
      const predicates: FqdnPredicate[] = rule.peers?.fqdns ?? [];
      if (predicates.length === 0) continue;
      const set: FqdnSet = {
        name: `fq${fqdnSets.length}`,
        rule: `${p.id} egress[${rule.index}]`,
        source: rule.source,
        matches: (name) => predicates.some((m) => m(name)),
      };
      fqdnSets.push(set);
      fqdnSetOf.set(rule, set);
    }
  }

  const addrField = (direction: Direction): string => (direction === 'egress' ? 'daddr' : 'saddr');

  const peerAlternatives = (peers: CompiledPeers | undefined, rule: CompiledRule, direction: Direction) => {
    if (!peers) return [ANY];
    const field = addrField(direction);
    const alts: Alternative[] = [];
    if (peers.pods.length > 0) {
      const matching = podsOfPeers(peers);
      const described = peers.pods.map((peer) => JSON.stringify(peer.selectors)).join(' or ');
      const key = JSON.stringify(
        peers.pods.map((p) => [
          p.namespace ?? null,
          p.selectors.namespaceSelector ?? null,
          p.selectors.podSelector ?? null,
        ]),
      );
      const alt = podAddressSets(matching, `pods:${key}`, `pods of ${described}`) as {
        ip?: string;
        ip6?: string;
      };
      const out: { ip?: string; ip6?: string } = {};
      for (const f of FAMILIES) if (alt[f]) out[f] = `${f} ${field} @${alt[f]}`;
      if (out.ip || out.ip6) alts.push(out);
    }
    for (const block of peers.ipBlocks) {
      const f: Family = block.cidr.family === 'ipv4' ? 'ip' : 'ip6';
      const parts = [`${f} ${field} ${cidrNetworkText(block.cidr)}`];
      for (const e of block.except) {
        if (e.family === block.cidr.family) parts.push(`${f} ${field} != ${cidrNetworkText(e)}`);
      }
      // Nyx ip blocks match world addresses only; upstream ipBlock matches any address.
      if (!peers.ipBlocksMatchClusterAddresses) parts.push(`${f} ${field} != @${clusterSet[f]}`);
      alts.push({ [f]: parts.join(' ') });
    }
    const fqdn = fqdnSetOf.get(rule);
    if (fqdn && direction === 'egress') {
      const alt: { ip?: string; ip6?: string } = {};
      // Upstream admin `domainNames` apply to any port the rule lists (SPEC 9.2); toFqdn to TCP 443.
      const port = peers.fqdnsOnAnyPort ? '' : ' tcp dport 443';
      for (const f of FAMILIES) {
        alt[f] = `${f} daddr @${fqdn.name}_${SUFFIX[f]} ${f} daddr != @${clusterSet[f]}${port}`;
      }
      alts.push(alt);
    }
    if (peers.nodes && peers.nodes.length > 0) {
      // Upstream admin `nodes`: the addresses of the nodes whose labels match (hostNetwork pods' included).
      const matching: Array<{ address: string }> = [];
      for (const [address, owner] of owners) {
        if (owner.kind === 'node' && peers.nodes.some((n) => n(owner.node.labels ?? {})))
          matching.push({ address });
      }
      const alt = podAddressSets(matching, `nodes:${rule.source}`, 'addresses of selected nodes') as {
        ip?: string;
        ip6?: string;
      };
      const out: { ip?: string; ip6?: string } = {};
      for (const f of FAMILIES) if (alt[f]) out[f] = `${f} ${field} @${alt[f]}`;
      if (out.ip || out.ip6) alts.push(out);
    }
    return alts;
  };

  const portAlternatives = (
    ports: CompiledPort[] | undefined,
    direction: Direction,
    subject: Pod,
  ): Alternative[] => {
    if (!ports) return [ANY];
    const protocolsOnly = new Set<string>();
    const services: string[] = [];
    const named: Array<{ address: string; element: string }> = [];
    for (const p of ports) {
      const proto = PROTO[p.protocol]!;
      if (p.name !== undefined) {
        // A named port resolves on the destination pod: the subject at ingress, the peer at egress.
        if (direction === 'ingress') {
          for (const c of subject.ports) {
            if (c.name === p.name && c.protocol === p.protocol)
              services.push(`${proto} . ${c.containerPort}`);
          }
        } else {
          for (const e of podEntries) {
            for (const c of e.pod.ports) {
              if (c.name === p.name && c.protocol === p.protocol) {
                named.push({ address: e.address, element: `${e.address} . ${proto} . ${c.containerPort}` });
              }
            }
          }
        }
      } else if (p.port === undefined) {
        protocolsOnly.add(proto);
      } else {
        const end = p.endPort ?? p.port;
        services.push(end > p.port ? `${proto} . ${p.port}-${end}` : `${proto} . ${p.port}`);
      }
    }
    const alts: Alternative[] = [];
    if (protocolsOnly.size > 0)
      alts.push({ any: `meta l4proto { ${[...protocolsOnly].sort().join(', ')} }` });
    if (services.length > 0) {
      alts.push({ any: `meta l4proto . th dport { ${[...new Set(services)].join(', ')} }` });
    }
    const namedPorts = ports.filter((p) => p.name !== undefined);
    if (direction === 'egress' && namedPorts.length > 0) {
      const key = JSON.stringify(namedPorts.map((p) => [p.protocol, p.name]));
      const alt: { ip?: string; ip6?: string } = {};
      for (const f of FAMILIES) {
        if (!present(f)) continue;
        const elements = named.filter((n) => familyOf(n.address) === f).map((n) => n.element);
        const name = sets.services(f, key, elements, 'named ports of destination pods');
        alt[f] = `${f} daddr . meta l4proto . th dport @${name}`;
      }
      alts.push(alt);
    }
    return alts;
  };

  // A rule's peers (and a rule's ports at egress, where named ports resolve on the peer) render
  // the same for every subject: once per rule, however many plans hold it.
  const peerCache = {
    egress: new Map<CompiledRule, Alternative[]>(),
    ingress: new Map<CompiledRule, Alternative[]>(),
  };
  const egressPortCache = new Map<CompiledPort[], Alternative[]>();
  /** The nft match texts of one rule (alternatives: any of them matching is the rule matching). */
  const ruleMatches = (rule: CompiledRule, direction: Direction, subject: Pod): string[] => {
    let peers = peerCache[direction].get(rule);
    if (!peers) {
      peers = peerAlternatives(rule.peers, rule, direction);
      peerCache[direction].set(rule, peers);
    }
    if (peers.length === 0) return [];
    let ports: Alternative[] | undefined;
    if (direction === 'egress' && rule.ports) {
      ports = egressPortCache.get(rule.ports);
      if (!ports) {
        ports = portAlternatives(rule.ports, direction, subject);
        egressPortCache.set(rule.ports, ports);
      }
    } else ports = portAlternatives(rule.ports, direction, subject);
    const out: string[] = [];
    for (const peer of peers) {
      for (const port of ports) out.push(...combine(peer, port));
    }
    return out;
  };

  /** A policy's first-match pass for its Deny rules: an Allow hit returns, a Deny hit ends the walk. */
  const denyPass = (
    walk: Walk,
    p: CompiledPolicy,
    band: Band,
    direction: Direction,
    subject: Pod,
  ): string | undefined => {
    const rules = p.rules[direction] ?? [];
    let last = -1;
    rules.forEach((r, i) => {
      if (r.decision === 'deny') last = i;
    });
    if (last < 0) return undefined;
    const body: string[] = [];
    for (const rule of rules.slice(0, last + 1)) {
      const verdict = rule.decision === 'deny' ? walk.deny(ruleReason(p, rule, direction, band)) : 'return';
      body.push(`# ${ruleLabel(p, direction, rule)}`);
      for (const m of ruleMatches(rule, direction, subject)) body.push(join(m, verdict));
    }
    return walk.denyChains.named(
      body,
      `${p.id} ${direction}: first-match pass (Deny ${walk.mode === 'effective' ? 'drops' : 'is recorded'}, Allow ends the pass)`,
    );
  };

  /**
   * SPEC 9: one tier of upstream admin policy, inline in a point chain. Each rule ends the walk when
   * it matches (Accept returns: the point allows; Deny ends the walk; Pass goes to `passTo`, the rest
   * of the point after the tier), so first match within a policy and policy order are the line order.
   */
  const tierLines = (
    walk: Walk,
    policies: readonly CompiledAdminPolicy[],
    tier: 'Admin' | 'Baseline',
    direction: Direction,
    subject: Pod,
    passTo: () => string,
  ): string[] => {
    const lines: string[] = [];
    for (const p of policies) {
      if (!countsIn(walk, p)) continue;
      const rules = p.rules[direction] ?? [];
      for (const r of rules) {
        const band = tier === 'Admin' ? 'admin-tier' : 'baseline-tier';
        const verdict =
          r.action === 'accept'
            ? 'return'
            : r.action === 'deny'
              ? walk.deny(adminReason(p, r, direction, band))
              : `goto ${passTo()}`;
        const label =
          r.name !== undefined
            ? `${direction} rule ${JSON.stringify(r.name)}`
            : `${direction}[${r.rule.index}]`;
        lines.push(`# ${tier} tier: ${p.id} ${label} ${r.action} (${r.rule.source})`);
        for (const m of ruleMatches(r.rule, direction, subject)) lines.push(join(m, verdict));
      }
    }
    return lines;
  };

  const pointBody = (walk: Walk, plan: SubjectPlan, direction: Direction, subject: Pod): string[] => {
    const bands = bandsBody(walk, plan, direction, subject);
    if (!plan.adminTiers.admin.some((p) => countsIn(walk, p))) return bands;
    let rest: string | undefined;
    const passTo = () => {
      rest ??= walk.pointChains[direction].named(bands, `${direction}: bands 1-6 after an Admin tier Pass`);
      return rest;
    };
    const lines = tierLines(walk, plan.adminTiers.admin, 'Admin', direction, subject, passTo);
    return [...lines, ...bands];
  };

  const bandsBody = (walk: Walk, plan: SubjectPlan, direction: Direction, subject: Pod): string[] => {
    const body: string[] = [];
    const groups = (band: 'platform' | 'application' | 'baseline', list: CompiledPolicy[][]) => {
      for (const group of list) {
        const enforced = group.filter((p) => countsIn(walk, p));
        if (enforced.length === 0) continue;
        body.push(`# ${band} band, priority ${enforced[0]!.priority}`);
        for (const p of enforced) {
          const chain = denyPass(walk, p, band, direction, subject);
          if (chain) body.push(`jump ${chain}`);
        }
        for (const p of enforced) {
          for (const rule of p.rules[direction] ?? []) {
            if (rule.decision !== 'allow') continue;
            body.push(`# ${ruleLabel(p, direction, rule)}`);
            for (const m of ruleMatches(rule, direction, subject)) body.push(join(m, 'return'));
          }
        }
      }
    };
    groups('platform', plan.platform);
    groups('application', plan.application);
    if (plan.networkPolicies.length > 0) {
      for (const p of plan.networkPolicies) {
        for (const rule of p.rules[direction] ?? []) {
          body.push(`# ${ruleLabel(p, direction, rule)}`);
          for (const m of ruleMatches(rule, direction, subject)) body.push(join(m, 'return'));
        }
      }
      body.push(
        `# isolated by ${plan.networkPolicies.map((p) => p.id).join(', ')}: no rule matched`,
        walk.deny(isolationReason(plan.networkPolicies, direction, 'networkpolicy')),
      );
      return body;
    }
    const isolating = walk.mode === 'asIfEnforced' ? plan.isolating : plan.enforcedIsolating;
    if (isolating.length > 0) {
      body.push(
        `# isolated by ${isolating[0]!.id} (policyTypes): no rule matched`,
        walk.deny(isolationReason(isolating, direction, 'isolation')),
      );
      return body;
    }
    groups('baseline', plan.baseline);
    if (plan.adminTiers.baseline.some((p) => countsIn(walk, p))) {
      const fallback = defaultLines(walk, direction, subject);
      let rest: string | undefined;
      const passTo = () => {
        rest ??= walk.pointChains[direction].named(
          fallback.length > 0 ? fallback : ['# default: allow'],
          `${direction}: the default after a Baseline tier Pass`,
        );
        return rest;
      };
      body.push(
        ...tierLines(walk, plan.adminTiers.baseline, 'Baseline', direction, subject, passTo),
        ...fallback,
      );
      return body;
    }
    body.push(...defaultLines(walk, direction, subject));
    return body;
  };

  const defaultLines = (walk: Walk, direction: Direction, subject: Pod): string[] => {
    const body: string[] = [];
    const mode = compiled.defaultMode[walk.mode];
    const deny = () => walk.deny(defaultReason(compiled, walk.mode, direction, 'deny'));
    if (mode === 'deny') body.push('# default: deny', deny());
    else if (mode === 'deny-cross-namespace') {
      body.push('# default: deny-cross-namespace');
      const own = entriesByNamespace.get(subject.namespace) ?? [];
      const ownSets = podAddressSets(
        own,
        `namespace:${subject.namespace}`,
        `pods of namespace ${subject.namespace}`,
      ) as {
        ip?: string;
        ip6?: string;
      };
      const field = addrField(direction);
      for (const f of FAMILIES) {
        const notOwn = ownSets[f] ? ` ${f} ${field} != @${ownSets[f]}` : '';
        body.push(`${f} ${field} @${podSet[f]}${notOwn} ${deny()}`);
      }
    }
    return body;
  };

  const enforcedWalk: Walk = {
    mode: 'effective',
    denyChains: new ChainTable('d'),
    pointChains: { egress: new ChainTable('e'), ingress: new ChainTable('i') },
    deny: () => 'drop',
  };
  const { denyChains, pointChains } = enforcedWalk;

  // Verdict maps: each local pod address → its point chains.
  const vmaps = {
    egress: byFamily<string[]>(() => []),
    ingress: byFamily<string[]>(() => []),
  };
  const sortedLocal = [...localPods.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [address, pod] of sortedLocal) {
    if (compiled.excludedNamespaces.has(pod.namespace)) continue;
    for (const direction of ['egress', 'ingress'] as const) {
      const body = pointBody(enforcedWalk, evaluator.planFor(pod, direction), direction, pod);
      if (body.every((l) => l.startsWith('#'))) continue; // nothing but the default allow
      const chain = pointChains[direction].named(
        body,
        `${direction} of ${pod.namespace}/${pod.name} (and pods planned alike)`,
      );
      vmaps[direction][familyOf(address)].push(`${address} : jump ${chain}`);
    }
  }

  const excluded = podAddressSets(
    podEntries.filter((e) => compiled.excludedNamespaces.has(e.pod.namespace)),
    'excluded',
    'pods of excluded namespaces (no enforcement, both directions)',
    (f) => `excluded${SUFFIX[f]}`,
  ) as { ip?: string; ip6?: string };
  const local = podAddressSets(
    sortedLocal.map(([address]) => ({ address })),
    'local',
    `pods of node ${node}`,
    (f) => `local${SUFFIX[f]}`,
  ) as { ip?: string; ip6?: string };

  const mapDeclarations: string[] = [];
  for (const direction of ['egress', 'ingress'] as const) {
    for (const f of FAMILIES) {
      mapDeclarations.push(
        `\tmap ${direction}${SUFFIX[f]} {\n\t\ttype ${ADDR_TYPE[f]} : verdict\n${elementsLine(vmaps[direction][f])}\t}`,
      );
    }
  }

  const GENERATION = '@GENERATION@';
  const established = [
    'ct state related accept',
    'ct state established ct direction reply accept',
    `ct state established ct mark and ${hex(GENERATION_MASK)} == ${GENERATION} accept`,
  ];
  const capture: string[] = [];
  const agentSets: string[] = [];
  if (agent?.flowCapture) {
    for (const f of FAMILIES) {
      const s = SUFFIX[f];
      agentSets.push(
        `\t# new connections of local pods (agent flow capture: counters, never a verdict)\n\tset flows${s} {\n\t\ttype ${ADDR_TYPE[f]} . ${ADDR_TYPE[f]} . inet_proto . inet_service\n\t\tsize 262144\n\t\tflags dynamic,timeout\n\t\ttimeout 10m\n\t\tcounter\n\t}`,
      );
      if (local[f]) {
        const key = `{ ${f} saddr . ${f} daddr . meta l4proto . th dport }`;
        capture.push(`ct state new ${f} saddr @${local[f]} update @flows${s} ${key}`);
        capture.push(
          `ct state new ${f} daddr @${local[f]} ${f} saddr != @${podSet[f]} update @flows${s} ${key}`,
        );
      }
    }
  }
  const exclusions = (fields: Array<'saddr' | 'daddr'>): string[] => {
    const out: string[] = [];
    for (const f of FAMILIES) {
      if (!excluded[f]) continue;
      for (const field of fields) out.push(`${f} ${field} @${excluded[f]} accept`);
    }
    return out;
  };
  const dispatch = (directions: Direction[]): string[] => {
    const out: string[] = [];
    for (const direction of directions) {
      for (const f of FAMILIES) {
        out.push(`${f} ${direction === 'egress' ? 'saddr' : 'daddr'} vmap @${direction}${SUFFIX[f]}`);
      }
    }
    return out;
  };
  // Queries redirected to the agent's DNS proxy: the proxy applies the pod's egress verdict for
  // the query to the DNS server itself (it drops what the policy denies) before forwarding it.
  const dnsProxyInput: string[] = [];
  if (agent?.dnsProxyPort !== undefined) {
    for (const f of FAMILIES) {
      if (local[f])
        dnsProxyInput.push(
          `${f} saddr @${local[f]} ct status dnat meta l4proto { udp, tcp } th dport ${agent.dnsProxyPort} accept`,
        );
    }
  }
  // A pod that started before the inventory named it (the start-up race the Kubernetes docs
  // describe): its packets come from (or go to) a pod interface with an address no local pod has.
  // Under an enforced `defaultMode: deny` they are dropped; otherwise only counted. (Its namespace
  // is unknown, so deny-cross-namespace cannot be decided: counted, like allow.)
  const unknownPods: string[] = [];
  if (agent?.podInterfaces !== undefined) {
    const verdict = compiled.defaultMode.effective === 'deny' ? ' drop' : '';
    const pattern = JSON.stringify(agent.podInterfaces);
    for (const f of FAMILIES) {
      const notLocal = local[f] ? ` ${f} saddr != @${local[f]}` : '';
      const notLocalDst = local[f] ? ` ${f} daddr != @${local[f]}` : '';
      unknownPods.push(
        `iifname ${pattern} meta nfproto ${f === 'ip' ? 'ipv4' : 'ipv6'}${notLocal} counter name unknown_pods${verdict}`,
      );
      unknownPods.push(
        `oifname ${pattern} meta nfproto ${f === 'ip' ? 'ipv4' : 'ipv6'}${notLocalDst} counter name unknown_pods${verdict}`,
      );
    }
    agentSets.push(
      '\t# packets of local pods the inventory does not list yet\n\tcounter unknown_pods {\n\t}',
    );
  }
  const markAllowed = `ct mark set ct mark and ${hex(~GENERATION_MASK)} or ${GENERATION}`;
  const baseChain = (name: string, hook: string, comment: string, body: string[]): string =>
    `\t# ${comment}\n\tchain ${name} {\n\t\ttype filter hook ${hook} priority filter; policy accept;\n${body
      .map((l) => `\t\t${l}`)
      .join('\n')}\n\t}`;

  const chains = [
    baseChain('forward', 'forward', 'routed pod traffic: both enforcement points in one pass', [
      ...established,
      ...capture,
      ...exclusions(['saddr', 'daddr']),
      ...unknownPods,
      ...dispatch(['egress', 'ingress']),
      markAllowed,
    ]),
    baseChain('input', 'input', "a local pod's egress to this node", [
      ...established,
      // IPv6 neighbour discovery is the link's plumbing (as ARP, which the inet family never sees),
      // not a flow of SPEC section 2 (TCP, UDP, SCTP): dropping it under a deny would cut a pod off
      // its gateway, and its connections would fail at once instead of timing out.
      'icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert } accept',
      ...exclusions(['saddr']),
      ...dnsProxyInput,
      ...dispatch(['egress']),
      markAllowed,
    ]),
    baseChain(
      'output',
      'output',
      'the node itself: node-local probes are always allowed, nothing is dropped',
      [],
    ),
  ];

  if (agent?.dnsProxyPort !== undefined) {
    const body: string[] = [];
    for (const f of FAMILIES) {
      if (!local[f]) continue;
      for (const proto of ['udp', 'tcp']) {
        body.push(`${f} saddr @${local[f]} ${proto} dport 53 redirect to :${agent.dnsProxyPort}`);
      }
    }
    chains.push(
      `\t# local pods' DNS goes to the agent's proxy (toFqdn sets are filled from its answers)\n\tchain dns {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n${body
        .map((l) => `\t\t${l}`)
        .join('\n')}\n\t}`,
    );
  }

  const fqdnDeclarations: string[] = [];
  for (const set of fqdnSets) {
    const elements = agent?.fqdnElementsFor?.(set.matches) ?? [];
    for (const f of FAMILIES) {
      const own = elements
        .filter((e) => familyOf(e.address) === f)
        .map((e) => `${e.address} timeout ${Math.max(1, Math.round(e.ttlSeconds))}s`);
      fqdnDeclarations.push(
        `\t# ${set.rule} at ${set.source}: addresses from DNS answers, each for its record's TTL\n\tset ${set.name}_${SUFFIX[f]} {\n\t\ttype ${ADDR_TYPE[f]}\n\t\tflags timeout\n${elementsLine([...new Set(own)])}\t}`,
      );
    }
  }

  // Declared before use: sets, then chains (deny passes before the point chains that jump to
  // them), then the verdict maps that jump to point chains, then the base chains.
  const policyBody = [
    ...denyChains.declarations,
    ...pointChains.egress.declarations,
    ...pointChains.ingress.declarations,
  ];
  const policyText = [...sets.declarations, ...policyBody, ...mapDeclarations, ...chains].join('\n');
  const generation = fnv1a(policyText) >>> 17 || 1;
  // After the generation: what the would-deny walk adds never changes a verdict.
  const wouldDeny = agent?.wouldDeny
    ? renderWouldDeny({
        evaluator,
        node,
        sets,
        sortedLocal,
        podEntries,
        podAddressSets,
        exclusions,
        dnsProxyInput,
        pointBody,
      })
    : undefined;
  const table = [
    ...sets.declarations,
    ...fqdnDeclarations,
    ...agentSets,
    ...(wouldDeny?.sets ?? []),
    ...policyBody,
    ...(wouldDeny?.chains ?? []),
    ...mapDeclarations,
    ...(wouldDeny?.maps ?? []),
    ...chains,
    ...(wouldDeny?.baseChains ?? []),
  ]
    .join('\n\n')
    .replaceAll(GENERATION, hex(generation << 16));

  const script = [
    `# nyxctl compile: node ${node}, ${localPods.size} local pod address(es), generation ${hex(generation << 16)}`,
    '# Load with `nft -f` in the node network namespace: one transaction replaces the table inet nyx',
    '# and touches no other table. Denied packets are dropped (a client sees a timeout).',
    'table inet nyx',
    'delete table inet nyx',
    'table inet nyx {',
    table,
    '}',
    '',
  ].join('\n');
  return { script, generation, localPods, fqdnSets, wouldDenyReasons: wouldDeny?.reasons ?? [] };
}

interface WouldDenyInput {
  evaluator: Evaluator;
  node: string;
  sets: SetTable;
  sortedLocal: ReadonlyArray<[string, Pod]>;
  podEntries: ReadonlyArray<{ address: string; pod: Pod }>;
  podAddressSets: (
    pods: Array<{ address: string }>,
    key: string,
    comment: string,
    fixed?: (f: Family) => string,
  ) => Alternative;
  exclusions: (fields: Array<'saddr' | 'daddr'>) => string[];
  dnsProxyInput: readonly string[];
  pointBody: (walk: Walk, plan: SubjectPlan, direction: Direction, subject: Pod) => string[];
}

const PENDING = hex(WOULD_DENY_PENDING);

/**
 * SPEC section 3 in the kernel (the agent's script): the as-if-enforced walk of the same plans and
 * the same renderer as the enforcing chains, in base chains of a later priority (`filter + 1` for
 * egress, `filter + 2` for ingress), so a packet the enforcing chains drop never reaches them, and
 * only for `ct state new`. Where that walk denies, the flow and the id of the deciding reason go to
 * `would_deny4/6` (a dynamic set with counters) and the chain ends with `accept`, which is what its
 * `policy accept` does anyway: these chains never change a packet's fate.
 *
 * Both points of a same-node flow, and the ingress point of a flow from anywhere, are decided on
 * this node: a new packet that reached these chains is effectively allowed. The egress point of a
 * flow to a pod of another node is not: that node's ingress point may still drop it. Such a finding
 * goes to `would_deny_pending4/6` and marks the connection (`WOULD_DENY_PENDING`); its first reply
 * (proof that the other end let it in) counts it in `would_deny_replied4/6` and clears the mark. A
 * one-way UDP flow to a pod of another node therefore yields no finding (documented). A node none
 * of whose points has anything in audit gets none of these chains and sets.
 */
function renderWouldDeny(input: WouldDenyInput): {
  reasons: Reason[];
  sets: string[];
  chains: string[];
  maps: string[];
  baseChains: string[];
} {
  const { evaluator, node, sortedLocal, podEntries, podAddressSets, exclusions, pointBody } = input;
  const { compiled } = evaluator;
  const reasons: Reason[] = [];
  const ids = new Map<Reason, number>();
  const remote = podAddressSets(
    podEntries.filter((e) => e.pod.nodeName !== node),
    'remote',
    'pods of other nodes (their ingress point decides too)',
    (f) => `remote${SUFFIX[f]}`,
  ) as { ip?: string; ip6?: string };
  const nfproto = (f: Family) => `meta nfproto ${f === 'ip' ? 'ipv4' : 'ipv6'}`;
  const tuple = (f: Family) => `${f} saddr . ${f} daddr . meta l4proto . th dport`;
  const recordChains = new ChainTable('wr');
  const walk: Walk = {
    mode: 'asIfEnforced',
    denyChains: new ChainTable('wd'),
    pointChains: { egress: new ChainTable('we'), ingress: new ChainTable('wi') },
    deny: (reason) => {
      let id = ids.get(reason);
      if (id === undefined) {
        id = reasons.length;
        ids.set(reason, id);
        reasons.push(reason);
      }
      const body: string[] = [];
      for (const f of FAMILIES) {
        const s = SUFFIX[f];
        if (reason.point === 'egress' && remote[f]) {
          body.push(
            `${f} daddr @${remote[f]} update @would_deny_pending${s} { ${tuple(f)} . ${id} } ct mark set ct mark or ${PENDING} accept`,
          );
        }
        body.push(`${nfproto(f)} update @would_deny${s} { ${tuple(f)} . ${id} } accept`);
      }
      body.push('accept');
      const where = reason.source ? ` at ${reason.source}` : '';
      return `goto ${recordChains.named(body, `would-deny #${id}: ${reason.point}: ${reason.text}${where}`)}`;
    },
  };
  // Only points whose plan has something in audit (or a config in audit) can decide differently.
  const vmaps = {
    egress: { ip: [] as string[], ip6: [] as string[] },
    ingress: { ip: [] as string[], ip6: [] as string[] },
  };
  for (const [address, pod] of sortedLocal) {
    if (compiled.excludedNamespaces.has(pod.namespace)) continue;
    for (const direction of ['egress', 'ingress'] as const) {
      const plan = evaluator.planFor(pod, direction);
      if (!plan.hasAudit && !plan.adminAudit && compiled.configEnforced) continue;
      const body = pointBody(walk, plan, direction, pod);
      if (body.every((l) => l.startsWith('#') || l.endsWith('return'))) continue; // never denies
      const chain = walk.pointChains[direction].named(
        body,
        `as-if-enforced ${direction} of ${pod.namespace}/${pod.name} (and pods planned alike)`,
      );
      vmaps[direction][familyOf(address)].push(`${address} : jump ${chain}`);
    }
  }
  // Nothing in audit anywhere on this node: no chain, no set (a reader finds none: no finding).
  if (Object.values(vmaps).every((byFamily) => byFamily.ip.length === 0 && byFamily.ip6.length === 0)) {
    return { reasons, sets: [], chains: [], maps: [], baseChains: [] };
  }
  const sets: string[] = [];
  for (const f of FAMILIES) {
    const s = SUFFIX[f];
    const type = `${ADDR_TYPE[f]} . ${ADDR_TYPE[f]} . inet_proto . inet_service`;
    sets.push(
      `\t# would-deny findings: flow and reason id (counters, never a verdict)\n\tset would_deny${s} {\n\t\ttype ${type} . mark\n\t\tsize 65536\n\t\tflags dynamic,timeout\n\t\ttimeout 10m\n\t\tcounter\n\t}`,
      `\t# egress findings to pods of other nodes, waiting for the first reply\n\tset would_deny_pending${s} {\n\t\ttype ${type} . mark\n\t\tsize 65536\n\t\tflags dynamic,timeout\n\t\ttimeout 10m\n\t}`,
      `\t# the flows of pending findings that were answered (counters)\n\tset would_deny_replied${s} {\n\t\ttype ${type}\n\t\tsize 65536\n\t\tflags dynamic,timeout\n\t\ttimeout 10m\n\t\tcounter\n\t}`,
    );
  }
  const maps: string[] = [];
  for (const direction of ['egress', 'ingress'] as const) {
    for (const f of FAMILIES) {
      maps.push(
        `\tmap would_deny_${direction}${SUFFIX[f]} {\n\t\ttype ${ADDR_TYPE[f]} : verdict\n${elementsLine(vmaps[direction][f])}\t}`,
      );
    }
  }
  const dispatch = (direction: Direction) =>
    FAMILIES.map(
      (f) => `${f} ${direction === 'egress' ? 'saddr' : 'daddr'} vmap @would_deny_${direction}${SUFFIX[f]}`,
    );
  const replied = FAMILIES.map(
    (f) =>
      `${nfproto(f)} ct direction reply ct mark and ${PENDING} == ${PENDING} update @would_deny_replied${SUFFIX[f]} { ${f} daddr . ${f} saddr . meta l4proto . th sport } ct mark set ct mark and ${hex(~WOULD_DENY_PENDING)} accept`,
  );
  const base = (name: string, hook: string, priority: string, comment: string, body: string[]) =>
    `\t# ${comment}\n\tchain ${name} {\n\t\ttype filter hook ${hook} priority ${priority}; policy accept;\n${body
      .map((l) => `\t\t${l}`)
      .join('\n')}\n\t}`;
  const baseChains = [
    base(
      'would_deny_forward_egress',
      'forward',
      'filter + 1',
      'as-if-enforced egress of new flows the forward chain let through (records only)',
      [...replied, 'ct state != new accept', ...exclusions(['saddr', 'daddr']), ...dispatch('egress')],
    ),
    base(
      'would_deny_forward_ingress',
      'forward',
      'filter + 2',
      'as-if-enforced ingress of new flows the forward chain let through (records only)',
      ['ct state != new accept', ...exclusions(['saddr', 'daddr']), ...dispatch('ingress')],
    ),
    base(
      'would_deny_input',
      'input',
      'filter + 1',
      "as-if-enforced egress of a local pod's new flows to this node (records only)",
      ['ct state != new accept', ...exclusions(['saddr']), ...input.dnsProxyInput, ...dispatch('egress')],
    ),
  ];
  const chains = [
    ...recordChains.declarations,
    ...walk.denyChains.declarations,
    ...walk.pointChains.egress.declarations,
    ...walk.pointChains.ingress.declarations,
  ];
  return { reasons, sets, chains, maps, baseChains };
}
