// SPEC 9.6: AdminNetworkPolicy / BaselineAdminNetworkPolicy (v1alpha1) rewritten as
// ClusterNetworkPolicy (v1alpha2), and the proof: verdicts of given flows before and after.
// Pure: the CLI reads and writes the files.
import { type Document, isMap, isScalar, isSeq, parseAllDocuments, type YAMLMap } from 'yaml';
import { parseCidr } from './cidr.js';
import { compileEvaluator } from './evaluate.js';
import type { ResolvedFlow } from './flow-model.js';
import { parseInventory, resolveFlow } from './inventory.js';
import type { Inventory } from './inventory-model.js';
import {
  type AdminPeer,
  type AdminPolicySpec,
  type AdminPortV1alpha1,
  type AdminProtocolV1alpha2,
  type AdminRule,
  CNP_API_VERSION,
  type Diagnostic,
  isUpstreamAdminPolicy,
  type LabelSelector,
  type PolicyFile,
  type PolicyObject,
  type PolicySet,
  type Protocol,
  type UpstreamAdminPolicy,
} from './model.js';
import { labelsSelectedBy } from './selector.js';
import type { FlowVerdict } from './verdict-model.js';
import { COMPOSE_OPTIONS } from './yaml-package.js';

/** What the API server writes on an object: not carried over to the new kind. */
const SERVER_WRITTEN_METADATA: readonly string[] = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'managedFields',
];

/** One rewritten object: the manifest to write in place of the v1alpha1 one. */
export interface ConvertedObject {
  from: UpstreamAdminPolicy;
  manifest: Record<string, unknown>;
}

export type ConversionResult =
  | { ok: true; converted: ConvertedObject[]; policySet: PolicySet }
  | { ok: false; errors: Diagnostic[] };

function protocolsOf(ports: readonly AdminPortV1alpha1[]): AdminProtocolV1alpha2[] {
  return ports.map((p): AdminProtocolV1alpha2 => {
    if (p.namedPort !== undefined) return { destinationNamedPort: p.namedPort };
    const key = (protocol: string | undefined) => (protocol ?? 'TCP').toLowerCase() as 'tcp' | 'udp' | 'sctp';
    if (p.portNumber)
      return { [key(p.portNumber.protocol)]: { destinationPort: { number: p.portNumber.port } } };
    const r = p.portRange!;
    // v1alpha2 ranges need start < end: a one-port range is a number.
    const destinationPort = r.start < r.end ? { range: { start: r.start, end: r.end } } : { number: r.start };
    return { [key(r.protocol)]: { destinationPort } };
  });
}

function ruleOf(rule: AdminRule): AdminRule {
  const { ports, ...rest } = rule;
  return {
    ...rest,
    action: rule.action === 'Allow' ? 'Accept' : rule.action,
    ...(ports && ports.length > 0 ? { protocols: protocolsOf(ports) } : {}),
  };
}

/**
 * The v1alpha1 objects of `policySet` as ClusterNetworkPolicy: Allow → Accept, ports → protocols, an
 * AdminNetworkPolicy → tier Admin at its priority, the BaselineAdminNetworkPolicy → tier Baseline
 * after every Baseline ClusterNetworkPolicy (priority one above the highest, 0 when none). Refused
 * where the order cannot be kept: a v1alpha2 object of the same tier at the same priority, the
 * Baseline tier already at 1000, or a ClusterNetworkPolicy of the same name.
 */
