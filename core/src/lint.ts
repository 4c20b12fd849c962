// Lint (issue 4): advice about a VALID policy tree. Each finding names the exact rule (`file:line`
// through the object's `lines` map), says what is wrong and how to fix it in one line.
//
// Checks and what they need:
// - always: `ignored-direction`, `rule-without-ports`, `plaintext-egress`, `ipblock-too-broad`,
//   `shadowed-rule`, `missing-dns-egress`, `metadata-reachable`, `namespace-without-default-deny`;
// - with `files` (the whole tree): `missing-owners`, `invalid-owners`;
// - with an inventory: `selector-matches-nothing`, `ipblock-overlaps-cluster`, `orphan-policy`
//   (and `missing-dns-egress`/`metadata-reachable` evaluate the real pods instead of stand-ins);
// - with rule hit counts: `stale-rule`; with the flow window: `excluded-namespace-traffic`.
//
// Findings are conservative: a rule is reported only when the claim can be shown from the policy
// text (and inventory), never on a guess.
import { type CompiledAdminPolicy, compileAdminTiers } from './admin-tiers.js';
import { type Cidr, cidrCovers, cidrsOverlap, parseCidr } from './cidr.js';
import { diffObjects, objectText } from './diff.js';
import { compileEvaluator, type Evaluator } from './evaluate.js';
import type { FlowWindow } from './flows.js';
import { resolveEndpoint } from './inventory.js';
import type { Endpoint, Inventory, Pod } from './inventory-model.js';
import {
  type LintFinding,
  type LintSeverity,
  lintFindingKey,
  type RuleHitCounts,
  ruleHitKey,
  ruleHitObject,
} from './lint-model.js';
import type {
  AdminPeer,
  AdminRule,
  Direction,
  IpBlock,
  LabelSelector,
  LabelSelectorRequirement,
  NetworkPolicy,
  NyxClusterNetworkPolicy,
  NyxEgressRule,
  NyxIngressRule,
  NyxNetworkPolicy,
  NyxPeer,
  NyxPort,
  PolicyFile,
  PolicyObject,
  PolicySet,
} from './model.js';
import { enforcementOf, isUpstreamAdminPolicy, objectId, type UpstreamAdminPolicy } from './model.js';
import { CODEOWNERS_LOCATIONS, isOwnersFile, parseCodeOwners, parseOwners } from './ownership.js';
import {
  BAND_ORDER,
  isolatesDirection,
  type NyxPolicy,
  nyxPeersOf,
  policyBand,
  priorityOf,
  type RuleObject,
  rulesOf as rulesOfPolicy,
  type UpstreamPeer,
  upstreamPeersOf,
  upstreamPolicyTypes,
} from './policy-facts.js';
import { ipBlockMatcher, type ParsedIp, toParsedIp } from './policy-match.js';
import {
  compileSelector,
  type LabelPredicate,
  type Labels,
  labelsSelectedBy,
  selectsEverything,
} from './selector.js';
import type { Reason } from './verdict-model.js';

export interface LintInput {
  policySet: PolicySet;
  /** The whole tree (manifests, OWNERS, ...), for the ownership checks. */
  files?: readonly PolicyFile[];
  inventory?: Inventory;
  ruleHits?: RuleHitCounts;
  /**
   * The observed window (with `inventory`): lint then reports how much traffic crossed each
   * excluded namespace without enforcement (`excluded-namespace-traffic`, SPEC section 2).
   */
  window?: FlowWindow;
  /**
   * An evaluator of `policySet` (over any inventory: walks read only the endpoints they are given)
   * to use instead of compiling one; its cache and its `reuse` then serve lint's probe flows too.
   */
  evaluator?: Evaluator;
}

type NyxRule = NyxEgressRule | NyxIngressRule;

const METADATA_IP = '169.254.169.254';
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
const DIRECTIONS: readonly Direction[] = ['ingress', 'egress'];

// ---- helpers ---------------------------------------------------------------------------------

function isRuleObject(o: PolicyObject): o is RuleObject {
  return o.kind === 'NyxClusterNetworkPolicy' || o.kind === 'NyxNetworkPolicy' || o.kind === 'NetworkPolicy';
}

function nyxRules(o: NyxClusterNetworkPolicy | NyxNetworkPolicy, dir: Direction): readonly NyxRule[] {
  return (dir === 'egress' ? o.spec.egress : o.spec.ingress) ?? [];
}

function rulesOf(o: RuleObject, dir: Direction): readonly unknown[] {
  return rulesOfPolicy(o, dir) ?? [];
}

/** Line of a JSON pointer, else of its nearest ancestor that has one, else of the object. */
function lineOf(o: PolicyObject, pointer: string): number {
  let p = pointer;
  while (p !== '') {
    const line = o.lines[p];
    if (line !== undefined) return line;
    p = p.slice(0, p.lastIndexOf('/'));
  }
  return o.source.line;
}

function finding(
  o: PolicyObject,
  pointer: string,
  severity: LintSeverity,
  rule: string,
  message: string,
  hint: string,
): LintFinding {
  return {
    severity,
    rule,
    object: objectId(o),
    file: o.source.file,
    line: lineOf(o, pointer),
    message,
    hint,
  };
}

function ruleName(dir: Direction, i: number): string {
  return `${dir}[${i}]`;
}

const listedCache = new WeakMap<RuleObject, { value: ReadonlySet<Direction> | undefined }>();

/**
 * Directions a policy lists (upstream inference for NetworkPolicy); undefined when a Nyx policy has
 * no `policyTypes` (then the rules of both directions apply). Cached per object.
 */
function listedDirections(o: RuleObject): ReadonlySet<Direction> | undefined {
  let c = listedCache.get(o);
  if (!c) {
    c = { value: computeListedDirections(o) };
    listedCache.set(o, c);
  }
  return c.value;
}

function computeListedDirections(o: RuleObject): Set<Direction> | undefined {
  const types = o.kind === 'NetworkPolicy' ? upstreamPolicyTypes(o.spec) : o.spec.policyTypes;
  return types ? new Set(types.map((t) => t.toLowerCase() as Direction)) : undefined;
}

function namespaceLabelsOf(inv: Inventory | undefined, ns: string): Labels {
  const labels = inv?.namespaces.get(ns);
  if (labels) return labels;
  if (inv) for (const p of inv.pods.values()) if (p.namespace === ns) return p.namespaceLabels;
  return { [NAMESPACE_NAME_LABEL]: ns };
}

function allNamespaces(inv: Inventory): Map<string, Labels> {
  const out = new Map<string, Labels>(inv.namespaces);
  for (const p of inv.pods.values()) if (!out.has(p.namespace)) out.set(p.namespace, p.namespaceLabels);
  return out;
}

function portCovers(outer: NyxPort, inner: NyxPort): boolean {
  if ((outer.protocol ?? 'TCP') !== (inner.protocol ?? 'TCP')) return false;
  if (outer.port === undefined) return true;
  if (typeof outer.port === 'string' || typeof inner.port === 'string' || inner.port === undefined) {
    return outer.port === inner.port && outer.endPort === undefined && inner.endPort === undefined;
  }
  const lo = outer.port;
  const hi = outer.endPort ?? outer.port;
  return inner.port >= lo && (inner.endPort ?? inner.port) <= hi;
}

/** True when every port `inner` can match is matched by `outer` (absent ports = every port). */
function portsCover(outer: readonly NyxPort[] | undefined, inner: readonly NyxPort[] | undefined): boolean {
  if (!outer || outer.length === 0) return true;
  if (!inner || inner.length === 0) return false;
  return inner.every((ip) => outer.some((op) => portCovers(op, ip)));
}

function portsInclude(ports: readonly NyxPort[] | undefined, protocol: string, port: number): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some(
    (p) =>
      (p.protocol ?? 'TCP') === protocol &&
      typeof p.port === 'number' &&
      port >= p.port &&
      port <= (p.endPort ?? p.port),
  );
}

function exceptOverlaps(block: IpBlock, cidr: Cidr): boolean {
  return (block.except ?? []).some((e) => {
    const c = parseCidr(e);
    return c !== undefined && cidrsOverlap(c, cidr);
  });
}

const clusterAddressCache = new WeakMap<Inventory, Array<{ what: string; addr: ParsedIp }>>();

/** Every pod and node address of the inventory, parsed once. */
function clusterAddresses(inv: Inventory): Array<{ what: string; addr: ParsedIp }> {
  let list = clusterAddressCache.get(inv);
  if (!list) {
    list = [];
    for (const p of inv.pods.values()) {
      if (p.hostNetwork) continue; // its address is its node's, listed below
      for (const ip of p.ips) {
        const addr = toParsedIp(ip);
        if (addr) list.push({ what: `pod ${p.namespace}/${p.name} (${ip})`, addr });
      }
    }
    for (const n of inv.nodes.values()) {
      for (const ip of n.addresses) {
        const addr = toParsedIp(ip);
        if (addr) list.push({ what: `node ${n.name} (${ip})`, addr });
      }
    }
    clusterAddressCache.set(inv, list);
  }
  return list;
}

// ---- pods a policy or peer can concern (inventory, or stand-ins without one) -----------------

const subjectPodsCache = new WeakMap<RuleObject, WeakMap<Inventory, Pod[]>>();

/** Pods of the inventory a policy applies to (cached per policy object and inventory). */
function subjectPods(o: RuleObject, inv: Inventory): Pod[] {
  let byInv = subjectPodsCache.get(o);
  if (!byInv) {
    byInv = new WeakMap();
    subjectPodsCache.set(o, byInv);
  }
  let pods = byInv.get(inv);
  if (!pods) {
    pods = computeSubjectPods(o, inv);
    byInv.set(inv, pods);
  }
  return pods;
}

const podsByNamespaceCache = new WeakMap<Inventory, Map<string, Pod[]>>();

