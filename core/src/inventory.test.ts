import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isIp, parseIp } from './cidr.js';
import {
  endpointLabel,
  normalizeIp,
  parseInventory,
  podsOfWorkload,
  resolveEndpoint,
  resolveFlow,
} from './inventory.js';
import type { Inventory } from './inventory-model.js';

// The fixture is real `kubectl get namespaces,pods,nodes -A -o json` shape (a v1 List).
const fixture = JSON.parse(
  readFileSync(new URL('../../test/fixtures/inventories/small.json', import.meta.url), 'utf8'),
) as unknown;

function load(): Inventory {
  const result = parseInventory(fixture, 'small.json');
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.inventory;
}

describe('parseInventory', () => {
  const inventory = load();

  it('reads namespace labels and always sets kubernetes.io/metadata.name', () => {
    expect(inventory.namespaces.get('shop')).toEqual({
      'kubernetes.io/metadata.name': 'shop',
      environment: 'production',
    });
    expect(inventory.namespaces.get('cloudmart-payments')).toEqual({
      environment: 'production',
      'kubernetes.io/metadata.name': 'cloudmart-payments',
    });
  });

  it('gives a pod whose Namespace object is missing the labels the API server would set', () => {
    const pod = inventory.pods.get('analytics/spark-driver');
    expect(pod?.namespaceLabels).toEqual({ 'kubernetes.io/metadata.name': 'analytics' });
    expect(inventory.namespaces.get('analytics')).toEqual({ 'kubernetes.io/metadata.name': 'analytics' });
  });

  it('reads pods: labels, node, IPs (podIPs), ports with protocol default TCP, workload', () => {
    const web = inventory.pods.get('shop/web-7d9f8b6c5d-x2x9k');
    expect(web).toEqual({
      namespace: 'shop',
      name: 'web-7d9f8b6c5d-x2x9k',
      workload: 'shop/web',
      labels: { app: 'web', 'pod-template-hash': '7d9f8b6c5d' },
      namespaceLabels: { 'kubernetes.io/metadata.name': 'shop', environment: 'production' },
      nodeName: 'node-a',
      hostNetwork: false,
      ports: [
        { name: 'http', containerPort: 8080, protocol: 'TCP' },
        { containerPort: 9090, protocol: 'TCP' },
      ],
      ips: ['10.244.1.10', 'fd00:10:244:1::a'],
    });
    expect(inventory.pods.get('shop/db-0')?.workload).toBe('shop/db');
    expect(inventory.pods.get('kube-system/kube-proxy-8fz2l')).toMatchObject({
      workload: 'kube-system/kube-proxy',
      hostNetwork: true,
    });
    expect(inventory.pods.get('kube-system/coredns-5d78c9869d-7xq2v')?.workload).toBe('kube-system/coredns');
    expect(inventory.pods.get('analytics/spark-driver')?.workload).toBe('analytics/spark-driver');
  });

  it('skips pods without an IP', () => {
    expect(inventory.pods.has('shop/migrate-x7k2p')).toBe(false);
    expect(inventory.pods.size).toBe(7);
  });

  it('reads node addresses of every type that is an IP', () => {
    expect(inventory.nodes.get('node-a')?.addresses).toEqual(['192.168.10.1', '203.0.113.10', 'fd00::10:1']);
    expect(inventory.nodes.get('node-b')?.addresses).toEqual(['192.168.10.2']);
  });

  it('reports shape errors with the item they concern', () => {
    const result = parseInventory(
      {
        kind: 'List',
        items: [
          { kind: 'Pod', metadata: {} },
          {
            kind: 'Pod',
            metadata: { name: 'p', namespace: 'x' },
            spec: {
              containers: [{ ports: [{ containerPort: 0 }, { containerPort: 80, protocol: 'ICMP' }] }],
            },
            status: { podIP: 'not-an-ip' },
          },
          {
            kind: 'Pod',
            metadata: { name: 'q', namespace: 'x' },
            spec: { containers: [{ ports: [{ containerPort: 0 }] }] },
            status: { podIP: '10.0.0.1' },
          },
        ],
      },
      'inv.json',
      { lineOf: (pointer) => pointer.split('/').length },
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => `${e.file}:${e.line}: ${e.message}`)).toEqual([
      'inv.json:4: items[0] (Pod): metadata.name must be a non-empty string',
      'inv.json:5: Pod x/p: "not-an-ip" is not an IP address',
      'inv.json:9: Pod x/q: containerPort must be an integer 1–65535, got 0',
    ]);
    const notAList = parseInventory({ kind: 'Pod' }, 'inv.json');
    expect(notAList.ok).toBe(false);
    if (!notAList.ok) expect(notAList.errors[0]?.message).toMatch(/expected the JSON of `kubectl get/);
  });

  it('ignores items of other kinds and accepts a bare array', () => {
    const result = parseInventory(
      [
        { kind: 'Service', metadata: { name: 's' } },
        { kind: 'Pod', metadata: { name: 'p', namespace: 'x' }, status: { podIP: '10.0.0.1' } },
      ],
      'inv.json',
    );
    expect(result.ok && [...result.inventory.pods.keys()]).toEqual(['x/p']);
  });
});

describe('resolveEndpoint', () => {
  const inventory = load();

  it('resolves <ns>/<pod>, and undefined for an unknown pod or a malformed ref', () => {
    expect(resolveEndpoint(inventory, 'shop/db-0')).toMatchObject({ kind: 'pod', pod: { name: 'db-0' } });
    expect(resolveEndpoint(inventory, 'shop/nope')).toBeUndefined();
    expect(resolveEndpoint(inventory, 'shop')).toBeUndefined();
    expect(resolveEndpoint(inventory, 'a/b/c')).toBeUndefined();
  });

  it('resolves IPs: pod IP, then node address, else world (v4 and v6)', () => {
    expect(resolveEndpoint(inventory, '10.244.2.12')).toMatchObject({ kind: 'pod', ip: '10.244.2.12' });
    expect(resolveEndpoint(inventory, 'FD00:10:244:1:0:0:0:A')).toMatchObject({
      kind: 'pod',
      pod: { name: 'web-7d9f8b6c5d-x2x9k' },
      ip: 'fd00:10:244:1::a',
    });
    expect(resolveEndpoint(inventory, '203.0.113.10')).toMatchObject({
      kind: 'node',
      node: { name: 'node-a' },
    });
    expect(resolveEndpoint(inventory, 'fd00::10:1')).toMatchObject({
      kind: 'node',
      node: { name: 'node-a' },
    });
    expect(resolveEndpoint(inventory, '::ffff:192.168.10.2')).toMatchObject({
      kind: 'node',
      ip: '192.168.10.2',
    });
    expect(resolveEndpoint(inventory, '8.8.8.8')).toEqual({ kind: 'world', ip: '8.8.8.8' });
    expect(resolveEndpoint(inventory, '2001:4860:4860::8888')).toEqual({
      kind: 'world',
      ip: '2001:4860:4860::8888',
    });
  });

  it('resolves a hostNetwork pod, by name or by address, to its node', () => {
    expect(resolveEndpoint(inventory, 'kube-system/kube-proxy-8fz2l')).toMatchObject({
      kind: 'node',
      node: { name: 'node-a' },
      ip: '192.168.10.1',
    });
    expect(resolveEndpoint(inventory, '192.168.10.1')).toMatchObject({
      kind: 'node',
      node: { name: 'node-a' },
    });
  });

  it('resolves an address a finished pod still lists to the running pod that holds it now', () => {
    const pod = (name: string, phase: string) => ({
      kind: 'Pod',
      metadata: { name, namespace: 'jobs' },
      spec: { nodeName: 'node-a', containers: [] },
      status: { phase, podIP: '10.9.0.5' },
    });
    for (const items of [
      [pod('done', 'Succeeded'), pod('live', 'Running')],
      [pod('live', 'Running'), pod('done', 'Failed')],
    ]) {
      const parsed = parseInventory({ kind: 'List', items }, 'reuse.json');
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
      expect(parsed.inventory.pods.get('jobs/done')?.terminated).toBe(true);
      expect(parsed.inventory.pods.get('jobs/live')?.terminated).toBeUndefined();
      expect(resolveEndpoint(parsed.inventory, '10.9.0.5')).toMatchObject({
        kind: 'pod',
        pod: { name: 'live' },
      });
      // by name, the finished pod is still there
      expect(resolveEndpoint(parsed.inventory, 'jobs/done')).toMatchObject({
        kind: 'pod',
        pod: { name: 'done' },
      });
    }
  });
});

describe('resolveFlow', () => {
  const inventory = load();

  it('resolves both ends or names the one that fails', () => {
    const ok = resolveFlow(inventory, {
      src: 'shop/web-7d9f8b6c5d-x2x9k',
      dst: '10.244.2.12',
      protocol: 'TCP',
      port: 5432,
      serverName: 'db',
    });
    expect(ok.ok && [endpointLabel(ok.flow.src), endpointLabel(ok.flow.dst), ok.flow.serverName]).toEqual([
      'shop/web-7d9f8b6c5d-x2x9k',
      'shop/db-0',
      'db',
    ]);
    expect(resolveFlow(inventory, { src: 'shop/web', dst: '1.1.1.1', protocol: 'TCP', port: 1 })).toEqual({
      ok: false,
      reason: 'src: pod "shop/web" is not in the inventory',
    });
    expect(resolveFlow(inventory, { src: '1.1.1.1', dst: 'nonsense', protocol: 'TCP', port: 1 })).toEqual({
      ok: false,
      reason: 'dst: "nonsense" is neither <namespace>/<pod> nor an IP address',
    });
  });
});

describe('IP addresses of the inventory', () => {
  // Plain dotted quads take a shortcut past ipaddr.js; every other form must still go through it.
  const octet = fc.oneof(
    fc.integer({ min: 0, max: 300 }).map(String),
    fc.constantFrom('00', '010', '08', '0x1f', '255', '256', '-1', '', '1e2', ' 1'),
  );
  const address = fc.oneof(
    fc.array(octet, { minLength: 1, maxLength: 5 }).map((parts) => parts.join('.')),
    fc.constantFrom('::1', '::ffff:10.0.0.1', 'FD00::1', '2001:db8::0:1', '10.0.0.1 ', '1.2.3.4/32'),
  );

  it('normalizes every address as ipaddr.js does', () => {
    fc.assert(
      fc.property(address, (text) => {
        expect(normalizeIp(text)).toBe(parseIp(text)?.toString() ?? text);
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts exactly the pod IPs ipaddr.js accepts, and resolves them by their canonical text', () => {
    fc.assert(
      fc.property(address, (text) => {
        const pod = (ip: string) => ({
          kind: 'Pod',
          metadata: { name: 'p', namespace: 'ns' },
          status: { podIP: ip },
        });
        const result = parseInventory({ items: [pod(text)] }, 'inv.json');
        if (text === '') {
          expect(result).toMatchObject({ ok: true });
        } else if (isIp(text)) {
          if (!result.ok) throw new Error(JSON.stringify(result.errors));
          const canonical = parseIp(text)!.toString();
          expect(result.inventory.pods.get('ns/p')?.ips).toEqual([canonical]);
          expect(resolveEndpoint(result.inventory, text)).toMatchObject({ kind: 'pod', ip: canonical });
        } else {
          expect(result).toEqual({
            ok: false,
            errors: [{ file: 'inv.json', line: 1, message: `Pod ns/p: "${text}" is not an IP address` }],
          });
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('podsOfWorkload (issue 15)', () => {
  const pod = (name: string, owner?: { kind: string; name: string }) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'shop',
      labels: owner?.kind === 'ReplicaSet' ? { 'pod-template-hash': owner.name.split('-').pop() } : {},
      ...(owner
        ? { ownerReferences: [{ ...owner, controller: true, apiVersion: 'apps/v1', uid: 'u' }] }
        : {}),
    },
    spec: { nodeName: 'n', containers: [] },
    status: { podIP: `10.0.0.${name.length}${name.charCodeAt(name.length - 1) % 10}` },
  });
  const parsed = parseInventory(
    {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        pod('web-5d8f7c9b6-zzzzz', { kind: 'ReplicaSet', name: 'web-5d8f7c9b6' }),
        pod('web-5d8f7c9b6-aaaaa', { kind: 'ReplicaSet', name: 'web-5d8f7c9b6' }),
        pod('db-0', { kind: 'StatefulSet', name: 'db' }),
        // No ownerReferences (an inventory trimmed by hand): the name's shape says the workload.
        pod('cache-7c9d8b6f5-q2w4x'),
        pod('cache-7c9d8b6f5-b5s2d'),
      ],
    },
    'inventory.json',
  );
  if (!parsed.ok) throw new Error('inventory');
  const names = (ref: string) => podsOfWorkload(parsed.inventory, ref).map((p) => p.name);

  it('finds the pods of a workload by owner, sorted by name', () => {
    expect(names('shop/web')).toEqual(['web-5d8f7c9b6-aaaaa', 'web-5d8f7c9b6-zzzzz']);
    expect(names('shop/db')).toEqual(['db-0']);
  });

  it('reads the workload from the pod name when there is no owner', () => {
    expect(names('shop/cache')).toEqual(['cache-7c9d8b6f5-b5s2d', 'cache-7c9d8b6f5-q2w4x']);
    expect(names('shop/nothing')).toEqual([]);
    expect(names('other/web')).toEqual([]);
  });
});
