// Upstream NetworkPolicy truth tables, after the Kubernetes documentation and the upstream e2e
// "netpol" model (test/e2e/network/netpol): namespaces x, y, z with pods a, b, c each (labels
// `pod: <name>`, namespace label `ns: <name>` plus `kubernetes.io/metadata.name`), every pod serving
// ports 80 and 81 on TCP, UDP and SCTP with container ports named `serve-<port>-<protocol>`.
// Each matrix has one row per source and one column per destination, in the order
// x/a x/b x/c y/a y/b y/c z/a z/b z/c; `.` is allowed, `X` denied. A pod talking to itself is
// always allowed (SPEC section 2; upstream's `AllowLoopback`).
import { describe, expect, it } from 'vitest';
import { compileEvaluator } from './evaluate.js';
import { resolveFlow } from './inventory.js';
import type { Protocol } from './model.js';
import { makeInventory } from './testing/inventory.js';
import { loadPolicies } from './testing/policies.js';

const NAMESPACES = ['x', 'y', 'z'];
const PODS = ['a', 'b', 'c'];
const ENDPOINTS = NAMESPACES.flatMap((ns) => PODS.map((pod) => `${ns}/${pod}`));

const inventory = makeInventory({
  namespaces: Object.fromEntries(NAMESPACES.map((ns) => [ns, { ns }])),
  pods: NAMESPACES.flatMap((ns, i) =>
    PODS.map((pod, j) => ({
      ns,
      name: pod,
      ip: `10.${i + 1}.0.${j + 1}`,
      node: `node-${j + 1}`,
      labels: { pod },
      ports: [80, 81].flatMap((port) =>
        (['TCP', 'UDP', 'SCTP'] as const).map((protocol) => ({
          name: `serve-${port}-${protocol.toLowerCase()}`,
          containerPort: port,
          protocol,
        })),
      ),
    })),
  ),
  nodes: [1, 2, 3].map((n) => ({ name: `node-${n}`, ips: [`192.168.0.${n}`] })),
});

function reachability(policies: string, protocol: Protocol, port: number): string[] {
  const evaluator = compileEvaluator(loadPolicies(policies), inventory);
  return ENDPOINTS.map((src) =>
    ENDPOINTS.map((dst) => {
      const resolved = resolveFlow(inventory, { src, dst, protocol, port });
      if (!resolved.ok) throw new Error(resolved.reason);
      const v = evaluator.evaluate(resolved.flow);
      // NetworkPolicy is always enforced: both walks agree.
      expect(v.asIfEnforced).toBe(v.verdict);
      return v.verdict === 'allow' ? '.' : 'X';
    }).join(''),
  );
}

const ALL_ALLOWED = Array<string>(9).fill('.........');

const netpol = (name: string, spec: string, namespace = 'x') => `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
${spec}`;

