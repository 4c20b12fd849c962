// Shared harnesses for real components (redis-server, git, fake GitHub API, signed webhooks, the
// real kube-apiserver and etcd).
export * from './fake-github.js';
export * from './git-repo.js';
export * from './git-server.js';
export * from './kube-api/index.js';
export * from './netns.js';
export * from './redis.js';
export * from './source-process.js';
export * from './system.js';
export * from './tls.js';
export * from './webhooks.js';
