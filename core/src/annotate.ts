// `nyxctl flows annotate`: a flow record with the identity of its pod ends written in (SPEC
// section 7, "Flow endpoints outlive their pods"), from the inventory of the window's time, so that
// the window can be replayed after the pods are gone.
import type { FlowRecord } from './flow-model.js';
import { resolveEndpoint } from './inventory.js';
import type { Inventory } from './inventory-model.js';
import { identityLabels } from './workload.js';

/** What `annotateFlowRecord` did to each end. */
export type EndAnnotation =
  /** A pod of the inventory: its workload and labels written in. */
  | 'annotated'
  /** A pod's IP: rewritten as `<ns>/<pod>` (an address is handed to another pod within minutes of a rollout), then annotated. */
  | 'named'
  /** A `<ns>/<pod>` the inventory lacks: left as it was. */
  | 'unknown-pod'
  /** Not a pod (a node or a hostNetwork pod's address, an address outside the cluster): nothing to record. */
  | 'not-a-pod';

/**
 * The record with `srcWorkload`/`srcLabels` and `dstWorkload`/`dstLabels` of every end that is a
 * pod of `inventory` (labels sorted, revision labels left out: `identityLabels`); identity fields
 * the record already had are replaced by the inventory's, kept for ends it does not know. A new
 * object; the record is not changed.
 */
export function annotateFlowRecord(
  inventory: Inventory,
  record: FlowRecord,
): { record: FlowRecord; src: EndAnnotation; dst: EndAnnotation } {
  const out: FlowRecord = { ...record };
  const annotate = (end: 'src' | 'dst'): EndAnnotation => {
    const ref = record[end];
    // A hostNetwork pod named as such is annotated too: it resolves to its node, and its name
    // changes with every rollout like any other.
    const endpoint = resolveEndpoint(inventory, ref);
    if (!endpoint) return 'unknown-pod';
    const pod = endpoint.kind === 'pod' ? endpoint.pod : inventory.pods.get(ref);
    if (!pod) return 'not-a-pod';
    const name = `${pod.namespace}/${pod.name}`;
    out[end] = name;
    out[`${end}Workload`] = pod.workload;
    out[`${end}Labels`] = identityLabels(pod.labels);
    return name === ref ? 'annotated' : 'named';
  };
  const src = annotate('src');
  const dst = annotate('dst');
  return { record: out, src, dst };
}