/** The inventory's pods grouped by namespace (computed once per inventory). */
function podsByNamespace(inv: Inventory): Map<string, Pod[]> {
  let m = podsByNamespaceCache.get(inv);
  if (!m) {
    m = new Map();
    for (const p of inv.pods.values()) {
      const list = m.get(p.namespace) ?? [];
      list.push(p);
      m.set(p.namespace, list);
    }
    podsByNamespaceCache.set(inv, m);
  }
  return m;
}

function computeSubjectPods(o: RuleObject, inv: Inventory): Pod[] {
  if (o.kind === 'NyxClusterNetworkPolicy') {
    const ns = compileSelector(o.spec.namespaceSelector ?? {});
    const pod = compileSelector(o.spec.podSelector ?? {});
    const out: Pod[] = [];
    for (const list of podsByNamespace(inv).values()) {
      if (list.length === 0 || !ns(list[0]!.namespaceLabels)) continue;
      for (const p of list) if (pod(p.labels)) out.push(p);
    }
    return out;
  }
  const sel = compileSelector(o.spec.podSelector ?? {});
  return (podsByNamespace(inv).get(o.namespace) ?? []).filter((p) => sel(p.labels));
}

function standInPod(namespace: string, labels: Labels, nsLabels: Labels): Pod {
  return {
    namespace,
    name: 'lint-stand-in',
    workload: `${namespace}/lint-stand-in`,
    labels,
    namespaceLabels: nsLabels,
    hostNetwork: false,
    ports: [],
    ips: [],
  };
}

/**
 * Without an inventory: one stand-in pod the policy selects, with its `matchLabels` plus a value
 * for each `In`/`Exists` expression (`NotIn`/`DoesNotExist` hold for absent labels).
 */
function standInFor(o: NyxNetworkPolicy | NetworkPolicy): Pod {
  const labels = labelsSelectedBy(o.spec.podSelector ?? {}, 'lint-stand-in');
  return {
    ...standInPod(o.namespace, labels, namespaceLabelsOf(undefined, o.namespace)),
    name: `lint-stand-in-${o.kind}-${o.metadata.name}`,
  };
}

function kubeDnsPods(inv: Inventory | undefined): Pod[] {
  const found = inv
    ? [...inv.pods.values()].filter(
        (p) => p.namespace === 'kube-system' && p.labels['k8s-app'] === 'kube-dns',
      )
    : [];
  if (found.length > 0) return found;
  return [
    {
      ...standInPod('kube-system', { 'k8s-app': 'kube-dns' }, namespaceLabelsOf(inv, 'kube-system')),
      name: 'kube-dns',
      workload: 'kube-system/coredns',
      ports: [
        { name: 'dns', containerPort: 53, protocol: 'UDP' },
        { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
      ],
    },
  ];
}

function withPods(inv: Inventory | undefined, extra: readonly Pod[]): Inventory {
  const pods = new Map(inv?.pods ?? []);
  for (const p of extra) pods.set(`${p.namespace}/${p.name}`, p);
  const namespaces = new Map(inv?.namespaces ?? []);
  for (const p of extra) if (!namespaces.has(p.namespace)) namespaces.set(p.namespace, p.namespaceLabels);
  return { pods, namespaces, nodes: inv?.nodes ?? new Map() };
}

/** Distinct (namespace, labels) pods: the evaluator's verdict only depends on these. */
function distinctPods(pods: readonly Pod[]): Pod[] {
  const seen = new Map<string, Pod>();
  for (const p of pods) {
    const key = JSON.stringify([
      p.namespace,
      Object.entries(p.labels).sort(),
      Object.entries(p.namespaceLabels).sort(),
    ]);
    if (!seen.has(key)) seen.set(key, p);
  }
  return [...seen.values()];
}

// ---- the checks ------------------------------------------------------------------------------

function checkIgnoredDirection(o: RuleObject, out: LintFinding[]): void {
  if (!o.spec.policyTypes) return;
  const listed = listedDirections(o)!;
  for (const dir of DIRECTIONS) {
    if (rulesOf(o, dir).length > 0 && !listed.has(dir)) {
      out.push(
        finding(
          o,
          `/spec/${dir}`,
          'warning',
          'ignored-direction',
          `${dir} rules are ignored: policyTypes lists only ${o.spec.policyTypes.join(', ') || 'nothing'}`,
          `add ${dir === 'egress' ? 'Egress' : 'Ingress'} to policyTypes, or delete the ${dir} rules`,
        ),
      );
    }
  }
}

/** Whether a rule can match addresses outside the cluster: no selector peers, an ip block or toFqdn. */
function hasWorldPeer(o: RuleObject, rule: unknown, dir: Direction): boolean {
  if (o.kind === 'NetworkPolicy') {
    const peers = upstreamPeersOf(rule, dir);
    return !peers || peers.length === 0 || peers.some((p) => p.ipBlock !== undefined);
  }
  const { selectors, ipBlock, fqdn } = nyxPeersOf(rule as NyxEgressRule & NyxIngressRule, dir);
  return !selectors || ipBlock !== undefined || fqdn !== undefined;
}

function isAllow(o: RuleObject, rule: unknown): boolean {
  return o.kind === 'NetworkPolicy' || (rule as NyxRule).decision === 'Allow';
}

function checkPorts(o: RuleObject, out: LintFinding[]): void {
  for (const dir of DIRECTIONS) {
    rulesOf(o, dir).forEach((rule, i) => {
      if (!isAllow(o, rule)) return; // a Deny without ports is a deliberate wide block
      const ports = (rule as { ports?: NyxPort[] }).ports;
      const ptr = `/spec/${dir}/${i}`;
      if (!ports || ports.length === 0) {
        out.push(
          finding(
            o,
            ptr,
            'warning',
            'rule-without-ports',
            `${ruleName(dir, i)} allows every port and protocol`,
            'list the ports this traffic really uses (protocol and port on every rule)',
          ),
        );
        return;
      }
      if (dir === 'egress' && hasWorldPeer(o, rule, dir) && portsInclude(ports, 'TCP', 80)) {
        const j = ports.findIndex((p) => portsInclude([p], 'TCP', 80));
        out.push(
          finding(
            o,
            `${ptr}/ports/${j}`,
            'warning',
            'plaintext-egress',
            `${ruleName(dir, i)} allows plaintext HTTP (TCP 80) to addresses outside the cluster`,
            'require HTTPS: allow TCP 443 (toFqdn) instead of 80',
          ),
        );
      }
    });
  }
}

interface IpBlockUse {
  block: IpBlock;
  pointer: string;
  allow: boolean;
  nyx: boolean;
  rule: string;
}

function ipBlocksOf(o: RuleObject): IpBlockUse[] {
  const out: IpBlockUse[] = [];
  for (const dir of DIRECTIONS) {
    rulesOf(o, dir).forEach((rule, i) => {
      const base = `/spec/${dir}/${i}`;
      if (o.kind === 'NetworkPolicy') {
        (upstreamPeersOf(rule, dir) ?? []).forEach((p, j) => {
          if (p.ipBlock) {
            const key = dir === 'egress' ? 'to' : 'from';
            out.push({
              block: p.ipBlock,
              pointer: `${base}/${key}/${j}/ipBlock/cidr`,
              allow: true,
              nyx: false,
              rule: ruleName(dir, i),
            });
          }
        });
      } else {
        const r = rule as NyxEgressRule & NyxIngressRule;
        const block = dir === 'egress' ? r.toIpBlock : r.fromIpBlock;
        const key = dir === 'egress' ? 'toIpBlock' : 'fromIpBlock';
        if (block) {
          out.push({
            block,
            pointer: `${base}/${key}/cidr`,
            allow: r.decision === 'Allow',
            nyx: true,
            rule: ruleName(dir, i),
          });
        }
      }
    });
  }
  return out;
}

// Policies repeat the same blocks (0.0.0.0/0 except …, a provider's range): each is tested against
// the cluster's addresses once per inventory.
const blockHits = new WeakMap<Inventory, Map<string, string[]>>();

/** The cluster addresses (as `clusterAddresses` names them) inside the block; none when malformed. */
function clusterAddressesIn(block: IpBlock, inv: Inventory): string[] {
  let known = blockHits.get(inv);
  if (!known) {
    known = new Map();
    blockHits.set(inv, known);
  }
  const key = JSON.stringify([block.cidr, block.except ?? []]);
  let hits = known.get(key);
  if (!hits) {
    const contains = ipBlockMatcher(block);
    hits = contains
      ? clusterAddresses(inv)
          .filter((a) => contains(a.addr))
          .map((a) => a.what)
      : [];
    known.set(key, hits);
  }
  return hits;
}

function checkIpBlocks(o: RuleObject, inv: Inventory | undefined, out: LintFinding[]): void {
  for (const use of ipBlocksOf(o)) {
    const c = parseCidr(use.block.cidr);
    if (!c || c.prefixLength === 0) continue; // `/0` is the explicit "everything outside" idiom
    const broadLimit = c.family === 'ipv4' ? 8 : 32;
    if (use.allow && c.prefixLength < broadLimit) {
      out.push(
        finding(
          o,
          use.pointer,
          'warning',
          'ipblock-too-broad',
          `${use.rule} allows ${use.block.cidr}, broader than a /${broadLimit}`,
          `narrow the CIDR to the ranges really needed (or write 0.0.0.0/0 if you mean everything)`,
        ),
      );
    }
    if (!inv) continue;
    const hits = clusterAddressesIn(use.block, inv);
    if (hits.length === 0) continue;
    const shown = hits.slice(0, 3).join(', ') + (hits.length > 3 ? ` and ${hits.length - 3} more` : '');
    out.push(
      finding(
        o,
        use.pointer,
        'warning',
        'ipblock-overlaps-cluster',
        `${use.rule} ${use.block.cidr} overlaps cluster addresses: ${shown}` +
          (use.nyx
            ? ' (Nyx ip blocks match only addresses outside the cluster, so this part never applies)'
            : ''),
        'select pods and namespaces with to/from selectors; keep ip blocks for addresses outside the cluster',
      ),
    );
  }
}

/** A peer's pods (with the inventory) and whether it names a namespace that does not match any. */
function describeMiss(selector: LabelSelector, candidates: readonly Labels[], what: string): string {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (candidates.some((l) => l[k] === v)) continue;
    const values = [
      ...new Set(candidates.map((l) => l[k]).filter((x): x is string => x !== undefined)),
    ].slice(0, 3);
    return values.length > 0
      ? `no ${what} has ${k}=${v} (${what}s there have ${values.map((x) => `${k}=${x}`).join(', ')})`
      : `no ${what} has the label ${k}`;
  }
  return `no ${what} matches it`;
}

