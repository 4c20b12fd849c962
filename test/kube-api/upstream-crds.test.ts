// The upstream admin policy CRDs (deploy/upstream-crds/) on the real API server: every case of the
// loader's table (core/src/testing/upstream-admin-cases.ts) gets the same answer from the server,
// accepted or refused, except the differences the table records on purpose.
import { join, resolve } from 'node:path';
import { loadPolicySet } from '@nyx/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UPSTREAM_ADMIN_CASES } from '../../core/src/testing/upstream-admin-cases.js';
import { runKubectl, startTestApiServer, type TestApiServer } from '../src/index.js';

const root = resolve(import.meta.dirname, '../..');
let server: TestApiServer;

async function ok(args: string[]): Promise<string> {
  const result = await runKubectl(server.kubeconfigPath, args);
  if (result.code !== 0)
    throw new Error(`kubectl ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
  return result.stdout;
}

beforeAll(async () => {
  server = await startTestApiServer();
  await ok(['apply', '-f', join(root, 'deploy/upstream-crds')]);
  await ok(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
});
afterAll(async () => {
  await server?.stop();
});

describe('the upstream CRDs on the real API server agree with the loader', () => {
  it('serves the three kinds in their versions', async () => {
    const resources = await ok(['api-resources', '--api-group', 'policy.networking.k8s.io', '-o', 'wide']);
    expect(resources).toMatch(
      /adminnetworkpolicies\s+anp\s+policy\.networking\.k8s\.io\/v1alpha1\s+false\s+AdminNetworkPolicy/,
    );
    expect(resources).toMatch(
      /baselineadminnetworkpolicies\s+banp\s+policy\.networking\.k8s\.io\/v1alpha1\s+false/,
    );
    expect(resources).toMatch(/clusternetworkpolicies\s+cnp\s+policy\.networking\.k8s\.io\/v1alpha2\s+false/);
  });

  for (const c of UPSTREAM_ADMIN_CASES) {
    it(`${c.refused && !c.apiServer ? 'refuses' : 'accepts'}: ${c.name}`, async () => {
      const ours = loadPolicySet([{ path: 'cluster/policy.yaml', content: c.yaml }]);
      expect(ours.ok).toBe(c.refused === undefined);
      const applied = await runKubectl(
        server.kubeconfigPath,
        ['apply', '--dry-run=server', '--validate=strict', '-f', '-'],
        { input: c.yaml },
      );
      const serverAccepts = c.refused === undefined || c.apiServer?.accepts === true;
      expect(applied.code === 0, `${applied.stdout}${applied.stderr}`).toBe(serverAccepts);
      if (!serverAccepts) expect(applied.stderr).toMatch(/is invalid|unknown field|strict decoding error/);
    });
  }

  it('creates the accepted objects for real and reads them back as the loader reads them', async () => {
    const accepted = UPSTREAM_ADMIN_CASES.filter((c) => c.refused === undefined).slice(0, 4);
    for (const c of accepted) {
      const applied = await runKubectl(server.kubeconfigPath, ['apply', '-f', '-'], { input: c.yaml });
      expect(applied.code, applied.stderr).toBe(0);
    }
    // what the server returns (defaults filled in, status, managedFields) loads again
    const exported = await ok(['get', 'anp,banp,cnp', '-o', 'yaml']);
    const loaded = loadPolicySet([
      { path: 'cluster/exported.yaml', content: exported.replace(/\n/g, '\r\n') },
    ]);
    expect(loaded.ok ? [] : loaded.errors).toEqual([]);
    expect(loaded.ok && loaded.policySet.objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'AdminNetworkPolicy/anp',
      'BaselineAdminNetworkPolicy/default',
      'ClusterNetworkPolicy/baseline-all',
      'ClusterNetworkPolicy/deny-metadata',
    ]);
  });
});
