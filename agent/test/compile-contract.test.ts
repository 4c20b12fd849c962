// SPEC section 7, the `nyxctl compile` contract, in the kernel: what `nyxctl compile` prints is
// loaded with `nft -f` in each node namespace of the netns cluster, and real connections show each
// numbered point. (Points 7-9 are about the script's text: cli/test/compile.test.ts.)
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetnsCluster } from '@nyx/test';
import { startNetnsCluster } from '@nyx/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nyxctl } from '../../cli/test/run-nyxctl.js';
import { addressOf, CLUSTER, clusterInventoryJson, probeFrom } from './kernel.js';

let cluster: NetnsCluster;
let dir: string;
beforeAll(async () => {
  cluster = await startNetnsCluster(CLUSTER);
  dir = await mkdtemp(join(tmpdir(), 'nyx-compile-'));
  await writeFile(join(dir, 'inventory.json'), JSON.stringify(clusterInventoryJson()));
});
afterAll(async () => {
  await cluster?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const HEAD = 'apiVersion: nyx.tracenyx.io/v1alpha1';
let trees = 0;

/** Writes a policy tree, runs `nyxctl compile` for every node and loads each script in its node. */
async function compileAndLoad(files: Record<string, string>): Promise<Map<string, string>> {
  const tree = join(dir, `tree${trees++}`);
  for (const [path, text] of Object.entries(files)) {
    await import('node:fs/promises').then((fs) => fs.mkdir(join(tree, path, '..'), { recursive: true }));
    await writeFile(join(tree, path), text);
  }
  if (Object.keys(files).length === 0) await import('node:fs/promises').then((fs) => fs.mkdir(tree));
  const scripts = new Map<string, string>();
  await Promise.all(
    CLUSTER.nodes.map(async (node) => {
      const run = await nyxctl(
        'compile',
        '--policies',
        tree,
        '--inventory',
        join(dir, 'inventory.json'),
        '--node',
        node.name,
      );
      expect(run.code, run.stderr).toBe(0);
      scripts.set(node.name, run.stdout);
    }),
  );
  for (const [node, script] of scripts) await cluster.loadRuleset(node, script);
  return scripts;
}

const probe = (from: string, to: string, port: number) => ({
  ...probeFrom(from),
  dst: addressOf(to),
  protocol: 'TCP' as const,
  port,
});

const DENY_ALL = {
  'cluster/config.yaml': `${HEAD}\nkind: NyxClusterConfig\nmetadata: {name: cluster}\nspec: {defaultMode: deny}\n`,
};

describe('nyxctl compile, loaded with nft -f (SPEC section 7)', () => {
  it('1. routed pods: same-node pod-to-pod traffic crosses forward and is enforced there', async () => {
    await compileAndLoad(DENY_ALL);
    expect(await cluster.probe([probe('shop/web', 'shop/api', 80)])).toEqual(['timeout']);
    const counters = await cluster.exec('n1', ['nft', 'list', 'chain', 'inet', 'nyx', 'forward']);
    expect(counters).toContain('vmap @egress4');
  });

  it('2. one forward pass applies both points: an allow at egress falls through to a deny at ingress, and back', async () => {
    await compileAndLoad({
      'namespaces/shop/p.yaml': `${HEAD}
kind: NyxNetworkPolicy
metadata: {name: p, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  egress:
    - decision: Allow
      to: [{podSelector: {}}]
  ingress:
    - decision: Deny
      from: [{podSelector: {matchLabels: {app: api}}}]
---
${HEAD}
kind: NyxNetworkPolicy
metadata: {name: q, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
    - decision: Deny
      from: [{podSelector: {matchLabels: {app: web}}}]
      ports: [{port: 80}]
`,
    });
    expect(
      await cluster.probe([
        probe('shop/web', 'shop/api', 80), // egress allows, ingress denies
        probe('shop/web', 'shop/api', 8080), // egress allows, ingress allows
        probe('shop/api', 'shop/web', 8080), // egress allows (default), ingress denies
      ]),
    ).toEqual(['timeout', 'connected', 'timeout']);
  });

  it('3. the node: input drops only a local pod denied egress to the node; output drops nothing', async () => {
    await compileAndLoad(DENY_ALL);
    expect(
      await cluster.probe([
        probe('n1', 'shop/web', 8080), // node-local probe
        probe('shop/web', 'n1', 8080), // pod to its node: egress denied (input)
        probe('n1', '203.0.113.10', 80), // the node's own traffic: not ours
        probe('n2', 'shop/web', 8080), // another node is not "the node"
      ]),
    ).toEqual(['connected', 'timeout', 'connected', 'timeout']);
  });

  it('4. only table inet nyx is created or replaced; the portable replace loads over itself; an empty tree compiles', async () => {
    await cluster.exec(
      'n1',
      ['nft', '-f', '-'],
      'table inet other {\n\tchain c {\n\t\ttype filter hook forward priority 10; policy accept;\n\t\tcounter\n\t}\n}\n',
    );
    const scripts = await compileAndLoad({});
    expect(scripts.get('n1')).toMatch(/^table inet nyx\ndelete table inet nyx\ntable inet nyx \{/m);
    await cluster.loadRuleset('n1', scripts.get('n1')!); // replace over an existing table
    const tables = await cluster.exec('n1', ['nft', 'list', 'tables']);
    expect(tables.trim().split('\n').sort()).toEqual(['table inet nyx', 'table inet other']);
    expect(await cluster.probe([probe('shop/web', 'payments/ledger', 80)])).toEqual(['connected']);
    await cluster.exec('n1', ['nft', 'delete', 'table', 'inet', 'other']);
  });

  it('5. denied packets are dropped, not rejected: the client times out', async () => {
    await compileAndLoad(DENY_ALL);
    const outcomes = await cluster.probe([
      probe('shop/web', 'payments/pay', 80),
      probe('payments/pay', 'shop/web', 80),
    ]);
    expect(outcomes).toEqual(['timeout', 'timeout']);
    const help = await nyxctl('explain', '--help');
    expect(help.stdout).toMatch(/dropped, not rejected/);
  });

  it('6. after a change open connections of newly denied flows stop, and pass again after a revert', async () => {
    await compileAndLoad({});
    const local = await cluster.open(probe('shop/web', 'payments/pay', 8080));
    const remote = await cluster.open(probe('payments/ledger', 'shop/api', 8080));
    const kept = await cluster.open(probe('shop/web', 'shop/api', 8080));
    expect([local.outcome, remote.outcome, kept.outcome]).toEqual(['connected', 'connected', 'connected']);
    await compileAndLoad({
      'cluster/config.yaml': `${HEAD}\nkind: NyxClusterConfig\nmetadata: {name: cluster}\nspec: {defaultMode: deny-cross-namespace}\n`,
    });
    expect(await Promise.all([local.echo(), remote.echo(), kept.echo()])).toEqual([
      'timeout',
      'timeout',
      'connected',
    ]);
    await compileAndLoad({}); // git revert
    // The cut connections' data waits in TCP retransmission, whose backoff grew while they were
    // cut: the next retransmission passes (the waits run in parallel; they end at the first echo).
    expect(await Promise.all([local.echo(30_000), remote.echo(30_000), kept.echo()])).toEqual([
      'connected',
      'connected',
      'connected',
    ]);
    for (const c of [local, remote, kept]) c.close();
  });

  it('10. IPv4 and IPv6 in the one inet table', async () => {
    const scripts = await compileAndLoad(DENY_ALL);
    expect(scripts.get('n1')).toContain('fd00::1 : jump');
    // With no neighbour entry left, the pod must resolve its gateway by neighbour discovery (which
    // goes to the node's input chain): a deny of every flow still lets that through, so the connect
    // times out (dropped) rather than failing at once (unreachable).
    await cluster.exec('shop/web', ['ip', '-6', 'neigh', 'flush', 'all']);
    const outcomes = await cluster.probe([
      { ...probeFrom('shop/web'), dst: addressOf('shop/api', true), protocol: 'TCP', port: 80 },
      { ...probeFrom('shop/web'), dst: addressOf('shop/api'), protocol: 'TCP', port: 80 },
    ]);
    expect(outcomes).toEqual(['timeout', 'timeout']);
    await compileAndLoad({});
    expect(
      await cluster.probe([
        { ...probeFrom('shop/web'), dst: addressOf('shop/api', true), protocol: 'TCP', port: 80 },
      ]),
    ).toEqual(['connected']);
  });
});
