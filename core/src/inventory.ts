// SPEC section 7: the inventory (`kubectl get namespaces,pods,nodes -A -o json`, a `v1 List`) and
// SPEC section 2: resolving a flow's ends to a pod, a node (host network) or `world`.
import { isIp, parseIp } from './cidr.js';
import type { EndResolution, FlowRecord, ResolvedFlow } from './flow-model.js';
import type { ContainerPort, Endpoint, Inventory, Node, Pod } from './inventory-model.js';
import type { Diagnostic, Protocol } from './model.js';
import {
  currentPodOfWorkload,
  ownerWorkloadName,
  workloadNameCandidates,
  workloadOfPodName,
} from './workload.js';

export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export interface ParseInventoryOptions {
  /**
   * Line of a JSON pointer (`/items/3/spec`) in the source text, when the caller has it (the io
   * adapter computes it only when there are errors). Without it every diagnostic is on line 1.
   */
  lineOf?: (pointer: string) => number | undefined;
}

export type ParseInventoryResult = { ok: true; inventory: Inventory } | { ok: false; errors: Diagnostic[] };

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses the `v1 List` that `kubectl get namespaces,pods,nodes -A -o json` prints (a single
 * `NamespaceList`/`PodList`/`NodeList` or a bare array of items is accepted too). Items of other
 * kinds are ignored; pods without an IP are skipped (SPEC section 7).
 */
export function parseInventory(
  json: unknown,
  file: string,
  options: ParseInventoryOptions = {},
): ParseInventoryResult {
  const errors: Diagnostic[] = [];
  const at = (pointer: string, message: string): void => {
    errors.push({ file, line: options.lineOf?.(pointer) ?? 1, message });
  };

  let items: unknown[];
  let itemsPointer = '/items';
  if (Array.isArray(json)) {
    items = json;
    itemsPointer = '';
  } else if (isObject(json) && Array.isArray(json.items)) {
    items = json.items;
  } else {
    at(
      '',
      'expected the JSON of `kubectl get namespaces,pods,nodes -A -o json`: an object with an `items` array',
    );
    return { ok: false, errors };
  }

  const namespaces = new Map<string, Record<string, string>>();
  const rawPods: Array<{ pointer: string; item: Json; labels: Record<string, string> }> = [];
  const nodes = new Map<string, Node>();

  items.forEach((item, i) => {
    const pointer = `${itemsPointer}/${i}`;
    if (!isObject(item)) {
      at(pointer, `items[${i}]: expected an object`);
      return;
    }
    const kind = item.kind;
    if (kind !== 'Namespace' && kind !== 'Pod' && kind !== 'Node') return;
    const metadata = item.metadata;
    if (!isObject(metadata) || typeof metadata.name !== 'string' || metadata.name === '') {
      at(`${pointer}/metadata`, `items[${i}] (${kind}): metadata.name must be a non-empty string`);
      return;
    }
    const labels = readLabels(
      metadata.labels,
      `${pointer}/metadata/labels`,
      `items[${i}] (${kind} ${metadata.name})`,
      at,
    );
    if (kind === 'Namespace') {
      namespaces.set(metadata.name, {
        ...labels,
        [NAMESPACE_NAME_LABEL]: labels[NAMESPACE_NAME_LABEL] ?? metadata.name,
      });
    } else if (kind === 'Pod') {
      rawPods.push({ pointer, item, labels });
    } else {
      const node = readNode(item, metadata.name, pointer, `items[${i}] (Node ${metadata.name})`, at);
      nodes.set(node.name, node);
    }
  });

  const pods = new Map<string, Pod>();
  for (const { pointer, item, labels } of rawPods) {
    const pod = readPod(item, pointer, labels, namespaces, at);
    if (pod) pods.set(`${pod.namespace}/${pod.name}`, pod);
  }
  // A Namespace object the List lacks exists all the same for every pod in it (SPEC section 7).
  for (const pod of pods.values()) {
    if (!namespaces.has(pod.namespace)) namespaces.set(pod.namespace, { ...pod.namespaceLabels });
  }

  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, inventory: { namespaces, pods, nodes } };
}

type At = (pointer: string, message: string) => void;

function readLabels(value: unknown, pointer: string, what: string, at: At): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) {
    at(pointer, `${what}: metadata.labels must be an object of strings`);
    return {};
  }
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') at(pointer, `${what}: label "${k}" must be a string`);
    else labels[k] = v;
  }
  return labels;
}

