// `npm run bench:cluster`: the agent's figures, in network namespaces (root, ip and nft needed).
// - compile: `nyxctl compile` as a whole process (the bin, not npx) for one node of the benchmark
//   cluster (200 local pods of 10,000) with 2,000 policies; apply: `nft -f` of that script.
// - connection rate: sequential TCP connects, same client, same server (two pods of that node),
//   through the script of a large tree (about 5,000 policy rules) vs the empty tree's script (both
//   track connections, so the ratio is what the rules cost; target >= 0.9), and through the
//   agent's script (flow capture on) for the capture's overhead. Ratios of medians over 5
//   alternating runs (SPEC section 8.9).
// - agent RSS: nyx-agent applying that state from disk.
// - pod churn (SPEC 8.6: a new pod enforced within 1 s, p99): nyx-agent on node-00 following a real
//   Redis hand-off; a pod of the client's Deployment comes and goes in the published inventory
//   (10,000 pods); each event is timed from the publication to the first real connection of that
//   pod to the server that passes (pod added) or is dropped (pod removed). Incremental updates
//   (the default) against the full path (NYX_INCREMENTAL=false: reload, recompile, replace).
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { compileEvaluator, loadPolicySet, parseInventory, resolveFlow } from '@nyx/core';
import {
  AGENTS_CHANNEL,
  type AgentAck,
  makeBundle,
  publishBundle,
  publishInventoryVersioned,
  subscribeChannels,
} from '@nyx/io';
import { type NetnsCluster, runIn, startNetnsCluster, startRedis } from '@nyx/test';
import { Redis } from 'ioredis';
import { generateCluster, generatePolicies, inventoryJson, writeTree } from './generate.js';

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const NYXCTL = join(ROOT, 'node_modules/.bin/nyxctl');
const NODE = 'node-00';
const PAIRS = 5;
const RATE_MS = 2000;
const CHURN_EVENTS = 24;
/** An address no pod of the generated cluster has: the pod that comes and goes. */
const NEWCOMER_IP = '10.1.250.1';

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function countRules(dir: string, files: Array<{ path: string; content: string }>): number {
  const loaded = loadPolicySet(files);
  if (!loaded.ok) throw new Error(`${dir}: invalid tree`);
  let rules = 0;
  for (const o of loaded.policySet.objects) {
    const spec = (o as { spec?: { ingress?: unknown[]; egress?: unknown[] } }).spec;
    rules += (spec?.ingress?.length ?? 0) + (spec?.egress?.length ?? 0);
  }
  return rules;
}