function checkSelectors(
  o: RuleObject,
  inv: Inventory,
  namespaces: Map<string, Labels>,
  out: LintFinding[],
): void {
  const byNs = podsByNamespace(inv);
  const podsIn = (names: readonly string[]): Pod[] => names.flatMap((n) => byNs.get(n) ?? []);
  const hint = 'compare with `kubectl get pods --show-labels`: a label typo selects nothing';
  if (o.kind !== 'NyxClusterNetworkPolicy' && !namespaces.has(o.namespace)) return; // orphan-policy says it
  if (subjectPods(o, inv).length === 0) {
    let pointer = '/spec/podSelector';
    const candidates = o.kind === 'NyxClusterNetworkPolicy' ? [] : podsIn([o.namespace]).map((p) => p.labels);
    let why: string;
    if (o.kind === 'NyxClusterNetworkPolicy') {
      const nsSel = compileSelector(o.spec.namespaceSelector ?? {});
      const matched = [...namespaces].filter(([, l]) => nsSel(l)).map(([n]) => n);
      if (matched.length === 0) pointer = '/spec/namespaceSelector';
      why =
        matched.length === 0
          ? `namespaceSelector: ${describeMiss(o.spec.namespaceSelector ?? {}, [...namespaces.values()], 'namespace')}`
          : `podSelector: ${describeMiss(
              o.spec.podSelector ?? {},
              podsIn(matched).map((p) => p.labels),
              'pod',
            )}`;
    } else {
      why = describeMiss(o.spec.podSelector ?? {}, candidates, 'pod');
    }
    out.push(
      finding(o, pointer, 'warning', 'selector-matches-nothing', `the policy selects no pod: ${why}`, hint),
    );
  }
  for (const dir of DIRECTIONS) {
    rulesOf(o, dir).forEach((rule, i) => {
      const key = dir === 'egress' ? 'to' : 'from';
      const peers = ((rule as Record<string, unknown>)[key] ?? []) as Array<{
        namespaceSelector?: LabelSelector;
        podSelector?: LabelSelector;
        ipBlock?: IpBlock;
      }>;
      peers.forEach((peer, j) => {
        if (peer.ipBlock || (!peer.namespaceSelector && !peer.podSelector)) return;
        const scope = o.kind === 'NyxClusterNetworkPolicy' ? undefined : o.namespace;
        const miss = peerMiss(peer, scope, inv, namespaces);
        if (!miss) return;
        out.push(
          finding(
            o,
            `/spec/${dir}/${i}/${key}/${j}`,
            'warning',
            'selector-matches-nothing',
            `${ruleName(dir, i)} ${key}[${j}] ${miss.selector} matches nothing: ${miss.why}`,
            hint,
          ),
        );
      });
    });
  }
}

interface PeerMiss {
  selector: 'namespaceSelector' | 'podSelector';
  why: string;
}

// Generated and copied policies repeat the same peers: each distinct peer is checked once per inventory.
const peerMisses = new WeakMap<Inventory, Map<string, PeerMiss | null>>();

/**
 * Why a selector peer selects nothing in the inventory (its namespaceSelector, else its
 * podSelector), or null. Without a namespaceSelector the peer looks in `scope` (the policy's
 * namespace), or in every namespace when `scope` is undefined (cluster policies).
 */
function peerMiss(
  peer: { namespaceSelector?: LabelSelector; podSelector?: LabelSelector },
  scope: string | undefined,
  inv: Inventory,
  namespaces: Map<string, Labels>,
): PeerMiss | null {
  let known = peerMisses.get(inv);
  if (!known) {
    known = new Map();
    peerMisses.set(inv, known);
  }
  const key = JSON.stringify([
    peer.namespaceSelector ?? null,
    peer.podSelector ?? null,
    peer.namespaceSelector ? null : (scope ?? null),
  ]);
  let miss = known.get(key);
  if (miss === undefined) {
    miss = computePeerMiss(peer, scope, inv, namespaces);
    known.set(key, miss);
  }
  return miss;
}

function computePeerMiss(
  peer: { namespaceSelector?: LabelSelector; podSelector?: LabelSelector },
  scope: string | undefined,
  inv: Inventory,
  namespaces: Map<string, Labels>,
): PeerMiss | null {
  const byNs = podsByNamespace(inv);
  let nsNames: string[];
  if (peer.namespaceSelector) {
    const sel = compileSelector(peer.namespaceSelector);
    nsNames = [...namespaces].filter(([, l]) => sel(l)).map(([n]) => n);
    if (nsNames.length === 0) {
      const why = describeMiss(peer.namespaceSelector, [...namespaces.values()], 'namespace');
      return { selector: 'namespaceSelector', why };
    }
  } else {
    nsNames = scope === undefined ? [...namespaces.keys()] : [scope];
  }
  if (!peer.podSelector) return null;
  const sel = compileSelector(peer.podSelector);
  for (const n of nsNames) for (const p of byNs.get(n) ?? []) if (sel(p.labels)) return null;
  const why = describeMiss(
    peer.podSelector,
    nsNames.flatMap((n) => byNs.get(n) ?? []).map((p) => p.labels),
    'pod',
  );
  return { selector: 'podSelector', why };
}

// ---- shadowing -------------------------------------------------------------------------------

interface NyxRuleRef {
  o: NyxClusterNetworkPolicy | NyxNetworkPolicy;
  dir: Direction;
  index: number;
  rule: NyxRule;
}

function peerParts(rule: NyxRule, dir: Direction) {
  const r = rule as NyxEgressRule & NyxIngressRule;
  return {
    selectors: dir === 'egress' ? r.to : r.from,
    ipBlock: dir === 'egress' ? r.toIpBlock : r.fromIpBlock,
    fqdn: dir === 'egress' ? r.toFqdn : undefined,
  };
}

function sameExpression(a: LabelSelectorRequirement, b: LabelSelectorRequirement): boolean {
  const av = [...(a.values ?? [])].sort().join('\u0000');
  const bv = [...(b.values ?? [])].sort().join('\u0000');
  return a.key === b.key && a.operator === b.operator && av === bv;
}

/**
 * True when every label set `inner` selects is selected by `outer`, shown from the selectors' text
 * alone (so it holds for pods that do not exist yet). Conservative: false when unsure.
 */
export function selectorImplies(outer: LabelSelector, inner: LabelSelector): boolean {
  const il = inner.matchLabels ?? {};
  const ie = inner.matchExpressions ?? [];
  const pinned = (k: string): string | undefined => {
    if (il[k] !== undefined) return il[k];
    const e = ie.find((x) => x.key === k && x.operator === 'In' && x.values?.length === 1);
    return e?.values?.[0];
  };
  for (const [k, v] of Object.entries(outer.matchLabels ?? {})) {
    if (pinned(k) !== v) return false;
  }
  for (const oe of outer.matchExpressions ?? []) {
    if (ie.some((e) => sameExpression(e, oe))) continue;
    const v = pinned(oe.key);
    const present =
      v !== undefined || ie.some((e) => e.key === oe.key && (e.operator === 'Exists' || e.operator === 'In'));
    if (oe.operator === 'Exists' && present) continue;
    if (oe.operator === 'In' && v !== undefined && (oe.values ?? []).includes(v)) continue;
    if (oe.operator === 'NotIn' && v !== undefined && !(oe.values ?? []).includes(v)) continue;
    if (oe.operator === 'In') {
      // inner In [a, b] ⊆ outer In [a, b, c]
      const inIn = ie.find((e) => e.key === oe.key && e.operator === 'In');
      if (inIn && (inIn.values ?? []).every((x) => (oe.values ?? []).includes(x))) continue;
    }
    return false;
  }
  return true;
}

/** Which namespaces a `to`/`from` entry reaches: any, the policy's own, or those a selector picks. */
type NamespaceScope = { any: true } | { own: string } | { selector: LabelSelector };

/** A selector peer of either shape (Nyx `to`/`from` entry or upstream NetworkPolicy peer). */
type SelectorPeer = Pick<NyxPeer, 'namespaceSelector' | 'podSelector'>;

function namespaceScope(peer: SelectorPeer, policy: RuleObject): NamespaceScope {
  if (peer.namespaceSelector) return { selector: peer.namespaceSelector };
  return policy.kind === 'NyxClusterNetworkPolicy' ? { any: true } : { own: policy.namespace };
}

function namespaceScopeCovers(o: NamespaceScope, i: NamespaceScope): boolean {
  if ('any' in o) return true;
  if ('own' in o) {
    if ('own' in i) return o.own === i.own;
    return 'selector' in i && i.selector.matchLabels?.[NAMESPACE_NAME_LABEL] === o.own;
  }
  if ('any' in i) return selectsEverything(o.selector);
  if ('own' in i) return selectorImplies(o.selector, { matchLabels: { [NAMESPACE_NAME_LABEL]: i.own } });
  return selectorImplies(o.selector, i.selector);
}

function peerCovers(o: NyxPeer, outerPolicy: NyxPolicy, i: NyxPeer, innerPolicy: NyxPolicy): boolean {
  if (!namespaceScopeCovers(namespaceScope(o, outerPolicy), namespaceScope(i, innerPolicy))) return false;
  return !o.podSelector || selectorImplies(o.podSelector, i.podSelector ?? {});
}

