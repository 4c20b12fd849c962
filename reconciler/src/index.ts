// Public surface of the reconciler package (nyxctl reads the status and writes the pause with it).
export { startReconciler } from './app.js';
export { describeConfig, type ReconcilerConfig, readConfig } from './config.js';
export { checkDrift, foreignFields, missingFields } from './drift.js';
export { type RolloutState, rolloutState } from './handoff.js';
export { KubeApi, KubeError } from './kube.js';
export { desiredObjects, FIELD_MANAGER, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from './manifests.js';
export { buildRevision, planSync } from './plan.js';
export type { ReconcilerStatus } from './reconciler.js';
export { PAUSE_CONFIGMAP, type PauseState, parsePause, STATUS_CONFIGMAP } from './recorder.js';