function readTree(dir: string, manifests: Array<{ path: string }>): Array<{ path: string; content: string }> {
  return manifests.map((m) => ({ path: m.path, content: readFileSync(join(dir, m.path), 'utf8') }));
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, value };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'nyx-bench-cluster-'));
  try {
    const cluster = generateCluster();
    const inventoryText = JSON.stringify(inventoryJson(cluster));
    const inventoryFile = join(work, 'inventory.json');
    writeFileSync(inventoryFile, inventoryText);
    const trees: Record<
      string,
      { dir: string; rules: number; files: Array<{ path: string; content: string }> }
    > = {};
    for (const [name, count] of [
      ['p2000', 2000],
      ['large', 2000],
      ['empty', 0],
    ] as const) {
      const dir = join(work, name);
      const manifests = count === 0 ? [] : generatePolicies(count, cluster);
      if (count === 0) mkdirSync(dir, { recursive: true });
      else writeTree(dir, manifests);
      const files = readTree(dir, manifests);
      trees[name] = { dir, rules: countRules(dir, files), files };
    }
    // The large tree: policies until about 5,000 rules.
    let count = 2000;
    while (trees.large!.rules < 5000) {
      count = Math.round((count * 5000) / Math.max(1, trees.large!.rules)) + 50;
      const manifests = generatePolicies(count, cluster);
      writeTree(trees.large!.dir, manifests);
      const files = readTree(trees.large!.dir, manifests);
      trees.large = { dir: trees.large!.dir, rules: countRules(trees.large!.dir, files), files };
    }

    const compile = async (tree: string, agent = false) => {
      const args = ['compile', '--policies', tree, '--inventory', inventoryFile, '--node', NODE];
      if (agent) args.push('--agent');
      const { stdout } = await exec(NYXCTL, args, { maxBuffer: 1 << 30 });
      return stdout;
    };
    const compileRuns: number[] = [];
    let script2000 = '';
    for (let i = 0; i < PAIRS; i++) {
      const { ms, value } = await timed(() => compile(trees.p2000!.dir));
      compileRuns.push(ms);
      script2000 = value;
    }

    // Two pods of node-00 whose TCP 8080 flow the large tree allows: client and server.
    const parsed = parseInventory(JSON.parse(inventoryText), 'inventory.json');
    if (!parsed.ok) throw new Error('inventory');
    const loaded = loadPolicySet(trees.large!.files);
    if (!loaded.ok) throw new Error('large tree');
    const evaluator = compileEvaluator(loaded.policySet, parsed.inventory);
    const local = cluster.pods.filter((p) => p.node === NODE);
    let pair: [(typeof local)[number], (typeof local)[number]] | undefined;
    for (const a of local) {
      for (const b of local) {
        if (a === b || b.port !== 8080 || pair) continue;
        const flow = resolveFlow(parsed.inventory, { src: a.ip, dst: b.ip, protocol: 'TCP', port: 8080 });
        if (flow.ok && evaluator.evaluate(flow.flow).verdict === 'allow') pair = [a, b];
      }
    }
    if (!pair) throw new Error('no allowed pod pair on node-00');
    const [client, server] = pair;
    const churn = churnPair(inventoryText, trees.p2000!.files, local);
    const netns = await startNetnsCluster({
      nodes: [{ name: NODE, ip: '192.168.0.1' }],
      pods: [
        { ns: client.namespace, name: client.name, ip: client.ip, node: NODE },
        { ns: server.namespace, name: server.name, ip: server.ip, node: NODE },
        ...(churn.server.ip !== server.ip && churn.server.ip !== client.ip
          ? [{ ns: churn.server.namespace, name: churn.server.name, ip: churn.server.ip, node: NODE }]
          : []),
        { ns: churn.client.namespace, name: 'newcomer', ip: NEWCOMER_IP, node: NODE },
      ],
      world: [],
      ports: [8080],
    });
    try {
      const applyRuns: number[] = [];
      for (let i = 0; i < PAIRS; i++) {
        applyRuns.push((await timed(() => netns.loadRuleset(NODE, script2000))).ms);
      }
      const scripts = {
        empty: await compile(trees.empty!.dir),
        large: await compile(trees.large!.dir),
        agent: await compile(trees.large!.dir, true),
      };
      const rates: Record<keyof typeof scripts, number[]> = { empty: [], large: [], agent: [] };
      const from = `${client.namespace}/${client.name}`;
      for (let i = 0; i < PAIRS; i++) {
        for (const name of ['empty', 'large', 'agent'] as const) {
          await netns.loadRuleset(NODE, scripts[name]);
          const n = await netns.connectRate(from, server.ip, 8080, RATE_MS);
          rates[name].push(n / (RATE_MS / 1000));
        }
      }

      // Agent RSS: nyx-agent applying the 2,000-policy state from disk (Redis unreachable).
      const stateDir = join(work, 'agent-state');
      mkdirSync(stateDir, { recursive: true });
      const bundle = makeBundle(
        '0'.repeat(40),
        trees.p2000!.files.map((f) => ({ path: f.path, text: f.content })),
      );
      writeFileSync(
        join(stateDir, 'last-good.json'),
        JSON.stringify({ bundle, inventory: { text: inventoryText, version: 'bench' } }),
      );
      const agent = spawn(
        'ip',
        [
          'netns',
          'exec',
          netns.netns(NODE),
          'env',
          `NYX_NODE_NAME=${NODE}`,
          `NYX_STATE_DIR=${stateDir}`,
          'REDIS_URL=redis://127.0.0.1:1',
          'NYX_DNS_UPSTREAM=127.0.0.1',
          join(ROOT, 'node_modules/.bin/nyx-agent'),
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const agentStart = process.hrtime.bigint();
      await new Promise<void>((resolve, reject) => {
        let out = '';
        agent.stdout!.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('applied the last good state')) resolve();
          if (out.includes('could not be applied')) reject(new Error(out));
        });
        agent.once('exit', () => reject(new Error(`agent exited: ${out}`)));
      });
      const agentReadyMs = Number(process.hrtime.bigint() - agentStart) / 1e6;
      const status = readFileSync(`/proc/${agent.pid}/status`, 'utf8');
      const rssMb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
      agent.kill('SIGKILL');
      await runIn(netns.netns(NODE), ['nft', 'list', 'tables']);

      const churnRuns = {
        incremental: await churnLatencies(netns, work, inventoryText, trees.p2000!.files, churn, true),
        full: await churnLatencies(netns, work, inventoryText, trees.p2000!.files, churn, false),
      };

      const m = (xs: number[]) => median(xs);
      const lines = [
        `# nyx agent benchmark (${NODE}: ${local.length} local pods of ${cluster.pods.length}; medians of ${PAIRS})`,
        '',
        '| figure | value |',
        '| --- | --- |',
        `| compile, 2,000 policies (${trees.p2000!.rules} rules), whole nyxctl process | ${m(compileRuns).toFixed(0)} ms |`,
        `| script size | ${script2000.split('\n').length} lines, ${(script2000.length / 1024).toFixed(0)} KiB |`,
        `| apply (nft -f, one transaction) | ${m(applyRuns).toFixed(0)} ms |`,
        `| TCP connects/s, empty tree | ${m(rates.empty).toFixed(0)} |`,
        `| TCP connects/s, ${trees.large!.rules}-rule tree | ${m(rates.large).toFixed(0)} |`,
        `| ratio (target >= 0.9) | ${(m(rates.large) / m(rates.empty)).toFixed(3)} |`,
        `| TCP connects/s, same tree + flow capture (agent script) | ${m(rates.agent).toFixed(0)} |`,
        `| flow-capture overhead (agent / plain) | ${(m(rates.agent) / m(rates.large)).toFixed(3)} |`,
        `| nyx-agent: start to state applied from disk | ${agentReadyMs.toFixed(0)} ms |`,
        `| nyx-agent peak RSS | ${rssMb.toFixed(0)} MB |`,
        ...(['incremental', 'full'] as const).flatMap((mode) => {
          const { enforced, acked, updates } = churnRuns[mode];
          const label =
            mode === 'incremental' ? 'incremental (default)' : 'full path (NYX_INCREMENTAL=false)';
          return [
            `| pod churn, ${label}: publication to a real connection passing/dropped, p50 / p99 of ${enforced.length} | ${percentile(enforced, 0.5).toFixed(0)} / ${percentile(enforced, 0.99).toFixed(0)} ms |`,
            `| pod churn, ${label}: publication to acknowledgement, p50 / p99 | ${percentile(acked, 0.5).toFixed(0)} / ${percentile(acked, 0.99).toFixed(0)} ms (${updates}) |`,
          ];
        }),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    } finally {
      await netns.close();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

type BenchPod = ReturnType<typeof generateCluster>['pods'][number];

/**
 * For the churn events: a local client and server (TCP 8080) such that the 2,000-policy tree allows
 * client to server, and denies the server to an address the inventory lacks (the newcomer before
 * it is listed). The newcomer is a pod of the client's Deployment at NEWCOMER_IP.
 */
function churnPair(
  inventoryText: string,
  files: Array<{ path: string; content: string }>,
  local: BenchPod[],
): { client: BenchPod; server: BenchPod } {
  const parsed = parseInventory(JSON.parse(inventoryText), 'inventory.json');
  const loaded = loadPolicySet(files);
  if (!parsed.ok || !loaded.ok) throw new Error('bench inputs');
  const evaluator = compileEvaluator(loaded.policySet, parsed.inventory);
  const verdict = (src: string, dst: string) => {
    const flow = resolveFlow(parsed.inventory, { src, dst, protocol: 'TCP', port: 8080 });
    return flow.ok ? evaluator.evaluate(flow.flow).verdict : 'unresolved';
  };
  for (const server of local) {
    if (server.port !== 8080 || verdict(NEWCOMER_IP, server.ip) !== 'deny') continue;
    const client = local.find((c) => c !== server && verdict(c.ip, server.ip) === 'allow');
    if (client) return { client, server };
  }
  throw new Error('no local pair for the churn events on node-00');
}

/** The inventory with (or without) the newcomer: a copy of the client's pod at NEWCOMER_IP. */
function inventoryWithNewcomer(
  inventoryText: string,
  client: BenchPod,
  present: boolean,
  i: number,
): unknown {
  const list = JSON.parse(inventoryText) as {
    items: Array<{
      kind: string;
      metadata: { namespace?: string; name: string };
      status: { podIP?: string; podIPs?: Array<{ ip: string }> };
    }>;
  };
  if (!present) return list;
  const original = list.items.find(
    (item) =>
      item.kind === 'Pod' &&
      item.metadata.namespace === client.namespace &&
      item.metadata.name === client.name,
  );
  if (!original) throw new Error('client pod not in the inventory');
  const pod = structuredClone(original);
  pod.metadata.name = `${client.name.replace(/-[^-]+$/, '')}-c${i}`;
  pod.status.podIP = NEWCOMER_IP;
  pod.status.podIPs = [{ ip: NEWCOMER_IP }];
  list.items.push(pod);
  return list;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(p * s.length) - 1)] ?? Number.NaN;
}