/** True when every peer `inner` can match, `outer` matches too (conservative). */
function peersCover(
  outer: NyxRule,
  outerPolicy: NyxPolicy,
  inner: NyxRule,
  innerPolicy: NyxPolicy,
  dir: Direction,
): boolean {
  const o = peerParts(outer, dir);
  const i = peerParts(inner, dir);
  if (!o.selectors && !o.ipBlock && !o.fqdn) return true; // outer matches every peer
  if (!i.selectors && !i.ipBlock && !i.fqdn) return false;
  if (i.selectors) {
    const outerPeers = o.selectors ?? [];
    const covered = i.selectors.every((ip) =>
      outerPeers.some((op) => peerCovers(op, outerPolicy, ip, innerPolicy)),
    );
    if (!covered) return false;
  }
  if (i.ipBlock) {
    const ic = parseCidr(i.ipBlock.cidr);
    const oc = o.ipBlock ? parseCidr(o.ipBlock.cidr) : undefined;
    if (!ic || !oc || !o.ipBlock || !cidrCovers(oc, ic) || exceptOverlaps(o.ipBlock, ic)) return false;
  }
  if (i.fqdn) {
    // A name resolves to some address outside the cluster: covered by an outer 0.0.0.0/0 without
    // exceptions (IPv4 clusters, as in the seed guide), or by the very same names.
    const everything = o.ipBlock && o.ipBlock.cidr === '0.0.0.0/0' && (o.ipBlock.except ?? []).length === 0;
    const sameNames = i.fqdn.every((f) =>
      (o.fqdn ?? []).some((g) => g.matchName === f.matchName && g.matchPattern === f.matchPattern),
    );
    if (!everything && !sameNames) return false;
  }
  return true;
}

/** True when `outer`'s subject includes every pod `inner` applies to. */
function subjectCovers(
  outer: NyxClusterNetworkPolicy | NyxNetworkPolicy,
  inner: NyxClusterNetworkPolicy | NyxNetworkPolicy,
  inv: Inventory | undefined,
): boolean {
  // First from the selectors' text (holds for pods that do not exist yet), then, with an
  // inventory, from the pods that exist now.
  const outerPods = outer.spec.podSelector ?? {};
  const innerPodSelector = inner.spec.podSelector ?? {};
  if (outer.kind === 'NyxNetworkPolicy') {
    if (inner.kind !== 'NyxNetworkPolicy' || inner.namespace !== outer.namespace) return false;
    if (selectorImplies(outerPods, innerPodSelector)) return true;
    if (!inv) return false;
    const pods = subjectPods(inner, inv);
    const sel = compileSelector(outerPods);
    return pods.length > 0 && pods.every((p) => sel(p.labels));
  }
  const outerNs = outer.spec.namespaceSelector ?? {};
  const nsSel = compileSelector(outerNs);
  if (inner.kind === 'NyxNetworkPolicy') {
    if (!nsSel(namespaceLabelsOf(inv, inner.namespace))) return false;
    if (selectorImplies(outerPods, innerPodSelector)) return true;
  } else if (
    selectorImplies(outerNs, inner.spec.namespaceSelector ?? {}) &&
    selectorImplies(outerPods, innerPodSelector)
  ) {
    return true;
  }
  if (!inv) return false;
  const pods = subjectPods(inner, inv);
  const podSel = compileSelector(outerPods);
  return pods.length > 0 && pods.every((p) => nsSel(p.namespaceLabels) && podSel(p.labels));
}

/** Does `a` decide before `b` at the same enforcement point? (bands, then priority) */
function decidesBefore(
  a: NyxClusterNetworkPolicy | NyxNetworkPolicy,
  b: NyxClusterNetworkPolicy | NyxNetworkPolicy,
): boolean {
  const ba = BAND_ORDER[policyBand(a)];
  const bb = BAND_ORDER[policyBand(b)];
  if (ba !== bb) return ba < bb;
  return priorityOf(a) < priorityOf(b);
}

/**
 * Who can decide before whom, indexed so that a tree of thousands of policies is not compared pair
 * by pair: the platform band for everyone, the same namespace's application policies, the baseline.
 * Each list is in decision order (priority ascending), so the first cover found is the first decider.
 */
function shadowCandidates(nyx: readonly NyxPolicy[]): (o: NyxPolicy) => NyxPolicy[] {
  const byPriority = (a: NyxPolicy, b: NyxPolicy) => priorityOf(a) - priorityOf(b);
  const platform = nyx.filter((p) => policyBand(p) === 'platform').sort(byPriority);
  const baseline = nyx.filter((p) => policyBand(p) === 'baseline').sort(byPriority);
  const app = new Map<string, NyxPolicy[]>();
  for (const p of nyx) {
    if (p.kind !== 'NyxNetworkPolicy') continue;
    const list = app.get(p.namespace) ?? [];
    list.push(p);
    app.set(p.namespace, list);
  }
  for (const list of app.values()) list.sort(byPriority);
  const before = (list: readonly NyxPolicy[], o: NyxPolicy) =>
    list.filter((p) => p !== o && decidesBefore(p, o));
  return (o) => {
    if (o.kind === 'NyxNetworkPolicy') return [...platform, ...before(app.get(o.namespace) ?? [], o)];
    if (o.spec.tier === 'baseline') return [...platform, ...before(baseline, o)];
    return before(platform, o);
  };
}

/** Shadowed rules of the policies `checked` accepts (the candidates that shadow them: any of `nyx`). */
function checkShadowing(
  nyx: readonly NyxPolicy[],
  checked: (o: NyxPolicy) => boolean,
  adminTier: readonly CompiledAdminPolicy[],
  inv: Inventory | undefined,
  out: LintFinding[],
): void {
  const candidatesFor = shadowCandidates(nyx);
  for (const o of nyx) {
    if (!checked(o)) continue;
    const listed = listedDirections(o);
    const candidates = candidatesFor(o);
    for (const dir of DIRECTIONS) {
      if (listed && !listed.has(dir)) continue; // ignored-direction reports those
      nyxRules(o, dir).forEach((rule, index) => {
        const target = { o, dir, index, rule };
        const own = findOwnShadow(target);
        const admin = own
          ? undefined
          : findAdminShadow(
              {
                o,
                dir,
                index,
                decision: rule.decision,
                ports: rule.ports,
                peersCoveredBy: (r) => adminPeersCover(r, dir, rule, o),
              },
              adminTier,
              inv,
            );
        if (admin) {
          out.push(admin);
          return;
        }
        const shadow = own ?? findShadow(target, candidates, inv);
        if (!shadow) return;
        const by = `${objectId(shadow.o)} ${ruleName(dir, shadow.index)} ${shadow.rule.decision}`;
        const where =
          shadow.o === o
            ? 'an earlier rule of this policy'
            : `${policyBand(shadow.o)} band, priority ${priorityOf(shadow.o)}`;
        const opposite = shadow.rule.decision !== rule.decision;
        out.push(
          finding(
            o,
            `/spec/${dir}/${index}`,
            opposite ? 'warning' : 'info',
            'shadowed-rule',
            `${ruleName(dir, index)} ${rule.decision} never decides: ${by} (${where}) matches every flow it could match and decides first`,
            shadow.o === o
              ? 'remove the rule or move it before the rule that covers it'
              : shadow.o.kind === 'NyxClusterNetworkPolicy'
                ? 'remove the rule, or ask the platform team (cluster/OWNERS) for an exception in the guardrail'
                : 'remove the rule, or give this policy a lower priority than the one that covers it',
          ),
        );
      });
    }
  }
}

/** An earlier rule of the same policy that matches every flow the target could (first match wins inside a policy). */
function findOwnShadow(target: NyxRuleRef): NyxRuleRef | undefined {
  const { o, dir, index, rule } = target;
  const own = nyxRules(o, dir);
  for (let j = 0; j < index; j++) {
    const earlier = own[j]!;
    if (portsCover(earlier.ports, rule.ports) && peersCover(earlier, o, rule, o, dir))
      return { o, dir, index: j, rule: earlier };
  }
  return undefined;
}

/** A Nyx policy of a band that always decides first for every pod the target's policy applies to. */
function findShadow(
  target: NyxRuleRef,
  candidates: readonly NyxPolicy[],
  inv: Inventory | undefined,
): NyxRuleRef | undefined {
  const { o, dir, rule } = target;
  const targetAudit = enforcementOf(o) === 'audit';
  for (const p of candidates) {
    if (!targetAudit && enforcementOf(p) === 'audit') continue; // the effective walk skips it
    const listed = listedDirections(p);
    if (listed && !listed.has(dir)) continue;
    // The cheap rule comparison first; the subject comparison may look at every pod.
    const rules = nyxRules(p, dir);
    const k = rules.findIndex((d) => portsCover(d.ports, rule.ports) && peersCover(d, p, rule, o, dir));
    if (k < 0 || !subjectCovers(p, o, inv)) continue;
    // p has a hit for every flow the target could match (the first of its rules that matches,
    // whatever it is), so p's priority group decides and the walk never reaches the target.
    const decider = rules[k]!;
    return { o: p, dir, index: k, rule: decider };
  }
  return undefined;
}

// ---- evaluator-based checks: DNS and metadata ------------------------------------------------

/** The decision at the egress point; a flow-wide reason (excluded namespace, ...) decides for it. */
function egressDecision(reasons: readonly Reason[], verdict: 'allow' | 'deny'): 'allow' | 'deny' {
  const egress = reasons.find((r) => r.point === 'egress');
  if (egress) return egress.decision;
  return reasons.some((r) => r.point === undefined) ? verdict : 'allow';
}

