// The flow half of the engine on its own (`@nyx/core/flows`): the flow format, the importers and
// the window, without the YAML, schema and evaluation modules. The flow reader's worker thread
// (io/src/flow-window-worker.ts) loads only this, so it starts in a fraction of the time the
// whole engine takes to load.
export * from './byte-key-index.js';
export * from './flow-model.js';
export * from './flows.js';
export * from './importers/calico.js';
export * from './importers/hubble.js';
export { type Diagnostic, formatDiagnostic, type Protocol } from './model.js';
export * from './workload.js';