export function convertToV1alpha2(policySet: PolicySet): ConversionResult {
  const cnps = policySet.objects.filter((o) => o.kind === 'ClusterNetworkPolicy');
  const admins = policySet.objects.filter((o) => o.kind === 'AdminNetworkPolicy');
  const errors: Diagnostic[] = [];
  const converted: ConvertedObject[] = [];
  const baselinePriorities = cnps.filter((o) => o.spec.tier === 'Baseline').map((o) => o.spec.priority ?? 0);
  const banpPriority = baselinePriorities.length === 0 ? 0 : Math.max(...baselinePriorities) + 1;
  for (const o of policySet.objects) {
    if (o.kind !== 'AdminNetworkPolicy' && o.kind !== 'BaselineAdminNetworkPolicy') continue;
    const tier = o.kind === 'AdminNetworkPolicy' ? 'Admin' : 'Baseline';
    const priority = o.kind === 'AdminNetworkPolicy' ? o.spec.priority! : banpPriority;
    const name = o.metadata.name;
    const at = (message: string) => errors.push({ ...o.source, message });
    if (cnps.some((c) => c.metadata.name === name)) {
      at(`${o.kind} ${JSON.stringify(name)}: a ClusterNetworkPolicy of that name exists; rename one first`);
      continue;
    }
    if (o.kind === 'BaselineAdminNetworkPolicy' && admins.some((a) => a.metadata.name === name)) {
      at(
        `BaselineAdminNetworkPolicy "default": AdminNetworkPolicy "default" would become a ClusterNetworkPolicy of the same name; rename the AdminNetworkPolicy first`,
      );
      continue;
    }
    const clash = cnps.find((c) => c.spec.tier === tier && c.spec.priority === priority);
    if (clash) {
      at(
        `${o.kind} ${JSON.stringify(name)}: ClusterNetworkPolicy ${JSON.stringify(clash.metadata.name)} has priority ${priority} in tier ${tier} too; converted, the two would have no defined order: give one of them a free priority first`,
      );
      continue;
    }
    if (priority > 1000) {
      at(
        `BaselineAdminNetworkPolicy "default": the Baseline tier has a ClusterNetworkPolicy at priority 1000, so nothing can come after it`,
      );
      continue;
    }
    const metadata = Object.fromEntries(
      Object.entries(o.metadata).filter(([key]) => !SERVER_WRITTEN_METADATA.includes(key)),
    );
    const spec = {
      tier,
      priority,
      subject: o.spec.subject,
      ...(o.spec.ingress ? { ingress: o.spec.ingress.map(ruleOf) } : {}),
      ...(o.spec.egress ? { egress: o.spec.egress.map(ruleOf) } : {}),
    };
    converted.push({
      from: o,
      manifest: { apiVersion: CNP_API_VERSION, kind: 'ClusterNetworkPolicy', metadata, spec },
    });
  }
  if (errors.length > 0) return { ok: false, errors };
  const replaced = new Map<PolicyObject, PolicyObject>(
    converted.map((c) => [
      c.from,
      {
        ...c.from,
        apiVersion: CNP_API_VERSION,
        kind: 'ClusterNetworkPolicy',
        spec: c.manifest.spec,
      } as PolicyObject,
    ]),
  );
  const objects = policySet.objects.map((o) => replaced.get(o) ?? o);
  return { ok: true, converted, policySet: { ...policySet, objects } };
}

/** A flow whose verdicts differ before and after, with both verdicts (their reasons say why). */
export interface ConversionDifference {
  flow: ResolvedFlow;
  before: FlowVerdict;
  after: FlowVerdict;
}

/** The proof of SPEC 9.6: every flow whose effective or as-if-enforced verdict differs. */
export function conversionDifferences(
  before: PolicySet,
  after: PolicySet,
  inventory: Inventory,
  flows: Iterable<ResolvedFlow>,
): ConversionDifference[] {
  const a = compileEvaluator(before, inventory);
  const b = compileEvaluator(after, inventory);
  const out: ConversionDifference[] = [];
  for (const flow of flows) {
    const x = a.evaluate(flow);
    const y = b.evaluate(flow);
    if (x.verdict !== y.verdict || x.asIfEnforced !== y.asIfEnforced) out.push({ flow, before: x, after: y });
  }
  return out;
}

// ---- rewriting the files in place ------------------------------------------------------------

function keyOf(pair: { key: unknown }): unknown {
  return isScalar(pair.key) ? pair.key.value : pair.key;
}

/** Edits one v1alpha1 object's node into its converted form, keeping its comments and key order. */
function rewriteObjectNode(doc: Document, node: YAMLMap, c: ConvertedObject): void {
  const spec = c.manifest.spec as AdminPolicySpec;
  node.set('apiVersion', CNP_API_VERSION);
  node.set('kind', 'ClusterNetworkPolicy');
  node.delete('status');
  const metadata = node.get('metadata', true);
  if (isMap(metadata)) for (const key of SERVER_WRITTEN_METADATA) metadata.delete(key);
  const specNode = node.get('spec', true);
  if (!isMap(specNode)) return;
  if (c.from.kind === 'AdminNetworkPolicy') {
    const at = specNode.items.findIndex((p) => keyOf(p) === 'priority');
    specNode.items.splice(Math.max(at, 0), 0, doc.createPair('tier', spec.tier));
  } else {
    specNode.items.unshift(doc.createPair('tier', spec.tier), doc.createPair('priority', spec.priority));
  }
  for (const dir of ['ingress', 'egress'] as const) {
    const rules = specNode.get(dir, true);
    if (!isSeq(rules)) continue;
    rules.items.forEach((ruleNode, i) => {
      const rule = spec[dir]?.[i];
      if (!isMap(ruleNode) || !rule) return;
      const action = ruleNode.get('action', true);
      if (isScalar(action)) action.value = rule.action;
      const at = ruleNode.items.findIndex((p) => keyOf(p) === 'ports');
      if (at < 0) return;
      if (rule.protocols) ruleNode.items[at] = doc.createPair('protocols', rule.protocols);
      else ruleNode.items.splice(at, 1);
    });
  }
}

