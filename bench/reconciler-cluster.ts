// `npm run bench:cluster`: the reconciler against the real kube-apiserver + etcd, a git http-backend
// server and redis-server, with the real `nyx-reconciler` bin in its own process. Prints a Markdown
// report of:
//   1. push → 100 simulated agents acknowledged, p50/p99 over 20 merges (10 changes, each followed by
//      the real `git revert` of it: the break-glass path), target p99 < 3 s;
//   2. drift revert latency, p50/p99 over 200 random kubectl edits (patch, label, delete), measured
//      on one watch stream from the edit's event to the revert's event, target p99 < 1 s;
//   3. a pod's address → the inventory in Redis (the reconciler's share of SPEC §8.6's 1 s);
//   4. a full sync of 5,000 objects (one push) and the reconciler's memory.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig, Watch } from '@kubernetes/client-node';
import {
  AGENTS_CHANNEL,
  type AgentAck,
  acknowledge,
  BUNDLE_CHANNEL,
  BUNDLE_KEY,
  INVENTORY_CHANNEL,
  INVENTORY_KEY,
  parseBundle,
  subscribeChannels,
} from '@nyx/io';
import { runKubectl, sourceProcessArgs, startGitServer, startRedis, startTestApiServer } from '@nyx/test';
import { Redis } from 'ioredis';
import { KubeApi, PODS } from '../reconciler/src/kube.js';
import { mulberry32 } from './prng.js';

const SERVICE_ACCOUNTS = { group: '', version: 'v1', plural: 'serviceaccounts', namespaced: true } as const;

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const AGENTS = 100;
const MERGES = 20;
const EDITS = 200;
const BASE_POLICIES = 200;
const FULL_SYNC_OBJECTS = 5000;
const NAMESPACES = 20;
const PODS_CREATED = 50;

const policy = (name: string, ns: string, priority: number): string => `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxNetworkPolicy
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  priority: ${priority}
  podSelector:
    matchLabels: { app: ${name} }
  policyTypes: [Ingress]
  ingress:
    - decision: Allow
      from:
        - podSelector: { matchLabels: { role: client } }
      ports:
        - { protocol: TCP, port: 8080 }
`;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}
const ms = (v: number): string => `${v.toFixed(0)} ms`;

