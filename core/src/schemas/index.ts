// JSON Schemas per kind and the CRDs derived from them.
export * from './crd.js';
export * from './kinds.js';
export * from './upstream.js';