/** DNS and metadata findings about the namespaced policies `checked` accepts. */
function checkDnsAndMetadata(
  policySet: PolicySet,
  checked: (o: PolicyObject) => boolean,
  inv: Inventory | undefined,
  shared: Evaluator | undefined,
  out: LintFinding[],
): void {
  const namespaced = policySet.objects.filter(
    (o): o is NyxNetworkPolicy | NetworkPolicy =>
      (o.kind === 'NyxNetworkPolicy' || o.kind === 'NetworkPolicy') && checked(o),
  );
  const egressIsolating = namespaced.filter((o) => isolatesDirection(o, 'egress'));
  const withEgress = namespaced.filter(
    (o) => isolatesDirection(o, 'egress') || rulesOf(o, 'egress').length > 0,
  );
  if (withEgress.length === 0) return;
  const dns = kubeDnsPods(inv);
  const standIns = new Map(inv ? [] : withEgress.map((o) => [o, standInFor(o)] as const));
  const evaluator = shared ?? compileEvaluator(policySet, withPods(inv, [...dns, ...standIns.values()]));
  const podsFor = (o: NyxNetworkPolicy | NetworkPolicy): Pod[] =>
    inv ? distinctPods(subjectPods(o, inv)) : [standIns.get(o)!];

  for (const o of egressIsolating) {
    const blocked: string[] = [];
    for (const pod of podsFor(o)) {
      const src: Endpoint = { kind: 'pod', pod, ...(pod.ips[0] ? { ip: pod.ips[0] } : {}) };
      for (const protocol of ['UDP', 'TCP'] as const) {
        const denied = dns.every((d) => {
          const dst: Endpoint = { kind: 'pod', pod: d, ...(d.ips[0] ? { ip: d.ips[0] } : {}) };
          // Only the egress point is this policy's business (kube-dns' own ingress is the platform's).
          const v = evaluator.evaluate({ src, dst, protocol, port: 53 });
          return egressDecision(v.asIfEnforcedReasons, v.asIfEnforced) === 'deny';
        });
        if (denied && !blocked.includes(protocol)) blocked.push(protocol);
      }
    }
    if (blocked.length === 0) continue;
    out.push(
      finding(
        o,
        '/spec/policyTypes',
        'warning',
        'missing-dns-egress',
        `the policy isolates egress but DNS to kube-dns (${blocked.join(' and ')} 53) is not allowed for its pods`,
        'allow egress to kube-system pods k8s-app=kube-dns on UDP and TCP 53 (fragments/allow-dns.yaml)',
      ),
    );
  }

  const reported = new Set<string>();
  for (const o of withEgress) {
    if (reported.has(o.namespace)) continue;
    for (const pod of podsFor(o)) {
      const src: Endpoint = { kind: 'pod', pod, ...(pod.ips[0] ? { ip: pod.ips[0] } : {}) };
      const v = evaluator.evaluate({
        src,
        dst: { kind: 'world', ip: METADATA_IP },
        protocol: 'TCP',
        port: 80,
      });
      if (v.asIfEnforced !== 'allow') continue;
      reported.add(o.namespace);
      const reason = v.asIfEnforcedReasons.find((r) => r.point === 'egress') ?? v.asIfEnforcedReasons[0];
      out.push(
        finding(
          o,
          '/spec',
          'warning',
          'metadata-reachable',
          `pods of namespace ${o.namespace}${inv ? ` (e.g. ${pod.namespace}/${pod.name})` : ''} can reach the cloud metadata address ${METADATA_IP}` +
            (reason ? ` (${reason.text})` : ''),
          `deny ${METADATA_IP}/32 in a platform guardrail, or except it from the ip block that allows it`,
        ),
      );
      break;
    }
  }
}

// ---- namespace-level checks ------------------------------------------------------------------

function checkDefaultDeny(
  policySet: PolicySet,
  files: readonly PolicyFile[] | undefined,
  inv: Inventory | undefined,
  out: LintFinding[],
): void {
  const config = policySet.config;
  if ((config?.spec.defaultMode ?? 'allow') !== 'allow') return;
  const excluded = new Set(config?.spec.excludedNamespaces ?? []);
  const namespaces = new Set<string>();
  for (const o of policySet.objects) if ('namespace' in o) namespaces.add(o.namespace);
  for (const f of files ?? []) {
    const m = /^namespaces\/([^/]+)\//.exec(f.path);
    if (m) namespaces.add(m[1]!);
  }
  if (inv) for (const ns of allNamespaces(inv).keys()) namespaces.add(ns);
  for (const ns of [...namespaces].sort()) {
    if (excluded.has(ns)) continue;
    const inNs = policySet.objects.filter(
      (o): o is NyxNetworkPolicy | NetworkPolicy =>
        (o.kind === 'NyxNetworkPolicy' || o.kind === 'NetworkPolicy') && o.namespace === ns,
    );
    const missing = DIRECTIONS.filter(
      (dir) => !inNs.some((o) => isolatesDirection(o, dir) && selectsEverything(o.spec.podSelector ?? {})),
    );
    if (missing.length === 0) continue;
    const at = inNs[0] ?? config;
    const message = `namespace ${ns} has no default-deny for ${missing.join(' and ')} and the cluster default is allow`;
    const hint = `add a policy in namespaces/${ns}/ with podSelector {} and policyTypes [${missing
      .map((d) => (d === 'egress' ? 'Egress' : 'Ingress'))
      .join(', ')}] (start it in audit)`;
    if (at) {
      const f = finding(
        at,
        at === config ? '/spec/defaultMode' : '/spec',
        'warning',
        'namespace-without-default-deny',
        message,
        hint,
      );
      out.push({ ...f, object: `Namespace/${ns}` });
    } else {
      // No object to point at: the namespace's folder (our choice; line 1 as there is no better line).
      out.push({
        severity: 'warning',
        rule: 'namespace-without-default-deny',
        object: `Namespace/${ns}`,
        file: `namespaces/${ns}/`,
        line: 1,
        message,
        hint,
      });
    }
  }
}

function checkOwners(files: readonly PolicyFile[], out: LintFinding[]): void {
  const folders = new Map<string, string>();
  const owners = new Set<string>();
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    const m = /^namespaces\/([^/]+)\/(.+)$/.exec(f.path);
    if (!m) continue;
    if (m[2] === 'OWNERS') owners.add(m[1]!);
    else if (!folders.has(m[1]!)) folders.set(m[1]!, f.path);
  }
  for (const [ns, first] of folders) {
    if (owners.has(ns)) continue;
    out.push({
      severity: 'error',
      rule: 'missing-owners',
      object: `Namespace/${ns}`,
      file: first,
      line: 1,
      message: `namespace folder namespaces/${ns}/ has no OWNERS file: every namespace needs a named owner`,
      hint: `add namespaces/${ns}/OWNERS with approvers: [<team or users>]`,
    });
  }
  for (const f of files) {
    const isOwners = isOwnersFile(f.path);
    if (!isOwners && !CODEOWNERS_LOCATIONS.includes(f.path)) continue;
    const r = isOwners ? parseOwners(f.path, f.content) : parseCodeOwners(f.path, f.content);
    if (r.ok) continue;
    for (const e of r.errors) {
      out.push({
        severity: 'error',
        rule: 'invalid-owners',
        file: e.file,
        line: e.line,
        message: e.message,
        hint: isOwners
          ? 'OWNERS is YAML: approvers: [users or org/team], optional reviewers and labels'
          : 'CODEOWNERS lines are `pattern @user @org/team ...`',
      });
    }
  }
}

/**
 * True when every peer of the rule is a pod selector confined (by `kubernetes.io/metadata.name`) to
 * excluded namespaces: flows there bypass enforcement, so the rule cannot decide anything while the
 * exclusion lasts, and is kept for the day it ends (e.g. DNS to kube-system).
 */
function onlyExcludedPeers(rule: unknown, dir: Direction, excluded: ReadonlySet<string>): boolean {
  const r = rule as Record<string, unknown>;
  if (r.toIpBlock || r.fromIpBlock || r.toFqdn) return false;
  const peers = (r[dir === 'egress' ? 'to' : 'from'] ?? []) as Array<{
    namespaceSelector?: LabelSelector;
    ipBlock?: unknown;
  }>;
  return (
    peers.length > 0 &&
    peers.every((p) => {
      const name = p.namespaceSelector?.matchLabels?.[NAMESPACE_NAME_LABEL];
      return !p.ipBlock && name !== undefined && excluded.has(name);
    })
  );
}

function checkStale(
  o: RuleObject,
  hits: RuleHitCounts,
  excluded: ReadonlySet<string>,
  out: LintFinding[],
): void {
  const id = objectId(o);
  for (const dir of DIRECTIONS) {
    const listed = listedDirections(o);
    if (listed && !listed.has(dir)) continue;
    rulesOf(o, dir).forEach((rule, i) => {
      // A Deny that never fired is a guardrail doing its job; only unused allows are stale.
      if (!isAllow(o, rule) || onlyExcludedPeers(rule, dir, excluded)) return;
      if ((hits.get(ruleHitKey(id, dir, i)) ?? 0) > 0) return;
      out.push(
        finding(
          o,
          `/spec/${dir}/${i}`,
          'info',
          'stale-rule',
          `no observed flow hit ${ruleName(dir, i)} in the window`,
          'review it at the quarterly review: remove it if the traffic no longer exists',
        ),
      );
    });
  }
}

// ---- excluded namespaces: the gap in enforcement ----------------------------------------------

/** Connections and distinct flows of a window with an end in each excluded namespace. */
export function countExcludedTraffic(input: {
  policySet: PolicySet;
  inventory: Inventory;
  window: FlowWindow;
}): Map<string, { connections: number; flows: number }> {
  const excluded = new Set(input.policySet.config?.spec.excludedNamespaces ?? []);
  const out = new Map<string, { connections: number; flows: number }>();
  if (excluded.size === 0) return out;
  const cache = new Map<string, string | undefined>();
  const namespaceOf = (ref: string): string | undefined => {
    if (!cache.has(ref)) {
      const e = resolveEndpoint(input.inventory, ref);
      cache.set(ref, e?.kind === 'pod' ? e.pod.namespace : undefined);
    }
    return cache.get(ref);
  };
  for (const t of input.window.tuples()) {
    const ends = new Set(
      [namespaceOf(t.src), namespaceOf(t.dst)].filter((n): n is string => n !== undefined),
    );
    for (const ns of ends) {
      if (!excluded.has(ns)) continue;
      const c = out.get(ns) ?? { connections: 0, flows: 0 };
      c.connections += t.count;
      c.flows += 1;
      out.set(ns, c);
    }
  }
  return out;
}

