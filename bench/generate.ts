// Seeded generator of the benchmark's world: a cluster inventory (10,000 pods in 500 namespaces),
// policy trees of any size (mixed kinds and bands, some in audit) with a 20-policy change as head,
// and flow files (JSON Lines) drawn from ~100,000 distinct tuples. Everything derives from SEED.
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { mulberry32, type Rng } from './prng.js';

export const SEED = 20261123;
export const NAMESPACES = 500;
export const PODS_PER_NAMESPACE = 20;
export const NODES = 50;
export const DISTINCT_TUPLES = 100_000;
export const CHANGED_POLICIES = 20;

const APPS = ['web', 'api', 'worker', 'db', 'cache', 'auth', 'search', 'cart', 'payments', 'queue'] as const;
const ENVIRONMENTS = ['production', 'staging', 'dev'] as const;
const SERVER_NAMES = [
  'api.stripe.com',
  'hooks.slack.com',
  'api.github.com',
  'sqs.eu-west-1.amazonaws.com',
  's3.amazonaws.com',
  'login.microsoftonline.com',
  'api.sendgrid.com',
  'o123.ingest.sentry.io',
  'registry.npmjs.org',
  'pypi.org',
];

interface App {
  name: string;
  port: number;
  portName: string;
}

interface BenchPod {
  namespace: string;
  name: string;
  app: string;
  ip: string;
  node: string;
  port: number;
}

export interface Cluster {
  namespaces: Array<{ name: string; labels: Record<string, string>; apps: App[] }>;
  pods: BenchPod[];
  dnsPods: BenchPod[];
}

function appPort(app: string): { port: number; portName: string } {
  if (app === 'db') return { port: 5432, portName: 'postgres' };
  if (app === 'cache') return { port: 6379, portName: 'redis' };
  if (app === 'queue') return { port: 5672, portName: 'amqp' };
  return { port: 8080, portName: 'http' };
}

function hex(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += 'bcdfghjklmnpqrstvwxz2456789'[rng.int(27)];
  return s;
}

function podIp(i: number): string {
  return `10.1.${(i >> 8) & 255}.${i & 255}`;
}

/** The cluster: 500 namespaces of 5 apps with 4 replicas each, plus CoreDNS in kube-system. */
export function generateCluster(seed = SEED): Cluster {
  const rng = mulberry32(seed);
  const namespaces: Cluster['namespaces'] = [];
  const pods: BenchPod[] = [];
  for (let n = 0; n < NAMESPACES; n++) {
    const name = `ns-${String(n).padStart(3, '0')}`;
    const labels = {
      'kubernetes.io/metadata.name': name,
      team: `team-${n % 40}`,
      environment: rng.pick(ENVIRONMENTS),
    };
    const pool = [...APPS];
    const apps: App[] = [];
    while (apps.length < PODS_PER_NAMESPACE / 4) {
      const [app] = pool.splice(rng.int(pool.length), 1) as [string];
      apps.push({ name: app, ...appPort(app) });
    }
    namespaces.push({ name, labels, apps });
    for (const app of apps) {
      const hash = hex(rng, 10);
      for (let r = 0; r < 4; r++) {
        const i = pods.length;
        pods.push({
          namespace: name,
          name: `${app.name}-${hash}-${hex(rng, 5)}`,
          app: app.name,
          ip: podIp(i),
          node: `node-${String(i % NODES).padStart(2, '0')}`,
          port: app.port,
        });
      }
    }
  }
  const dnsPods = [0, 1].map((r) => ({
    namespace: 'kube-system',
    name: `coredns-5d78c9869d-${hex(rng, 5)}`,
    app: 'kube-dns',
    ip: `10.0.0.${10 + r}`,
    node: `node-0${r}`,
    port: 53,
  }));
  return { namespaces, pods, dnsPods };
}

