import { describe, expect, it } from 'vitest';
import { checkDrift, foreignFields, missingFields, readablePath } from './drift.js';
import { CONTENT_HASH_ANNOTATION, type KubeObject } from './manifests.js';

const manifest: KubeObject = {
  apiVersion: 'nyx.tracenyx.io/v1alpha1',
  kind: 'NyxNetworkPolicy',
  metadata: {
    name: 'allow-web',
    namespace: 'shop',
    labels: { 'app.kubernetes.io/managed-by': 'nyx-gitops' },
    annotations: { [CONTENT_HASH_ANNOTATION]: 'sha256:aa' },
  },
  spec: { priority: 200, podSelector: {}, ingress: [{ decision: 'Allow' }] },
};

const ours = {
  manager: 'nyx-reconciler',
  operation: 'Apply',
  fieldsV1: {
    'f:metadata': {
      'f:labels': { 'f:app.kubernetes.io/managed-by': {} },
      'f:annotations': { [`f:${CONTENT_HASH_ANNOTATION}`]: {} },
    },
    'f:spec': { 'f:priority': {}, 'f:podSelector': {}, 'f:ingress': {} },
  },
};

function live(spec: unknown, managedFields: unknown[], labels: Record<string, string> = {}): KubeObject {
  return {
    ...manifest,
    metadata: {
      ...manifest.metadata,
      labels: { ...manifest.metadata?.labels, ...labels },
      managedFields: managedFields as never,
    },
    spec,
  };
}
const desired = { contentHash: 'sha256:aa', manifest };

describe('drift from managedFields', () => {
  it('is in sync when only the reconciler owns fields', () => {
    expect(checkDrift(live(manifest.spec, [ours]), desired)).toEqual({ type: 'in-sync' });
  });

  it('names the manager of a patched field (kubectl patch)', () => {
    const oursWithout = {
      ...ours,
      fieldsV1: { ...ours.fieldsV1, 'f:spec': { 'f:podSelector': {}, 'f:ingress': {} } },
    };
    const patch = {
      manager: 'kubectl-patch',
      operation: 'Update',
      time: '2026-12-03T10:00:00Z',
      fieldsV1: { 'f:spec': { 'f:priority': {} } },
    };
    const finding = checkDrift(
      live({ ...(manifest.spec as object), priority: 300 }, [oursWithout, patch]),
      desired,
    );
    expect(finding).toEqual({
      type: 'changed',
      fields: [
        {
          path: 'spec.priority',
          manager: 'kubectl-patch',
          operation: 'Update',
          time: '2026-12-03T10:00:00Z',
        },
      ],
    });
  });

  it('finds a label someone added (kubectl label) and ignores shared ownership of equal values', () => {
    const label = {
      manager: 'kubectl-label',
      operation: 'Update',
      fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:team': {} } } },
    };
    const sameValue = {
      manager: 'other-applier',
      operation: 'Apply',
      fieldsV1: { 'f:spec': { 'f:priority': {} } },
    };
    expect(foreignFields(live(manifest.spec, [ours, label, sameValue], { team: 'x' }))).toEqual([
      { path: 'metadata.labels.team', manager: 'kubectl-label', operation: 'Update' },
    ]);
  });

  it('finds removed fields, which no manager owns any more, and blames the last other writer', () => {
    const edit = { manager: 'kubectl-edit', operation: 'Update', time: '2026-12-03T10:00:00Z', fieldsV1: {} };
    const spec = { priority: 200, podSelector: {} };
    expect(missingFields(live(spec, []), manifest)).toEqual(['spec.ingress']);
    const finding = checkDrift(live(spec, [ours, edit]), desired);
    expect(finding.type).toBe('changed');
    expect(finding.type === 'changed' && finding.fields[0]).toMatchObject({
      path: 'spec.ingress',
      manager: 'kubectl-edit',
    });
  });

  it('arrays compare by length (the server defaults inside items), scalars by value', () => {
    const np = { ...manifest, spec: { ports: [{ port: 80 }], priority: 1 } };
    expect(
      missingFields({ ...np, spec: { ports: [{ port: 80, protocol: 'TCP' }], priority: 1 } }, np),
    ).toEqual([]);
    expect(missingFields({ ...np, spec: { ports: [], priority: 2 } }, np)).toEqual([
      'spec.ports',
      'spec.priority',
    ]);
  });

  it('an object of another content hash without foreign fields is outdated (the apply step owns it)', () => {
    expect(checkDrift(live(manifest.spec, [ours]), { ...desired, contentHash: 'sha256:bb' })).toEqual({
      type: 'outdated',
    });
  });

  it('an object Git does not declare is unmanaged, with its authors', () => {
    const create = { manager: 'kubectl-create', operation: 'Update', fieldsV1: { 'f:spec': {} } };
    expect(checkDrift(live(manifest.spec, [create]), undefined)).toEqual({
      type: 'unmanaged',
      actors: ['kubectl-create'],
    });
  });

  it('prints list keys readably', () => {
    expect(readablePath('f:spec\0f:ports\0k:{"port":80}')).toBe('spec.ports[{"port":80}]');
  });
});