describe('upstream NetworkPolicy truth tables', () => {
  it('no policy: everything reachable', () => {
    expect(reachability('', 'TCP', 80)).toEqual(ALL_ALLOWED);
  });

  it('deny-all ingress in x', () => {
    const p = netpol('deny-all', `  podSelector: {}\n  policyTypes: [Ingress]`);
    // biome-ignore format: the matrix is easier to read as a table
    expect(reachability(p, 'TCP', 80)).toEqual([
      '.XX......',
      'X.X......',
      'XX.......',
      'XXX......',
      'XXX......',
      'XXX......',
      'XXX......',
      'XXX......',
      'XXX......',
    ]);
    expect(reachability(p, 'UDP', 81)).toEqual(reachability(p, 'TCP', 80));
  });

  it('allow ingress from the same namespace', () => {
    const p = netpol('same-ns', `  podSelector: {}\n  ingress:\n    - from: [{podSelector: {}}]`);
    // biome-ignore format: the matrix is easier to read as a table
    expect(reachability(p, 'TCP', 80)).toEqual([
      '.........',
      '.........',
      '.........',
      'XXX......',
      'XXX......',
      'XXX......',
      'XXX......',
      'XXX......',
      'XXX......',
    ]);
  });

  it('allow ingress to x/a from a namespace selector (ns: y)', () => {
    const p = netpol(
      'from-y',
      `  podSelector: {matchLabels: {pod: a}}\n  ingress:\n    - from: [{namespaceSelector: {matchLabels: {ns: y}}}]`,
    );
    // biome-ignore format: the matrix is easier to read as a table
    expect(reachability(p, 'TCP', 80)).toEqual([
      '.........',
      'X........',
      'X........',
      '.........',
      '.........',
      '.........',
      'X........',
      'X........',
      'X........',
    ]);
  });

  it('kubernetes.io/metadata.name works as a namespace selector', () => {
    const p = netpol(
      'from-z',
      `  podSelector: {matchLabels: {pod: a}}
  ingress:
    - from: [{namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [z]}]}}]`,
    );
    // biome-ignore format: the matrix is easier to read as a table
    expect(reachability(p, 'TCP', 80)).toEqual([
      '.........',
      'X........',
      'X........',
      'X........',
      'X........',
      'X........',
      '.........',
      '.........',
      '.........',
    ]);
  });

  it('namespaceSelector AND podSelector in one peer', () => {
    const p = netpol(
      'and',
      `  podSelector: {matchLabels: {pod: a}}
  ingress:
    - from:
        - namespaceSelector: {matchLabels: {ns: y}}
          podSelector: {matchLabels: {pod: b}}`,
    );
    // biome-ignore format: the matrix is easier to read as a table
    expect(reachability(p, 'TCP', 80)).toEqual([
      '.........',
      'X........',
      'X........',
      'X........',
      '.........',
      'X........',
      'X........',
      'X........',
      'X........',
    ]);
  });

  it('namespaceSelector OR podSelector as two peers', () => {
    const p = netpol(
      'or',
      `  podSelector: {matchLabels: {pod: a}}
  ingress:
    - from:
        - namespaceSelector: {matchLabels: {ns: y}}
        - podSelector: {matchLabels: {pod: b}}`,
    );
    // biome-ignore format: the matrix is easier to read as a table
    expect(reachability(p, 'TCP', 80)).toEqual([
      '.........',
      '.........',
      'X........',
      '.........',
      '.........',
      '.........',
      'X........',
      'X........',
      'X........',
    ]);
  });

  it('ipBlock with except matches pod addresses', () => {
    const p = netpol(
      'ipblock',
      `  podSelector: {matchLabels: {pod: a}}
  ingress:
    - from:
        - ipBlock: {cidr: 10.0.0.0/8, except: [10.2.0.0/24, 10.3.0.3/32]}`,
    );
    // biome-ignore format: the matrix is easier to read as a table
    expect(reachability(p, 'TCP', 80)).toEqual([
      '.........',
      '.........',
      '.........',
      'X........',
      'X........',
      'X........',
      '.........',
      '.........',
      'X........',
    ]);
  });

  it('egress deny-all in x', () => {
    const p = netpol('deny-egress', `  podSelector: {}\n  policyTypes: [Egress]`);
    // biome-ignore format: the matrix is easier to read as a table
    expect(reachability(p, 'TCP', 80)).toEqual([
      '.XXXXXXXX',
      'X.XXXXXXX',
      'XX.XXXXXX',
      '.........',
      '.........',
      '.........',
      '.........',
      '.........',
      '.........',
    ]);
  });

  it('policyTypes inferred: egress rules without policyTypes isolate both directions', () => {
    const p = netpol(
      'egress-to-y',
      `  podSelector: {matchLabels: {pod: a}}\n  egress:\n    - to: [{namespaceSelector: {matchLabels: {ns: y}}}]`,
    );
    // biome-ignore format: the matrix is easier to read as a table
    expect(reachability(p, 'TCP', 80)).toEqual([
      '.XX...XXX',
      'X........',
      'X........',
      'X........',
      'X........',
      'X........',
      'X........',
      'X........',
      'X........',
    ]);
  });

  it('allow ingress on port 81 only', () => {
    const p = netpol(
      'port-81',
      `  podSelector: {matchLabels: {pod: a}}\n  ingress:\n    - ports: [{port: 81}]`,
    );
    const column = ['.........', ...Array<string>(8).fill('X........')];
    expect(reachability(p, 'TCP', 80)).toEqual(column);
    expect(reachability(p, 'TCP', 81)).toEqual(ALL_ALLOWED);
    expect(reachability(p, 'UDP', 81)).toEqual(column);
  });

  it('named port resolves against the destination pod', () => {
    const p = netpol(
      'named',
      `  podSelector: {matchLabels: {pod: a}}\n  ingress:\n    - ports: [{port: serve-81-udp, protocol: UDP}]`,
    );
    const column = ['.........', ...Array<string>(8).fill('X........')];
    expect(reachability(p, 'UDP', 81)).toEqual(ALL_ALLOWED);
    expect(reachability(p, 'UDP', 80)).toEqual(column);
    expect(reachability(p, 'TCP', 81)).toEqual(column);
  });

  it('named port in egress resolves against the destination pod', () => {
    const p = netpol(
      'named-egress',
      `  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
    - ports: [{port: serve-80-tcp}]`,
    );
    expect(reachability(p, 'TCP', 80)).toEqual(ALL_ALLOWED);
    expect(reachability(p, 'TCP', 81)).toEqual(['.XXXXXXXX', ...Array<string>(8).fill('.........')]);
  });

  it('endPort ranges', () => {
    const p = netpol(
      'range',
      `  podSelector: {matchLabels: {pod: a}}\n  ingress:\n    - ports: [{port: 81, endPort: 85}]`,
    );
    const column = ['.........', ...Array<string>(8).fill('X........')];
    expect(reachability(p, 'TCP', 81)).toEqual(ALL_ALLOWED);
    expect(reachability(p, 'TCP', 80)).toEqual(column);
  });

  it('SCTP', () => {
    const p = netpol(
      'sctp',
      `  podSelector: {matchLabels: {pod: a}}\n  ingress:\n    - ports: [{protocol: SCTP, port: 80}]`,
    );
    const column = ['.........', ...Array<string>(8).fill('X........')];
    expect(reachability(p, 'SCTP', 80)).toEqual(ALL_ALLOWED);
    expect(reachability(p, 'TCP', 80)).toEqual(column);
    expect(reachability(p, 'SCTP', 81)).toEqual(column);
  });

  it('policies are additive: the union of allows', () => {
    const p = [
      netpol(
        'from-y',
        `  podSelector: {}\n  ingress:\n    - from: [{namespaceSelector: {matchLabels: {ns: y}}}]`,
      ),
      netpol(
        'from-b',
        `  podSelector: {}\n  ingress:\n    - from: [{podSelector: {matchLabels: {pod: b}}, namespaceSelector: {}}]`,
      ),
    ].join('\n---\n');
    // biome-ignore format: the matrix is easier to read as a table
    expect(reachability(p, 'TCP', 80)).toEqual([
      '.XX......',
      '.........',
      'XX.......',
      '.........',
      '.........',
      '.........',
      'XXX......',
      '.........',
      'XXX......',
    ]);
  });

  it('an empty ingress rule allows all, an empty rule list denies all', () => {
    expect(reachability(netpol('allow-all', `  podSelector: {}\n  ingress: [{}]`), 'TCP', 80)).toEqual(
      ALL_ALLOWED,
    );
    expect(reachability(netpol('deny-all', `  podSelector: {}\n  ingress: []`), 'TCP', 80)).toEqual(
      reachability(netpol('deny-all', `  podSelector: {}\n  policyTypes: [Ingress]`), 'TCP', 80),
    );
  });
});
