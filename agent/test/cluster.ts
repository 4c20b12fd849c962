// The netns cluster of the kernel tests: the property tests' inventory (`propertyTestInventory`)
// made real. Nodes n1 and n2; pods p1, p3, p5 on n1 and p2, p4 on n2; `h` is a hostNetwork pod of
// n2 (its node's address). World addresses: one in 8.8.0.0/16, one in 10.0.0.0/8 outside the pods
// (a Nyx ipBlock matches it, not the pods), one in neither.
import type { ClusterSpec } from '@nyx/test';

export const PROPERTY_CLUSTER: ClusterSpec = {
  nodes: [
    { name: 'n1', ip: '192.168.0.1' },
    { name: 'n2', ip: '192.168.0.2' },
  ],
  pods: [
    { ns: 'a', name: 'p1', ip: '10.0.0.1', node: 'n1' },
    { ns: 'a', name: 'p2', ip: '10.0.0.2', node: 'n2' },
    { ns: 'b', name: 'p3', ip: '10.0.1.3', node: 'n1' },
    { ns: 'b', name: 'p4', ip: '10.0.1.4', node: 'n2' },
    { ns: 'c', name: 'p5', ip: '10.0.2.5', node: 'n1' },
  ],
  world: ['8.8.8.8', '10.9.9.9', '203.0.113.10'],
  ports: [53, 75, 80, 443, 8080],
};