function readNode(item: Json, name: string, pointer: string, what: string, at: At): Node {
  const status = isObject(item.status) ? item.status : {};
  const addresses: string[] = [];
  if (status.addresses !== undefined && !Array.isArray(status.addresses)) {
    at(`${pointer}/status/addresses`, `${what}: status.addresses must be a list`);
  }
  for (const a of Array.isArray(status.addresses) ? status.addresses : []) {
    // Every address type counts when its value is an IP (InternalIP, ExternalIP; Hostname never is).
    const ip = isObject(a) && typeof a.address === 'string' ? canonicalIp(a.address) : undefined;
    if (ip !== undefined && !addresses.includes(ip)) addresses.push(ip);
  }
  const metadata = isObject(item.metadata) ? item.metadata : {};
  const labels = readLabels(metadata.labels, `${pointer}/metadata/labels`, what, at);
  // Labels only when there are some: the `nodes` peers of upstream admin policy (SPEC 9.2) read them.
  return Object.keys(labels).length > 0 ? { name, addresses, labels } : { name, addresses };
}

const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

function readPod(
  item: Json,
  pointer: string,
  labels: Record<string, string>,
  namespaces: Map<string, Record<string, string>>,
  at: At,
): Pod | undefined {
  const metadata = item.metadata as Json & { name: string };
  const name = metadata.name;
  const namespace =
    typeof metadata.namespace === 'string' && metadata.namespace !== '' ? metadata.namespace : 'default';
  const what = `Pod ${namespace}/${name}`;
  const spec = isObject(item.spec) ? item.spec : {};
  const status = isObject(item.status) ? item.status : {};

  // Pointers are built only for errors: 10,000 pods are the common case, errors are not (and no
  // closure is created per pod).
  const ips: string[] = [];
  if (Array.isArray(status.podIPs)) {
    const podIps: unknown[] = status.podIPs;
    for (let j = 0; j < podIps.length; j++) {
      const entry = podIps[j];
      addPodIp(ips, isObject(entry) ? entry.ip : undefined, what, at, pointer, `/status/podIPs/${j}`);
    }
  }
  addPodIp(ips, status.podIP, what, at, pointer, '/status/podIP');
  if (ips.length === 0) return undefined;

  const ports: ContainerPort[] = [];
  const containers: unknown[] = Array.isArray(spec.containers) ? spec.containers : [];
  for (let ci = 0; ci < containers.length; ci++) {
    const c = containers[ci];
    if (!isObject(c) || !Array.isArray(c.ports)) continue;
    const containerPorts: unknown[] = c.ports;
    for (let pi = 0; pi < containerPorts.length; pi++) {
      const p = containerPorts[pi];
      if (!isObject(p)) {
        at(portPointer(pointer, ci, pi), `${what}: containers[${ci}].ports[${pi}] must be an object`);
        continue;
      }
      const cp = p.containerPort;
      if (typeof cp !== 'number' || !Number.isInteger(cp) || cp < 1 || cp > 65535) {
        at(
          `${portPointer(pointer, ci, pi)}/containerPort`,
          `${what}: containerPort must be an integer 1–65535, got ${JSON.stringify(cp)}`,
        );
        continue;
      }
      const protocol = p.protocol ?? 'TCP';
      if (!PROTOCOLS.includes(protocol as Protocol)) {
        at(
          `${portPointer(pointer, ci, pi)}/protocol`,
          `${what}: protocol must be TCP, UDP or SCTP, got ${JSON.stringify(protocol)}`,
        );
        continue;
      }
      ports.push({
        ...(typeof p.name === 'string' && p.name !== '' ? { name: p.name } : {}),
        containerPort: cp,
        protocol: protocol as Protocol,
      });
    }
  }

  const namespaceLabels = namespaces.get(namespace) ?? { [NAMESPACE_NAME_LABEL]: namespace };
  const nodeName = typeof spec.nodeName === 'string' && spec.nodeName !== '' ? spec.nodeName : undefined;
  const terminated = status.phase === 'Succeeded' || status.phase === 'Failed';
  return {
    namespace,
    name,
    workload: `${namespace}/${ownerWorkloadName(metadata, labels) ?? name}`,
    labels,
    namespaceLabels,
    ...(nodeName ? { nodeName } : {}),
    hostNetwork: spec.hostNetwork === true,
    ports,
    ips,
    ...(terminated ? { terminated } : {}),
  };
}