/** The cluster as `kubectl get namespaces,pods,nodes -A -o json` prints it. */
export function inventoryJson(cluster: Cluster): unknown {
  const items: unknown[] = [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'kube-system', labels: { 'kubernetes.io/metadata.name': 'kube-system' } },
    },
  ];
  for (const ns of cluster.namespaces) {
    items.push({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns.name, labels: ns.labels },
      status: { phase: 'Active' },
    });
  }
  for (const p of [...cluster.dnsPods, ...cluster.pods]) {
    const dns = p.app === 'kube-dns';
    const rs = p.name.slice(0, p.name.lastIndexOf('-'));
    items.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: p.name,
        namespace: p.namespace,
        labels: dns
          ? { 'k8s-app': 'kube-dns', 'pod-template-hash': rs.slice(rs.lastIndexOf('-') + 1) }
          : { app: p.app, 'pod-template-hash': rs.slice(rs.lastIndexOf('-') + 1) },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs, controller: true }],
      },
      spec: {
        nodeName: p.node,
        containers: [
          {
            name: p.app,
            ports: dns
              ? [
                  { name: 'dns', containerPort: 53, protocol: 'UDP' },
                  { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
                ]
              : [
                  { name: appPort(p.app).portName, containerPort: p.port, protocol: 'TCP' },
                  { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
                ],
          },
        ],
      },
      status: { phase: 'Running', podIP: p.ip, podIPs: [{ ip: p.ip }] },
    });
  }
  for (let n = 0; n < NODES; n++) {
    items.push({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: `node-${String(n).padStart(2, '0')}` },
      status: { addresses: [{ type: 'InternalIP', address: `192.168.1.${10 + n}` }] },
    });
  }
  return { apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion: '' } };
}

/** One policy manifest and where it lives in the tree. */
interface Manifest {
  path: string;
  doc: Record<string, unknown>;
}

const NYX = 'nyx.tracenyx.io/v1alpha1';

function platformPolicy(rng: Rng, k: number): Manifest {
  const name = `platform-${k}`;
  const variant = k % 3;
  const spec: Record<string, unknown> = {
    tier: 'platform',
    priority: 10 + rng.int(90),
    enforcement: rng.chance(0.2) ? 'audit' : 'enforce',
  };
  if (variant === 0) {
    spec.namespaceSelector = { matchLabels: { environment: 'production' } };
    spec.policyTypes = ['Egress'];
    spec.egress = [{ decision: 'Deny', toIpBlock: { cidr: `203.0.${113 + (k % 3)}.0/24` } }];
  } else if (variant === 1) {
    spec.namespaceSelector = { matchLabels: { team: `team-${rng.int(40)}` } };
    spec.policyTypes = ['Ingress'];
    spec.ingress = [
      {
        decision: 'Deny',
        from: [{ namespaceSelector: { matchLabels: { environment: 'dev' } } }],
        ports: [{ protocol: 'TCP', port: 5432 }],
      },
    ];
  } else {
    spec.policyTypes = ['Egress'];
    spec.egress = [
      {
        decision: 'Allow',
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
            podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
          },
        ],
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      },
    ];
  }
  return {
    path: `cluster/${name}.yaml`,
    doc: { apiVersion: NYX, kind: 'NyxClusterNetworkPolicy', metadata: { name }, spec },
  };
}

function baselinePolicy(rng: Rng, k: number): Manifest {
  const name = `baseline-${k}`;
  const spec: Record<string, unknown> = {
    tier: 'baseline',
    priority: 900 + rng.int(100),
    enforcement: rng.chance(0.3) ? 'audit' : 'enforce',
  };
  if (k % 2 === 0) {
    spec.namespaceSelector = { matchLabels: { environment: rng.pick(ENVIRONMENTS) } };
    spec.egress = [
      { decision: 'Deny', toIpBlock: { cidr: '0.0.0.0/0' }, ports: [{ protocol: 'TCP', port: 80 }] },
    ];
  } else {
    const team = `team-${rng.int(40)}`;
    spec.namespaceSelector = { matchLabels: { team } };
    spec.ingress = [{ decision: 'Allow', from: [{ namespaceSelector: { matchLabels: { team } } }] }];
  }
  return {
    path: `cluster/${name}.yaml`,
    doc: { apiVersion: NYX, kind: 'NyxClusterNetworkPolicy', metadata: { name }, spec },
  };
}