/** The object maps of one document: the document itself, or a `v1 List`'s items. */
function objectNodes(doc: Document): YAMLMap[] {
  const contents = doc.contents;
  if (!isMap(contents)) return [];
  const items = contents.get('items', true);
  if (contents.get('apiVersion') === 'v1' && contents.get('kind') === 'List' && isSeq(items))
    return items.items.filter((i): i is YAMLMap => isMap(i));
  return [contents];
}

/**
 * The files of `files` that hold converted objects, rewritten: each v1alpha1 object replaced in
 * place by its ClusterNetworkPolicy (its comments, key order and the rest of its document kept);
 * every other document of the file is kept byte for byte, line endings (CRLF) included. Objects are
 * found by kind and name, which are unique in a valid tree.
 */
export function rewriteFilesAsV1alpha2(
  files: readonly PolicyFile[],
  converted: readonly ConvertedObject[],
): PolicyFile[] {
  const byKey = new Map(converted.map((c) => [`${c.from.kind}/${c.from.metadata.name}`, c]));
  const out: PolicyFile[] = [];
  for (const file of files) {
    if (!file.content.includes('AdminNetworkPolicy')) continue;
    const docs = parseAllDocuments(file.content, COMPOSE_OPTIONS);
    if (!Array.isArray(docs)) continue;
    const crlf = file.content.includes('\r\n');
    let text = '';
    let offset = 0;
    docs.forEach((doc, index) => {
      let changed = false;
      for (const node of objectNodes(doc)) {
        const metadata = node.get('metadata');
        const name = isMap(metadata) ? metadata.get('name') : undefined;
        const c = byKey.get(`${node.get('kind')}/${name}`);
        if (!c) continue;
        rewriteObjectNode(doc, node, c);
        changed = true;
      }
      if (!changed) return;
      // The first document's text starts at the file's start (its leading comments are its own).
      const start = index === 0 ? 0 : doc.range[0];
      let rewritten = doc.toString({ indentSeq: false, flowCollectionPadding: false });
      if (crlf) rewritten = rewritten.replace(/\r?\n/g, '\r\n');
      text += file.content.slice(offset, start) + rewritten;
      offset = doc.range[2];
    });
    if (offset === 0) continue;
    out.push({ path: file.path, content: text + file.content.slice(offset) });
  }
  return out;
}

// ---- the proof without a window: an inventory and flows drawn from the policies -------------

function peersOf(o: UpstreamAdminPolicy): AdminPeer[] {
  return [...(o.spec.ingress ?? []), ...(o.spec.egress ?? [])].flatMap((r) => [
    ...(r.from ?? []),
    ...(r.to ?? []),
  ]);
}

function distinctLabelSets(selectors: readonly LabelSelector[], filler: string): Record<string, string>[] {
  const seen = new Map<string, Record<string, string>>([['{}', {}]]);
  for (const s of selectors) {
    const labels = labelsSelectedBy(s, filler);
    seen.set(JSON.stringify(Object.entries(labels).sort()), labels);
  }
  return [...seen.values()];
}

/**
 * Without an inventory, SPEC 9.6's "generated flows" need ends to draw them between: a stand-in
 * cluster with a namespace for each namespace selector of the admin policies (and each namespace a
 * policy of the tree lives in, and two with no labels), in each a pod for each pod selector (and one
 * with no labels) carrying every named port the rules name, a node for each node selector.
 */
