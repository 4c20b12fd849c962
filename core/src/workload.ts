// Workloads: the Deployment, StatefulSet, DaemonSet, Job or CronJob a pod belongs to, as reports
// name them (`<ns>/<name>`). One home for "the workload of a pod" (from its ownerReferences, or read
// from its name) and "the current pods of a workload" (SPEC section 7, "Flow endpoints outlive
// their pods"): the flow resolution, the `flows annotate` helper and `explain` share them.
import type { Inventory, Pod } from './inventory-model.js';

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Labels that name one revision of a workload, not the workload: they change with every rollout,
 * so a recorded copy would describe a revision that no longer runs. Left out of recorded
 * identities, as Cilium leaves them out of its security identities.
 */
export const REVISION_LABELS: ReadonlySet<string> = new Set([
  'pod-template-hash',
  'controller-revision-hash',
]);

/** A pod's labels as a flow record keeps them (`srcLabels`/`dstLabels`): sorted, revision labels left out. */
export function identityLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(labels).sort()) {
    if (!REVISION_LABELS.has(key)) out[key] = labels[key]!;
  }
  return out;
}

/** `<cronjob>-<scheduled minute>`: the name the CronJob controller gives each Job it creates. */
const CRONJOB_JOB = /^(.+)-(\d{8,})$/;

/**
 * The owning workload's name from a pod's `metadata` (its `ownerReferences` and labels): a
 * ReplicaSet's `pod-template-hash` suffix is stripped to its Deployment, a Job named
 * `<name>-<digits>` (as a CronJob names its Jobs) to its CronJob. Undefined for a pod without owner.
 */
export function ownerWorkloadName(
  metadata: Json,
  labels: Readonly<Record<string, string>>,
): string | undefined {
  const refs = Array.isArray(metadata.ownerReferences) ? metadata.ownerReferences.filter(isObject) : [];
  const owner = refs.find((r) => r.controller === true) ?? refs[0];
  if (!owner || typeof owner.name !== 'string' || owner.name === '') return undefined;
  const hash = labels['pod-template-hash'];
  if (owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`)) {
    return owner.name.slice(0, -(hash.length + 1));
  }
  if (owner.kind === 'Job') {
    const cron = CRONJOB_JOB.exec(owner.name);
    if (cron) return cron[1];
  }
  return owner.name;
}

// The alphabet Kubernetes uses for generated name suffixes and pod-template hashes
// (`k8s.io/apimachinery/pkg/util/rand`): no vowels, no 0, 1, 3.
const SAFE = '[bcdfghjklmnpqrstvwxz2456789]';
const DEPLOYMENT_POD = new RegExp(`^(.+)-${SAFE}{1,10}-${SAFE}{5}$`);
const STATEFULSET_POD = /^(.+)-(0|[1-9]\d*)$/;
const GENERATED_SUFFIX_POD = new RegExp(`^(.+)-${SAFE}{5}$`);

/**
 * The workload names a pod name can have been generated from, most specific first:
 * `<deployment>-<pod-template-hash>-<5 chars>`, `<statefulset>-<ordinal>`, `<daemonset or job>-<5 chars>`.
 * A name fits several shapes; which one is right is for the inventory to say
 * (`workloadOfPodName`).
 */
export function workloadNameCandidates(podName: string): string[] {
  const out: string[] = [];
  for (const shape of [DEPLOYMENT_POD, STATEFULSET_POD, GENERATED_SUFFIX_POD]) {
    const m = shape.exec(podName);
    if (m?.[1] && !out.includes(m[1])) out.push(m[1]);
  }
  // A Job's pod: `<cronjob>-<minute>-<5 chars>`.
  for (const name of [...out]) {
    const cron = CRONJOB_JOB.exec(name);
    if (cron?.[1] && !out.includes(cron[1])) out.push(cron[1]);
  }
  return out;
}

// Built once per inventory: `<ns>/<workload>` -> its pods, running first, then by name (the
// stand-in of a gone pod is the first: deterministic, and pods of one workload share labels and ports).
const workloadIndexes = new WeakMap<Inventory, Map<string, Pod[]>>();

function workloadIndex(inventory: Inventory): Map<string, Pod[]> {
  let index = workloadIndexes.get(inventory);
  if (index) return index;
  index = new Map();
  for (const pod of inventory.pods.values()) {
    const list = index.get(pod.workload);
    if (list) list.push(pod);
    else index.set(pod.workload, [pod]);
  }
  for (const list of index.values()) {
    list.sort(
      (a, b) =>
        Number(a.terminated === true) - Number(b.terminated === true) ||
        (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
    );
  }
  workloadIndexes.set(inventory, index);
  return index;
}

/**
 * A current pod of the workload `<ns>/<name>` (running first, then by name), or undefined. With
 * `node`, one on that node when the workload has one there.
 */
export function currentPodOfWorkload(inventory: Inventory, workload: string, node?: string): Pod | undefined {
  const pods = workloadIndex(inventory).get(workload);
  if (!pods) return undefined;
  return (node !== undefined ? pods.find((p) => p.nodeName === node) : undefined) ?? pods[0];
}

/**
 * The workload `<ns>/<name>` a pod name was generated from, when the inventory has a current pod of
 * it (the first of `workloadNameCandidates` that does); undefined otherwise.
 */
export function workloadOfPodName(
  inventory: Inventory,
  namespace: string,
  podName: string,
): string | undefined {
  const index = workloadIndex(inventory);
  for (const name of workloadNameCandidates(podName)) {
    const workload = `${namespace}/${name}`;
    if (index.has(workload)) return workload;
  }
  return undefined;
}

/** The workload of `<ns>/<pod>` in the inventory (`Pod.workload`), or undefined when the pod is not there. */
export function workloadOfPod(inventory: Inventory, podRef: string): string | undefined {
  return inventory.pods.get(podRef)?.workload;
}
/**
 * The workload of a pod-prefix aggregated name (Calico's `source_name_aggr`, `frontend-7d9f8b6c4-*`):
 * the prefix without `-*`, and without the ReplicaSet's hash when the labels give it
 * (`pod-template-hash`). Undefined for names that are not aggregated pod prefixes.
 */
export function workloadOfAggregatedName(
  nameAggr: string,
  labels: Readonly<Record<string, string>> | undefined,
): string | undefined {
  if (!nameAggr.endsWith('-*') || nameAggr.length < 3 || nameAggr.indexOf('*') !== nameAggr.length - 1)
    return undefined;
  const prefix = nameAggr.slice(0, -2);
  const hash = labels?.['pod-template-hash'];
  if (hash) return prefix.endsWith(`-${hash}`) ? prefix.slice(0, -(hash.length + 1)) : prefix;
  // No label to say so: a last segment of 6 to 10 characters of the hash alphabet is taken as the
  // ReplicaSet's hash (no vowels: a word chosen by a person rarely fits).
  const m = REPLICASET_PREFIX.exec(prefix);
  return m?.[1] ?? prefix;
}

const REPLICASET_PREFIX = new RegExp(`^(.+)-${SAFE}{6,10}$`);
