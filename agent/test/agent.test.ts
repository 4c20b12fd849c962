// `npx nyx-agent` in the netns cluster: one agent per node namespace, fed through the real Redis
// hand-off (io/src/handoff.ts), enforcing with real nft. Acknowledgements, failed loads, restarts
// with Redis down, atomic replace under traffic and flow capture into the flow store.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  AGENTS_CHANNEL,
  type AgentAck,
  decodeFlowEntry,
  flowBucketKey,
  makeBundle,
  publishBundle,
  publishInventoryVersioned,
  readWouldDenyFromRedis,
  subscribeChannels,
  type WouldDenyRecord,
} from '@nyx/io';
import {
  type NetnsCluster,
  type RedisServer,
  selfSignedCertificate,
  sourceProcessArgs,
  startNetnsCluster,
  startRedis,
  type TlsIdentity,
} from '@nyx/test';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressOf, CLUSTER, clusterInventoryJson, probeFrom } from './kernel.js';

const ROOT = join(import.meta.dirname, '../..');
// The agent's sources (the bin runs the built output of the same file).
const AGENT_MAIN = join(ROOT, 'agent/src/main.ts');
const HEAD = 'apiVersion: nyx.tracenyx.io/v1alpha1';

let cluster: NetnsCluster;
let tls: TlsIdentity;
let redis: RedisServer;
let client: Redis;
let acks: Redis;
let stateRoot: string;
const received: AgentAck[] = [];
const ackWaiters: Array<() => void> = [];

interface RunningAgent {
  child: ChildProcess;
  lines: string[];
  waitFor(pattern: RegExp): Promise<string>;
}
const agents = new Map<string, RunningAgent>();

/** Waits until `read` returns a value; fails (never hangs) after `seconds`. */
async function eventually<T>(what: string, read: () => Promise<T | undefined>, seconds = 30): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function startAgent(node: string, env: Record<string, string> = {}, inNode = node): RunningAgent {
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      cluster.netns(inNode),
      'env',
      `NYX_NODE_NAME=${node}`,
      `REDIS_URL=${redis.socketPath}`,
      `NYX_STATE_DIR=${join(stateRoot, node)}`,
      'NYX_FLOW_INTERVAL=1',
      `NYX_DNS_UPSTREAM=${CLUSTER.world[0]}`,
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      process.execPath,
      ...sourceProcessArgs(AGENT_MAIN),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  const onLine = (line: string) => {
    lines.push(line);
    for (const w of [...waiters]) {
      if (w.pattern.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  const agent: RunningAgent = {
    child,
    lines,
    waitFor: (pattern) => {
      const seen = lines.find((l) => pattern.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ pattern, resolve }));
    },
  };
  agents.set(node, agent);
  return agent;
}

async function stopAgent(node: string): Promise<void> {
  const agent = agents.get(node);
  // A process killed by a signal has a signalCode and no exitCode.
  if (!agent || agent.child.exitCode !== null || agent.child.signalCode !== null) return;
  const exited = new Promise((resolve) => agent.child.once('exit', resolve));
  agent.child.kill('SIGKILL');
  await exited;
}

/** Each agent's process state and the tail of its output, for a failure message. */
function agentsReport(): string {
  return [...agents]
    .map(([node, a]) => {
      const state =
        a.child.exitCode !== null || a.child.signalCode !== null
          ? `exited (${a.child.exitCode ?? a.child.signalCode})`
          : 'running';
      return `agent ${node}: ${state}, ${a.lines.length} lines; the last:\n  ${a.lines.slice(-12).join('\n  ')}`;
    })
    .join('\n');
}

/**
 * Resolves with the first acknowledgement (received so far or later) that `match` accepts; fails
 * (never hangs) after `seconds`, listing the last acknowledgements received.
 */
function waitForAck(match: (ack: AgentAck) => boolean, seconds = 60): Promise<AgentAck> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const check = () => {
      const found = received.find(match);
      if (!found) return false;
      clearTimeout(timer);
      resolve(found);
      return true;
    };
    if (check()) return;
    const waiter = () => {
      if (check()) ackWaiters.splice(ackWaiters.indexOf(waiter), 1);
    };
    ackWaiters.push(waiter);
    timer = setTimeout(() => {
      ackWaiters.splice(ackWaiters.indexOf(waiter), 1);
      reject(
        new Error(
          `no matching acknowledgement in ${seconds} s; the last: ${JSON.stringify(received.slice(-4))}\n${agentsReport()}`,
        ),
      );
    }, seconds * 1000);
  });
}

