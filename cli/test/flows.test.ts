// `nyxctl flows annotate` and `nyxctl flows export`, and `verdicts` on a window whose pods were
// renamed since (SPEC section 7, "Flow endpoints outlive their pods"), through the real binary.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFlows, writeWouldDeny } from '@nyx/io';
import { type RedisServer, startRedis } from '@nyx/test';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, type Run } from './run-nyxctl.js';

const BIN = join(ROOT, 'node_modules/.bin/nyxctl');

function nyxctlWith(env: Record<string, string>, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      BIN,
      args,
      { cwd: ROOT, env: { ...process.env, NYX_DEBUG: '', ...env } },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

const inventoryList = (pods: Array<{ name: string; ip: string; hash: string }>) => ({
  apiVersion: 'v1',
  kind: 'List',
  items: [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { team: 'shop' } } },
    ...pods.map((p) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: p.name,
        namespace: 'shop',
        labels: { app: p.name.split('-')[0], 'pod-template-hash': p.hash },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: `${p.name.split('-')[0]}-${p.hash}`,
            controller: true,
          },
        ],
      },
      spec: {
        nodeName: 'n1',
        containers: [{ name: 'main', ports: [{ name: 'http', containerPort: 8080 }] }],
      },
      status: { phase: 'Running', podIP: p.ip },
    })),
  ],
});

let dir: string;
let redisServer: RedisServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nyx-flows-cli-'));
  redisServer = await startRedis();
  // Monday: web and cart; today: both rolled out (new hash, new names, new addresses).
  await writeFile(
    join(dir, 'monday.json'),
    JSON.stringify(
      inventoryList([
        { name: 'web-7d9f8b6c4-x2kqp', ip: '10.0.0.1', hash: '7d9f8b6c4' },
        { name: 'cart-5f7c9d8b7-9wz4d', ip: '10.0.0.2', hash: '5f7c9d8b7' },
      ]),
    ),
  );
  await writeFile(
    join(dir, 'today.json'),
    JSON.stringify(
      inventoryList([
        { name: 'web-6c5b4d3f2-bbbbb', ip: '10.0.1.1', hash: '6c5b4d3f2' },
        { name: 'cart-4d3c2b9f8-ccccc', ip: '10.0.1.2', hash: '4d3c2b9f8' },
      ]),
    ),
  );
  await writeFile(
    join(dir, 'flows.jsonl'),
    '{"src":"shop/web-7d9f8b6c4-x2kqp","dst":"10.0.0.2","protocol":"TCP","port":8080,"count":5}\n' +
      '{"src":"shop/web-7d9f8b6c4-x2kqp","dst":"8.8.8.8","protocol":"UDP","port":53}\n',
  );
  await mkdtempPolicies();
});

async function mkdtempPolicies(): Promise<void> {
  await writeFile(
    join(dir, 'policies.yaml'),
    `apiVersion: nyx.tracenyx.io/v1alpha1
kind: NyxClusterConfig
metadata: {name: cluster}
spec: {defaultMode: allow}
`,
  );
}

afterAll(async () => {
  await redisServer.close();
  await rm(dir, { recursive: true, force: true });
});

describe('nyxctl flows annotate', () => {
  it('writes the identity of every pod end from the inventory of the window’s time', async () => {
    const r = await nyxctlWith(
      {},
      'flows',
      'annotate',
      '--inventory',
      join(dir, 'monday.json'),
      '--flows',
      join(dir, 'flows.jsonl'),
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      '{"src":"shop/web-7d9f8b6c4-x2kqp","dst":"shop/cart-5f7c9d8b7-9wz4d","protocol":"TCP","port":8080,"srcWorkload":"shop/web","dstWorkload":"shop/cart","srcLabels":{"app":"web"},"dstLabels":{"app":"cart"},"count":5}\n' +
        '{"src":"shop/web-7d9f8b6c4-x2kqp","dst":"8.8.8.8","protocol":"UDP","port":53,"srcWorkload":"shop/web","srcLabels":{"app":"web"}}\n',
    );
    expect(r.stderr).toBe(
      'flows annotate: 2 records; 3 pod ends annotated (1 given as a pod IP, written as <namespace>/<pod>)\n',
    );
    await writeFile(join(dir, 'annotated.jsonl'), r.stdout);

    // Replayed against today's inventory: verdicts resolve the gone pods and say how.
    const v = await nyxctlWith(
      {},
      'verdicts',
      '--policies',
      dir,
      '--inventory',
      join(dir, 'today.json'),
      '--flows',
      join(dir, 'annotated.jsonl'),
    );
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);
    const lines = v.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0].resolution).toEqual({
      src: {
        by: 'workload',
        text: 'pod shop/web-7d9f8b6c4-x2kqp is gone: evaluated as shop/web-6c5b4d3f2-bbbbb, a current pod of its workload shop/web',
      },
      dst: {
        by: 'workload',
        text: 'pod shop/cart-5f7c9d8b7-9wz4d is gone: evaluated as shop/cart-4d3c2b9f8-ccccc, a current pod of its workload shop/cart',
      },
    });
    expect(lines[1].verdict).toBe('allow');
  });

  it('refuses invalid input with file:line and prints nothing on stdout (exit 2)', async () => {
    await writeFile(
      join(dir, 'bad.jsonl'),
      '{"src":"shop/web-1","dst":"10.0.0.2","protocol":"TCP","port":80}\n{"src":"shop/web-1","dst":"10.0.0.2","protocol":"TCP","port":80,"srcWorkload":"other/web"}\n',
    );
    const r = await nyxctlWith(
      {},
      'flows',
      'annotate',
      '--inventory',
      join(dir, 'monday.json'),
      '--flows',
      join(dir, 'bad.jsonl'),
    );
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `${join(dir, 'bad.jsonl')}:2: "srcWorkload" "other/web" is not "shop/<workload>" (the workload of shop/web-1, in its namespace)\n`,
    );
  });

  it('verdicts still exits 2 for a pod that resolves by no rule', async () => {
    await writeFile(
      join(dir, 'gone.jsonl'),
      '{"src":"shop/web-7d9f8b6c4-x2kqp","dst":"shop/gone-7d9f8b6c4-x2kqp","protocol":"TCP","port":80,"dstWorkload":"shop/gone"}\n',
    );
    const v = await nyxctlWith(
      {},
      'verdicts',
      '--policies',
      dir,
      '--inventory',
      join(dir, 'today.json'),
      '--flows',
      join(dir, 'gone.jsonl'),
    );
    expect(v.code).toBe(2);
    expect(v.stdout).toBe('');
    expect(v.stderr).toContain(
      `${join(dir, 'gone.jsonl')}:1: dst: pod "shop/gone-7d9f8b6c4-x2kqp" is not in the inventory`,
    );
  });
});

