import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readConfig } from './config.js';
import { rolloutState } from './handoff.js';
import {
  CONTENT_HASH_ANNOTATION,
  type KubeObject,
  MANAGED_BY_LABEL,
  REVISION_ANNOTATION,
} from './manifests.js';
import { buildRevision, planSync } from './plan.js';
import { verifySignature } from './server.js';

const files = [
  {
    path: 'cluster/config.yaml',
    content:
      'apiVersion: nyx.tracenyx.io/v1alpha1\nkind: NyxClusterConfig\nmetadata:\n  name: cluster\nspec:\n  defaultMode: allow\n',
  },
  {
    path: 'namespaces/shop/allow.yaml',
    content:
      'apiVersion: nyx.tracenyx.io/v1alpha1\nkind: NyxNetworkPolicy\nmetadata:\n  name: allow-web\nspec:\n  priority: 200\n',
  },
  {
    path: 'namespaces/ghost/np.yaml',
    content:
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny\nspec:\n  podSelector: {}\n',
  },
];

function liveOf(build: Extract<ReturnType<typeof buildRevision>, { ok: true }>, id: string): KubeObject {
  const d = build.desired.find((x) => x.id === id)!;
  return {
    ...d.manifest,
    metadata: {
      ...d.manifest.metadata,
      uid: 'u',
      managedFields: [
        {
          manager: 'nyx-reconciler',
          operation: 'Apply',
          fieldsV1: {
            'f:spec': Object.fromEntries(Object.keys(d.manifest.spec as object).map((k) => [`f:${k}`, {}])),
          },
        },
      ],
    },
  };
}

describe('build and plan', () => {
  it('builds desired objects in apply order with the managed-by label and source annotations', () => {
    const build = buildRevision({ revision: 'abc', files });
    if (!build.ok) throw new Error('expected a valid build');
    expect(build.desired.map((d) => d.id)).toEqual([
      'NyxClusterConfig/cluster',
      'NyxNetworkPolicy/shop/allow-web',
      'NetworkPolicy/ghost/deny',
    ]);
    const np = build.desired[1]!.manifest;
    expect(np.metadata.labels).toEqual({ [MANAGED_BY_LABEL]: 'nyx-gitops' });
    expect(np.metadata.annotations).toMatchObject({
      'nyx.tracenyx.io/source': 'namespaces/shop/allow.yaml:1',
    });
    expect(np.metadata.annotations?.[REVISION_ANNOTATION]).toBeUndefined();
    expect(build.bundle.revision).toBe('abc');
    expect(build.bundle.files.map((f) => f.path)).toEqual(files.map((f) => f.path).sort());
  });

  it('refuses an invalid revision whole, with file:line errors', () => {
    const bad = [...files, { path: 'namespaces/shop/bad.yaml', content: 'kind: [\n' }];
    const build = buildRevision({ revision: 'def', files: bad });
    expect(build.ok).toBe(false);
    expect(!build.ok && build.errors[0]).toMatchObject({
      file: 'namespaces/shop/bad.yaml',
      line: expect.any(Number),
    });
    const treeError = {
      file: 'link.yaml',
      line: 1,
      message: 'a symlink; policy manifests must be regular files',
    };
    expect(buildRevision({ revision: 'x', files, treeErrors: [treeError] })).toEqual({
      ok: false,
      revision: 'x',
      errors: [treeError],
    });
  });

  it('applies what is missing or drifted, holds objects of missing namespaces, prunes and deletes the rest', () => {
    const build = buildRevision({ revision: 'abc', files });
    if (!build.ok) throw new Error('expected a valid build');
    const config = liveOf(build, 'NyxClusterConfig/cluster');
    const stale: KubeObject = {
      apiVersion: 'nyx.tracenyx.io/v1alpha1',
      kind: 'NyxNetworkPolicy',
      metadata: { name: 'old', namespace: 'shop', labels: { [MANAGED_BY_LABEL]: 'nyx-gitops' } },
    };
    const byHand: KubeObject = {
      apiVersion: 'nyx.tracenyx.io/v1alpha1',
      kind: 'NyxNetworkPolicy',
      metadata: { name: 'x', namespace: 'shop' },
    };
    const foreignNp: KubeObject = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'theirs', namespace: 'shop' },
    };
    const outdated = liveOf(build, 'NyxNetworkPolicy/shop/allow-web');
    outdated.metadata!.annotations = {
      ...outdated.metadata!.annotations,
      [CONTENT_HASH_ANNOTATION]: 'sha256:old',
    };
    const plan = planSync({
      desired: build.desired,
      live: [config, stale, byHand, foreignNp, outdated],
      namespaces: new Set(['shop']),
    });
    expect(plan.apply.map((d) => d.id)).toEqual(['NyxNetworkPolicy/shop/allow-web']);
    expect(plan.held.map((d) => d.id)).toEqual(['NetworkPolicy/ghost/deny']);
    expect(plan.prune.map((o) => o.metadata?.name)).toEqual(['old']);
    expect(plan.unmanaged.map((o) => o.metadata?.name)).toEqual(['x']);
    expect(plan.drifted).toEqual([]); // allow-web carries another content hash: a change from Git
    expect(plan.changes).toMatchObject({
      added: ['NetworkPolicy/ghost/deny'],
      changed: ['NyxNetworkPolicy/shop/allow-web'],
    });
  });
});

