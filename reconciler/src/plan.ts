// The build and plan steps: a fetched revision → a validated set of desired objects and the bundle the
// agents get (all or nothing), then desired vs live → what to apply, prune and hold. Pure.
import {
  type Diagnostic,
  diffObjects,
  loadPolicySet,
  type ObjectChangeSet,
  type PolicyFile,
} from '@nyx/core';
import { type Bundle, makeBundle } from '@nyx/io';
import { checkDrift } from './drift.js';
import {
  CONTENT_HASH_ANNOTATION,
  type DesiredObject,
  desiredObjects,
  isManaged,
  isNyxKind,
  type KubeObject,
  kubeObjectId,
} from './manifests.js';

export type BuildResult =
  | { ok: true; revision: string; desired: DesiredObject[]; bundle: Bundle; notes: Diagnostic[] }
  | { ok: false; revision: string; errors: Diagnostic[] };

/**
 * Validates a revision with the core's loader (the validation the bot and `nyxctl validate` run).
 * Any error, including problems of the tree itself, refuses the whole revision.
 */
export function buildRevision(input: {
  revision: string;
  files: readonly PolicyFile[];
  treeErrors?: readonly Diagnostic[];
  now?: Date;
}): BuildResult {
  const loaded = loadPolicySet(input.files);
  const errors = [...(input.treeErrors ?? []), ...(loaded.ok ? [] : loaded.errors)];
  if (!loaded.ok || errors.length > 0) return { ok: false, revision: input.revision, errors };
  const desired = desiredObjects(loaded.policySet);
  const bundle = makeBundle(
    input.revision,
    input.files.map((f) => ({ path: f.path, text: f.content })),
    input.now,
  );
  return { ok: true, revision: input.revision, desired, bundle, notes: loaded.notes };
}

export interface SyncPlan {
  /** What changed from the cluster to Git, by object id. */
  changes: ObjectChangeSet;
  /** Objects to create or bring back to Git, in apply order. */
  apply: DesiredObject[];
  /** Objects Git declares whose namespace does not exist yet (applied when it appears). */
  held: DesiredObject[];
  /** Managed objects Git no longer has, in prune order (namespaced before cluster-scoped). */
  prune: KubeObject[];
  /** Nyx objects in the cluster that Git never declared (created by hand): deleted as drift. */
  unmanaged: KubeObject[];
  /** Ids in `apply` whose live object carries Git's content but was changed by someone else. */
  drifted: string[];
}

/**
 * Plans one sync. `live` holds every object of the managed kinds in the cluster (NetworkPolicies
 * without the managed-by label are left alone); `namespaces` the namespaces that exist.
 */
export function planSync(input: {
  desired: readonly DesiredObject[];
  live: Iterable<KubeObject>;
  namespaces: ReadonlySet<string>;
}): SyncPlan {
  const desiredById = new Map(input.desired.map((d) => [d.id, d]));
  const liveById = new Map<string, KubeObject>();
  for (const o of input.live) {
    if (o.metadata?.deletionTimestamp) continue;
    const id = kubeObjectId(o);
    if (desiredById.has(id) || isNyxKind(o.kind ?? '') || isManaged(o)) liveById.set(id, o);
  }
  const changes = diffObjects(liveById, desiredById, (live, d) => checkDrift(live, d).type === 'in-sync');
  const apply: DesiredObject[] = [];
  const held: DesiredObject[] = [];
  const toApply = new Set([...changes.added, ...changes.changed]);
  for (const d of input.desired) {
    if (!toApply.has(d.id)) continue;
    if (d.namespace !== undefined && !input.namespaces.has(d.namespace)) held.push(d);
    else apply.push(d);
  }
  const drifted = changes.changed.filter(
    (id) =>
      liveById.get(id)?.metadata?.annotations?.[CONTENT_HASH_ANNOTATION] === desiredById.get(id)?.contentHash,
  );
  const prune: KubeObject[] = [];
  const unmanaged: KubeObject[] = [];
  for (const id of changes.removed) {
    const o = liveById.get(id)!;
    (isManaged(o) ? prune : unmanaged).push(o);
  }
  const pruneOrder = (o: KubeObject): number =>
    o.metadata?.namespace ? 0 : o.kind === 'NyxClusterConfig' ? 2 : 1;
  prune.sort((a, b) => pruneOrder(a) - pruneOrder(b));
  return { changes, apply, held, prune, unmanaged, drifted };
}