function portPointer(podPointer: string, container: number, port: number): string {
  return `${podPointer}/spec/containers/${container}/ports/${port}`;
}

/** Adds the canonical text of a pod IP to `ips` (once), or reports a value that is not an IP. */
function addPodIp(
  ips: string[],
  value: unknown,
  what: string,
  at: At,
  podPointer: string,
  field: string,
): void {
  if (typeof value !== 'string' || value === '') return;
  const ip = canonicalIp(value);
  if (ip === undefined) {
    at(`${podPointer}${field}`, `${what}: "${value}" is not an IP address`);
    return;
  }
  if (!ips.includes(ip)) ips.push(ip);
}

/** A dotted-quad IPv4 address without leading zeros: already its own canonical text. */
const CANONICAL_IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Canonical text of an IP (IPv6 compressed and lower-case, IPv4-mapped IPv6 as IPv4). */
export function normalizeIp(text: string): string {
  // Nearly every address is plain IPv4, which ipaddr.js parses slowly (it tries IPv6 first).
  if (CANONICAL_IPV4.test(text)) return text;
  return parseIp(text)?.toString() ?? text;
}

/** The canonical text of `text` when it is an IP address (`normalizeIp`), else undefined. */
function canonicalIp(text: string): string | undefined {
  if (CANONICAL_IPV4.test(text)) return text;
  return isIp(text) ? normalizeIp(text) : undefined;
}

// ---- resolution ---------------------------------------------------------------------------------

type IndexEntry = { kind: 'pod'; pod: Pod } | { kind: 'node'; node: Node };

// Built lazily once per inventory (inventories built by hand in tests get one too).
const ipIndexes = new WeakMap<Inventory, Map<string, IndexEntry>>();

function ipIndex(inventory: Inventory): Map<string, IndexEntry> {
  let index = ipIndexes.get(inventory);
  if (index) return index;
  index = new Map();
  // Pod IPs first, then node addresses (SPEC section 7); a hostNetwork pod has its node's address.
  // A finished pod (Succeeded/Failed, e.g. a completed Job) still lists the IP it had, which the
  // cluster may have handed to a running pod since: running pods claim their addresses first, so an
  // address two pods list resolves to the one that can actually be talking.
  for (const finished of [false, true]) {
    for (const pod of inventory.pods.values()) {
      if (pod.hostNetwork || (pod.terminated === true) !== finished) continue;
      for (const ip of pod.ips) {
        const key = normalizeIp(ip);
        if (!index.has(key)) index.set(key, { kind: 'pod', pod });
      }
    }
  }
  for (const node of inventory.nodes.values()) {
    for (const ip of node.addresses) {
      const key = normalizeIp(ip);
      if (!index.has(key)) index.set(key, { kind: 'node', node });
    }
  }
  for (const pod of inventory.pods.values()) {
    if (!pod.hostNetwork) continue;
    const node = nodeOfHostNetworkPod(inventory, pod);
    for (const ip of pod.ips) {
      const key = normalizeIp(ip);
      if (!index.has(key)) index.set(key, { kind: 'node', node });
    }
  }
  ipIndexes.set(inventory, index);
  return index;
}

/**
 * Every cluster address (canonical text) and what it resolves to: a pod, else a node (node
 * addresses and hostNetwork pods' IPs), as `resolveEndpoint` resolves it. Any other address is `world`.
 */
export function addressOwners(
  inventory: Inventory,
): ReadonlyMap<string, { kind: 'pod'; pod: Pod } | { kind: 'node'; node: Node }> {
  return ipIndex(inventory);
}

// A hostNetwork pod whose node the inventory lacks still is "a node": one named after its nodeName
// (or after the pod when even that is missing) with the pod's addresses.
function nodeOfHostNetworkPod(inventory: Inventory, pod: Pod): Node {
  const known = pod.nodeName ? inventory.nodes.get(pod.nodeName) : undefined;
  return known ?? { name: pod.nodeName ?? `${pod.namespace}/${pod.name}`, addresses: pod.ips };
}