describe('configuration', () => {
  it('requires NYX_GIT_URL and documents defaults', () => {
    expect(readConfig({})).toEqual({
      ok: false,
      errors: [expect.stringMatching(/^NYX_GIT_URL is required/)],
    });
    const r = readConfig({ NYX_GIT_URL: 'https://git.example/policies.git' }, 'host-1');
    expect(r).toMatchObject({
      ok: true,
      config: {
        gitBranch: 'main',
        pollIntervalSeconds: 60,
        redisUrl: 'redis://127.0.0.1:6379',
        port: 8080,
        identity: 'host-1',
      },
    });
  });

  it('refuses malformed settings, every one', () => {
    const r = readConfig({
      NYX_GIT_URL: 'ftp://x',
      NYX_GIT_POLL_INTERVAL: '-1',
      PORT: 'x',
      NYX_LEADER_ELECTION: 'maybe',
    });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors.length).toBe(4);
    expect(readConfig({ NYX_GIT_URL: 'https://user:pw@git.example/x.git' }).ok).toBe(false);
  });
});

describe('rollout and webhook signature', () => {
  it('sorts nodes into applied, pending and failed for the bundle', () => {
    const ack = (node: string, hash: string, status: 'applied' | 'failed' = 'applied') => ({
      node,
      revision: 'r',
      hash,
      inventoryVersion: 'v',
      appliedAt: '',
      status,
      ...(status === 'failed' ? { error: 'nft: syntax error' } : {}),
    });
    const acks = new Map([
      ['n1', ack('n1', 'h2')],
      ['n2', ack('n2', 'h1')],
      ['n3', ack('n3', 'h2', 'failed')],
    ]);
    expect(rolloutState({ revision: 'r', hash: 'h2' }, ['n1', 'n2', 'n4'], acks)).toEqual({
      revision: 'r',
      hash: 'h2',
      applied: ['n1'],
      pending: ['n2', 'n4'],
      failed: [{ node: 'n3', error: 'nft: syntax error' }],
    });
  });

  it('verifies X-Hub-Signature-256', () => {
    const body = Buffer.from('{"ref":"refs/heads/main"}');
    const sig = 'sha256=' + createHmac('sha256', 's').update(body).digest('hex');
    expect(verifySignature('s', body, sig)).toBe(true);
    expect(verifySignature('t', body, sig)).toBe(false);
    expect(verifySignature('s', body, undefined)).toBe(false);
  });
});
