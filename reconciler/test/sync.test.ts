// Git → cluster → agents against the real kube-apiserver, git http-backend and redis-server:
// apply, prune, all-or-nothing on an invalid revision, held namespaces, force pushes, git server
// errors, and the Redis hand-off (including Redis going away).

import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseInventory, resolveEndpoint } from '@nyx/core';
import {
  type AgentAck,
  acknowledge,
  BUNDLE_CHANNEL,
  readBundle,
  readInventoryVersioned,
  subscribeChannels,
} from '@nyx/io';
import { type FakeGitHub, startFakeGitHub } from '@nyx/test';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningReconciler } from '../src/app.js';
import { CLUSTER_CONFIG, nnp, startWorld, type World, waitFor } from './world.js';

const exec = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

interface Listed {
  items: Array<{
    metadata: {
      name: string;
      namespace?: string;
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
    };
    spec: { priority?: number };
  }>;
}

describe('reconciler: Git → cluster → agents', () => {
  let w: World;
  let r: RunningReconciler;
  let redis: Redis;
  let first: string;
  let github: FakeGitHub;
  const reconcilerSettings = () => ({
    NYX_GIT_TOKEN: 'ghs_token',
    NYX_GITHUB_API_URL: `${github.url}/api/v3`,
  });
  const statuses = (sha: string) =>
    github.requests
      .filter((q) => q.method === 'POST' && q.path === `/repos/acme/policies/statuses/${sha}`)
      .map((q) => ({ status: q.status, auth: q.headers.authorization, ...(q.body as object) }));

  const nyxPolicies = async (): Promise<Listed['items']> =>
    (JSON.parse(await w.kubectl(['get', 'nyxnetworkpolicies', '-A', '-o', 'json'])) as Listed).items;
  const events = async (reason: string): Promise<string[]> => {
    const list = JSON.parse(
      await w.kubectl(['get', 'events', '-A', '--field-selector', `reason=${reason}`, '-o', 'json']),
    ) as { items: Array<{ message: string }> };
    return list.items.map((e) => e.message);
  };
  const metric = async (name: string): Promise<number> => {
    const text = await (await fetch(`${r.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return line ? Number(line.split(' ').pop()) : Number.NaN;
  };

  beforeAll(async () => {
    w = await startWorld();
    // With the admission policy of deploy/ installed, only the reconciler's service account may write
    // managed objects: every apply, replace and prune below is made as that account.
    await w.kubectl(['apply', '-f', join(ROOT, 'deploy/admission/managed-policies.yaml')]);
    await w.kubectl(['create', 'namespace', 'shop']);
    first = await w.commitAndPush({
      'cluster/config.yaml': CLUSTER_CONFIG,
      'namespaces/shop/allow-web.yaml': nnp('allow-web', 200),
      'namespaces/shop/allow-api.yaml': nnp('allow-api', 300),
      'namespaces/shop/OWNERS': 'approvers: [alice]\n',
    });
    github = await startFakeGitHub();
    github.addRepo({ owner: 'acme', name: 'policies', git: w.repo });
    r = await w.startReconciler(reconcilerSettings());
    redis = new Redis(w.redis.url);
    redis.on('error', () => {}); // Redis is stopped on purpose in one case
  });
  afterAll(async () => {
    redis?.disconnect();
    await r?.close();
    await github?.close();
    await w?.close();
  });

  it('applies the branch tip: every object, labelled, annotated, with server-side apply', async () => {
    const items = await waitFor('policies applied', async () => {
      const list = await nyxPolicies();
      return list.length === 2 ? list : undefined;
    });
    expect(items.map((i) => i.metadata.name).sort()).toEqual(['allow-api', 'allow-web']);
    const web = items.find((i) => i.metadata.name === 'allow-web')!;
    expect(web.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('nyx-gitops');
    expect(web.metadata.annotations).toMatchObject({
      'nyx.tracenyx.io/source': 'namespaces/shop/allow-web.yaml:1',
      'nyx.tracenyx.io/revision': first,
    });
    const managers = JSON.parse(
      await w.kubectl(['get', 'nnp', '-n', 'shop', 'allow-web', '--show-managed-fields', '-o', 'json']),
    ) as { metadata: { managedFields: Array<{ manager: string; operation: string }> } };
    expect(managers.metadata.managedFields).toEqual([
      expect.objectContaining({ manager: 'nyx-reconciler', operation: 'Apply' }),
    ]);
    expect(await w.kubectl(['get', 'nyxclusterconfigs', 'cluster', '-o', 'name'])).toContain('cluster');
    expect(r.reconciler.status).toMatchObject({ phase: 'Synced', revision: first });
    const status = JSON.parse(
      await w.kubectl([
        'get',
        'configmap',
        '-n',
        'nyx-system',
        'nyx-reconciler-status',
        '-o',
        'jsonpath={.data.status\\.json}',
      ]),
    );
    expect(status).toMatchObject({ phase: 'Synced', revision: first });
    expect(await events('Synced')).toEqual([expect.stringContaining(first.slice(0, 12))]);
    const cli = await w.nyxctl(['status']);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain(`phase:     Synced\nrevision:  ${first}\n`);
  });

  it('hands the validated bundle to the agents and reports their acknowledgements as rollout state', async () => {
    const bundle = await waitFor('bundle', () => readBundle(redis));
    expect(bundle.revision).toBe(first);
    expect(bundle.files.map((f) => f.path)).toEqual([
      'cluster/config.yaml',
      'namespaces/shop/allow-api.yaml',
      'namespaces/shop/allow-web.yaml',
    ]);
    const inventory = await waitFor('inventory', () => readInventoryVersioned(redis));
    const list = JSON.parse(inventory.text) as {
      kind: string;
      items: Array<{ kind: string; metadata: { name: string } }>;
    };
    expect(list.kind).toBe('List');
    expect(list.items.filter((i) => i.kind === 'Namespace').map((i) => i.metadata.name)).toContain('shop');
    const ack = (node: string, status: AgentAck['status'] = 'applied'): AgentAck => ({
      node,
      revision: bundle.revision,
      hash: bundle.hash,
      inventoryVersion: inventory.version,
      appliedAt: new Date().toISOString(),
      status,
      ...(status === 'failed' ? { error: 'nft: boom' } : {}),
    });
    await acknowledge(redis, ack('node-a'));
    await acknowledge(redis, ack('node-b', 'failed'));
    const state = await waitFor('acks seen', async () => {
      const s = (await (await fetch(`${r.url}/status`)).json()) as {
        rollout?: { applied: string[]; failed: unknown[] };
      };
      return s.rollout?.applied.includes('node-a') && s.rollout.failed.length === 1 ? s.rollout : undefined;
    });
    expect(state).toMatchObject({
      revision: first,
      applied: ['node-a'],
      failed: [{ node: 'node-b', error: 'nft: boom' }],
    });
    expect(await metric('nyx_rollout_nodes{state="applied"}')).toBe(1);
    const cli = await waitFor('status ConfigMap has the rollout', async () => {
      const out = (await w.nyxctl(['status'])).stdout;
      return out.includes('failed 1') ? out : undefined;
    });
    expect(cli).toMatch(/rollout: {3}[0-9a-f]{12} on 1\/2 nodes; pending 0, failed 1\n/);
    expect(cli).toContain('  failed:  node-b: nft: boom');
  });

  it('publishes the inventory with the identity the engine resolves workloads by', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'web-7d9f8b6c4-x2x9z',
        namespace: 'shop',
        labels: { app: 'web', 'pod-template-hash': '7d9f8b6c4' },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: 'web-7d9f8b6c4',
            uid: '0b7c3c52-1f0e-4b57-9a51-3c1f5b0d1e11',
            controller: true,
          },
        ],
      },
      spec: {
        nodeName: 'node-a',
        containers: [{ name: 'web', image: 'web', ports: [{ name: 'http', containerPort: 8080 }] }],
      },
    };
    // No controller manager in the test cluster: the namespace's default service account is made here.
    await w.kubectl(['create', 'serviceaccount', 'default', '-n', 'shop']);
    await w.kubectl(['create', '-f', '-'], JSON.stringify(pod));
    await w.kubectl([
      'patch',
      'pod',
      '-n',
      'shop',
      pod.metadata.name,
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"podIP":"10.0.1.10","podIPs":[{"ip":"10.0.1.10"}]}}',
    ]);
    const text = await waitFor('pod in the published inventory', async () => {
      const inv = await readInventoryVersioned(redis);
      return inv?.text.includes('10.0.1.10') ? inv.text : undefined;
    });
    const parsed = parseInventory(JSON.parse(text), 'inventory');
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const resolved = resolveEndpoint(parsed.inventory, '10.0.1.10');
    expect(resolved).toMatchObject({
      kind: 'pod',
      pod: { workload: 'shop/web', labels: { app: 'web' }, nodeName: 'node-a' },
    });
  });

  it('prunes what Git no longer has (a signed push webhook triggers the fetch; unsigned ones are refused)', async () => {
    const sha = await w.commitAndPush({ 'namespaces/shop/allow-api.yaml': null });
    const unsigned = await fetch(`${r.url}/hooks/push`, {
      method: 'POST',
      body: '{"ref":"refs/heads/main"}',
    });
    expect(unsigned.status).toBe(401);
    const forged = await fetch(`${r.url}/hooks/push`, {
      method: 'POST',
      body: '{"ref":"refs/heads/main"}',
      headers: { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` },
    });
    expect(forged.status).toBe(401);
    expect(r.reconciler.status.revision).not.toBe(sha);
    expect(await w.push(r, sha)).toBe(202);
    await waitFor('pruned', async () => ((await nyxPolicies()).length === 1 ? true : undefined));
    expect((await nyxPolicies()).map((i) => i.metadata.name)).toEqual(['allow-web']);
    expect(r.reconciler.status.revision).toBe(sha);
  });

  it('never applies an invalid revision: the last good one stays, the error is reported with file:line', async () => {
    const good = r.reconciler.status.revision!;
    const bad = await w.commitAndPush({
      'namespaces/shop/allow-web.yaml': nnp('allow-web', 250), // valid change in the same revision…
      'namespaces/shop/broken.yaml':
        'apiVersion: nyx.tracenyx.io/v1alpha1\nkind: NyxNetworkPolicy\nmetadata:\n  name: broken\nspec:\n  priority: 50\n',
    });
    await w.push(r, bad);
    await waitFor('invalid reported', () => r.reconciler.status.phase === 'InvalidRevision');
    expect(r.reconciler.status).toMatchObject({ revision: good, attemptedRevision: bad });
    expect(r.reconciler.status.errors).toEqual([
      expect.stringMatching(/^namespaces\/shop\/broken\.yaml:6: priority 50/),
    ]);
    // …is not applied either: all or nothing.
    expect((await nyxPolicies()).map((i) => [i.metadata.name, i.spec.priority])).toEqual([
      ['allow-web', 200],
    ]);
    const messages = await waitFor('event', async () => {
      const m = await events('InvalidRevision');
      return m.length > 0 ? m : undefined;
    });
    expect(messages[0]).toContain('namespaces/shop/broken.yaml:6: priority 50');
    expect(await metric('nyx_reconcile_invalid_revision')).toBe(1);
    const cli = await w.nyxctl(['status']);
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain(`tip:       ${bad} (not applied)`);
    expect(cli.stdout).toContain('  namespaces/shop/broken.yaml:6: priority 50');
    const status = await w.kubectl([
      'get',
      'configmap',
      '-n',
      'nyx-system',
      'nyx-reconciler-status',
      '-o',
      'jsonpath={.data.errors}',
    ]);
    expect(status).toContain('namespaces/shop/broken.yaml:6:');
    // The repository is on GitHub: the revision gets a failing commit status naming the error.
    const posted = await waitFor('commit status', () => statuses(bad)[0]);
    expect(posted).toMatchObject({
      status: 201,
      auth: 'Bearer ghs_token',
      state: 'failure',
      context: 'nyx-reconciler',
      description: expect.stringMatching(
        /^invalid, not applied: namespaces\/shop\/broken\.yaml:6: priority 50/,
      ),
    });

    // Restarted while the tip is invalid, it goes on enforcing the last good revision: the bundle it
    // handed to the agents.
    await r.close();
    r = await w.startReconciler(reconcilerSettings());
    await waitFor('restarted on an invalid tip', () => r.reconciler.status.phase === 'InvalidRevision');
    expect(r.reconciler.status).toMatchObject({ revision: good, attemptedRevision: bad });
    expect(r.reconciler.status.lastSyncAt).toBeDefined();

    const fixed = await w.commitAndPush({ 'namespaces/shop/broken.yaml': null });
    await w.push(r, fixed);
    await waitFor('fixed revision applied', () => r.reconciler.status.revision === fixed);
    expect(r.reconciler.status.phase).toBe('Synced');
    expect((await nyxPolicies()).map((i) => [i.metadata.name, i.spec.priority])).toEqual([
      ['allow-web', 250],
    ]);
    expect(await metric('nyx_reconcile_invalid_revision')).toBe(0);
  });

  it('holds objects whose namespace does not exist, reports them, and applies them when it appears', async () => {
    const sha = await w.commitAndPush({ 'namespaces/later/allow.yaml': nnp('allow-later', 200) });
    await w.push(r, sha);
    await waitFor('revision applied', () => r.reconciler.status.revision === sha);
    expect(r.reconciler.status.held).toEqual(['NyxNetworkPolicy/later/allow-later']);
    expect(await metric('nyx_reconcile_held_objects')).toBe(1);
    expect((await events('NamespaceMissing'))[0]).toContain('NyxNetworkPolicy/later/allow-later');
    await w.kubectl(['create', 'namespace', 'later']);
    await waitFor('held object applied', async () =>
      (await nyxPolicies()).some((i) => i.metadata.name === 'allow-later') ? true : undefined,
    );
    await waitFor('nothing held', () => r.reconciler.status.held.length === 0);
  });

  it('git server errors change nothing; a force-pushed history is reported and validated like any revision', async () => {
    const before = r.reconciler.status.revision;
    w.git.failNext(1, 500);
    await r.reconciler.requestSync('test');
    expect(r.reconciler.status).toMatchObject({ phase: 'FetchFailed', revision: before });
    expect((await nyxPolicies()).length).toBe(2);

    const rewritten = await w.commitAndPush(
      { 'cluster/config.yaml': CLUSTER_CONFIG, 'namespaces/shop/only.yaml': nnp('only', 400) },
      { replace: true, parent: '', force: true },
    );
    await w.push(r, rewritten);
    await waitFor('rewritten revision applied', () => r.reconciler.status.revision === rewritten);
    expect((await nyxPolicies()).map((i) => i.metadata.name)).toEqual(['only']);
    expect((await events('HistoryRewritten'))[0]).toContain(
      `${rewritten.slice(0, 12)} does not descend from ${before!.slice(0, 12)}`,
    );
    expect(await metric('nyx_reconcile_history_rewritten_total')).toBe(1);
  });

  it('a git revert of the last merge takes effect on the cluster and the agents; push → acks is reported', async () => {
    // Three simulated agents: they read and verify the bundle on each notification and acknowledge.
    const agents = ['node-x', 'node-y', 'node-z'].map((node) => {
      const sub = new Redis(w.redis.url);
      const cmd = new Redis(w.redis.url);
      void subscribeChannels(sub, BUNDLE_CHANNEL);
      sub.on('message', async () => {
        const b = await readBundle(cmd);
        if (b)
          await acknowledge(cmd, {
            node,
            revision: b.revision,
            hash: b.hash,
            inventoryVersion: '',
            appliedAt: new Date().toISOString(),
            status: 'applied',
          });
      });
      return [sub, cmd];
    });
    try {
      const merged = await w.commitAndPush({ 'namespaces/shop/merged.yaml': nnp('merged', 450) });
      await w.push(r, merged);
      await waitFor('merge applied', async () =>
        (await nyxPolicies()).some((i) => i.metadata.name === 'merged') ? true : undefined,
      );
      // The break-glass path: a real `git revert` in a clone, pushed with git.
      const clone = join(w.dir, 'clone');
      const env = {
        ...process.env,
        HOME: w.dir,
        GIT_AUTHOR_NAME: 'oncall',
        GIT_AUTHOR_EMAIL: 'oncall@nyx.invalid',
        GIT_COMMITTER_NAME: 'oncall',
        GIT_COMMITTER_EMAIL: 'oncall@nyx.invalid',
      };
      await exec('git', ['clone', '-q', w.remote, clone], { env });
      await exec('git', ['revert', '--no-edit', 'HEAD'], { cwd: clone, env });
      const revert = (await exec('git', ['rev-parse', 'HEAD'], { cwd: clone, env })).stdout.trim();
      const t0 = performance.now();
      await exec('git', ['push', '-q', 'origin', 'HEAD:main'], { cwd: clone, env });
      await w.push(r, revert);
      const rollout = await waitFor('agents acknowledged the revert', async () => {
        const s = (await (await fetch(`${r.url}/status`)).json()) as {
          rollout?: { revision: string; applied: string[] };
        };
        return s.rollout?.revision === revert &&
          ['node-x', 'node-y', 'node-z'].every((n) => s.rollout?.applied.includes(n))
          ? s.rollout
          : undefined;
      });
      const elapsed = performance.now() - t0;
      expect(rollout.revision).toBe(revert);
      expect((await nyxPolicies()).some((i) => i.metadata.name === 'merged')).toBe(false);
      await w.pull();
      console.log(
        `git revert: push → 3 agents acknowledged in ${elapsed.toFixed(0)} ms (npm run bench:cluster measures 100 agents)`,
      );
    } finally {
      for (const c of agents.flat()) c.disconnect();
    }
  });

  it('keeps applying while Redis is down and republishes the bundle when it is back', async () => {
    await w.redis.stop();
    const sha = await w.commitAndPush({ 'namespaces/shop/while-down.yaml': nnp('while-down', 600) });
    await w.push(r, sha);
    await waitFor('applied without Redis', () => r.reconciler.status.revision === sha);
    expect((await nyxPolicies()).map((i) => i.metadata.name)).toContain('while-down');
    await w.redis.restart();
    const fresh = new Redis(w.redis.url);
    fresh.on('error', () => {});
    try {
      const bundle = await waitFor(
        'republished',
        async () => {
          const b = await readBundle(fresh);
          return b?.revision === sha ? b : undefined;
        },
        30_000,
      );
      expect(bundle.files.map((f) => f.path)).toContain('namespaces/shop/while-down.yaml');
    } finally {
      fresh.disconnect();
    }
  });
});