function checkExcludedTraffic(
  policySet: PolicySet,
  inv: Inventory,
  window: FlowWindow,
  out: LintFinding[],
): void {
  const config = policySet.config;
  if (!config) return;
  const counts = countExcludedTraffic({ policySet, inventory: inv, window });
  (config.spec.excludedNamespaces ?? []).forEach((ns, i) => {
    const c = counts.get(ns);
    if (!c) return;
    out.push(
      finding(
        config,
        `/spec/excludedNamespaces/${i}`,
        'info',
        'excluded-namespace-traffic',
        `${c.connections} connections (${c.flows} distinct flows) in the window have an end in excluded namespace ${ns}: they bypass enforcement`,
        'keep excludedNamespaces to the system namespaces that cannot tolerate policy; every exclusion is a gap',
      ),
    );
  });
}

// ---- entry point -----------------------------------------------------------------------------

// ---- upstream admin policy (SPEC 9) ----------------------------------------------------------------

/**
 * `admin-networks-cut-pod-traffic`: upstream `networks` match pod and node addresses too, so a
 * Deny or Accept of `0.0.0.0/0` (or, with an inventory, of any block holding a cluster address)
 * also decides pod-to-pod traffic, which a reader of "networks" rarely means. `admin-subject-matches-nothing`
 * (with an inventory): the subject selects no pod, so the policy does nothing.
 */
function checkAdminPolicy(o: UpstreamAdminPolicy, inv: Inventory | undefined, out: LintFinding[]): void {
  const cluster = inv ? clusterAddresses(inv) : [];
  for (const dir of ['ingress', 'egress'] as const) {
    (o.spec[dir] ?? []).forEach((rule, i) => {
      if (rule.action === 'Pass') return;
      (dir === 'egress' ? rule.to : rule.from)?.forEach((peer, j) => {
        peer.networks?.forEach((text, k) => {
          const cidr = parseCidr(text);
          if (!cidr) return;
          const whole = cidr.prefixLength === 0;
          const holds = whole ? undefined : cluster.find((c) => ipBlockMatcher({ cidr: text })?.(c.addr));
          if (!whole && !holds) return;
          out.push(
            finding(
              o,
              `/spec/${dir}/${i}/${dir === 'egress' ? 'to' : 'from'}/${j}/networks/${k}`,
              'warning',
              'admin-networks-cut-pod-traffic',
              `${dir}[${i}] ${rule.action} networks ${text} also matches ${holds ? holds.what : 'every pod and node address'} (upstream networks match cluster addresses): it decides pod-to-pod traffic too`,
              'put a Pass rule for pod traffic (pods or namespaces peers) before it, or list only the external ranges',
            ),
          );
        });
      });
    });
  }
  if (inv) {
    const tiers = compileAdminTiers({ objects: [o], ignored: [] });
    const compiled = [...tiers.admin, ...tiers.baseline][0];
    if (compiled && ![...inv.pods.values()].some((p) => !p.hostNetwork && compiled.subject(p))) {
      out.push(
        finding(
          o,
          '/spec/subject',
          'warning',
          'admin-subject-matches-nothing',
          'spec.subject selects no pod of the inventory: the policy does nothing',
          "check the subject's selectors against the namespaces' and pods' labels",
        ),
      );
    }
  }
}

// ---- shadowing across the upstream tiers (SPEC 9.1) ---------------------------------------------

/** The ports of an upstream admin rule in the Nyx port shape; undefined = every port. */
function adminRulePorts(rule: AdminRule): NyxPort[] | undefined {
  const out: NyxPort[] = [];
  for (const p of rule.ports ?? []) {
    if (p.portNumber) out.push({ protocol: p.portNumber.protocol ?? 'TCP', port: p.portNumber.port });
    else if (p.portRange)
      out.push({
        protocol: p.portRange.protocol ?? 'TCP',
        port: p.portRange.start,
        endPort: p.portRange.end,
      });
    else if (p.namedPort !== undefined)
      for (const protocol of ['TCP', 'UDP', 'SCTP'] as const) out.push({ protocol, port: p.namedPort });
  }
  for (const p of rule.protocols ?? []) {
    if (p.destinationNamedPort !== undefined) {
      for (const protocol of ['TCP', 'UDP', 'SCTP'] as const)
        out.push({ protocol, port: p.destinationNamedPort });
      continue;
    }
    for (const [key, protocol] of [
      ['tcp', 'TCP'],
      ['udp', 'UDP'],
      ['sctp', 'SCTP'],
    ] as const) {
      const dport = p[key]?.destinationPort;
      if (!p[key]) continue;
      if (dport?.number !== undefined) out.push({ protocol, port: dport.number });
      else if (dport?.range) out.push({ protocol, port: dport.range.start, endPort: dport.range.end });
      else out.push({ protocol });
    }
  }
  return out.length > 0 ? out : undefined;
}

/** Does the upstream peer match every pod the Nyx `to`/`from` entry can match? */
function adminPeerCoversSelector(outer: AdminPeer, inner: SelectorPeer, innerPolicy: RuleObject): boolean {
  const scope = namespaceScope(inner, innerPolicy);
  if (outer.namespaces) return namespaceScopeCovers({ selector: outer.namespaces }, scope);
  if (!outer.pods) return false;
  const outerScope: NamespaceScope = outer.pods.namespaceSelector
    ? { selector: outer.pods.namespaceSelector }
    : { any: true };
  return (
    namespaceScopeCovers(outerScope, scope) &&
    selectorImplies(outer.pods.podSelector, inner.podSelector ?? {})
  );
}

/** True when the upstream rule's peers match every peer the Nyx rule can match (conservative). */
function adminPeersCover(outer: AdminRule, dir: Direction, inner: NyxRule, innerPolicy: NyxPolicy): boolean {
  const peers = (dir === 'egress' ? outer.to : outer.from) ?? [];
  const i = peerParts(inner, dir);
  if (!i.selectors && !i.ipBlock && !i.fqdn) return false; // every peer: nodes and world too
  if (
    i.selectors &&
    !i.selectors.every((ip) => peers.some((op) => adminPeerCoversSelector(op, ip, innerPolicy)))
  )
    return false;
  const networks = peers.flatMap((op) => op.networks ?? []);
  if (i.ipBlock) {
    // A Nyx ip block matches world addresses only; upstream networks match any address in the CIDR.
    const ic = parseCidr(i.ipBlock.cidr);
    const covered = networks.some((n) => {
      const oc = parseCidr(n);
      return ic !== undefined && oc !== undefined && cidrCovers(oc, ic);
    });
    if (!covered) return false;
  }
  if (i.fqdn) {
    const everything = networks.includes('0.0.0.0/0'); // as peersCover: IPv4 clusters
    const names = new Set(peers.flatMap((op) => op.domainNames ?? []));
    const sameNames = i.fqdn.every((f) => names.has(f.matchName ?? f.matchPattern ?? ''));
    if (!everything && !sameNames) return false;
  }
  return true;
}

/** True when the upstream rule's peers match every peer the NetworkPolicy rule can match (conservative). */
function adminCoversNetworkPolicyPeers(
  outer: AdminRule,
  dir: Direction,
  peers: readonly UpstreamPeer[] | undefined,
  np: NetworkPolicy,
): boolean {
  if (!peers || peers.length === 0) return false; // every peer
  const adminPeers = (dir === 'egress' ? outer.to : outer.from) ?? [];
  const networks = adminPeers.flatMap((op) => op.networks ?? []).flatMap((n) => parseCidr(n) ?? []);
  return peers.every((ip) => {
    if (!ip.ipBlock) return adminPeers.some((op) => adminPeerCoversSelector(op, ip, np));
    // Both match any address in the CIDR (pod addresses included); the except only narrows the inner one.
    const ic = parseCidr(ip.ipBlock.cidr);
    return ic !== undefined && networks.some((oc) => cidrCovers(oc, ic));
  });
}

function subjectScope(o: RuleObject): NamespaceScope {
  if (o.kind !== 'NyxClusterNetworkPolicy') return { own: o.namespace };
  return o.spec.namespaceSelector ? { selector: o.spec.namespaceSelector } : { any: true };
}

/** True when the upstream policy's subject selects every pod the Nyx policy or NetworkPolicy applies to. */
function adminSubjectCovers(p: CompiledAdminPolicy, inner: RuleObject, inv: Inventory | undefined): boolean {
  const { namespaces, pods } = p.object.spec.subject;
  const scope = subjectScope(inner);
  if (namespaces && namespaceScopeCovers({ selector: namespaces }, scope)) return true;
  if (
    pods &&
    namespaceScopeCovers(
      pods.namespaceSelector ? { selector: pods.namespaceSelector } : { any: true },
      scope,
    ) &&
    selectorImplies(pods.podSelector, inner.spec.podSelector ?? {})
  )
    return true;
  if (!inv) return false;
  const subject = subjectPods(inner, inv).filter((pod) => !pod.hostNetwork);
  return subject.length > 0 && subject.every(p.subject);
}

/** A rule that the Admin tier may decide first: where it is, what it decides, what it matches. */
interface AdminShadowTarget {
  o: RuleObject;
  dir: Direction;
  index: number;
  decision: 'Allow' | 'Deny';
  ports: readonly NyxPort[] | undefined;
  /** Does this upstream rule's peers match every peer the target can match? */
  peersCoveredBy: (rule: AdminRule) => boolean;
}

/**
 * `shadowed-rule` for a rule of a Nyx policy or a NetworkPolicy that an Admin-tier rule (Accept/Allow
 * or Deny) decides first for every flow it could match and every pod its policy applies to.
 * Conservative: a Pass rule met on the way (in an earlier policy of the tier, or earlier in the same
 * one) ends the search, since what it matches goes on to the bands below.
 */
