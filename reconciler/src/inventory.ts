// The inventory the reconciler publishes (SPEC §7: what `kubectl get namespaces,pods,nodes -A -o json`
// prints), cut down to the fields the engine reads. Pods keep their ownerReferences and labels: the
// identity the engine resolves flow endpoints by when pods are renamed (owner workload `<ns>/<name>`,
// SPEC §7 "Flow endpoints outlive their pods"). Pure.
import type { KubeObject } from './manifests.js';

type Obj = KubeObject & { status?: Record<string, unknown> };

function meta(o: Obj, keep: Array<'labels' | 'ownerReferences'>): Record<string, unknown> {
  const m: Record<string, unknown> = { name: o.metadata?.name };
  if (o.metadata?.namespace) m.namespace = o.metadata.namespace;
  for (const k of keep) if (o.metadata?.[k] !== undefined) m[k] = o.metadata[k];
  return m;
}

/** A `v1 List` of the namespaces, pods and nodes, with only the fields the engine reads. */
export function inventoryList(input: {
  namespaces: Iterable<Obj>;
  pods: Iterable<Obj>;
  nodes: Iterable<Obj>;
}): { apiVersion: 'v1'; kind: 'List'; items: unknown[] } {
  const items: unknown[] = [];
  const byName = (a: Obj, b: Obj): number => {
    const x = `${a.metadata?.namespace ?? ''}/${a.metadata?.name ?? ''}`;
    const y = `${b.metadata?.namespace ?? ''}/${b.metadata?.name ?? ''}`;
    return x < y ? -1 : x > y ? 1 : 0;
  };
  for (const ns of [...input.namespaces].sort(byName)) {
    items.push({ apiVersion: 'v1', kind: 'Namespace', metadata: meta(ns, ['labels']) });
  }
  for (const pod of [...input.pods].sort(byName)) {
    const spec = (pod.spec ?? {}) as {
      nodeName?: string;
      hostNetwork?: boolean;
      containers?: Array<{ name?: string; ports?: unknown[] }>;
    };
    const status = pod.status ?? {};
    const p: Record<string, unknown> = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: meta(pod, ['labels', 'ownerReferences']),
      spec: {
        ...(spec.nodeName ? { nodeName: spec.nodeName } : {}),
        ...(spec.hostNetwork ? { hostNetwork: true } : {}),
        containers: (spec.containers ?? []).map((c) => ({
          name: c.name,
          ...(c.ports ? { ports: c.ports } : {}),
        })),
      },
      status: {
        ...(status.phase ? { phase: status.phase } : {}),
        ...(status.podIP ? { podIP: status.podIP } : {}),
        ...(status.podIPs ? { podIPs: status.podIPs } : {}),
      },
    };
    items.push(p);
  }
  for (const node of [...input.nodes].sort(byName)) {
    const status = node.status ?? {};
    items.push({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: meta(node, ['labels']),
      status: status.addresses ? { addresses: status.addresses } : {},
    });
  }
  return { apiVersion: 'v1', kind: 'List', items };
}

/** Calls `fn` once `ms` after the last of a burst of calls (at most `maxWaitMs` after the first). */
export function debounce(fn: () => void, ms: number, maxWaitMs = ms * 10): { (): void; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  let first = 0;
  const run = (): void => {
    timer = undefined;
    first = 0;
    fn();
  };
  const call = (): void => {
    const now = Date.now();
    if (first === 0) first = now;
    if (timer) clearTimeout(timer);
    timer = setTimeout(run, Math.max(0, Math.min(ms, first + maxWaitMs - now)));
  };
  call.cancel = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  return call;
}
