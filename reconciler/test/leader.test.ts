// Two `nyx-reconciler` processes (the real bin) with leader election on a Lease: only the leader
// writes; when it is killed (SIGKILL, no release) the follower takes over within the lease duration
// and carries on (push webhooks, drift), and the audit log shows no write by two replicas at once.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readAuditLog, sourceProcessArgs } from '@nyx/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_CONFIG, nnp, startWorld, WEBHOOK_SECRET, type World, waitFor } from './world.js';

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../src/main.ts');
const LEASE_SECONDS = 3;

interface Replica {
  name: string;
  child: ChildProcess;
  url: string;
  output: () => string;
}

describe('reconciler: leader election', () => {
  let w: World;
  const replicas: Replica[] = [];

  const start = (name: string): Promise<Replica> => {
    const child = spawn(process.execPath, sourceProcessArgs(MAIN), {
      env: {
        ...process.env,
        NYX_GIT_URL: w.remote,
        KUBECONFIG: w.reconcilerKubeconfig,
        REDIS_URL: w.redis.url,
        PORT: '0',
        NYX_LISTEN_ADDRESS: '127.0.0.1',
        NYX_STATE_DIR: join(w.dir, name),
        NYX_GIT_POLL_INTERVAL: '3600',
        NYX_WEBHOOK_SECRET: WEBHOOK_SECRET,
        NYX_LEASE_DURATION: String(LEASE_SECONDS),
        POD_NAME: name,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    return waitFor(
      `${name} listening`,
      () => {
        const m = /nyx-reconciler: listening on (http:\/\/\S+)/.exec(out);
        return m ? { name, child, url: m[1]!, output: () => out } : undefined;
      },
      60_000,
    ).then((r) => {
      replicas.push(r);
      return r;
    });
  };
  const status = async (r: Replica): Promise<{ leader: boolean; revision?: string }> =>
    (await (await fetch(`${r.url}/status`)).json()) as { leader: boolean; revision?: string };
  const writesBy = async (): Promise<Map<string, number[]>> => {
    const by = new Map<string, number[]>();
    for (const e of await readAuditLog(w.api.auditLogPath)) {
      if (!['create', 'update', 'patch', 'delete'].includes(e.verb)) continue;
      if (
        !['nyxnetworkpolicies', 'nyxclusterconfigs', 'nyxclusternetworkpolicies', 'networkpolicies'].includes(
          e.objectRef?.resource ?? '',
        )
      )
        continue;
      const agent = /nyx-reconciler\/(\S+)/.exec(e.userAgent ?? '')?.[1];
      if (!agent) continue;
      by.set(agent, [...(by.get(agent) ?? []), Date.parse(e.requestReceivedTimestamp)]);
    }
    return by;
  };

  beforeAll(async () => {
    w = await startWorld();
    await w.kubectl(['create', 'namespace', 'shop']);
    await w.commitAndPush({ 'cluster/config.yaml': CLUSTER_CONFIG, 'namespaces/shop/a.yaml': nnp('a', 200) });
  });
  afterAll(async () => {
    for (const r of replicas) r.child.kill('SIGKILL');
    await w?.close();
  });

  it('one leader applies; the follower takes over within the lease duration after the leader is killed', async () => {
    const [one, two] = await Promise.all([start('replica-1'), start('replica-2')]);
    const leader = await waitFor('a leader', async () => {
      const [s1, s2] = await Promise.all([status(one), status(two)]);
      if (s1.leader && s2.leader) throw new Error('two leaders');
      return s1.leader && s1.revision ? one : s2.leader && s2.revision ? two : undefined;
    });
    const follower = leader === one ? two : one;
    expect((await status(follower)).leader).toBe(false);
    // Both are ready: the follower stands by.
    expect((await fetch(`${follower.url}/readyz`)).status).toBe(200);
    await waitFor('applied', async () =>
      (await w.kubectl(['get', 'nnp', '-n', 'shop', '-o', 'name'])).includes('/a'),
    );
    // A push webhook that reaches the follower (the Service picks either) is relayed to the leader.
    const relayed = await w.commitAndPush({ 'namespaces/shop/relayed.yaml': nnp('relayed', 250) });
    const relayBody = JSON.stringify({ ref: 'refs/heads/main', after: relayed });
    const relaySig = `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(relayBody).digest('hex')}`;
    const relayRes = await fetch(`${follower.url}/hooks/push`, {
      method: 'POST',
      body: relayBody,
      headers: { 'x-hub-signature-256': relaySig },
    });
    expect(relayRes.status).toBe(202);
    await waitFor('relayed push applied by the leader', async () =>
      (await status(leader)).revision === relayed ? true : undefined,
    );
    expect((await status(follower)).revision).toBeUndefined();

    const killedAt = Date.now();
    leader.child.kill('SIGKILL');
    await waitFor('follower leads', async () => ((await status(follower)).leader ? true : undefined), 30_000);
    const takeover = Date.now() - killedAt;
    // Takeover ≤ lease duration + two polls (the retry period is duration / 5).
    expect(takeover).toBeLessThan(LEASE_SECONDS * 1000 + 2 * (LEASE_SECONDS * 200) + 1000);

    // The new leader carries on: a push (webhook) and a drift.
    const sha = await w.commitAndPush({ 'namespaces/shop/b.yaml': nnp('b', 300) });
    const body = JSON.stringify({ ref: 'refs/heads/main', after: sha });
    const sig = `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex')}`;
    await fetch(`${follower.url}/hooks/push`, {
      method: 'POST',
      body,
      headers: { 'x-hub-signature-256': sig },
    });
    await waitFor('pushed revision applied', async () =>
      (await status(follower)).revision === sha ? true : undefined,
    );
    await w.kubectl(['patch', 'nnp', '-n', 'shop', 'a', '--type=merge', '-p', '{"spec":{"priority":333}}']);
    await waitFor('drift reverted by the new leader', async () =>
      (await w.kubectl(['get', 'nnp', '-n', 'shop', 'a', '-o', 'jsonpath={.spec.priority}'])) === '200'
        ? true
        : undefined,
    );

    // No double apply: the follower wrote nothing before it led, the dead leader nothing after.
    const writes = await waitFor('audit events', async () => {
      const by = await writesBy();
      return by.get(follower.name)?.length ? by : undefined;
    });
    const followerWrites = writes.get(follower.name) ?? [];
    const leaderWrites = writes.get(leader.name) ?? [];
    expect(leaderWrites.length).toBeGreaterThan(0);
    expect(Math.min(...followerWrites)).toBeGreaterThan(killedAt - 1000);
    expect(Math.max(...leaderWrites)).toBeLessThan(killedAt + 1000);
    console.log(`leader election: takeover ${takeover} ms after SIGKILL (lease ${LEASE_SECONDS} s)`);
  });
});