export function proofInventory(policySet: PolicySet): Inventory {
  const admin = policySet.objects.filter(isUpstreamAdminPolicy);
  const namespaceSelectors: LabelSelector[] = [];
  const podSelectors: LabelSelector[] = [];
  const nodeSelectors: LabelSelector[] = [];
  const namedPorts = new Set<string>();
  for (const o of admin) {
    const { namespaces, pods } = o.spec.subject;
    for (const sel of [namespaces, pods?.namespaceSelector]) if (sel) namespaceSelectors.push(sel);
    if (pods) podSelectors.push(pods.podSelector);
    for (const peer of peersOf(o)) {
      for (const sel of [peer.namespaces, peer.pods?.namespaceSelector])
        if (sel) namespaceSelectors.push(sel);
      if (peer.pods) podSelectors.push(peer.pods.podSelector);
      if (peer.nodes) nodeSelectors.push(peer.nodes);
    }
    for (const r of [...(o.spec.ingress ?? []), ...(o.spec.egress ?? [])]) {
      for (const p of r.ports ?? []) if (p.namedPort !== undefined) namedPorts.add(p.namedPort);
      for (const p of r.protocols ?? [])
        if (p.destinationNamedPort !== undefined) namedPorts.add(p.destinationNamedPort);
    }
  }
  const namespaces = new Map<string, Record<string, string>>();
  distinctLabelSets(namespaceSelectors, 'proof').forEach((labels, i) => {
    const name = labels['kubernetes.io/metadata.name'] ?? `proof-ns-${i}`;
    namespaces.set(name, { ...labels, 'kubernetes.io/metadata.name': name });
  });
  // A second namespace without labels: cross-namespace flows between two namespaces any selector takes.
  namespaces.set('proof-ns-other', { 'kubernetes.io/metadata.name': 'proof-ns-other' });
  for (const o of policySet.objects)
    if ('namespace' in o && !namespaces.has(o.namespace))
      namespaces.set(o.namespace, { 'kubernetes.io/metadata.name': o.namespace });
  const podLabels = distinctLabelSets(podSelectors, 'proof');
  const ports = [...namedPorts].map((name, i) => ({ name, containerPort: 30000 + i, protocol: 'TCP' }));
  const nodes = distinctLabelSets(nodeSelectors, 'proof').map((labels, i) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: `proof-node-${i}`, labels },
    status: { addresses: [{ type: 'InternalIP', address: `192.0.2.${i + 1}` }] },
  }));
  const items: unknown[] = [...nodes];
  let n = 0;
  for (const [name, labels] of namespaces) {
    items.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
    podLabels.forEach((labels, i) => {
      n++;
      items.push({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `proof-pod-${i}`, namespace: name, labels },
        spec: { nodeName: 'proof-node-0', containers: [{ name: 'main', ports }] },
        status: { podIP: `100.64.${n >> 8}.${n & 255}` },
      });
    });
  }
  const parsed = parseInventory({ apiVersion: 'v1', kind: 'List', items }, 'generated inventory');
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('; '));
  return parsed.inventory;
}

/**
 * The generated flows of SPEC 9.6: every pair of distinct ends (pods, nodes, an address in each
 * `networks` block, one address outside all of them) on each protocol/port the admin policies
 * name, each container port of the inventory, and TCP 80, TCP 443, UDP 53.
 */
export function proofFlows(inventory: Inventory, policySet: PolicySet): ResolvedFlow[] {
  const services = new Set<string>(['TCP/80', 'TCP/443', 'UDP/53']);
  const world = new Set<string>(['203.0.113.10']);
  for (const o of policySet.objects.filter(isUpstreamAdminPolicy)) {
    for (const rule of [...(o.spec.ingress ?? []), ...(o.spec.egress ?? [])]) {
      for (const p of rule.ports ?? []) {
        if (p.portNumber) services.add(`${p.portNumber.protocol ?? 'TCP'}/${p.portNumber.port}`);
        if (p.portRange) {
          services.add(`${p.portRange.protocol ?? 'TCP'}/${p.portRange.start}`);
          services.add(`${p.portRange.protocol ?? 'TCP'}/${p.portRange.end}`);
        }
      }
      for (const p of rule.protocols ?? []) {
        for (const [key, protocol] of [
          ['tcp', 'TCP'],
          ['udp', 'UDP'],
          ['sctp', 'SCTP'],
        ] as const) {
          const d = p[key]?.destinationPort;
          if (d?.number !== undefined) services.add(`${protocol}/${d.number}`);
          if (d?.range) {
            services.add(`${protocol}/${d.range.start}`);
            services.add(`${protocol}/${d.range.end}`);
          }
        }
      }
    }
    for (const peer of peersOf(o)) {
      for (const text of peer.networks ?? []) {
        const cidr = parseCidr(text);
        if (cidr) world.add(cidr.text.split('/')[0]!);
      }
    }
  }
  for (const pod of inventory.pods.values())
    for (const c of pod.ports) services.add(`${c.protocol}/${c.containerPort}`);
  const ends = [
    ...[...inventory.pods.values()].map((p) => `${p.namespace}/${p.name}`),
    ...[...inventory.nodes.values()].flatMap((n) => n.addresses.slice(0, 1)),
    ...world,
  ];
  const out: ResolvedFlow[] = [];
  for (const src of ends)
    for (const dst of ends) {
      if (src === dst) continue;
      for (const service of services) {
        const [protocol, port] = service.split('/') as [Protocol, string];
        const resolved = resolveFlow(inventory, { src, dst, protocol, port: Number(port) });
        if (resolved.ok) out.push(resolved.flow);
      }
    }
  return out;
}
