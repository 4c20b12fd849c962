// Test helper: builds the `kubectl get namespaces,pods,nodes -A -o json` List from a compact
// description and parses it through the real `parseInventory`, so tests exercise the same path.
import { parseInventory } from '../inventory.js';
import type { Inventory } from '../inventory-model.js';
import type { Protocol } from '../model.js';

export interface PodSpec {
  ns: string;
  name: string;
  ip: string | string[];
  labels?: Record<string, string>;
  node?: string;
  hostNetwork?: boolean;
  ports?: Array<{ name?: string; containerPort: number; protocol?: Protocol }>;
  owner?: { kind: string; name: string };
}

export interface InventorySpec {
  namespaces?: Record<string, Record<string, string>>;
  pods?: PodSpec[];
  nodes?: Array<{ name: string; ips: string[]; labels?: Record<string, string> }>;
}

export function inventoryJson(spec: InventorySpec): unknown {
  const items: unknown[] = [];
  for (const [name, labels] of Object.entries(spec.namespaces ?? {})) {
    items.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  }
  for (const p of spec.pods ?? []) {
    const ips = Array.isArray(p.ip) ? p.ip : [p.ip];
    items.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: p.name,
        namespace: p.ns,
        labels: p.labels ?? {},
        ...(p.owner
          ? { ownerReferences: [{ ...p.owner, controller: true, apiVersion: 'apps/v1', uid: 'x' }] }
          : {}),
      },
      spec: {
        nodeName: p.node ?? 'node-1',
        ...(p.hostNetwork ? { hostNetwork: true } : {}),
        containers: [{ name: 'main', image: 'x', ports: p.ports ?? [] }],
      },
      status: { phase: 'Running', podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) },
    });
  }
  for (const n of spec.nodes ?? []) {
    items.push({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: n.name, ...(n.labels ? { labels: n.labels } : {}) },
      status: {
        addresses: [
          { type: 'Hostname', address: n.name },
          ...n.ips.map((address) => ({ type: 'InternalIP', address })),
        ],
      },
    });
  }
  return { apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion: '' } };
}

export function makeInventory(spec: InventorySpec): Inventory {
  const result = parseInventory(inventoryJson(spec), 'inventory.json');
  if (!result.ok) throw new Error(result.errors.map((e) => `${e.file}:${e.line}: ${e.message}`).join('\n'));
  return result.inventory;
}

/**
 * The small cluster the property tests draw flows from: three namespaces (two `env: prod`), pods of
 * two apps (some with a named port), a hostNetwork pod, two nodes.
 */
export function propertyTestInventory(): Inventory {
  return makeInventory({
    namespaces: { a: { env: 'prod' }, b: { env: 'dev' }, c: { env: 'prod' } },
    pods: [
      {
        ns: 'a',
        name: 'p1',
        ip: '10.0.0.1',
        node: 'n1',
        labels: { app: 'x' },
        ports: [{ name: 'web', containerPort: 80 }],
      },
      { ns: 'a', name: 'p2', ip: '10.0.0.2', node: 'n2', labels: { app: 'y' } },
      {
        ns: 'b',
        name: 'p3',
        ip: '10.0.1.3',
        node: 'n1',
        labels: { app: 'x' },
        ports: [{ name: 'web', containerPort: 80 }],
      },
      { ns: 'b', name: 'p4', ip: '10.0.1.4', node: 'n2', labels: { app: 'y' } },
      { ns: 'c', name: 'p5', ip: '10.0.2.5', node: 'n1', labels: { app: 'x' } },
      { ns: 'c', name: 'h', ip: '192.168.0.2', node: 'n2', hostNetwork: true },
    ],
    nodes: [
      { name: 'n1', ips: ['192.168.0.1'] },
      { name: 'n2', ips: ['192.168.0.2'] },
    ],
  });
}