/**
 * Runs nyx-agent (the bin) on node-00 against a real Redis and times CHURN_EVENTS inventory
 * publications that add or remove the newcomer: until its connection to the server passes (added)
 * or is dropped (removed), and until the agent acknowledges the version.
 */
async function churnLatencies(
  netns: NetnsCluster,
  work: string,
  inventoryText: string,
  files: Array<{ path: string; content: string }>,
  pair: { client: BenchPod; server: BenchPod },
  incremental: boolean,
): Promise<{ enforced: number[]; acked: number[]; updates: string }> {
  const redis = await startRedis();
  const client = new Redis(redis.url);
  const acks = new Redis(redis.url);
  const stateDir = join(work, `churn-${incremental}`);
  mkdirSync(stateDir, { recursive: true });
  // Acknowledgements as they arrive (a version without the newcomer comes back every other event).
  const ackLog: Array<{ version: string; at: number }> = [];
  let onAck = () => {};
  acks.on('message', (_channel: string, text: string) => {
    const ack = JSON.parse(text) as AgentAck;
    if (ack.status !== 'applied') return;
    ackLog.push({ version: ack.inventoryVersion, at: performance.now() });
    onAck();
  });
  await subscribeChannels(acks, AGENTS_CHANNEL);
  /** When `version` was acknowledged, the first time at or after `since`. */
  const acked = (version: string, since: number) =>
    new Promise<number>((resolve) => {
      const check = () => {
        const hit = ackLog.find((a) => a.version === version && a.at >= since);
        if (hit) resolve(hit.at);
      };
      onAck = check;
      check();
    });
  const agent = spawn(
    'ip',
    [
      'netns',
      'exec',
      netns.netns(NODE),
      'env',
      `NYX_NODE_NAME=${NODE}`,
      `NYX_STATE_DIR=${stateDir}`,
      `REDIS_URL=${redis.socketPath}`,
      'NYX_DNS_UPSTREAM=127.0.0.1',
      `NYX_INCREMENTAL=${incremental}`,
      join(ROOT, 'node_modules/.bin/nyx-agent'),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  // How each apply went, from the agent's `applied` log lines (`update`: elements or replace).
  const updates = new Map<string, number>();
  const phases = { readMs: [] as number[], buildMs: [] as number[], loadMs: [] as number[] };
  let applies = 0;
  let onApplied = () => {};
  let out = '';
  agent.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      const update = /"update":"(\w+)"/.exec(line)?.[1];
      if (!update) continue;
      updates.set(update, (updates.get(update) ?? 0) + 1);
      const entry = JSON.parse(line) as Record<string, number>;
      for (const phase of ['readMs', 'buildMs', 'loadMs'] as const) phases[phase].push(entry[phase] ?? 0);
      applies++;
      onApplied();
    }
  });
  const logged = (count: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`churn: ${applies} of ${count} applies logged`)),
        30_000,
      );
      onApplied = () => {
        if (applies < count) return;
        clearTimeout(timer);
        resolve();
      };
      onApplied();
    });
  const probe = {
    from: `${pair.client.namespace}/newcomer`,
    dst: pair.server.ip,
    protocol: 'TCP' as const,
    port: 8080,
  };
  /** Probes (100 ms each) until one ends in `outcome`: when it passed, or when the dropped one started. */
  const until = async (outcome: 'connected' | 'timeout'): Promise<number> => {
    const deadline = performance.now() + 60_000;
    for (;;) {
      const start = performance.now();
      const [o] = await netns.probe([probe], 100);
      if (o === outcome) return outcome === 'connected' ? performance.now() : start;
      if (performance.now() > deadline) throw new Error(`churn: no ${outcome} within 60 s (agent: ${out})`);
    }
  };
  try {
    await publishBundle(
      client,
      makeBundle(
        '0'.repeat(40),
        files.map((f) => ({ path: f.path, text: f.content })),
      ),
    );
    const first = performance.now();
    await acked(
      await publishInventoryVersioned(client, inventoryWithNewcomer(inventoryText, pair.client, false, 0)),
      first,
    );
    await until('timeout');
    const enforced: number[] = [];
    const ackedMs: number[] = [];
    for (let i = 1; i <= CHURN_EVENTS; i++) {
      const present = i % 2 === 1;
      const inventory = inventoryWithNewcomer(inventoryText, pair.client, present, i);
      const start = performance.now();
      const version = await publishInventoryVersioned(client, inventory);
      enforced.push((await until(present ? 'connected' : 'timeout')) - start);
      ackedMs.push((await acked(version, start)) - start);
    }
    await logged(CHURN_EVENTS + 1);
    // The first apply of a run (nothing in force yet) is a replace in both modes.
    const replaces = (updates.get('replace') ?? 0) - 1;
    const p50 = (xs: number[]) => percentile(xs.slice(1), 0.5).toFixed(0);
    return {
      enforced,
      acked: ackedMs,
      updates: `${updates.get('elements') ?? 0} element updates, ${replaces} table replaces; agent p50: read ${p50(phases.readMs)}, build ${p50(phases.buildMs)}, nft ${p50(phases.loadMs)} ms`,
    };
  } finally {
    agent.kill('SIGKILL');
    acks.disconnect();
    client.disconnect();
    await redis.close();
  }
}

await main();
