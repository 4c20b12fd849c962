import { defineConfig } from 'vitest/config';

// Two projects: fast pure unit tests next to the code, and integration tests that start real
// components (redis-server, git http-backend, the Probot server, kube-apiserver and etcd) with longer
// timeouts.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            '{core,io,cli,bot,reconciler,agent}/src/**/*.test.ts',
            'policy-repo-template/**/*.test.ts',
          ],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: [
            '{core,io,cli,bot,reconciler,agent}/test/**/*.test.ts',
            'test/e2e/**/*.test.ts',
            // one real kube-apiserver + etcd per file, shared by its cases (test/kube-api/README.md)
            'test/kube-api/**/*.test.ts',
          ],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
    ],
  },
});
