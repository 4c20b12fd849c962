// Test and benchmark helper: the inventory after a rollout of every workload (`kubectl rollout
// restart`): every pod renamed as its controller would name its replacement, on the same node.
// Works on the `kubectl get … -o json` List, so the renamed inventory goes through `parseInventory`.

const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

/** Each character of a generated name part moved one step along the alphabet Kubernetes uses. */
function shifted(text: string): string {
  let out = '';
  for (const c of text) {
    const i = SAFE.indexOf(c);
    out += i < 0 ? c : SAFE[(i + 1) % SAFE.length];
  }
  return out;
}

type Json = Record<string, unknown>;

export interface RolloutOptions {
  /** New pod addresses from `10.250.0.0/16` (hostNetwork pods keep their node's); default true. */
  newIps?: boolean;
}

/**
 * The List with every pod renamed: a ReplicaSet's pods get a new `pod-template-hash` (owner and
 * label follow) and suffix, a StatefulSet's pods the ordinal + 100 (as after a scale-up and down),
 * other pods a new 5-character suffix; revision labels change. Workloads, labels otherwise, ports
 * and nodes are kept. Pods without a generated name part get `-r` appended.
 */
export function rolloutInventoryJson(list: unknown, options: RolloutOptions = {}): unknown {
  const copy = structuredClone(list) as { items: Json[] };
  let n = 0;
  for (const item of copy.items) {
    if (item.kind !== 'Pod') continue;
    const metadata = item.metadata as Json & { name: string; labels?: Record<string, string> };
    const labels = metadata.labels ?? {};
    const owners = (metadata.ownerReferences as Json[] | undefined) ?? [];
    const owner = owners[0] as (Json & { kind: string; name: string }) | undefined;
    const name = metadata.name;
    const hash = labels['pod-template-hash'];
    if (
      owner?.kind === 'ReplicaSet' &&
      hash &&
      owner.name.endsWith(`-${hash}`) &&
      name.startsWith(`${owner.name}-`)
    ) {
      const deployment = owner.name.slice(0, -(hash.length + 1));
      const suffix = name.slice(owner.name.length + 1);
      const newHash = shifted(hash);
      owner.name = `${deployment}-${newHash}`;
      labels['pod-template-hash'] = newHash;
      metadata.name = `${owner.name}-${shifted(suffix)}`;
    } else if (owner?.kind === 'StatefulSet' && /^\d+$/.test(name.slice(owner.name.length + 1))) {
      metadata.name = `${owner.name}-${Number(name.slice(owner.name.length + 1)) + 100}`;
      if (labels['statefulset.kubernetes.io/pod-name'])
        labels['statefulset.kubernetes.io/pod-name'] = metadata.name;
    } else {
      const m = /^(.+)-([bcdfghjklmnpqrstvwxz2456789]{5})$/.exec(name);
      metadata.name = m ? `${m[1]}-${shifted(m[2]!)}` : `${name}-r`;
    }
    if (labels['controller-revision-hash'])
      labels['controller-revision-hash'] = shifted(labels['controller-revision-hash']);
    const spec = (item.spec ?? {}) as Json;
    const status = (item.status ?? {}) as Json;
    if (options.newIps !== false && spec.hostNetwork !== true && status.podIP !== undefined) {
      const ip = `10.250.${(n >> 8) & 255}.${n & 255}`;
      n += 1;
      status.podIP = ip;
      status.podIPs = [{ ip }];
    }
  }
  return copy;
}
