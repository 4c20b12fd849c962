// Public surface of @nyx/bot (used by the integration tests, the benchmark and the demo).
export * from './analyze.js';
export * from './app.js';
export * from './bot.js';
export * from './comment.js';
export * from './config.js';
export * from './github.js';
export * from './jobs.js';
export * from './metrics.js';
export * from './repo-config.js';
export * from './sources.js';
export * from './worker.js';