function findAdminShadow(
  target: AdminShadowTarget,
  adminTier: readonly CompiledAdminPolicy[],
  inv: Inventory | undefined,
): LintFinding | undefined {
  if (adminTier.length === 0) return undefined;
  const { o, dir } = target;
  const targetAudit = enforcementOf(o) === 'audit';
  const pods = inv ? subjectPods(o, inv) : undefined;
  for (const p of adminTier) {
    if (!targetAudit && !p.enforced) continue; // the effective walk skips it
    const rules = p.object.spec[dir];
    if (!rules || rules.length === 0) continue;
    // With an inventory, a policy that selects none of the target's pods is never on their walk.
    if (pods && pods.length > 0 && !pods.some(p.subject)) continue;
    let covers: boolean | undefined;
    for (let k = 0; k < rules.length; k++) {
      const r = rules[k]!;
      if (r.action === 'Pass') return undefined;
      if (!portsCover(adminRulePorts(r), target.ports) || !target.peersCoveredBy(r)) continue;
      covers ??= adminSubjectCovers(p, o, inv);
      if (covers) return adminShadowFinding(target, p, k, r);
    }
  }
  return undefined;
}

function adminRuleLabel(p: CompiledAdminPolicy, dir: Direction, index: number, rule: AdminRule): string {
  const at = rule.name !== undefined ? `${dir} rule ${JSON.stringify(rule.name)}` : ruleName(dir, index);
  const priority = p.priority !== undefined ? `, priority ${p.priority}` : '';
  return `${p.id} ${at} ${rule.action} (${p.object.apiVersion}, tier ${p.tier}${priority})`;
}

function adminShadowFinding(
  target: AdminShadowTarget,
  p: CompiledAdminPolicy,
  k: number,
  rule: AdminRule,
): LintFinding {
  const { o, dir, index, decision } = target;
  const opposite = (rule.action === 'Deny') !== (decision === 'Deny');
  const at = `${p.object.source.file}:${lineOf(p.object, `/spec/${dir}/${k}`)}`;
  return finding(
    o,
    `/spec/${dir}/${index}`,
    opposite ? 'warning' : 'info',
    'shadowed-rule',
    `${ruleName(dir, index)} ${decision} never decides: ${adminRuleLabel(p, dir, k, rule)} matches every flow it could match and decides first`,
    `the Admin tier decides at ${at}: remove the rule, or ask the platform team (cluster/OWNERS) for a Pass there`,
  );
}

const podSelectorCache = new WeakMap<RuleObject, LabelPredicate>();

/** A namespaced policy's compiled `podSelector` (once per object: base and head share unchanged ones). */
function podSelectorOf(o: NyxNetworkPolicy | NetworkPolicy): LabelPredicate {
  let selects = podSelectorCache.get(o);
  if (!selects) {
    selects = compileSelector(o.spec.podSelector ?? {});
    podSelectorCache.set(o, selects);
  }
  return selects;
}

/** The one namespace a selector pins by `kubernetes.io/metadata.name`, if it does. */
function pinnedNamespace(selector: LabelSelector | undefined): string | undefined {
  if (!selector) return undefined;
  const label = selector.matchLabels?.[NAMESPACE_NAME_LABEL];
  if (label !== undefined) return label;
  const e = (selector.matchExpressions ?? []).find(
    (x) => x.key === NAMESPACE_NAME_LABEL && x.operator === 'In' && x.values?.length === 1,
  );
  return e?.values?.[0];
}

/**
 * `shadowed-rule` for the baseline bands: a rule of a Nyx `tier: baseline` policy or of the upstream
 * Baseline tier never decides when every pod it applies to is isolated for that direction by a
 * NetworkPolicy or a NyxNetworkPolicy listing it in `policyTypes`: the isolation (band 3 or 4)
 * decides every flow first, allow or deny. Shown from the inventory's pods, or without one from the
 * text (a subject pinned to one namespace whose isolating policy selects all of its pods). Info:
 * the rule still guards namespaces and pods to come.
 */
function checkBaselineShadowedByIsolation(
  policySet: PolicySet,
  baselineTier: readonly CompiledAdminPolicy[],
  inv: Inventory | undefined,
  out: LintFinding[],
): void {
  const isolating = policySet.objects.filter(
    (o): o is NyxNetworkPolicy | NetworkPolicy => o.kind === 'NyxNetworkPolicy' || o.kind === 'NetworkPolicy',
  );
  const reported = new Set(out.filter((f) => f.rule === 'shadowed-rule').map((f) => `${f.file}:${f.line}`));
  interface Target {
    o: PolicyObject;
    audit: boolean;
    rules: (dir: Direction) => ReadonlyArray<{ label: string }>;
    /** Whether the subject can hold pods of a namespace with these labels, and selects this pod. */
    namespaceSelected: (labels: Labels) => boolean;
    selects: (pod: Pod) => boolean;
    namespace: string | undefined;
    podSelector: LabelSelector | undefined;
  }
  const targets: Target[] = [];
  for (const o of policySet.objects) {
    if (o.kind !== 'NyxClusterNetworkPolicy' || o.spec.tier !== 'baseline') continue;
    const listed = listedDirections(o);
    const podSelected = compileSelector(o.spec.podSelector ?? {});
    targets.push({
      o,
      audit: enforcementOf(o) === 'audit',
      rules: (dir) =>
        listed && !listed.has(dir)
          ? []
          : nyxRules(o, dir).map((r, i) => ({ label: `${ruleName(dir, i)} ${r.decision}` })),
      namespaceSelected: compileSelector(o.spec.namespaceSelector ?? {}),
      selects: (pod) => podSelected(pod.labels),
      namespace: pinnedNamespace(o.spec.namespaceSelector),
      podSelector: o.spec.podSelector,
    });
  }
  for (const p of baselineTier) {
    const { namespaces, pods } = p.object.spec.subject;
    targets.push({
      o: p.object,
      audit: !p.enforced,
      rules: (dir) =>
        (p.object.spec[dir] ?? []).map((r, i) => ({
          label: adminRuleLabel(p, dir, i, r).slice(p.id.length + 1),
        })),
      namespaceSelected: compileSelector(namespaces ?? pods?.namespaceSelector ?? {}),
      selects: p.subject,
      namespace: pinnedNamespace(namespaces ?? pods?.namespaceSelector),
      podSelector: namespaces ? undefined : pods?.podSelector,
    });
  }
  // Isolating policies by direction, audit-ness and namespace, selectors compiled once.
  type Isolator = { o: NyxNetworkPolicy | NetworkPolicy; selects: LabelPredicate };
  const isolatorIndex = new Map<string, Map<string, Isolator[]>>();
  const isolatorsIn = (dir: Direction, audit: boolean): Map<string, Isolator[]> => {
    const key = `${dir}/${audit}`;
    let byNs = isolatorIndex.get(key);
    if (!byNs) {
      byNs = new Map();
      for (const o of isolating) {
        if (!isolatesDirection(o, dir)) continue;
        if (!audit && o.kind === 'NyxNetworkPolicy' && enforcementOf(o) !== 'enforce') continue;
        const list = byNs.get(o.namespace) ?? [];
        list.push({ o, selects: podSelectorOf(o) });
        byNs.set(o.namespace, list);
      }
      isolatorIndex.set(key, byNs);
    }
    return byNs;
  };
  for (const t of targets) {
    for (const dir of DIRECTIONS) {
      const rules = t.rules(dir);
      if (rules.length === 0) continue;
      const isolators = isolatorsIn(dir, t.audit);
      if (isolators.size === 0) continue;
      const by = new Set<NyxNetworkPolicy | NetworkPolicy>();
      let shown = false;
      if (inv) {
        // Namespace by namespace, so that the first namespace without isolation ends the search.
        let selected = 0;
        shown = true;
        for (const list of podsByNamespace(inv).values()) {
          if (!shown) break;
          if (list.length === 0 || !t.namespaceSelected(list[0]!.namespaceLabels)) continue;
          const inNamespace = isolators.get(list[0]!.namespace);
          for (const pod of list) {
            if (pod.hostNetwork || !t.selects(pod)) continue;
            selected++;
            const i = inNamespace?.find((x) => x.selects(pod.labels));
            if (!i) {
              shown = false;
              break;
            }
            by.add(i.o);
          }
        }
        if (selected === 0) shown = false; // selects nothing: admin-subject-matches-nothing says so
      } else if (t.namespace !== undefined) {
        const i = isolators
          .get(t.namespace)
          ?.find((x) => selectorImplies(x.o.spec.podSelector ?? {}, t.podSelector ?? {}))?.o;
        if (i) by.add(i);
        shown = i !== undefined;
      }
      if (!shown) continue;
      const list = [...by];
      const names =
        list.slice(0, 3).map(objectId).join(', ') + (list.length > 3 ? ` and ${list.length - 3} more` : '');
      const first = list[0]!;
      const where = `${first.source.file}:${lineOf(first, '/spec/policyTypes')}`;
      rules.forEach((r, index) => {
        const line = lineOf(t.o, `/spec/${dir}/${index}`);
        if (reported.has(`${t.o.source.file}:${line}`)) return;
        out.push(
          finding(
            t.o,
            `/spec/${dir}/${index}`,
            'info',
            'shadowed-rule',
            `${r.label} never decides: every pod it applies to${inv ? ' in the inventory' : ''} is isolated for ${dir} by ${names}, which decides first (allow or deny)`,
            `isolation decides at ${where}: the baseline only decides where a namespace expresses nothing; remove the rule if no namespace is meant to rely on it`,
          ),
        );
      });
    }
  }
}

const SEVERITY_ORDER: Record<LintSeverity, number> = { error: 0, warning: 1, info: 2 };

/**
 * Lints a valid policy set. Checks that need the tree's files, an inventory or rule hit counts are
 * skipped without them. Findings come sorted by file, line, severity and rule.
 */
