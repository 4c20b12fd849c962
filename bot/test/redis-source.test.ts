// The bot reading its flow window and inventory from the Redis flow store (NYX_FLOWS=redis,
// NYX_INVENTORY=redis): what agents and the reconciler write is what the impact is computed on.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type FlowRecord, parseFlowLine } from '@nyx/core';
import { publishInventory, writeFlows } from '@nyx/io';
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
});
