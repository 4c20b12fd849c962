import { describe, expect, it } from 'vitest';
import { makeInventory } from './testing/inventory.js';
import {
  currentPodOfWorkload,
  identityLabels,
  ownerWorkloadName,
  workloadNameCandidates,
  workloadOfAggregatedName,
  workloadOfPodName,
} from './workload.js';

describe('workloads', () => {
  it('reads the owning workload from ownerReferences: ReplicaSet to Deployment, CronJob Job to CronJob', () => {
    const owner = (kind: string, name: string) => ({ ownerReferences: [{ kind, name, controller: true }] });
    expect(
      ownerWorkloadName(owner('ReplicaSet', 'web-7d9f8b6c4'), { 'pod-template-hash': '7d9f8b6c4' }),
    ).toBe('web');
    expect(ownerWorkloadName(owner('ReplicaSet', 'web-7d9f8b6c4'), {})).toBe('web-7d9f8b6c4');
    expect(ownerWorkloadName(owner('StatefulSet', 'db'), {})).toBe('db');
    expect(ownerWorkloadName(owner('DaemonSet', 'agent'), {})).toBe('agent');
    expect(ownerWorkloadName(owner('Job', 'backup-29400480'), {})).toBe('backup');
    expect(ownerWorkloadName(owner('Job', 'migrate'), {})).toBe('migrate');
    expect(ownerWorkloadName({}, {})).toBeUndefined();
  });

  it('reads candidate workload names from a pod name, most specific first', () => {
    expect(workloadNameCandidates('web-7d9f8b6c4-x2kqp')).toEqual(['web', 'web-7d9f8b6c4']);
    expect(workloadNameCandidates('db-0')).toEqual(['db']);
    expect(workloadNameCandidates('agent-x2kqp')).toEqual(['agent']);
    expect(workloadNameCandidates('backup-29400480-x2kqp')).toEqual(['backup-29400480', 'backup']);
    expect(workloadNameCandidates('standalone')).toEqual([]);
  });

  it('finds the workload of a pod name only when the inventory has a current pod of it', () => {
    const inventory = makeInventory({
      pods: [
        {
          ns: 'shop',
          name: 'web-5c6b7d8f9-bbbbb',
          ip: '10.0.0.1',
          owner: { kind: 'ReplicaSet', name: 'web-5c6b7d8f9' },
          labels: { 'pod-template-hash': '5c6b7d8f9' },
        },
        {
          ns: 'shop',
          name: 'agent-ccccc',
          ip: '10.0.0.2',
          owner: { kind: 'DaemonSet', name: 'agent' },
          node: 'n2',
        },
        {
          ns: 'shop',
          name: 'agent-bbbbb',
          ip: '10.0.0.3',
          owner: { kind: 'DaemonSet', name: 'agent' },
          node: 'n1',
        },
      ],
    });
    expect(workloadOfPodName(inventory, 'shop', 'web-7d9f8b6c4-x2kqp')).toBe('shop/web');
    expect(workloadOfPodName(inventory, 'shop', 'agent-x2kqp')).toBe('shop/agent');
    expect(workloadOfPodName(inventory, 'other', 'web-7d9f8b6c4-x2kqp')).toBeUndefined();
    expect(workloadOfPodName(inventory, 'shop', 'cart-7d9f8b6c4-x2kqp')).toBeUndefined();
    // The stand-in: first by name, or the workload's pod on a given node.
    expect(currentPodOfWorkload(inventory, 'shop/agent')?.name).toBe('agent-bbbbb');
    expect(currentPodOfWorkload(inventory, 'shop/agent', 'n2')?.name).toBe('agent-ccccc');
  });

  it('reads Calico aggregated names and keeps identity labels without revision labels, sorted', () => {
    expect(workloadOfAggregatedName('frontend-7d9f8b6c4-*', { 'pod-template-hash': '7d9f8b6c4' })).toBe(
      'frontend',
    );
    expect(workloadOfAggregatedName('frontend-7d9f8b6c4-*', undefined)).toBe('frontend');
    expect(workloadOfAggregatedName('web-backend-*', undefined)).toBe('web-backend');
    expect(workloadOfAggregatedName('pub', undefined)).toBeUndefined();
    expect(
      Object.entries(
        identityLabels({ z: '1', 'pod-template-hash': 'x', a: '2', 'controller-revision-hash': 'y' }),
      ),
    ).toEqual([
      ['a', '2'],
      ['z', '1'],
    ]);
  });
});
