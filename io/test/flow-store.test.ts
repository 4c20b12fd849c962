// The Redis flow store against a real redis-server: what agents write is what the bot reads.
import { type RedisServer, startRedis } from '@nyx/test';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  flowBucketKey,
  INVENTORY_KEY,
  publishInventory,
  readFlowWindowFromRedis,
  readPublishedInventory,
  writeFlows,
} from '../src/flow-store.js';

let server: RedisServer;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});

afterAll(async () => {
  redis.disconnect();
  await server.close();
});

describe('flow store', () => {
  const now = new Date('2026-11-23T10:30:00Z');

  it('merges counts and first/last seen atomically per hourly bucket, with a TTL', async () => {
    await writeFlows(
      redis,
      [
        {
          src: 'shop/web-1',
          dst: 'shop/db-0',
          protocol: 'TCP',
          port: 5432,
          count: 3,
          firstSeen: '2026-11-23T10:01:00Z',
          lastSeen: '2026-11-23T10:05:00Z',
        },
        {
          src: 'shop/web-1',
          dst: '52.1.2.3',
          protocol: 'TCP',
          port: 443,
          serverName: 'api.stripe.com',
          lastSeen: '2026-11-23T09:10:00Z',
        },
      ],
      { now, ttlSeconds: 3600 },
    );
    // A second agent reports the same tuple in the same hour.
    await writeFlows(
      redis,
      [
        {
          src: 'shop/web-1',
          dst: 'shop/db-0',
          protocol: 'TCP',
          port: 5432,
          count: 2,
          firstSeen: '2026-11-23T10:00:30Z',
          lastSeen: '2026-11-23T10:20:00Z',
        },
      ],
      { now },
    );
    const key = flowBucketKey(now);
    expect(key).toBe('nyx:flows:v1:2026-11-23T10');
    const value = JSON.parse((await redis.hget(key, '["shop/web-1","shop/db-0","TCP",5432,""]')) ?? 'null');
    expect(value).toEqual({
      count: 5,
      firstSeen: '2026-11-23T10:00:30.000Z',
      lastSeen: '2026-11-23T10:20:00.000Z',
    });
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(3600);

    const { window } = await readFlowWindowFromRedis(redis, { hours: 2, now });
    expect(window.distinct).toBe(2);
    expect(window.connections).toBe(6);
    const tuples = [...window.tuples()].sort((a, b) => a.port - b.port);
    expect(tuples[0]).toMatchObject({ dst: '52.1.2.3', port: 443, serverName: 'api.stripe.com', count: 1 });
    expect(tuples[1]).toMatchObject({ dst: 'shop/db-0', count: 5, firstSeen: '2026-11-23T10:00:30.000Z' });

    // A one-hour window ends with the current hour and leaves the 09:00 bucket out.
    const lastHour = await readFlowWindowFromRedis(redis, { hours: 1, now });
    expect(lastHour.window.distinct).toBe(1);
  });

  it('skips malformed entries instead of failing the whole window', async () => {
    const when = new Date('2026-11-22T01:00:00Z');
    await redis.hset(flowBucketKey(when), 'not json', '{}', '["a","b","TCP",80,""]', '{"count":4}');
    const { window, skipped } = await readFlowWindowFromRedis(redis, { hours: 1, now: when });
    expect(skipped).toBe(1);
    expect(window.connections).toBe(4);
  });

  it('publishes and reads back the inventory', async () => {
    expect(await readPublishedInventory(redis)).toBeUndefined();
    const list = { apiVersion: 'v1', kind: 'List', items: [] };
    await publishInventory(redis, list, now);
    expect(await redis.get(INVENTORY_KEY)).toBe(JSON.stringify(list));
    expect(await readPublishedInventory(redis)).toEqual({ json: list, updated: now.toISOString() });
  });
});
