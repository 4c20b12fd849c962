// Public surface of the engine. Everything here is pure: callers hand in file contents, parsed
// JSON and flow records; nothing here touches the disk, the network or the clock.

export * from './cidr.js';
export * from './flow-model.js';
export * from './inventory-model.js';
export * from './lint-model.js';
export * from './model.js';
export * from './selector.js';
export * from './verdict-model.js';
