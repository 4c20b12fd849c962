// The test Kubernetes API server: the real kube-apiserver and etcd (test/kube-api/README.md).

export { type AuditEvent, readAuditLog, waitForAuditEvent } from './audit.js';
export {
  KUBE_BUILD_COMMAND,
  type KubeBinaries,
  type KubeVersions,
  kubeBinDir,
  pinnedKubeVersions,
  requireKubeBinaries,
} from './binaries.js';
export { type KubectlResult, runKubectl } from './kubectl.js';
export {
  ALICE,
  CLUSTER_ADMIN,
  OPS_READ_ROLE,
  RECONCILER_SERVICE_ACCOUNT,
  startTestApiServer,
  TEST_CONTEXTS,
  type TestApiServer,
  type TestApiServerOptions,
} from './server.js';