let revisions = 0;
async function publish(files: Record<string, string>): Promise<string> {
  const revision = (++revisions).toString(16).padStart(40, '0');
  await publishBundle(
    client,
    makeBundle(
      revision,
      Object.entries(files).map(([path, text]) => ({ path, text })),
    ),
  );
  return revision;
}

async function publishAndWait(files: Record<string, string>, status: AgentAck['status'] = 'applied') {
  const revision = await publish(files);
  return Promise.all(
    CLUSTER.nodes.map((n) =>
      waitForAck((a) => a.node === n.name && a.revision === revision && a.status === status),
    ),
  );
}

/** `GET http://127.0.0.1:<port><path>` from inside a node's namespace (where its agent listens). */
async function httpGet(node: string, path: string, port = 9470): Promise<{ status: number; body: string }> {
  const script = `fetch('http://127.0.0.1:${port}${path}', { signal: AbortSignal.timeout(5000) }).then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() })), (e) => { process.stderr.write(String(e)); process.exit(1); })`;
  return JSON.parse(await cluster.exec(node, [process.execPath, '-e', script])) as {
    status: number;
    body: string;
  };
}

/** The value of a sample of the Prometheus text `metrics` (`name{labels}`), or undefined. */
function sample(metrics: string, name: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

async function findingsInStore(): Promise<WouldDenyRecord[]> {
  const out: WouldDenyRecord[] = [];
  for await (const r of readWouldDenyFromRedis(client, { hours: 2 })) out.push(r);
  return out;
}

const probe = (from: string, to: string, port: number) => ({
  ...probeFrom(from),
  dst: addressOf(to),
  protocol: 'TCP' as const,
  port,
});

const config = (mode: string) => ({
  'cluster/config.yaml': `${HEAD}\nkind: NyxClusterConfig\nmetadata: {name: cluster}\nspec: {defaultMode: ${mode}}\n`,
});

beforeAll(async () => {
  // The world's 443 speaks TLS with a certificate for api.example.com.
  tls = await selfSignedCertificate(['api.example.com']);
  cluster = await startNetnsCluster({ ...CLUSTER, tls });
  redis = await startRedis();
  client = new Redis(redis.url);
  acks = new Redis(redis.url);
  // The restart test stops Redis on purpose.
  client.on('error', () => {});
  acks.on('error', () => {});
  stateRoot = await mkdtemp(join(tmpdir(), 'nyx-agent-state-'));
  acks.on('message', (_channel: string, text: string) => {
    received.push(JSON.parse(text) as AgentAck);
    if (process.env.NYX_AGENT_LOG_DIR) process.stderr.write(`ack ${text}\n`);
    for (const w of [...ackWaiters]) w();
  });
  await subscribeChannels(acks, AGENTS_CHANNEL);
  await publishInventoryVersioned(client, clusterInventoryJson());
  for (const n of CLUSTER.nodes) startAgent(n.name);
});

afterAll(async () => {
  if (process.env.NYX_AGENT_LOG_DIR) {
    const { writeFile } = await import('node:fs/promises');
    for (const [node, a] of agents)
      await writeFile(join(process.env.NYX_AGENT_LOG_DIR, `agent-${node}.log`), a.lines.join('\n'));
  }
  for (const node of agents.keys()) await stopAgent(node);
  acks?.disconnect();
  client?.disconnect();
  await redis?.close();
  await cluster?.close();
  if (stateRoot) await rm(stateRoot, { recursive: true, force: true });
});

describe('nyx-agent', () => {
  it('refuses to start without NYX_NODE_NAME, with a clear message', async () => {
    const child = spawn(process.execPath, sourceProcessArgs(AGENT_MAIN), {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/NYX_NODE_NAME is required/);
  });

  it('enforces a published bundle on both nodes and acknowledges revision and inventory version', async () => {
    const [ack] = await publishAndWait(config('deny-cross-namespace'));
    expect(ack).toMatchObject({ node: 'n1', status: 'applied' });
    expect(ack!.inventoryVersion).toMatch(/^sha256:/);
    expect(agents.get('n1')!.lines.join('\n')).toMatch(/"node":"n1".*nyx-agent starting/);
    expect(
      await cluster.probe([
        probe('shop/web', 'payments/pay', 80),
        probe('payments/ledger', 'shop/web', 80),
        probe('shop/web', 'shop/api', 80),
      ]),
    ).toEqual(['timeout', 'timeout', 'connected']);
  });

  it('a bundle that cannot be compiled is acknowledged as failed and the previous ruleset stays in force', async () => {
    const [ack] = await publishAndWait(
      {
        'namespaces/shop/bad.yaml': `${HEAD}\nkind: NyxNetworkPolicy\nmetadata: {name: bad, namespace: shop}\nspec: {priority: 5}\n`,
      },
      'failed',
    );
    expect(ack!.error).toMatch(/bad\.yaml:\d+: .*priority/);
    expect(await cluster.probe([probe('shop/web', 'payments/pay', 80)])).toEqual(['timeout']);
  });

  it('atomic replace under traffic: 100 updates, no gap for a flow both states deny', async () => {
    const a = config('deny-cross-namespace');
    const b = {
      ...config('deny-cross-namespace'),
      'namespaces/shop/x.yaml': `${HEAD}\nkind: NyxNetworkPolicy\nmetadata: {name: x, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: api}}\n  ingress:\n    - decision: Deny\n      ports: [{port: 8080}]\n`,
    };
    await publishAndWait(a);
    let stop = false;
    const leaked: string[] = [];
    let attempts = 0;
    const loop = (async () => {
      while (!stop) {
        const outcomes = await cluster.probe(
          [probe('shop/web', 'payments/pay', 80), probe('payments/ledger', 'shop/api', 80)],
          300,
        );
        attempts += outcomes.length;
        for (const o of outcomes) if (o !== 'timeout') leaked.push(o);
      }
    })();
    for (let i = 0; i < 100; i++) await publishAndWait(i % 2 === 0 ? b : a);
    stop = true;
    await loop;
    expect(attempts).toBeGreaterThan(20);
    expect(leaked).toEqual([]);
  });

  it('pod churn: inventory changes are applied as element updates, under traffic with no gap, and a pod is enforced once listed', async () => {
    await publishAndWait({
      ...config('deny'),
      'namespaces/shop/web.yaml': `${HEAD}\nkind: NyxNetworkPolicy\nmetadata: {name: web, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  egress:\n    - decision: Allow\n      to: [{namespaceSelector: {matchLabels: {team: payments}}, podSelector: {matchLabels: {app: pay}}}]\n      ports: [{port: 80}]\n`,
      'namespaces/payments/pay.yaml': `${HEAD}\nkind: NyxNetworkPolicy\nmetadata: {name: pay, namespace: payments}\nspec:\n  podSelector: {matchLabels: {app: pay}}\n  ingress:\n    - decision: Allow\n      from: [{namespaceSelector: {matchLabels: {team: shop}}, podSelector: {matchLabels: {app: web}}}]\n`,
    });
    expect(await cluster.probe([probe('shop/web', 'payments/pay', 80)])).toEqual(['connected']);
    const withoutPay = clusterInventoryJson({
      pods: CLUSTER.pods.filter((p) => p.name !== 'pay'),
      nodes: CLUSTER.nodes,
    });
    const publishInventory = async (inventory: unknown) => {
      const mark = received.length;
      const version = await publishInventoryVersioned(client, inventory);
      await Promise.all(
        CLUSTER.nodes.map((n) =>
          waitForAck(
            (a) =>
              received.indexOf(a) >= mark &&
              a.node === n.name &&
              a.inventoryVersion === version &&
              a.status === 'applied',
          ),
        ),
      );
    };
    const elementUpdates = () =>
      agents.get('n1')!.lines.filter((l) => l.includes('"update":"elements"')).length;
    const before = elementUpdates();

    await publishInventory(withoutPay);
    // Not listed: web's egress has no pay to allow any more (defaultMode deny).
    expect(await cluster.probe([probe('shop/web', 'payments/pay', 80)])).toEqual(['timeout']);
    await publishInventory(clusterInventoryJson());
    expect(await cluster.probe([probe('shop/web', 'payments/pay', 80)])).toEqual(['connected']);

    // More changes while flows both inventories deny are tried: they never pass.
    let stop = false;
    const leaked: string[] = [];
    let attempts = 0;
    const loop = (async () => {
      while (!stop) {
        const outcomes = await cluster.probe(
          [probe('shop/api', 'payments/pay', 80), probe('payments/ledger', 'shop/web', 80)],
          300,
        );
        attempts += outcomes.length;
        for (const o of outcomes) if (o !== 'timeout') leaked.push(o);
      }
    })();
    // At least 20 changes, and as many as it takes for 10 rounds of probes to overlap them.
    let changes = 0;
    while (changes < 20 || attempts < 20 || changes % 2 === 1) {
      await publishInventory(changes % 2 === 0 ? withoutPay : clusterInventoryJson());
      changes++;
    }
    stop = true;
    await loop;
    expect(leaked).toEqual([]);
    expect(elementUpdates() - before, agents.get('n1')!.lines.slice(-3).join('\n')).toBe(changes + 2);
    expect(await cluster.probe([probe('shop/web', 'payments/pay', 80)])).toEqual(['connected']);
  });

  it('captures new connections into the flow store, resolved to pods', async () => {
    await publishAndWait({});
    const outcomes = await cluster.probe(
      Array.from({ length: 7 }, () => probe('shop/web', 'payments/ledger', 8080)),
    );
    expect(outcomes.every((o) => o === 'connected')).toBe(true);
    // The agent ships every second (NYX_FLOW_INTERVAL=1): wait for the record to appear.
    const found = await eventually('the flow record', async () => {
      const entries = await client.hgetall(flowBucketKey(new Date()));
      return Object.entries(entries)
        .map(([field, value]) => decodeFlowEntry(field, value))
        .find(
          (r) =>
            r?.src === 'shop/web' && r.dst === 'payments/ledger' && r.protocol === 'TCP' && r.port === 8080,
        );
    });
    expect(found.count).toBe(7);
    expect(Date.parse(found.lastSeen!)).toBeGreaterThan(Date.now() - 60_000);
    // The identity of each pod end (SPEC section 7), so the window outlives the pods' rollouts; these
    // pods have no owner, so each is its own workload.
    expect(found).toMatchObject({
      srcWorkload: 'shop/web',
      srcLabels: { app: 'web' },
      dstWorkload: 'payments/ledger',
      dstLabels: { app: 'ledger' },
    });
  });

  it('toFqdn: the allowed name resolves and connects on 443; other names, ports and direct IP are denied; TTL expiry removes the address', async () => {
    await publishAndWait({
      'namespaces/shop/egress.yaml': `${HEAD}
kind: NyxNetworkPolicy
metadata: {name: stripe-only, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
    - decision: Allow
      toFqdn: [{matchName: api.example.com}]
      ports: [{protocol: TCP, port: 443}]
    - decision: Allow
      toIpBlock: {cidr: ${CLUSTER.world[0]}/32}
      ports: [{protocol: UDP, port: 53}]
`,
    });
    const [api, other] = CLUSTER.world as [string, string];
    // Direct IP, before any DNS answer: denied.
    expect(await cluster.probe([probe('shop/web', api, 443)])).toEqual(['timeout']);
    expect(await cluster.resolve('shop/web', api, 'api.example.com')).toEqual([api]);
    expect(await cluster.resolve('shop/web', api, 'other.example.org')).toEqual([other]);
    expect(
      await cluster.probe([
        probe('shop/web', api, 443),
        probe('shop/web', api, 80),
        probe('shop/web', other, 443),
      ]),
    ).toEqual(['connected', 'timeout', 'timeout']);
    // A pod the policy does not isolate is not affected; one whose DNS egress is denied gets no answer.
    expect(await cluster.resolve('shop/api', api, 'api.example.com')).toEqual([api]);
    // The record's TTL (3 s) runs out: the kernel forgets the address.
    await eventually('the TTL of the learned address', async () => {
      const set = await cluster.exec('n1', ['nft', 'list', 'set', 'inet', 'nyx', 'fq0_4']);
      return (/elements = \{([^}]*)\}/.exec(set)?.[1]?.trim() ?? '') === '' ? true : undefined;
    });
    expect(await cluster.probe([probe('shop/web', api, 443)])).toEqual(['timeout']);
    // The DNS name became the captured flow's serverName.
    const record = await eventually('the flow record with its server name', async () => {
      const entries = await client.hgetall(flowBucketKey(new Date()));
      return Object.entries(entries)
        .map(([field, value]) => decodeFlowEntry(field, value))
        .find((r) => r?.src === 'shop/web' && r.dst === api && r.port === 443 && r.serverName !== undefined);
    });
    expect(record.serverName).toBe('api.example.com');
  });

  it('toFqdn end to end on 443 with a real TLS handshake: the allowed name resolves, the handshake verifying its certificate completes; before DNS and on another address it does not', async () => {
    await publishAndWait({
      'namespaces/shop/egress.yaml': `${HEAD}
kind: NyxNetworkPolicy
metadata: {name: api-only, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
    - decision: Allow
      toFqdn: [{matchName: api.example.com}]
      ports: [{protocol: TCP, port: 443}]
    - decision: Allow
      toIpBlock: {cidr: ${CLUSTER.world[0]}/32}
      ports: [{protocol: UDP, port: 53}]
`,
    });
    const [api, other] = CLUSTER.world as [string, string];
    const https = (dst: string) => ({
      ...probe('shop/web', dst, 443),
      tls: { serverName: 'api.example.com', ca: tls.cert },
    });
    // Nothing learned for the name yet (the last answer's TTL ran out in the test before: a replace
    // must not bring the address back for the rest of its last second).
    expect(await cluster.probe([https(api)])).toEqual(['timeout']);
    expect(await cluster.resolve('shop/web', api, 'api.example.com')).toEqual([api]);
    expect(await cluster.probe([https(api), https(other)])).toEqual(['connected', 'timeout']);
    // The handshake really verifies: the same server under a name its certificate lacks fails.
    expect(
      await cluster.probe([{ ...https(api), tls: { serverName: 'api.example.org', ca: tls.cert } }]),
    ).toEqual(['error']);
  });

  it('DNS over TCP (the retry of a truncated UDP answer) and AAAA answers fill the toFqdn sets', async () => {
    const [dnsServer, big] = CLUSTER.world as [string, string];
    await publishAndWait({
      'namespaces/shop/egress.yaml': `${HEAD}
kind: NyxNetworkPolicy
metadata: {name: big-only, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
    - decision: Allow
      toFqdn: [{matchName: big.example.com}, {matchName: v6.example.com}]
      ports: [{protocol: TCP, port: 443}]
    - decision: Allow
      toIpBlock: {cidr: ${dnsServer}/32}
      ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
`,
    });
    expect(await cluster.probe([probe('shop/web', big, 443)])).toEqual(['timeout']);
    // Over UDP the answer comes back truncated and empty; the resolver's retry over TCP is answered.
    expect(
      await cluster.resolve('shop/web', dnsServer, 'big.example.com', 1500, { transport: 'udp' }),
    ).toEqual([]);
    expect(
      await cluster.resolve('shop/web', dnsServer, 'big.example.com', 3000, { transport: 'udp-tcp' }),
    ).toEqual([big]);
    expect(await cluster.probe([probe('shop/web', big, 443)])).toEqual(['connected']);
    expect(
      await cluster.resolve('shop/web', dnsServer, 'big.example.com', 3000, { transport: 'tcp' }),
    ).toEqual([big]);
    // AAAA: the address goes to the rule's IPv6 set, with the record's TTL.
    expect(await cluster.resolve('shop/web', dnsServer, 'v6.example.com', 3000, { type: 'AAAA' })).toEqual([
      '2001:db8::10',
    ]);
    expect(await cluster.exec('n1', ['nft', 'list', 'set', 'inet', 'nyx', 'fq0_6'])).toMatch(
      /2001:db8::10 timeout 5m expires/,
    );
    // A pod whose DNS egress over TCP is denied gets no answer there either.
    await publishAndWait({
      'namespaces/shop/egress.yaml': `${HEAD}
kind: NyxNetworkPolicy
metadata: {name: udp-dns-only, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
    - decision: Allow
      toIpBlock: {cidr: ${dnsServer}/32}
      ports: [{protocol: UDP, port: 53}]
`,
    });
    expect(await cluster.resolve('shop/web', dnsServer, 'big.example.com', 1500, { transport: 'tcp' })).toBe(
      'timeout',
    );
    const metrics = (await httpGet('n1', '/metrics')).body;
    expect(sample(metrics, 'nyx_agent_dns_queries_total{result="answered",transport="tcp"}')).toBe(2);
    expect(sample(metrics, 'nyx_agent_dns_queries_total{result="denied",transport="tcp"}')).toBe(1);
  });

  it('would-deny findings: an audit deny lets the connection through and the kernel finding, naming that object and rule, reaches Redis; an enforced deny records none', async () => {
    const revision = await publish({
      'namespaces/shop/audit.yaml': `${HEAD}
kind: NyxNetworkPolicy
metadata: {name: web-out-audit, namespace: shop}
spec:
  enforcement: audit
  podSelector: {matchLabels: {app: web}}
  egress:
    - decision: Deny
      to: [{namespaceSelector: {matchLabels: {team: payments}}}]
`,
      'namespaces/shop/enforced.yaml': `${HEAD}
kind: NyxNetworkPolicy
metadata: {name: api-in, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
    - decision: Deny
      from: [{podSelector: {matchLabels: {app: web}}}]
      ports: [{port: 8080}]
`,
    });
    await Promise.all(
      CLUSTER.nodes.map((n) => waitForAck((a) => a.node === n.name && a.revision === revision)),
    );
    expect(
      await cluster.probe([
        probe('shop/web', 'payments/pay', 80),
        probe('shop/web', 'payments/ledger', 8080),
        probe('shop/web', 'shop/api', 8080),
      ]),
    ).toEqual(['connected', 'connected', 'timeout']);
    const found = await eventually('the would-deny findings of both flows', async () => {
      const all = await findingsInStore();
      const of = (dst: string, port: number) =>
        all.find((r) => r.src === 'shop/web' && r.dst === dst && r.port === port);
      const pay = of('payments/pay', 80);
      const ledger = of('payments/ledger', 8080);
      return pay && ledger ? { pay, ledger, all } : undefined;
    });
    for (const f of [found.pay, found.ledger]) {
      expect(f).toMatchObject({
        protocol: 'TCP',
        count: 1,
        srcWorkload: 'shop/web',
        node: 'n1',
        wouldDeny: {
          point: 'egress',
          band: 'application',
          object: 'NyxNetworkPolicy/shop/web-out-audit',
          rule: 0,
          text: 'NyxNetworkPolicy/shop/web-out-audit egress[0] Deny',
          source: 'namespaces/shop/audit.yaml:8',
        },
      });
    }
    // The enforced deny was read in the same pass as the flow record of its attempt: no finding.
    await eventually('the flow record of the denied attempt', async () => {
      const entries = await client.hgetall(flowBucketKey(new Date()));
      return Object.entries(entries)
        .map(([field, value]) => decodeFlowEntry(field, value))
        .find((r) => r?.src === 'shop/web' && r.dst === 'shop/api' && r.port === 8080);
    });
    expect((await findingsInStore()).filter((r) => r.dst === 'shop/api')).toEqual([]);
    const metrics = (await httpGet('n1', '/metrics')).body;
    expect(sample(metrics, 'nyx_agent_would_deny_connections_total')).toBeGreaterThanOrEqual(2);
  });

  it('/healthz reports the revision in force, Redis and the last apply error; /metrics counts applies, flows, DNS', async () => {
    const good = await publishAndWait(config('allow'));
    const health = await httpGet('n1', '/healthz');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({
      status: 'ok',
      node: 'n1',
      applied: { revision: good[0]!.revision, inventoryVersion: good[0]!.inventoryVersion },
      lastAttempt: { status: 'applied', revision: good[0]!.revision },
      redis: 'connected',
      lastError: { error: expect.stringMatching(/bad\.yaml:\d+: .*priority/) },
    });
    const metrics = (await httpGet('n1', '/metrics')).body;
    expect(sample(metrics, 'nyx_agent_applies_total{result="applied"}')).toBeGreaterThan(100);
    expect(sample(metrics, 'nyx_agent_applies_total{result="failed"}')).toBe(1);
    expect(sample(metrics, 'nyx_agent_apply_duration_seconds_count')).toBeGreaterThan(100);
    expect(sample(metrics, 'nyx_agent_ruleset_size{kind="rules"}')).toBeGreaterThan(10);
    expect(sample(metrics, 'nyx_agent_ruleset_size{kind="sets"}')).toBeGreaterThan(5);
    expect(sample(metrics, 'nyx_agent_local_pod_addresses')).toBe(6);
    expect(sample(metrics, 'nyx_agent_flow_records_total')).toBeGreaterThan(0);
    expect(sample(metrics, 'nyx_agent_flow_records_dropped_total')).toBe(0);
    expect(sample(metrics, 'nyx_agent_dns_queries_total{result="answered",transport="udp"}')).toBeGreaterThan(
      0,
    );
    expect(metrics).toMatch(/^nyx_agent_process_resident_memory_bytes \d+/m);
    // Not ready before a ruleset is in force: a fresh agent whose Redis is away.
    const fresh = startAgent(
      'n2-fresh',
      {
        NYX_NODE_NAME: 'n2',
        NYX_METRICS_PORT: '9471',
        NYX_DNS_PROXY_PORT: '0',
        REDIS_URL: join(stateRoot, 'no-redis.sock'),
        NYX_STATE_DIR: join(stateRoot, 'fresh'),
      },
      'n2',
    );
    await fresh.waitFor(/no last good state on disk/);
    const unready = await eventually('the fresh agent to listen', async () =>
      httpGet('n2', '/healthz', 9471).catch(() => undefined),
    );
    expect(unready.status).toBe(503);
    expect(JSON.parse(unready.body)).toMatchObject({
      status: 'unavailable',
      node: 'n2',
      redis: 'disconnected',
      lastAttempt: { status: 'starting' },
    });
    await stopAgent('n2-fresh');
  });

  it('restart with Redis down: the last good ruleset is in force before the agent connects', async () => {
    await publishAndWait(config('deny'));
    await stopAgent('n1');
    await redis.stop({ save: true });
    // A node reboot loses the kernel's ruleset: only the state on disk can restore it.
    await cluster.exec('n1', ['nft', 'delete', 'table', 'inet', 'nyx']);
    expect(await cluster.probe([probe('shop/web', 'shop/api', 80)])).toEqual(['connected']);
    const restarted = startAgent('n1');
    await restarted.waitFor(/applied the last good state from disk/);
    expect(await cluster.probe([probe('shop/web', 'shop/api', 80)])).toEqual(['timeout']);
    // Ready on the state from disk, and saying that Redis is away.
    const health = await eventually('/healthz of the restarted agent', async () =>
      httpGet('n1', '/healthz').catch(() => undefined),
    );
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({
      applied: { revision: expect.any(String) },
      redis: 'disconnected',
    });
    await redis.restart();
    await waitForAck(
      (a) => a.node === 'n1' && received.indexOf(a) >= received.length - 2 && a.status === 'applied',
    );
  });
});
