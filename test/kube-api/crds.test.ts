// The project's CRDs (deploy/crds/) on the real API server: served, their OpenAPI schema and CEL rules
// enforced by the server itself, printer columns, the status subresource, and the template's policies.
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ApiException, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKubectl, startTestApiServer, type TestApiServer } from '../src/index.js';

const root = resolve(import.meta.dirname, '../..');
const template = join(root, 'policy-repo-template');
const GROUP = 'nyx.tracenyx.io';

let server: TestApiServer;
const kubectl = (args: string[], input?: string) =>
  runKubectl(server.kubeconfigPath, args, input === undefined ? {} : { input });

/** Fails with kubectl's own output when it did not exit 0. */
async function ok(args: string[], input?: string): Promise<string> {
  const result = await kubectl(args, input);
  if (result.code !== 0)
    throw new Error(`kubectl ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
  return result.stdout;
}

/**
 * Waits until `kubectl explain <field>` answers: the API server's OpenAPI controller publishes a CRD's
 * schema a moment after the CRD is Established, and the OpenAPI v3 root (which explain reads first)
 * can lag the group-version document behind it.
 */
async function explainable(field: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await kubectl(['explain', field]);
    if (r.code === 0) return;
    if (Date.now() > deadline)
      throw new Error(`kubectl explain ${field} still fails after ${timeoutMs} ms:\n${r.stderr}`);
    await new Promise((done) => setTimeout(done, 200));
  }
}

const policy = (name: string, spec: Record<string, unknown>) =>
  JSON.stringify({ apiVersion: `${GROUP}/v1alpha1`, kind: 'NyxNetworkPolicy', metadata: { name }, spec });

beforeAll(async () => {
  server = await startTestApiServer();
  await ok(['apply', '-f', join(root, 'deploy/crds')]);
  // The template's cluster/ holds upstream ClusterNetworkPolicy objects too (SPEC 9).
  await ok(['apply', '-f', join(root, 'deploy/upstream-crds')]);
  await ok(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
  await explainable('nyxnetworkpolicies.spec.priority');
  await ok(['create', 'namespace', 'shop']);
});
afterAll(async () => {
  await server?.stop();
});

describe('the CRDs from deploy/crds/ on the real API server', () => {
  it('are served with their short names and category, and their schema is published', async () => {
    const resources = await ok(['api-resources', '--api-group', GROUP, '-o', 'name']);
    expect(resources.split('\n').filter(Boolean).sort()).toEqual([
      `nyxclusterconfigs.${GROUP}`,
      `nyxclusternetworkpolicies.${GROUP}`,
      `nyxnetworkpolicies.${GROUP}`,
    ]);
    expect(await ok(['api-resources', '--categories', 'nyx', '--no-headers'])).toMatch(/\bnnp\b/);
    // kubectl explain reads the OpenAPI v3 document the API server builds from the CRD
    const explained = await ok(['explain', 'nyxnetworkpolicies.spec.priority']);
    expect(explained).toContain('FIELD: priority <integer>');
  });

  it('refuses a string priority with the server’s own 422, through kubectl and through client-node', async () => {
    const refused = await kubectl(['apply', '-n', 'shop', '-f', '-'], policy('bad', { priority: 'high' }));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('The NyxNetworkPolicy "bad" is invalid');
    expect(refused.stderr).toContain(
      'spec.priority: Invalid value: "string": spec.priority in body must be of type integer: "string"',
    );

    const config = new KubeConfig();
    config.loadFromFile(server.kubeconfigPath);
    const api = config.makeApiClient(CustomObjectsApi);
    const error = await api
      .createNamespacedCustomObject({
        group: GROUP,
        version: 'v1alpha1',
        namespace: 'shop',
        plural: 'nyxnetworkpolicies',
        body: JSON.parse(policy('bad', { priority: 'high' })),
      })
      .then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
    expect(error).toBeInstanceOf(ApiException);
    const apiError = error as ApiException<string>;
    expect(apiError.code).toBe(422);
    const status = JSON.parse(apiError.body) as {
      reason: string;
      details: { causes: Array<{ field: string }> };
    };
    expect(status.reason).toBe('Invalid');
    expect(status.details.causes.map((cause) => cause.field)).toContain('spec.priority');
  });

  it('enforces the priority bands by CEL: a namespace policy in the platform band is refused', async () => {
    const refused = await kubectl(['apply', '-n', 'shop', '-f', '-'], policy('too-early', { priority: 50 }));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /The NyxNetworkPolicy "too-early" is invalid: .*namespace policies use priorities 100-899 \(0-99 is the platform band/,
    );
  });

  it('shows the printer columns in `kubectl get nyxnetworkpolicies -A`', async () => {
    await ok(
      ['apply', '-n', 'shop', '-f', '-'],
      policy('cart-ingress', { priority: 200, enforcement: 'audit' }),
    );
    const table = await ok(['get', 'nyxnetworkpolicies', '-A']);
    const [header, ...rows] = table.trimEnd().split('\n');
    expect(header?.split(/\s{2,}/)).toEqual(['NAMESPACE', 'NAME', 'PRIORITY', 'ENFORCEMENT', 'AGE']);
    expect(rows.map((row) => row.split(/\s+/).slice(0, 4))).toContainEqual([
      'shop',
      'cart-ingress',
      '200',
      'audit',
    ]);
  });

  it('has a status subresource: status writes leave spec alone, spec writes leave status alone', async () => {
    await ok(['apply', '-n', 'shop', '-f', '-'], policy('status-demo', { priority: 300 }));
    const generation = await ok([
      'get',
      'nnp',
      'status-demo',
      '-n',
      'shop',
      '-o',
      'jsonpath={.metadata.generation}',
    ]);
    await ok([
      'patch',
      'nnp',
      'status-demo',
      '-n',
      'shop',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"observedGeneration":1,"revision":"abc123"},"spec":{"priority":999}}',
    ]);
    const afterStatus = JSON.parse(await ok(['get', 'nnp', 'status-demo', '-n', 'shop', '-o', 'json']));
    expect(afterStatus.status).toEqual({ observedGeneration: 1, revision: 'abc123' });
    expect(afterStatus.spec.priority).toBe(300); // the status subresource ignores spec
    expect(String(afterStatus.metadata.generation)).toBe(generation); // and does not bump the generation

    // a write of the main resource ignores status, and a spec change bumps the generation
    await ok([
      'patch',
      'nnp',
      'status-demo',
      '-n',
      'shop',
      '--type=merge',
      '-p',
      '{"spec":{"priority":310},"status":{"revision":"forged"}}',
    ]);
    const afterSpec = JSON.parse(await ok(['get', 'nnp', 'status-demo', '-n', 'shop', '-o', 'json']));
    expect(afterSpec.spec.priority).toBe(310);
    expect(afterSpec.status.revision).toBe('abc123');
    expect(afterSpec.metadata.generation).toBe(Number(generation) + 1);
  });

  it('accepts every policy of the policy repository template, each folder applied to its namespace', async () => {
    const namespaces = await readdir(join(template, 'namespaces'));
    let expected = 0;
    for (const namespace of namespaces) {
      await ok(['create', 'namespace', namespace]);
      const folder = join(template, 'namespaces', namespace);
      expected += await countManifests(folder);
      await ok(['apply', '-n', namespace, '-f', folder]);
    }
    expected += await countManifests(join(template, 'cluster'));
    await ok(['apply', '-f', join(template, 'cluster')]);

    const names = (
      await ok(['get', 'nyx,networkpolicies,clusternetworkpolicies', '-A', '--no-headers', '-o', 'name'])
    )
      .split('\n')
      .filter(Boolean);
    // every object of the template, plus the earlier tests' policies in `shop`
    const templateObjects = names.filter(
      (name) => !['cart-ingress', 'status-demo'].some((ours) => name.endsWith(`/${ours}`)),
    );
    expect(templateObjects).toHaveLength(expected);
    expect(names).toContain(`nyxclusterconfig.${GROUP}/cluster`);
    expect(names).toContain('clusternetworkpolicy.policy.networking.k8s.io/deny-cloud-metadata');
    expect(names).toContain('clusternetworkpolicy.policy.networking.k8s.io/payments-deny-cross-namespace');
    const payments = await ok([
      'get',
      'nnp',
      '-n',
      'cloudmart-payments',
      'payments-ingress',
      '-o',
      'jsonpath={.spec.priority}',
    ]);
    expect(payments).toBe('200');
  });
});

/** The number of objects in a folder's YAML files (documents that are not empty). */
async function countManifests(folder: string): Promise<number> {
  let count = 0;
  for (const file of await readdir(folder)) {
    if (!/\.ya?ml$/.test(file)) continue;
    const text = await readFile(join(folder, file), 'utf8');
    count += text.split(/^---\s*$/m).filter((document) => /^kind:/m.test(document)).length;
  }
  return count;
}