/**
 * Resolves `<ns>/<pod>` or an IP (v4 or v6) to an endpoint: pod IP, then node address, else `world`.
 * A hostNetwork pod resolves to its node. Undefined for a `<ns>/<pod>` the inventory lacks or a
 * string that is neither form.
 */
export function resolveEndpoint(inventory: Inventory, ref: string): Endpoint | undefined {
  // An address never contains `/`; testing that first keeps ipaddr.js (which throws internally on
  // invalid input) off the hot path for `<ns>/<pod>` refs.
  const ip = ref.includes('/') ? undefined : canonicalIp(ref);
  if (ip !== undefined) {
    const hit = ipIndex(inventory).get(ip);
    if (!hit) return { kind: 'world', ip };
    return hit.kind === 'pod' ? { kind: 'pod', pod: hit.pod, ip } : { kind: 'node', node: hit.node, ip };
  }
  const slash = ref.indexOf('/');
  if (slash <= 0 || slash === ref.length - 1 || ref.indexOf('/', slash + 1) >= 0) return undefined;
  const pod = inventory.pods.get(ref);
  if (!pod) return undefined;
  if (pod.hostNetwork) {
    const ip = pod.ips[0];
    return { kind: 'node', node: nodeOfHostNetworkPod(inventory, pod), ...(ip ? { ip } : {}) };
  }
  return { kind: 'pod', pod };
}

function describeUnresolved(ref: string): string {
  if (ref.includes('/') && !ref.includes(':')) return `pod "${ref}" is not in the inventory`;
  return `"${ref}" is neither <namespace>/<pod> nor an IP address`;
}

/** How an end that the inventory lacks was resolved all the same, and the sentence that says so. */
export interface EndFallback {
  by: Exclude<EndResolution, 'direct'>;
  text: string;
}

/** One resolved end of a flow: the endpoint, and the fallback used when the pod is gone. */
export interface ResolvedEnd {
  endpoint: Endpoint;
  fallback?: EndFallback;
}

// Stand-ins per inventory and gone pod, one per recorded identity: the same gone pod is the same
// endpoint object wherever it appears (a pod talking to itself stays "the same pod"). A window asks
// for the same end many times (every tuple it is part of, twice): the entries are compared by
// reference first, so a repeated question costs no key building.
interface StandInEntry {
  workload: string | undefined;
  fromNode: string | undefined;
  labels: Readonly<Record<string, string>> | undefined;
  /** Sorted labels as JSON, for entries of equal labels given as other objects. */
  labelsKey: string;
  /** Resolved by the workload: the labels did not matter. */
  anyLabels: boolean;
  result: ResolvedEnd | null;
}

function labelsKeyOf(labels: Readonly<Record<string, string>> | undefined): string {
  return labels ? JSON.stringify(Object.entries(labels).sort()) : '';
}

// Every end asked for, by reference, per inventory: the direct answer (a window names one end in
// many tuples, and one endpoint object per end lets the evaluator look its class up once per
// object), else the stand-ins of a gone pod by recorded identity, else null (not a pod reference at
// all). One lookup per end. Inventories are not changed once built.
const endsByRef = new WeakMap<Inventory, Map<string, ResolvedEnd | StandInEntry[] | null>>();

function endsOf(inventory: Inventory): Map<string, ResolvedEnd | StandInEntry[] | null> {
  let ends = endsByRef.get(inventory);
  if (!ends) {
    ends = new Map();
    endsByRef.set(inventory, ends);
  }
  return ends;
}

/**
 * Resolves one end of a flow (SPEC section 7). An IP or a `<ns>/<pod>` the inventory has resolves
 * directly (`resolveEndpoint`). A `<ns>/<pod>` the inventory lacks resolves, in order, to: a
 * current pod of its recorded `workload` (its labels, ports and node); else its recorded `labels`
 * in that namespace, when the namespace exists (namespace labels from the inventory, no container
 * ports, so a rule on a named port cannot match it); else a current pod of the workload read from
 * the pod name (`workloadOfPodName`); else undefined. A stand-in keeps the gone pod's name.
 * `fromNode`: the node the flow comes from, when its source is a node: a workload's stand-in is
 * then its pod on that node when it has one, and a labels stand-in is placed on it, so that a
 * kubelet's probe of its own pod stays the node-local probe it was (SPEC section 2).
 */
