// What the cluster should hold for one policy set: one Kubernetes object per policy object, in the
// order they are applied. Pure.
import { createHash } from 'node:crypto';
import { type PolicyObject, type PolicySet, stableJson } from '@nyx/core';

export const FIELD_MANAGER = 'nyx-reconciler';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'nyx-gitops';
/** `path:line` of the object in the policy repository. */
export const SOURCE_ANNOTATION = 'nyx.tracenyx.io/source';
/** The revision that last changed the object (unchanged objects keep theirs). */
export const REVISION_ANNOTATION = 'nyx.tracenyx.io/revision';
/** `sha256:<hex>` of the object as Git declares it (without the revision): what apply compares. */
export const CONTENT_HASH_ANNOTATION = 'nyx.tracenyx.io/content-hash';

/** A kind the reconciler manages: where it lives in the API and in which order it is applied. */
export interface ManagedKind {
  kind: PolicyObject['kind'];
  apiVersion: string;
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
  /** Apply order: cluster config first, then cluster policies, then namespaced policies. */
  order: number;
}

export const MANAGED_KINDS: readonly ManagedKind[] = [
  {
    kind: 'NyxClusterConfig',
    apiVersion: 'nyx.tracenyx.io/v1alpha1',
    group: 'nyx.tracenyx.io',
    version: 'v1alpha1',
    plural: 'nyxclusterconfigs',
    namespaced: false,
    order: 0,
  },
  {
    kind: 'NyxClusterNetworkPolicy',
    apiVersion: 'nyx.tracenyx.io/v1alpha1',
    group: 'nyx.tracenyx.io',
    version: 'v1alpha1',
    plural: 'nyxclusternetworkpolicies',
    namespaced: false,
    order: 1,
  },
  {
    kind: 'NyxNetworkPolicy',
    apiVersion: 'nyx.tracenyx.io/v1alpha1',
    group: 'nyx.tracenyx.io',
    version: 'v1alpha1',
    plural: 'nyxnetworkpolicies',
    namespaced: true,
    order: 2,
  },
  {
    kind: 'NetworkPolicy',
    apiVersion: 'networking.k8s.io/v1',
    group: 'networking.k8s.io',
    version: 'v1',
    plural: 'networkpolicies',
    namespaced: true,
    order: 3,
  },
];

const KIND_BY_NAME = new Map(MANAGED_KINDS.map((k) => [k.kind, k]));

export function managedKind(kind: string): ManagedKind | undefined {
  return KIND_BY_NAME.get(kind as PolicyObject['kind']);
}

/** True for the Nyx kinds: any object of them in the cluster must come from Git. */
export function isNyxKind(kind: string): boolean {
  return kind !== 'NetworkPolicy' && KIND_BY_NAME.has(kind as PolicyObject['kind']);
}

/** A Kubernetes object as the API returns it (the fields the reconciler reads). */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    uid?: string;
    deletionTimestamp?: string | Date;
    managedFields?: ManagedFieldsEntry[];
    [key: string]: unknown;
  };
  spec?: unknown;
  [key: string]: unknown;
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string | Date;
  fieldsType?: string;
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

/** One object the cluster should hold. */
export interface DesiredObject {
  /** `Kind/name` or `Kind/namespace/name` (the core's `objectId`). */
  id: string;
  kind: ManagedKind;
  name: string;
  namespace?: string;
  /** `path:line` in the policy repository. */
  source: string;
  contentHash: string;
  /** The manifest to apply, without the revision annotation (added at apply time). */
  manifest: KubeObject & { apiVersion: string; kind: string; metadata: { name: string } };
}

/** The id of a cluster object, in the same form as `objectId`. */
export function kubeObjectId(o: KubeObject): string {
  const name = o.metadata?.name ?? '';
  return o.metadata?.namespace ? `${o.kind}/${o.metadata.namespace}/${name}` : `${o.kind}/${name}`;
}

/** The objects a valid policy set puts in the cluster, in apply order (then by id). */
export function desiredObjects(policySet: PolicySet): DesiredObject[] {
  const out: DesiredObject[] = policySet.objects.map((o) => {
    const kind = KIND_BY_NAME.get(o.kind)!;
    const namespace = 'namespace' in o ? o.namespace : undefined;
    const source = `${o.source.file}:${o.source.line}`;
    const labels = { ...(o.metadata.labels ?? {}), [MANAGED_BY_LABEL]: MANAGED_BY_VALUE };
    const annotations: Record<string, string> = { ...(o.metadata.annotations ?? {}) };
    // Annotations the reconciler owns are never taken from Git.
    for (const a of [SOURCE_ANNOTATION, REVISION_ANNOTATION, CONTENT_HASH_ANNOTATION]) delete annotations[a];
    annotations[SOURCE_ANNOTATION] = source;
    const metadata: DesiredObject['manifest']['metadata'] = { name: o.metadata.name, labels, annotations };
    if (namespace !== undefined) metadata.namespace = namespace;
    const manifest = { apiVersion: kind.apiVersion, kind: o.kind, metadata, spec: o.spec ?? {} };
    const contentHash = `sha256:${createHash('sha256').update(stableJson(manifest)).digest('hex')}`;
    annotations[CONTENT_HASH_ANNOTATION] = contentHash;
    const d: DesiredObject = {
      id: kubeObjectId(manifest),
      kind,
      name: o.metadata.name,
      source,
      contentHash,
      manifest,
    };
    if (namespace !== undefined) d.namespace = namespace;
    return d;
  });
  return out.sort((a, b) => a.kind.order - b.kind.order || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The manifest sent to the API server for `revision`. */
export function manifestAt(d: DesiredObject, revision: string): DesiredObject['manifest'] {
  const m = d.manifest;
  return {
    ...m,
    metadata: {
      ...m.metadata,
      annotations: { ...(m.metadata.annotations as Record<string, string>), [REVISION_ANNOTATION]: revision },
    },
  };
}

/** True when the object carries the reconciler's managed-by label. */
export function isManaged(o: KubeObject): boolean {
  return o.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}