export function lintPolicySet(input: LintInput): LintFinding[] {
  return lintWith(input, () => true);
}

/**
 * The findings of `head` that `base` does not have (by `lintFindingKey`), in `lintPolicySet`'s
 * order: the lint half of a change's impact. Over one inventory, the checks that read nothing but
 * one object and the inventory (ignored direction, ports, ip blocks, selectors, orphan) are skipped
 * for the objects both sides hold with the same text (`objectText`): they would find the same on
 * both sides and cancel out, and no other check emits those rule ids. Likewise the shadowing, DNS
 * and metadata checks look only where the change reaches (`ChangeReach`).
 */
export function lintChange(input: { base: LintInput; head: LintInput }): LintFinding[] {
  const { ruleHits: baseHits, ...base } = input.base;
  const { ruleHits: headHits, ...head } = input.head;
  return lintChangeInSteps({ base, head })({
    ...(baseHits ? { base: baseHits } : {}),
    ...(headHits ? { head: headHits } : {}),
  });
}

/** Rule hit counts of each side of a change (see `lintChangeInSteps`). */
export interface ChangeRuleHits {
  base?: RuleHitCounts;
  head?: RuleHitCounts;
}

/**
 * `lintChange` in two steps, for a caller whose rule hits come last (`nyxctl impact` counts them
 * once the flow window is read): every check but the stale-rule one runs now (the inputs' own
 * `ruleHits` are not read); the returned function adds the stale-rule check and gives what
 * `lintChange` gives with those hits. The stale-rule check is the only one that reads hits and
 * the only one with its rule id, so the findings, their keys and their order are the same.
 */
export function lintChangeInSteps(input: {
  base: LintInput;
  head: LintInput;
}): (hits: ChangeRuleHits) => LintFinding[] {
  const { base, head } = input;
  let checked = (_o: PolicyObject): boolean => true;
  let reach: ChangeReach = EVERYWHERE;
  if (base.inventory === head.inventory) {
    const baseTexts = new Set(base.policySet.objects.filter(isRuleObject).map(objectText));
    const unchanged = new Set(
      head.policySet.objects.filter((o) => isRuleObject(o) && baseTexts.has(objectText(o))).map(objectText),
    );
    checked = (o) => !unchanged.has(objectText(o));
    reach = reachOf(base.policySet.objects, head.policySet.objects);
  }
  const baseFindings = findingsWithoutHits(base, checked, reach);
  const headFindings = findingsWithoutHits(head, checked, reach);
  return (hits) => {
    // A rule of an object both sides hold alike (same config) is newly stale only where the base
    // has a hit for it: the objects with none are left out on both sides, where they would cancel.
    let staleChecked = (_o: PolicyObject): boolean => true;
    if (!reach.all && hits.base && hits.head) {
      const hitObjects = new Set<string>();
      for (const [key, n] of hits.base) if (n > 0) hitObjects.add(ruleHitObject(key));
      staleChecked = (o) => checked(o) || hitObjects.has(objectId(o));
    }
    const withStale = (findings: LintFinding[], policySet: PolicySet, ruleHits?: RuleHitCounts) =>
      ruleHits ? [...findings, ...staleFindings(policySet, ruleHits, staleChecked)] : findings;
    const known = new Set(withStale(baseFindings, base.policySet, hits.base).map(lintFindingKey));
    return sortFindings(
      withStale(headFindings, head.policySet, hits.head).filter((f) => !known.has(lintFindingKey(f))),
    );
  };
}

/**
 * Where the objects a change touched (either version) can move a finding of the checks that read
 * several objects: shadowing, missing DNS egress and a reachable metadata address. Those findings
 * are about a namespaced object and read the policies of its own namespace, the cluster-scoped
 * objects (NyxClusterNetworkPolicy, upstream admin policies, the config) and the inventory; about
 * a cluster-scoped object, only cluster-scoped ones. So a change of namespaced objects alone can
 * move them only in its namespaces, and the rest would be found alike on both sides and cancel
 * out. (The baseline-shadowed-by-isolation and default-deny checks read every namespace: they
 * always run.)
 */
interface ChangeReach {
  /** A cluster-scoped object changed: every finding may move. */
  all: boolean;
  /** The namespaces of the namespaced objects that changed. */
  namespaces: ReadonlySet<string>;
}

const EVERYWHERE: ChangeReach = { all: true, namespaces: new Set() };

/** The reach of going from `base` to `head` (objects compared by id and `objectText`, as `changedPolicies` does). */
function reachOf(base: readonly PolicyObject[], head: readonly PolicyObject[]): ChangeReach {
  const byId = (objects: readonly PolicyObject[]) => new Map(objects.map((o) => [objectId(o), o]));
  const before = byId(base);
  const after = byId(head);
  const set = diffObjects(before, after, (x, y) => objectText(x) === objectText(y));
  const namespaces = new Set<string>();
  for (const id of [...set.added, ...set.removed, ...set.changed]) {
    const o = (after.get(id) ?? before.get(id))!;
    if (o.kind !== 'NyxNetworkPolicy' && o.kind !== 'NetworkPolicy') return EVERYWHERE;
    namespaces.add(o.namespace);
  }
  return { all: false, namespaces };
}

/** Whether the cross-object findings about `o` may differ between the sides (see `ChangeReach`). */
function reaches(reach: ChangeReach, o: PolicyObject): boolean {
  return (
    reach.all ||
    ((o.kind === 'NyxNetworkPolicy' || o.kind === 'NetworkPolicy') && reach.namespaces.has(o.namespace))
  );
}

/** `lintPolicySet`, with the per-object checks run only for the objects `objectChecked` accepts. */
function lintWith(input: LintInput, objectChecked: (o: PolicyObject) => boolean): LintFinding[] {
  const out = findingsWithoutHits(input, objectChecked, EVERYWHERE);
  if (input.ruleHits) out.push(...staleFindings(input.policySet, input.ruleHits));
  return sortFindings(out);
}

/** The stale-rule findings of a policy set over a window's rule hits. */
function staleFindings(
  policySet: PolicySet,
  ruleHits: RuleHitCounts,
  checked: (o: PolicyObject) => boolean = () => true,
): LintFinding[] {
  const out: LintFinding[] = [];
  const excluded = new Set(policySet.config?.spec.excludedNamespaces ?? []);
  for (const o of policySet.objects)
    if (isRuleObject(o) && checked(o)) checkStale(o, ruleHits, excluded, out);
  return out;
}

/** Every check of `lintWith` but the stale-rule one (the only one reading rule hits), unsorted. */
function findingsWithoutHits(
  input: LintInput,
  objectChecked: (o: PolicyObject) => boolean,
  reach: ChangeReach,
): LintFinding[] {
  const { policySet, files, inventory: inv } = input;
  const out: LintFinding[] = [];
  const ruleObjects = policySet.objects.filter(isRuleObject);
  const nyx = ruleObjects.filter(
    (o): o is NyxClusterNetworkPolicy | NyxNetworkPolicy => o.kind !== 'NetworkPolicy',
  );
  const namespaces = inv ? allNamespaces(inv) : undefined;

  for (const o of ruleObjects) {
    if (objectChecked(o)) {
      // The checks that read nothing but the object and the inventory (see `lintChange`).
      checkIgnoredDirection(o, out);
      checkPorts(o, out);
      checkIpBlocks(o, inv, out);
      if (inv && namespaces) {
        checkSelectors(o, inv, namespaces, out);
        if (o.kind !== 'NyxClusterNetworkPolicy' && !namespaces.has(o.namespace)) {
          out.push(
            finding(
              o,
              '/metadata',
              'warning',
              'orphan-policy',
              `namespace ${o.namespace} does not exist in the inventory: the policy protects nothing`,
              `delete the policy (and namespaces/${o.namespace}/ if it is empty), or check the namespace name`,
            ),
          );
        }
      }
    }
  }
  for (const o of policySet.objects.filter(isUpstreamAdminPolicy)) {
    if (objectChecked(o)) checkAdminPolicy(o, inv, out);
  }
  const adminTiers = compileAdminTiers(policySet);
  const inReach = (o: PolicyObject) => reaches(reach, o);
  // The baseline policies always: checkBaselineShadowedByIsolation, which reads every namespace and
  // always runs, leaves out the rules these findings already report.
  checkShadowing(
    nyx,
    (o) => inReach(o) || (o.kind === 'NyxClusterNetworkPolicy' && o.spec.tier === 'baseline'),
    adminTiers.admin,
    inv,
    out,
  );
  if (adminTiers.admin.length > 0) {
    for (const o of ruleObjects) {
      if (o.kind !== 'NetworkPolicy' || !inReach(o)) continue;
      for (const dir of DIRECTIONS) {
        if (!isolatesDirection(o, dir)) continue; // upstream inference: the rules of this direction count
        (rulesOf(o, dir) as ReadonlyArray<{ ports?: NyxPort[] }>).forEach((rule, index) => {
          const f = findAdminShadow(
            {
              o,
              dir,
              index,
              decision: 'Allow',
              ports: rule.ports,
              peersCoveredBy: (r) => adminCoversNetworkPolicyPeers(r, dir, upstreamPeersOf(rule, dir), o),
            },
            adminTiers.admin,
            inv,
          );
          if (f) out.push(f);
        });
      }
    }
  }
  checkBaselineShadowedByIsolation(policySet, adminTiers.baseline, inv, out);
  checkDnsAndMetadata(
    policySet,
    inReach,
    inv,
    input.evaluator?.policySet === policySet ? input.evaluator : undefined,
    out,
  );
  checkDefaultDeny(policySet, files, inv, out);
  if (files) checkOwners(files, out);
  if (inv && input.window) checkExcludedTraffic(policySet, inv, input.window, out);
  return out;
}

function sortFindings(findings: LintFinding[]): LintFinding[] {
  return findings.sort(
    (a, b) =>
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
      a.line - b.line ||
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0),
  );
}
