// The flow half of the adapters on their own (`@nyx/io/flows`): reading flow files and the
// input error, without the tree and inventory readers (which load the whole engine). Worker threads
// that only read flows load this.
export * from './errors.js';
export * from './flows.js';