export function resolveFlowEnd(
  inventory: Inventory,
  ref: string,
  workload?: string,
  labels?: Readonly<Record<string, string>>,
  fromNode?: string,
): ResolvedEnd | undefined {
  const ends = endsOf(inventory);
  let entries = ends.get(ref);
  if (entries === undefined) {
    const endpoint = resolveEndpoint(inventory, ref);
    const slash = ref.indexOf('/');
    entries = endpoint
      ? { endpoint }
      : slash <= 0 || slash === ref.length - 1 || ref.indexOf('/', slash + 1) >= 0
        ? null
        : [];
    ends.set(ref, entries);
  }
  if (entries === null) return undefined;
  if (!Array.isArray(entries)) return entries;
  for (const e of entries) {
    if (e.workload === workload && e.fromNode === fromNode && (e.anyLabels || e.labels === labels))
      return e.result ?? undefined;
  }
  const labelsKey = labelsKeyOf(labels);
  let result: ResolvedEnd | null | undefined;
  for (const e of entries) {
    if (e.workload === workload && e.fromNode === fromNode && (e.anyLabels || e.labelsKey === labelsKey)) {
      result = e.result;
      break;
    }
  }
  // An equal identity given as another object: the same answer, no new entry (a ref resolved by its
  // labels appears with a new labels object in every tuple).
  if (result !== undefined) return result ?? undefined;
  const slash = ref.indexOf('/');
  result =
    standInFor(inventory, ref.slice(0, slash), ref.slice(slash + 1), workload, labels, fromNode) ?? null;
  entries.push({
    workload,
    fromNode,
    labels,
    labelsKey,
    anyLabels: result?.fallback?.by === 'workload',
    result,
  });
  return result ?? undefined;
}

function standInFor(
  inventory: Inventory,
  namespace: string,
  podName: string,
  workload: string | undefined,
  labels: Readonly<Record<string, string>> | undefined,
  fromNode: string | undefined,
): ResolvedEnd | undefined {
  const ref = `${namespace}/${podName}`;
  const current = workload !== undefined ? currentPodOfWorkload(inventory, workload, fromNode) : undefined;
  if (current) {
    return {
      endpoint: standInEndpoint(inventory, current, podName),
      fallback: {
        by: 'workload',
        text: `pod ${ref} is gone: evaluated as ${current.namespace}/${current.name}, a current pod of its workload ${workload}`,
      },
    };
  }
  const namespaceLabels = inventory.namespaces.get(namespace);
  if (labels !== undefined && namespaceLabels !== undefined) {
    const pod: Pod = {
      namespace,
      name: podName,
      workload: workload ?? `${namespace}/${workloadNameCandidates(podName)[0] ?? podName}`,
      labels: { ...labels },
      namespaceLabels,
      // The node is unknown: a connection from a node is taken as that node's probe of its own pod.
      ...(fromNode !== undefined ? { nodeName: fromNode } : {}),
      hostNetwork: false,
      ports: [],
      ips: [],
    };
    const gone =
      workload !== undefined ? `pod ${ref} and its workload ${workload} are gone` : `pod ${ref} is gone`;
    return {
      endpoint: { kind: 'pod', pod },
      fallback: {
        by: 'labels',
        text: `${gone}: evaluated with its recorded labels ${formatLabels(labels)} (its container ports are unknown, so a rule on a named port cannot match it${fromNode !== undefined ? `; its node is unknown, so the connection from node ${fromNode} is taken as that node's probe of its own pod` : ''})`,
      },
    };
  }
  const named = workloadOfPodName(inventory, namespace, podName);
  const byName = named !== undefined ? currentPodOfWorkload(inventory, named, fromNode) : undefined;
  if (named !== undefined && byName) {
    return {
      endpoint: standInEndpoint(inventory, byName, podName),
      fallback: {
        by: 'pod-name',
        text: `pod ${ref} is gone: evaluated as ${byName.namespace}/${byName.name}, a current pod of the workload ${named} read from its name`,
      },
    };
  }
  return undefined;
}

/** `current` under the gone pod's name: same labels, ports, node and addresses, another object. */
function standInEndpoint(inventory: Inventory, current: Pod, podName: string): Endpoint {
  if (current.hostNetwork) {
    const ip = current.ips[0];
    return { kind: 'node', node: nodeOfHostNetworkPod(inventory, current), ...(ip ? { ip } : {}) };
  }
  const pod = { ...current, name: podName };
  copiedPods.set(pod, current);
  return { kind: 'pod', pod };
}