function nyxPolicy(rng: Rng, k: number, cluster: Cluster): Manifest {
  const ns = cluster.namespaces[k % NAMESPACES]!;
  const app = rng.pick(ns.apps);
  const peerNs = rng.pick(cluster.namespaces);
  const peerApp = rng.pick(peerNs.apps);
  const name = `${app.name}-nyx-${k}`;
  const withEgress = rng.chance(0.4);
  const types = rng.chance(0.5) ? ['Ingress', ...(withEgress ? ['Egress'] : [])] : undefined;
  const spec: Record<string, unknown> = {
    podSelector: { matchLabels: { app: app.name } },
    priority: 100 + rng.int(800),
    enforcement: rng.chance(0.15) ? 'audit' : 'enforce',
    ...(types ? { policyTypes: types } : {}),
    ingress: [
      {
        decision: 'Allow',
        from: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': peerNs.name } },
            podSelector: { matchLabels: { app: peerApp.name } },
          },
        ],
        ports: [{ protocol: 'TCP', port: rng.chance(0.5) ? app.portName : app.port }],
      },
      { decision: 'Allow', from: [{ podSelector: { matchLabels: { app: rng.pick(ns.apps).name } } }] },
      ...(rng.chance(0.3)
        ? [{ decision: 'Deny', from: [{ namespaceSelector: { matchLabels: { environment: 'dev' } } }] }]
        : []),
    ],
  };
  if (withEgress) {
    spec.egress = [
      {
        decision: 'Allow',
        toFqdn: [{ matchName: rng.pick(SERVER_NAMES) }, { matchPattern: '*.amazonaws.com' }],
        ports: [{ protocol: 'TCP', port: 443 }],
      },
      { decision: 'Allow', to: [{ podSelector: {} }] },
    ];
  }
  return {
    path: `namespaces/${ns.name}/${name}.yaml`,
    doc: { apiVersion: NYX, kind: 'NyxNetworkPolicy', metadata: { name, namespace: ns.name }, spec },
  };
}

function upstreamPolicy(rng: Rng, k: number, cluster: Cluster): Manifest {
  const ns = cluster.namespaces[(k * 7) % NAMESPACES]!;
  const app = rng.pick(ns.apps);
  const name = `${app.name}-np-${k}`;
  const from = rng.chance(0.5)
    ? [{ podSelector: { matchLabels: { app: rng.pick(ns.apps).name } } }]
    : [{ namespaceSelector: { matchLabels: { team: rng.pick(cluster.namespaces).labels.team } } }];
  return {
    path: `namespaces/${ns.name}/${name}.yaml`,
    doc: {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name, namespace: ns.name },
      spec: {
        podSelector: { matchLabels: { app: app.name } },
        ingress: [{ from, ports: [{ protocol: 'TCP', port: app.port }] }],
      },
    },
  };
}

/** `count` policies: 2% platform, 2% baseline, 58% NyxNetworkPolicy, 38% NetworkPolicy, plus the config. */
export function generatePolicies(count: number, cluster: Cluster, seed = SEED): Manifest[] {
  const rng = mulberry32(seed ^ count);
  const manifests: Manifest[] = [
    {
      path: 'cluster/config.yaml',
      doc: {
        apiVersion: NYX,
        kind: 'NyxClusterConfig',
        metadata: { name: 'cluster' },
        spec: {
          defaultMode: 'deny-cross-namespace',
          enforcement: 'audit',
          excludedNamespaces: ['kube-system'],
        },
      },
    },
  ];
  const platform = Math.max(1, Math.round(count * 0.02));
  const baseline = Math.max(1, Math.round(count * 0.02));
  const nyx = Math.round(count * 0.58);
  for (let k = 0; k < count; k++) {
    if (k < platform) manifests.push(platformPolicy(rng, k));
    else if (k < platform + baseline) manifests.push(baselinePolicy(rng, k));
    else if (k < platform + baseline + nyx) manifests.push(nyxPolicy(rng, k, cluster));
    else manifests.push(upstreamPolicy(rng, k, cluster));
  }
  return manifests;
}

/**
 * The head of a 20-policy change: 8 modified (audit promoted to enforce, an Allow turned into a
 * Deny, a port moved), 6 removed, 6 added (a namespace denying ingress from another namespace).
 */
export function changeHead(base: Manifest[], cluster: Cluster, seed = SEED): Manifest[] {
  const rng = mulberry32(seed + 1);
  const head = base.map((m) => ({ path: m.path, doc: structuredClone(m.doc) }));
  const namespaced = head.map((m, i) => ({ m, i })).filter(({ m }) => m.doc.kind === 'NyxNetworkPolicy');
  const touched = new Set<number>();
  const take = (): Manifest & { index: number } => {
    for (;;) {
      const { m, i } = rng.pick(namespaced);
      if (!touched.has(i)) {
        touched.add(i);
        return { ...m, index: i };
      }
    }
  };
  for (let c = 0; c < 8; c++) {
    const spec = take().doc.spec as {
      enforcement?: string;
      ingress: Array<{ decision: string; ports?: unknown[] }>;
    };
    if (c % 3 === 0) spec.enforcement = 'enforce';
    else if (c % 3 === 1) spec.ingress[0]!.decision = 'Deny';
    else spec.ingress[0]!.ports = [{ protocol: 'TCP', port: 9090 }];
  }
  const removed = new Set<number>();
  for (let c = 0; c < 6; c++) removed.add(take().index);
  const result = head.filter((_, i) => !removed.has(i));
  for (let c = 0; c < 6; c++) {
    const ns = rng.pick(cluster.namespaces);
    const other = rng.pick(cluster.namespaces);
    const name = `deny-from-${other.name}-${c}`;
    result.push({
      path: `namespaces/${ns.name}/${name}.yaml`,
      doc: {
        apiVersion: NYX,
        kind: 'NyxNetworkPolicy',
        metadata: { name, namespace: ns.name },
        spec: {
          priority: 150,
          ingress: [
            {
              decision: 'Deny',
              from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': other.name } } }],
            },
          ],
        },
      },
    });
  }
  return result;
}

