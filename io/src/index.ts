export * from './errors.js';
export * from './flow-store.js';
export * from './flows.js';
export * from './handoff.js';
export * from './inventory.js';
export * from './settings.js';
export * from './tree.js';
