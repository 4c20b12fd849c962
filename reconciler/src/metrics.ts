// Prometheus metrics of the reconciler (prom-client, on a private registry served at `/metrics`).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export function createReconcilerMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics !== false)
    collectDefaultMetrics({ register: registry, prefix: 'nyx_reconciler_' });
  const r = [registry];
  return {
    registry,
    syncs: new Counter({
      name: 'nyx_reconcile_syncs_total',
      help: 'Syncs run, by result (synced, invalid, fetch_failed, apply_failed, prune_failed)',
      labelNames: ['result'],
      registers: r,
    }),
    syncDuration: new Histogram({
      name: 'nyx_reconcile_sync_duration_seconds',
      help: 'Duration of a sync (fetch to status)',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: r,
    }),
    invalidRevision: new Gauge({
      name: 'nyx_reconcile_invalid_revision',
      help: '1 while the branch tip is an invalid revision (the last good revision keeps running)',
      registers: r,
    }),
    revisionErrors: new Gauge({
      name: 'nyx_reconcile_revision_errors',
      help: 'Validation errors of the branch tip (file:line problems)',
      registers: r,
    }),
    historyRewritten: new Counter({
      name: 'nyx_reconcile_history_rewritten_total',
      help: 'Fetches whose tip does not descend from the previous revision (force push)',
      registers: r,
    }),
    applied: new Counter({
      name: 'nyx_reconcile_applied_total',
      help: 'Objects applied by syncs, by kind',
      labelNames: ['kind'],
      registers: r,
    }),
    pruned: new Counter({
      name: 'nyx_reconcile_pruned_total',
      help: 'Objects pruned because Git no longer has them, by kind',
      labelNames: ['kind'],
      registers: r,
    }),
    held: new Gauge({
      name: 'nyx_reconcile_held_objects',
      help: 'Objects Git declares whose namespace does not exist yet',
      registers: r,
    }),
    managedObjects: new Gauge({
      name: 'nyx_reconcile_managed_objects',
      help: 'Objects the last good revision declares',
      registers: r,
    }),
    driftReverted: new Counter({
      name: 'nyx_drift_reverted_total',
      help: 'Changes to managed objects by anyone else, reverted to Git, by kind',
      labelNames: ['kind'],
      registers: r,
    }),
    driftDetected: new Counter({
      name: 'nyx_drift_detected_total',
      help: 'Drift detected (reverted or not: paused, backing off), by kind',
      labelNames: ['kind'],
      registers: r,
    }),
    driftRevertSeconds: new Histogram({
      name: 'nyx_drift_revert_seconds',
      help: 'From the watch event of a drift to its revert being acknowledged by the API server',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    }),
    driftBackoff: new Counter({
      name: 'nyx_drift_backoff_total',
      help: 'Objects that entered revert backoff (fought over by another writer), by kind',
      labelNames: ['kind'],
      registers: r,
    }),
    driftObjectsInBackoff: new Gauge({
      name: 'nyx_drift_objects_in_backoff',
      help: 'Objects currently left drifted because they are fought over (alert when > 0)',
      registers: r,
    }),
    paused: new Gauge({
      name: 'nyx_reconcile_paused',
      help: '1 while a break-glass pause is in effect (drift recorded, not reverted)',
      registers: r,
    }),
    pauses: new Counter({
      name: 'nyx_reconcile_pauses_total',
      help: 'Break-glass pauses seen',
      registers: r,
    }),
    handoffPublished: new Counter({
      name: 'nyx_handoff_bundles_published_total',
      help: 'Bundles published to Redis for the agents',
      registers: r,
    }),
    handoffErrors: new Counter({
      name: 'nyx_handoff_errors_total',
      help: 'Failed publications to Redis (retried)',
      registers: r,
    }),
    rolloutNodes: new Gauge({
      name: 'nyx_rollout_nodes',
      help: 'Agents by state for the current revision (applied, pending, failed)',
      labelNames: ['state'],
      registers: r,
    }),
    inventoryPublished: new Counter({
      name: 'nyx_inventory_published_total',
      help: 'Inventory publications to Redis',
      registers: r,
    }),
    leader: new Gauge({
      name: 'nyx_reconcile_leader',
      help: '1 on the replica that holds the Lease',
      registers: r,
    }),
  };
}

export type ReconcilerMetrics = ReturnType<typeof createReconcilerMetrics>;
