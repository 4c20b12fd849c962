// Public surface of the engine. Everything here is pure: callers hand in file contents, parsed
// JSON and flow records; nothing here touches the disk, the network or the clock.

export * from './annotate.js';
export * from './cidr.js';
export * from './convert-admin.js';
export * from './evaluate.js';
export * from './flow-model.js';
export * from './flows.js';
export * from './fqdn.js';
export * from './impact.js';
export * from './importers/calico.js';
export * from './importers/hubble.js';
export * from './inventory.js';
export * from './inventory-model.js';
export * from './lint.js';
export * from './lint-model.js';
export * from './load.js';
export * from './model.js';
export * from './nft.js';
export * from './ownership.js';
export * from './paths.js';
export * from './render/json.js';
export * from './render/markdown.js';
export * from './schemas/index.js';
export * from './selector.js';
export * from './verdict-model.js';
export * from './workload.js';
export * from './yaml.js';
