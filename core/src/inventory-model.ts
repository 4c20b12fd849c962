// The cluster inventory the engine evaluates against (SPEC section 7: the `v1 List` printed by
// `kubectl get namespaces,pods,nodes -A -o json`), after parsing.
import type { Protocol } from './model.js';

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol: Protocol;
}

export interface Pod {
  namespace: string;
  name: string;
  /**
   * `<ns>/<controller>` the pod belongs to, for grouping flows in reports: the owning controller's
   * name (a ReplicaSet's `pod-template-hash` suffix stripped to its Deployment), else the pod name.
   */
  workload: string;
  labels: Readonly<Record<string, string>>;
  /** Labels of the pod's namespace; `{kubernetes.io/metadata.name: <ns>}` when the Namespace is absent. */
  namespaceLabels: Readonly<Record<string, string>>;
  nodeName?: string;
  hostNetwork: boolean;
  ports: readonly ContainerPort[];
  ips: readonly string[];
  /**
   * True for a pod in phase `Succeeded` or `Failed` (a finished Job's pod): its `status.podIP` is
   * kept in the object but the address is released and may already belong to a running pod, so
   * address resolution prefers any other pod holding it. Absent means running (or unknown).
   */
  terminated?: boolean;
}

export interface Node {
  name: string;
  addresses: readonly string[];
  /** The Node's labels, when it has any (read by `nodes` peers of upstream admin policy). */
  labels?: Readonly<Record<string, string>>;
}

export interface Inventory {
  namespaces: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** Keyed by `<ns>/<pod>`. Pods without an IP are skipped, as SPEC section 7 says. */
  pods: ReadonlyMap<string, Pod>;
  nodes: ReadonlyMap<string, Node>;
}

/** One end of a flow after resolution (SPEC section 2). A hostNetwork pod resolves to its node. */
export type Endpoint =
  | { kind: 'pod'; pod: Pod; ip?: string }
  | { kind: 'node'; node: Node; ip?: string }
  | { kind: 'world'; ip: string };
