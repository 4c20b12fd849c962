// The real `nyx-bot` process while a large analysis runs: the analysis is off the event loop, so
// /healthz and deliveries are answered on time meanwhile and the job runs once (its BullMQ lock is
// renewed on time). A PR of thousands of policies against a 100,000-tuple window takes seconds.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, pullRequestPayload, sendWebhook, testAppPrivateKey } from '@nyx/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EXAMPLES,
  type Harness,
  openPull,
  requestsFor,
  runBotProcess,
  SECRET,
  startHarness,
} from './harness.js';

const POLICIES = 3000;
const TUPLES = 100_000;

const TARGETS = [
  ['cloudmart-storefront', 'storefront-api'],
  ['cloudmart-payments', 'cloudmart-payments'],
  ['cloudmart-analytics', 'analytics-worker'],
  ['monitoring', 'prometheus'],
] as const;

/** `POLICIES` new egress policies across the template's namespaces, each on its own port. */
function manyPolicies(): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < POLICIES; i++) {
    const [ns, app] = TARGETS[i % TARGETS.length] ?? TARGETS[0];
    out[`namespaces/${ns}/many-${i}.yaml`] = [
      'apiVersion: nyx.tracenyx.io/v1alpha1',
      'kind: NyxNetworkPolicy',
      'metadata:',
      `  name: many-${i}`,
      'spec:',
      '  podSelector:',
      '    matchLabels:',
      `      app: ${app}`,
      `  priority: ${200 + (i % 500)}`,
      '  egress:',
      `    - decision: ${i % 3 === 0 ? 'Deny' : 'Allow'}`,
      '      ports:',
      '        - protocol: TCP',
      `          port: ${1024 + i}`,
      '',
    ].join('\n');
  }
  return out;
}

/** `TUPLES` distinct tuples between the example inventory's pods and to the world. */
async function writeWindow(path: string): Promise<void> {
  const inventory = (await import(join(EXAMPLES, 'inventory.json'), { with: { type: 'json' } })).default as {
    items: Array<{
      kind: string;
      metadata: { name: string; namespace?: string };
      status?: { podIP?: string };
    }>;
  };
  const pods = inventory.items
    .filter((i) => i.kind === 'Pod' && i.status?.podIP)
    .map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
  const lines: string[] = [];
  const seen = '2026-11-20T00:00:00Z';
  for (let i = 0; i < TUPLES; i++) {
    const src = pods[i % pods.length];
    const n = Math.floor(i / pods.length);
    const record =
      i % 2 === 0
        ? { src, dst: pods[(i * 7 + 3) % pods.length], protocol: 'TCP', port: 1024 + (n % 4000) }
        : { src, dst: `203.0.${(n >> 8) & 255}.${n & 255}`, protocol: 'TCP', port: 443 };
    lines.push(JSON.stringify({ ...record, count: 1, firstSeen: seen, lastSeen: seen }));
  }
  await writeFile(path, `${lines.join('\n')}\n`);
}

let h: Harness;
let dir: string;
beforeAll(async () => {
  h = await startHarness();
  dir = await mkdtemp(join(tmpdir(), 'nyx-analysis-thread-'));
  await writeWindow(join(dir, 'flows.jsonl'));
}, 60_000);
afterAll(async () => {
  await h?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a large analysis in the nyx-bot process', () => {
  it('/healthz and a delivery are answered within a second while it runs; the job runs once', async () => {
    const port = await freePort();
    const p = runBotProcess({
      APP_ID: '1',
      PRIVATE_KEY: testAppPrivateKey(),
      WEBHOOK_SECRET: SECRET,
      REDIS_URL: h.redis.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      GHE_HOST: h.github.host,
      GHE_PROTOCOL: 'http',
      NYX_FLOWS: join(dir, 'flows.jsonl'),
      NYX_INVENTORY: join(EXAMPLES, 'inventory.json'),
      NYX_QUEUE: 'analysis-thread',
      LOG_LEVEL: 'warn',
    });
    const url = `http://127.0.0.1:${port}`;
    try {
      await p.printed('nyx-bot: listening');
      const large = await openPull(h, manyPolicies());
      const small = await openPull(h, {
        'namespaces/cloudmart-storefront/one-more.yaml':
          manyPolicies()['namespaces/cloudmart-storefront/many-0.yaml']!,
      });
      const started = Date.now();
      const opened = await sendWebhook({
        url: `${url}/api/github/webhooks`,
        secret: SECRET,
        event: 'pull_request',
        payload: pullRequestPayload('opened', large),
      });
      expect(opened.status).toBe(200);

      // Until the large PR's checks are written: /healthz every 100 ms, and one delivery (the small
      // PR) once the large PR's trees have been read, i.e. while its analysis runs.
      const health: number[] = [];
      let delivery: number | undefined;
      const analysing = (): boolean =>
        h.github.find('GET', new RegExp(`/tarball/${large.headSha}$`)).length > 0 &&
        requestsFor(h, large).ownership.length === 0;
      while (requestsFor(h, large).ownership.length === 0) {
        if (Date.now() - started > 240_000) throw new Error(`no verdict after 240 s:\n${p.output()}`);
        const t0 = Date.now();
        const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(60_000) });
        health.push(Date.now() - t0);
        expect(r.status).toBe(200);
        if (delivery === undefined && analysing()) {
          const d0 = Date.now();
          const r2 = await sendWebhook({
            url: `${url}/api/github/webhooks`,
            secret: SECRET,
            event: 'pull_request',
            payload: pullRequestPayload('opened', small),
          });
          delivery = Date.now() - d0;
          expect(r2.status).toBe(200);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const total = Date.now() - started;
      const worst = Math.max(...health);
      process.stdout.write(
        `large analysis: ${total} ms to the verdict, ${health.length} /healthz probes, worst ${worst} ms, delivery ${delivery} ms\n`,
      );
      // The analysis took seconds (it is large enough to have mattered) …
      expect(total).toBeGreaterThan(2000);
      expect(delivery).toBeDefined();
      // … and the event loop answered meanwhile.
      expect(worst).toBeLessThan(1000);
      expect(delivery).toBeLessThan(1000);

      await expect.poll(() => requestsFor(h, small).ownership.length, { timeout: 60_000 }).toBe(1);
      // Exactly once: one comment, one check run of each kind for the large PR.
      const done = requestsFor(h, large);
      expect(done.commentPosts).toHaveLength(1);
      expect(done.policy).toHaveLength(1);
      expect(done.ownership).toHaveLength(1);
      expect(done.policy[0]?.output.title).not.toMatch(/not readable/);
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  }, 300_000);
});
