// The bot reading its flow window and inventory from the Redis flow store (NYX_FLOWS=redis,
// NYX_INVENTORY=redis): what agents and the reconciler write is what the impact is computed on.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type FlowRecord, parseFlowLine } from '@nyx/core';
import { publishInventory, writeFlows, writeWouldDeny } from '@nyx/io';
import { readDirFiles } from '@nyx/test';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyse, EXAMPLES, type Harness, openPull, requestsFor, startHarness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ NYX_FLOWS: 'redis', NYX_INVENTORY: 'redis', NYX_CACHE_SECONDS: '0' });
});

afterAll(async () => {
  await h?.close();
});

describe('flows and inventory from Redis', () => {
  it('says the window is empty before agents wrote anything, then computes the impact on what they wrote', async () => {
    const change = await readDirFiles(join(EXAMPLES, 'change-head'));
    const before = await openPull(h, change, { replace: true });
    await analyse(h, before);
    expect(requestsFor(h, before).commentPosts[0]).toContain(
      'No observed flows to check this change against',
    );

    const redis = new Redis(h.redis.url);
    try {
      await publishInventory(redis, JSON.parse(await readFile(join(EXAMPLES, 'inventory.json'), 'utf8')));
      // The example flows, moved into the last day so they fall inside the default 7-day window.
      const lines = (await readFile(join(EXAMPLES, 'flows.jsonl'), 'utf8')).split('\n');
      const records: FlowRecord[] = [];
      const shift = Date.now() - Date.parse('2026-11-23T00:00:00Z');
      const move = (t?: string): string | undefined =>
        t ? new Date(Date.parse(t) + shift).toISOString() : undefined;
      lines.forEach((line, i) => {
        const r = parseFlowLine(line, i + 1, 'flows.jsonl');
        if (r.ok && r.record) {
          const firstSeen = move(r.record.firstSeen);
          const lastSeen = move(r.record.lastSeen);
          records.push({
            ...r.record,
            ...(firstSeen ? { firstSeen } : {}),
            ...(lastSeen ? { lastSeen } : {}),
          });
        }
      });
      await writeFlows(redis, records);
    } finally {
      redis.disconnect();
    }
    const after = await openPull(h, change, { replace: true });
    await analyse(h, after);
    const r = requestsFor(h, after);
    expect(r.policy[0]?.output.title).toBe('2 observed flows would be denied');
    expect(r.commentPosts[0]).toContain('**2 observed flows would be denied**');
  });

  it("shows the agents' kernel would-deny findings, labelled as observed, those of objects the change touches first", async () => {
    const change = await readDirFiles(join(EXAMPLES, 'change-head'));
    const before = await openPull(h, change, { replace: true });
    await analyse(h, before);
    expect(requestsFor(h, before).commentPosts[0]).toContain(
      'The agents recorded no would-deny finding in the last 168 hours',
    );
    const redis = new Redis(h.redis.url);
    const lastSeen = new Date().toISOString();
    try {
      await writeWouldDeny(redis, [
        {
          src: 'cloudmart-storefront/checkout-5d8f7b9c6d-k2x9p',
          dst: 'cloudmart-storefront/storefront-api-7c9d8f6b5-q8w2e',
          protocol: 'TCP',
          port: 8080,
          count: 4,
          lastSeen,
          wouldDeny: {
            point: 'ingress',
            band: 'isolation',
            object: 'NyxNetworkPolicy/cloudmart-storefront/api-ingress',
            text: 'isolated: no rule matched',
            source: 'namespaces/cloudmart-storefront/api-ingress.yaml:13',
          },
          node: 'worker-2',
        },
        {
          src: 'monitoring/prometheus-0',
          dst: '10.0.9.9',
          protocol: 'TCP',
          port: 9100,
          count: 7,
          lastSeen,
          wouldDeny: {
            point: 'egress',
            band: 'default',
            object: 'NyxClusterConfig/cluster',
            text: 'default: deny',
          },
          node: 'worker-1',
        },
      ]);
    } finally {
      redis.disconnect();
    }
    const after = await openPull(h, change, { replace: true });
    await analyse(h, after);
    const comment = requestsFor(h, after).commentPosts[0] ?? '';
    expect(comment).toContain('Would-deny findings observed by the agents (kernel, last 168 h)');
    expect(comment).toContain(
      '| ingress: isolated: no rule matched at namespaces/cloudmart-storefront/api-ingress.yaml:13 | cloudmart-storefront/checkout-5d8f7b9c6d-k2x9p → cloudmart-storefront/storefront-api-7c9d8f6b5-q8w2e | TCP/8080 | 4 |',
    );
    expect(comment).toContain(
      'Other objects with findings: NyxClusterConfig/cluster (7 connections, 1 flow).',
    );
  });
});