describe('nyxctl flows export', () => {
  it('prints what the agents wrote to the flow store, identity fields included', async () => {
    const redis = new Redis(redisServer.url);
    const now = new Date();
    await writeFlows(redis, [
      {
        src: 'shop/web-7d9f8b6c4-x2kqp',
        dst: 'shop/cart-5f7c9d8b7-9wz4d',
        protocol: 'TCP',
        port: 8080,
        count: 3,
        lastSeen: now.toISOString(),
        srcWorkload: 'shop/web',
        srcLabels: { app: 'web' },
      },
    ]);
    redis.disconnect();
    const r = await nyxctlWith({ REDIS_URL: redisServer.url }, 'flows', 'export', '--hours', '2');
    expect(r.stderr).toMatch(/^flows export: 1 records from the last 2 hours of redis:\/\/127\.0\.0\.1:\d+/);
    expect(r.code).toBe(0);
    const t = now.toISOString();
    expect(r.stdout).toBe(
      `{"src":"shop/web-7d9f8b6c4-x2kqp","dst":"shop/cart-5f7c9d8b7-9wz4d","protocol":"TCP","port":8080,"srcWorkload":"shop/web","srcLabels":{"app":"web"},"count":3,"firstSeen":"${t}","lastSeen":"${t}"}\n`,
    );
  });

  it('--would-deny prints the findings the agents recorded, each with its deciding reason and node', async () => {
    const redis = new Redis(redisServer.url);
    const now = new Date();
    const finding = {
      src: 'shop/web-7d9f8b6c4-x2kqp',
      dst: '203.0.113.10',
      protocol: 'TCP' as const,
      port: 443,
      count: 2,
      lastSeen: now.toISOString(),
      srcWorkload: 'shop/web',
      wouldDeny: {
        point: 'egress' as const,
        band: 'application',
        object: 'NyxNetworkPolicy/shop/egress-audit',
        rule: 1,
        text: 'NyxNetworkPolicy/shop/egress-audit egress[1] Deny',
        source: 'namespaces/shop/egress.yaml:12',
      },
      node: 'worker-1',
    };
    // Twice: the second write adds up, as for flows.
    await writeWouldDeny(redis, [finding]);
    await writeWouldDeny(redis, [finding]);
    redis.disconnect();
    const r = await nyxctlWith(
      { REDIS_URL: redisServer.url },
      'flows',
      'export',
      '--would-deny',
      '--hours',
      '2',
    );
    expect(r.stderr).toMatch(
      /^flows export: 1 would-deny findings observed by the agents from the last 2 hours/,
    );
    expect(r.code).toBe(0);
    const t = now.toISOString();
    expect(r.stdout).toBe(
      `{"src":"shop/web-7d9f8b6c4-x2kqp","dst":"203.0.113.10","protocol":"TCP","port":443,"srcWorkload":"shop/web","count":4,"firstSeen":"${t}","lastSeen":"${t}","wouldDeny":{"point":"egress","band":"application","text":"NyxNetworkPolicy/shop/egress-audit egress[1] Deny","object":"NyxNetworkPolicy/shop/egress-audit","rule":1,"source":"namespaces/shop/egress.yaml:12"},"node":"worker-1"}\n`,
    );
    // The flows export is not mixed with the findings.
    const flows = await nyxctlWith({ REDIS_URL: redisServer.url }, 'flows', 'export', '--hours', '2');
    expect(flows.stdout).not.toContain('wouldDeny');
  });

  it('says so when the flow store cannot be reached (exit 1), without the password', async () => {
    const r = await nyxctlWith({ REDIS_URL: 'redis://user:s3cret@127.0.0.1:1' }, 'flows', 'export');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot reach the flow store at redis://127.0.0.1:1');
    expect(r.stderr).not.toContain('s3cret');
  });
});