/**
 * Writes each manifest to its path: block YAML, or `json` style (what generators and
 * `kubectl get -o json` write; JSON is YAML, and the files keep their `.yaml` names).
 */
export function writeTree(dir: string, manifests: Manifest[], style: 'block' | 'json' = 'block'): void {
  rmSync(dir, { recursive: true, force: true });
  for (const m of manifests) {
    const file = join(dir, m.path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, style === 'json' ? `${JSON.stringify(m.doc, null, 4)}\n` : stringify(m.doc));
  }
}

/** The distinct tuples flows are drawn from: same-namespace, cross-namespace, internet and DNS. */
function generateTuples(cluster: Cluster, rng: Rng): string[] {
  const tuples: string[] = [];
  const byNs = new Map<string, BenchPod[]>();
  for (const p of cluster.pods) byNs.set(p.namespace, [...(byNs.get(p.namespace) ?? []), p]);
  const seen = new Set<string>();
  while (tuples.length < DISTINCT_TUPLES) {
    const src = rng.pick(cluster.pods);
    const srcRef = rng.chance(0.8) ? `${src.namespace}/${src.name}` : src.ip;
    const kind = rng.next();
    let fields: string;
    if (kind < 0.5 || kind < 0.75) {
      const dst = kind < 0.5 ? rng.pick(byNs.get(src.namespace)!) : rng.pick(cluster.pods);
      const dstRef = rng.chance(0.8) ? `${dst.namespace}/${dst.name}` : dst.ip;
      const port = rng.chance(0.85) ? dst.port : 9090;
      fields = `"src":"${srcRef}","dst":"${dstRef}","protocol":"TCP","port":${port}`;
    } else if (kind < 0.9) {
      const ip = `${rng.pick(['198.51.100', '203.0.113', '52.94.236', '140.82.121'])}.${rng.int(256)}`;
      fields = rng.chance(0.9)
        ? `"src":"${srcRef}","dst":"${ip}","protocol":"TCP","port":443,"serverName":"${rng.pick(SERVER_NAMES)}"`
        : `"src":"${srcRef}","dst":"${ip}","protocol":"TCP","port":80`;
    } else {
      const dns = rng.pick(cluster.dnsPods);
      fields = `"src":"${srcRef}","dst":"${dns.namespace}/${dns.name}","protocol":"UDP","port":53`;
    }
    if (seen.has(fields)) continue;
    seen.add(fields);
    tuples.push(fields);
  }
  return tuples;
}

const WINDOW_START = Date.UTC(2026, 10, 16, 0, 0, 0);
const WINDOW_MS = 7 * 24 * 3600 * 1000;

/**
 * Writes `records` flow lines. Tuples are drawn with a skew (a few chatty flows, a long tail), as in
 * real traffic; times spread over a 7-day window, in file order.
 */
export function writeFlows(
  file: string,
  cluster: Cluster,
  records: number,
  seed = SEED,
  /** Rewrites each distinct tuple's fields (the annotated window); draws nothing from the PRNG. */
  mapTuple?: (fields: string) => string,
): void {
  const rng = mulberry32(seed + 2);
  const drawn = generateTuples(cluster, rng);
  const tuples = mapTuple ? drawn.map(mapTuple) : drawn;
  mkdirSync(dirname(file), { recursive: true });
  const fd = openSync(file, 'w');
  let chunk: string[] = [];
  for (let r = 0; r < records; r++) {
    const u = rng.next();
    const tuple = tuples[Math.floor(u * u * tuples.length)]!;
    const first = WINDOW_START + Math.floor((r / records) * WINDOW_MS);
    const count = 1 + rng.int(20);
    const last = first + count * 1000;
    chunk.push(
      `{${tuple},"count":${count},"firstSeen":"${new Date(first).toISOString()}","lastSeen":"${new Date(last).toISOString()}"}\n`,
    );
    if (chunk.length === 10_000) {
      writeSync(fd, chunk.join(''));
      chunk = [];
    }
  }
  writeSync(fd, chunk.join(''));
  closeSync(fd);
}
