import { defineConfig } from 'vitest/config';

// Tests run the TypeScript sources, never the built output: the workspace packages resolve through
// their `source` export condition (see CONTRIBUTING.md, "The build"), with Vite's server defaults.
const resolve = { conditions: ['source', 'module', 'node', 'development|production'] };
const ssr = { resolve: { conditions: resolve.conditions } };

// Two projects: fast pure unit tests next to the code, and integration tests that start real
// components (redis-server, git http-backend, the Probot server, kube-apiserver and etcd) with longer
// timeouts.
export default defineConfig({
  test: {
    projects: [
      {
        resolve,
        ssr,
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
        resolve,
        ssr,
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
