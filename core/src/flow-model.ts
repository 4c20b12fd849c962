// The one flow format (SPEC section 7): a JSON Lines record per connection or aggregate.
import type { Endpoint } from './inventory-model.js';
import type { Protocol } from './model.js';

export interface FlowRecord {
  /** `<ns>/<pod>` or an IP address. */
  src: string;
  dst: string;
  protocol: Protocol;
  port: number;
  serverName?: string;
  /** How many connections this record stands for; 1 when absent. */
  count?: number;
  firstSeen?: string;
  lastSeen?: string;
  /**
   * Identity of a `<ns>/<pod>` end as observed (SPEC section 7, "Flow endpoints outlive their
   * pods"): `<ns>/<name>` of its Deployment, StatefulSet, DaemonSet, Job or CronJob, and its labels.
   * They let the end resolve after the pod is gone (renamed by a rollout).
   */
  srcWorkload?: string;
  dstWorkload?: string;
  srcLabels?: Record<string, string>;
  dstLabels?: Record<string, string>;
}

/** The identity fields of a flow record (all optional). */
export type FlowIdentity = Pick<FlowRecord, 'srcWorkload' | 'dstWorkload' | 'srcLabels' | 'dstLabels'>;

/**
 * How one end of a flow resolved (SPEC section 7): `direct` (an IP, or a pod the inventory has),
 * `workload` (a current pod of the recorded workload), `labels` (the recorded labels),
 * `pod-name` (a current pod of the workload read from the pod name).
 */
export type EndResolution = 'direct' | 'workload' | 'labels' | 'pod-name';

/** A flow whose ends were resolved against the inventory. */
export interface ResolvedFlow {
  src: Endpoint;
  dst: Endpoint;
  protocol: Protocol;
  port: number;
  serverName?: string;
}