/** Stand-ins that copy a current pod (all but its name), and that pod. */
const copiedPods = new WeakMap<Pod, Pod>();

/**
 * The pod whose namespace, labels, ports, addresses and node `pod` has: the current pod a stand-in
 * for a gone pod copies, else `pod` itself. What a policy decides depends on those alone, so
 * per-pod caches (the evaluator's class and plan) can be shared; identity (the same pod at both
 * ends) still goes by the stand-in.
 */
export function podCopiedFrom(pod: Pod): Pod {
  return copiedPods.get(pod) ?? pod;
}

function formatLabels(labels: Readonly<Record<string, string>>): string {
  const entries = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length === 0 ? '{}' : `{${entries.map(([k, v]) => `${k}=${v}`).join(', ')}}`;
}

/**
 * Resolves both ends of a flow record (with the fallbacks of `resolveFlowEnd` for pods that are
 * gone); `reason` names the end that does not resolve, `fallbacks` the ends that needed one.
 */
export function resolveFlow(
  inventory: Inventory,
  record: FlowRecord,
):
  | { ok: true; flow: ResolvedFlow; fallbacks?: { src?: EndFallback; dst?: EndFallback } }
  | { ok: false; reason: string } {
  const src = resolveFlowEnd(inventory, record.src, record.srcWorkload, record.srcLabels);
  if (!src) return { ok: false, reason: `src: ${describeUnresolved(record.src)}` };
  const fromNode = src.endpoint.kind === 'node' ? src.endpoint.node.name : undefined;
  const dst =
    record.dst === record.src &&
    record.dstWorkload === record.srcWorkload &&
    record.dstLabels === record.srcLabels
      ? src
      : resolveFlowEnd(inventory, record.dst, record.dstWorkload, record.dstLabels, fromNode);
  if (!dst) return { ok: false, reason: `dst: ${describeUnresolved(record.dst)}` };
  // Built field by field, not by spreads: this runs for every distinct flow of a window.
  const flow: ResolvedFlow = {
    src: src.endpoint,
    dst: dst.endpoint,
    protocol: record.protocol,
    port: record.port,
  };
  if (record.serverName !== undefined) flow.serverName = record.serverName;
  if (!src.fallback && !dst.fallback) return { ok: true, flow };
  const fallbacks: { src?: EndFallback; dst?: EndFallback } = {};
  if (src.fallback) fallbacks.src = src.fallback;
  if (dst.fallback) fallbacks.dst = dst.fallback;
  return { ok: true, flow, fallbacks };
}

/**
 * How an end of a flow is named in messages and reports: `ns/pod` (or, `by: 'workload'`, the pod's
 * workload `ns/name`), `node/<name>`, or the address.
 */
export function endpointLabel(endpoint: Endpoint, by: 'pod' | 'workload' = 'pod'): string {
  switch (endpoint.kind) {
    case 'pod':
      return by === 'workload' ? endpoint.pod.workload : `${endpoint.pod.namespace}/${endpoint.pod.name}`;
    case 'node':
      return `node/${endpoint.node.name}`;
    case 'world':
      return endpoint.ip;
  }
}

/**
 * The current pods of workload `<ns>/<name>` (a Deployment, StatefulSet, DaemonSet, Job, …), sorted
 * by name: those whose owner (`Pod.workload`, from ownerReferences) is that workload, else those
 * whose name reads as one of its pods. Running pods only; empty when there is none.
 */
export function podsOfWorkload(inventory: Inventory, ref: string): Pod[] {
  const slash = ref.indexOf('/');
  if (slash <= 0 || slash === ref.length - 1) return [];
  const namespace = ref.slice(0, slash);
  const name = ref.slice(slash + 1);
  const owned: Pod[] = [];
  const byName: Pod[] = [];
  for (const pod of inventory.pods.values()) {
    if (pod.namespace !== namespace || pod.terminated) continue;
    if (pod.workload === ref) owned.push(pod);
    else if (pod.workload === `${namespace}/${pod.name}` && workloadNameCandidates(pod.name).includes(name))
      byName.push(pod);
  }
  const pods = owned.length > 0 ? owned : byName;
  return pods.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