async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'nyx-bench-cluster-'));
  const [api, git, redisServer] = await Promise.all([startTestApiServer(), startGitServer(), startRedis()]);
  let reconciler: ChildProcess | undefined;
  const agents: Redis[] = [];
  try {
    const kubectl = async (args: string[]): Promise<string> => {
      const r = await runKubectl(api.kubeconfigPath, args);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    await kubectl(['apply', '-f', join(ROOT, 'deploy/crds/')]);
    await kubectl(['apply', '-f', join(ROOT, 'deploy/reconciler/rbac.yaml')]);
    await kubectl(['wait', '--for', 'condition=established', '--timeout=60s', 'crd', '--all']);
    for (let n = 0; n < NAMESPACES; n++) await kubectl(['create', 'namespace', `ns-${n}`]);
    const reconcilerKubeconfig = join(dir, 'reconciler.kubeconfig');
    await exec('cp', [api.kubeconfigPath, reconcilerKubeconfig]);
    await runKubectl(reconcilerKubeconfig, ['config', 'use-context', 'reconciler']);

    // The policy repository: a working clone the bench commits in and pushes from with git.
    const remote = await git.createRepo('policies');
    const work = join(dir, 'work');
    const gitEnv = {
      ...process.env,
      GIT_AUTHOR_NAME: 'bench',
      GIT_AUTHOR_EMAIL: 'bench@nyx.invalid',
      GIT_COMMITTER_NAME: 'bench',
      GIT_COMMITTER_EMAIL: 'bench@nyx.invalid',
      HOME: dir,
      GIT_CONFIG_NOSYSTEM: '1',
    };
    const g = async (...args: string[]): Promise<string> =>
      (await exec('git', args, { cwd: work, env: gitEnv, maxBuffer: 64 * 1024 * 1024 })).stdout.trim();
    await mkdir(work);
    await g('init', '-q', '-b', 'main');
    const writePolicy = async (i: number): Promise<void> => {
      const ns = `ns-${i % NAMESPACES}`;
      await mkdir(join(work, 'namespaces', ns), { recursive: true });
      await writeFile(join(work, 'namespaces', ns, `p-${i}.yaml`), policy(`p-${i}`, ns, 200));
    };
    for (let i = 0; i < BASE_POLICIES; i++) await writePolicy(i);
    await g('add', '-A');
    await g('commit', '-q', '-m', 'base');
    await g('push', '-q', remote, 'main');

    // The reconciler: the real bin, in its own process.
    reconciler = spawn(process.execPath, sourceProcessArgs(join(ROOT, 'reconciler/src/main.ts')), {
      env: {
        ...process.env,
        NYX_GIT_URL: remote,
        KUBECONFIG: reconcilerKubeconfig,
        REDIS_URL: redisServer.url,
        PORT: '0',
        NYX_LISTEN_ADDRESS: '127.0.0.1',
        NYX_STATE_DIR: join(dir, 'state'),
        NYX_GIT_POLL_INTERVAL: '3600',
        NYX_LEADER_ELECTION: 'false',
        LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    reconciler.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const url = await waitFor('reconciler', () => /listening on (http:\/\/\S+)/.exec(out)?.[1]);
    const status = async (): Promise<{ revision?: string; phase: string }> =>
      (await (await fetch(`${url}/status`)).json()) as { revision?: string; phase: string };
    const head = await g('rev-parse', 'HEAD');
    await waitFor('first sync', async () => ((await status()).revision === head ? true : undefined));
    const hook = (after: string) =>
      fetch(`${url}/hooks/push`, { method: 'POST', body: JSON.stringify({ ref: 'refs/heads/main', after }) });

    // 1. push → 100 agents acknowledged.
    const acked = new Map<string, { count: number; done: () => void }>();
    for (let a = 0; a < AGENTS; a++) {
      const node = `node-${a}`;
      const sub = new Redis(redisServer.url);
      const cmd = new Redis(redisServer.url);
      agents.push(sub, cmd);
      await subscribeChannels(sub, BUNDLE_CHANNEL);
      sub.on('message', async () => {
        const bundle = parseBundle((await cmd.get(BUNDLE_KEY)) ?? '');
        const ack: AgentAck = {
          node,
          revision: bundle.revision,
          hash: bundle.hash,
          inventoryVersion: '',
          appliedAt: new Date().toISOString(),
          status: 'applied',
        };
        await acknowledge(cmd, ack);
      });
    }
    const counter = new Redis(redisServer.url);
    agents.push(counter);
    await subscribeChannels(counter, AGENTS_CHANNEL);
    counter.on('message', (_c: string, text: string) => {
      const ack = JSON.parse(text) as AgentAck;
      const entry = acked.get(ack.revision);
      if (entry && ++entry.count === AGENTS) entry.done();
    });
    const pushTimes: number[] = [];
    const revertTimes: number[] = [];
    for (let m = 0; m < MERGES; m++) {
      const isRevert = m % 2 === 1;
      if (isRevert) await g('revert', '--no-edit', 'HEAD');
      else {
        await writeFile(
          join(work, 'namespaces', 'ns-0', `change-${m}.yaml`),
          policy(`change-${m}`, 'ns-0', 300 + m),
        );
        await g('add', '-A');
        await g('commit', '-q', '-m', `change ${m}`);
      }
      const sha = await g('rev-parse', 'HEAD');
      const all = new Promise<void>((resolve) => acked.set(sha, { count: 0, done: resolve }));
      const t0 = performance.now();
      await g('push', '-q', remote, 'main');
      await hook(sha);
      await all;
      (isRevert ? revertTimes : pushTimes).push(performance.now() - t0);
    }
    const mergeTimes = [...pushTimes, ...revertTimes];

    // 2. drift revert latency over random kubectl edits, timed on one watch stream.
    const kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfigPath);
    type Seen = { type: string; priority?: number; labels?: Record<string, string>; at: number };
    const seen = new Map<string, Seen[]>();
    const watch = await new Watch(kc).watch(
      '/apis/nyx.tracenyx.io/v1alpha1/nyxnetworkpolicies',
      {},
      (
        type: string,
        obj: { metadata: { name: string; labels?: Record<string, string> }; spec: { priority?: number } },
      ) => {
        const list = seen.get(obj.metadata.name) ?? [];
        list.push({ type, priority: obj.spec?.priority, labels: obj.metadata.labels, at: performance.now() });
        seen.set(obj.metadata.name, list);
      },
      () => {},
    );
    const random = mulberry32(42);
    const driftTimes: number[] = [];
    const kinds = { patch: 0, label: 0, delete: 0 };
    const inGit = (s: Seen) => s.type !== 'DELETED' && s.priority === 200 && s.labels?.team === undefined;
    for (let e = 0; e < EDITS; e++) {
      const i = random.int(BASE_POLICIES);
      const name = `p-${i}`;
      const ns = `ns-${i % NAMESPACES}`;
      const from = (seen.get(name) ?? []).length;
      const kind = random.pick(['patch', 'label', 'delete'] as const);
      kinds[kind]++;
      if (kind === 'patch') {
        await kubectl([
          'patch',
          'nnp',
          '-n',
          ns,
          name,
          '--type=merge',
          '-p',
          `{"spec":{"priority":${400 + e}}}`,
        ]);
      } else if (kind === 'label') await kubectl(['label', 'nnp', '-n', ns, name, `team=t${e}`]);
      else await kubectl(['delete', 'nnp', '-n', ns, name, '--wait=false']);
      const latency = await waitFor(
        `revert of edit ${e}`,
        () => {
          const events = (seen.get(name) ?? []).slice(from);
          const drift = events.findIndex((s) => !inGit(s));
          if (drift < 0) return undefined;
          const back = events.slice(drift + 1).find(inGit);
          return back ? back.at - events[drift]!.at : undefined;
        },
        30_000,
      );
      driftTimes.push(latency);
    }
    watch.abort();

    // 2b. a pod's address → the inventory the agents read (SPEC §8.6: a new pod is enforced within
    // 1 s of the reconciler seeing it; this is the reconciler's share). The bench plays the kubelet.
    const admin = await KubeApi.connect(api.kubeconfigPath);
    await admin.create(SERVICE_ACCOUNTS, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default', namespace: 'ns-0' },
    });
    const inventoryWatcher = new Redis(redisServer.url);
    agents.push(inventoryWatcher);
    const inventoryReader = new Redis(redisServer.url);
    agents.push(inventoryReader);
    await subscribeChannels(inventoryWatcher, INVENTORY_CHANNEL);
    let onInventory: (() => void) | undefined;
    inventoryWatcher.on('message', () => onInventory?.());
    const podTimes: number[] = [];
    for (let p = 0; p < PODS_CREATED; p++) {
      const name = `web-${p}`;
      await admin.create(PODS, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: 'ns-0', labels: { app: 'web' } },
        spec: {
          nodeName: 'node-0',
          automountServiceAccountToken: false,
          containers: [{ name: 'web', image: 'web' }],
        },
      });
      const ip = `10.1.${Math.floor(p / 250)}.${(p % 250) + 1}`;
      const seen = new Promise<void>((resolve) => {
        onInventory = async () => {
          const text = (await inventoryReader.get(INVENTORY_KEY)) ?? '';
          if (text.includes(`"${ip}"`)) resolve();
        };
      });
      const t0 = performance.now();
      await admin.request('PATCH', `/api/v1/namespaces/ns-0/pods/${name}/status`, {
        body: { status: { podIP: ip, podIPs: [{ ip }] } },
        contentType: 'application/merge-patch+json',
      });
      await seen;
      podTimes.push(performance.now() - t0);
    }

    // 3. full sync of 5,000 objects in one push, and memory.
    for (let i = BASE_POLICIES; i < FULL_SYNC_OBJECTS; i++) await writePolicy(i);
    await g('add', '-A');
    await g('commit', '-q', '-m', 'full sync');
    const big = await g('rev-parse', 'HEAD');
    const s0 = performance.now();
    await g('push', '-q', remote, 'main');
    await hook(big);
    await waitFor('full sync', async () => ((await status()).revision === big ? true : undefined), 240_000);
    const fullSync = performance.now() - s0;
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const rss = Number(
      /^nyx_reconciler_process_resident_memory_bytes (\S+)/m.exec(metrics)?.[1] ?? Number.NaN,
    );
    const count = (await kubectl(['get', 'nnp', '-A', '--no-headers'])).trim().split('\n').length;

    const row = (what: string, values: number[], target: string): string =>
      `| ${what} | ${values.length} | ${ms(percentile(values, 50))} | ${ms(percentile(values, 99))} | ${ms(Math.max(...values))} | ${target} |`;
    console.log(`## Reconciler benchmark (\`npm run bench:cluster\`)

kube-apiserver ${api.versions.kubernetes} + etcd ${api.versions.etcd}, git http-backend, redis-server; the
reconciler is the \`nyx-reconciler\` bin in its own process; ${AGENTS} simulated agents (Redis subscribers
that read and verify the bundle, then acknowledge).

| measure | n | p50 | p99 | max | target |
| --- | --- | --- | --- | --- | --- |
${row(`push → ${AGENTS} agents acked (all merges)`, mergeTimes, 'p99 < 3 s')}
${row('  of which changes', pushTimes, '')}
${row('  of which `git revert` (break-glass)', revertTimes, '')}
${row(`pod address → inventory published (${PODS_CREATED} pods; debounce 100 ms)`, podTimes, '')}
${row(`drift revert (${kinds.patch} patch, ${kinds.label} label, ${kinds.delete} delete)`, driftTimes, 'p99 < 1 s')}

Full sync: ${FULL_SYNC_OBJECTS - BASE_POLICIES} new objects in one push (${count} in the cluster after it) in ${(fullSync / 1000).toFixed(1)} s
(push to status showing the revision: fetch, validate, dry-run, apply). Reconciler RSS after it: ${(rss / 1024 / 1024).toFixed(0)} MB.
Whole run ${((Date.now() - started) / 1000).toFixed(0)} s.`);
  } finally {
    for (const a of agents) a.disconnect();
    reconciler?.kill('SIGTERM');
    await Promise.allSettled([api.stop(), git.close(), redisServer.close()]);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
