// The Redis flow store against a real redis-server: what agents write is what the bot reads.
import { type RedisServer, startRedis } from '@nyx/test';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  flowBucketKey,
  INVENTORY_KEY,
  publishInventory,
  readFlowRecordsFromRedis,
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

describe('flow store: identity fields (SPEC section 7, flow endpoints outlive their pods)', () => {
  const now = new Date('2026-11-24T10:30:00Z');
  const field = '["shop/web-7d9f8b6c4-x2kqp","shop/db-0","TCP",5432,""]';

  it('keeps srcWorkload/dstWorkload/srcLabels/dstLabels with each tuple; the latest write wins', async () => {
    await writeFlows(
      redis,
      [
        {
          src: 'shop/web-7d9f8b6c4-x2kqp',
          dst: 'shop/db-0',
          protocol: 'TCP',
          port: 5432,
          count: 2,
          lastSeen: '2026-11-24T10:01:00Z',
          srcWorkload: 'shop/web',
          srcLabels: { app: 'web' },
          dstWorkload: 'shop/db',
          dstLabels: { app: 'db', role: 'primary' },
        },
      ],
      { now },
    );
    // A later observation of the same tuple after the pod was relabelled (and one without identity).
    await writeFlows(
      redis,
      [
        {
          src: 'shop/web-7d9f8b6c4-x2kqp',
          dst: 'shop/db-0',
          protocol: 'TCP',
          port: 5432,
          lastSeen: '2026-11-24T10:02:00Z',
          srcLabels: { app: 'web', tier: 'front' },
        },
        {
          src: 'shop/web-7d9f8b6c4-x2kqp',
          dst: 'shop/db-0',
          protocol: 'TCP',
          port: 5432,
          lastSeen: '2026-11-24T10:03:00Z',
        },
      ],
      { now },
    );
    const stored = JSON.parse((await redis.hget(flowBucketKey(now), field)) ?? 'null');
    expect(stored).toMatchObject({
      count: 4,
      srcWorkload: 'shop/web',
      srcLabels: { app: 'web', tier: 'front' },
      dstWorkload: 'shop/db',
      dstLabels: { app: 'db', role: 'primary' },
    });
    const { window } = await readFlowWindowFromRedis(redis, { hours: 1, now });
    expect([...window.tuples()]).toEqual([
      {
        src: 'shop/web-7d9f8b6c4-x2kqp',
        dst: 'shop/db-0',
        protocol: 'TCP',
        port: 5432,
        srcWorkload: 'shop/web',
        dstWorkload: 'shop/db',
        srcLabels: { app: 'web', tier: 'front' },
        dstLabels: { app: 'db', role: 'primary' },
        count: 4,
        records: 1,
        firstSeen: '2026-11-24T10:01:00.000Z',
        lastSeen: '2026-11-24T10:03:00.000Z',
      },
    ]);
    const exported = [];
    for await (const r of readFlowRecordsFromRedis(redis, { hours: 1, now })) exported.push(r);
    expect(exported).toEqual([
      {
        src: 'shop/web-7d9f8b6c4-x2kqp',
        dst: 'shop/db-0',
        protocol: 'TCP',
        port: 5432,
        count: 4,
        firstSeen: '2026-11-24T10:01:00.000Z',
        lastSeen: '2026-11-24T10:03:00.000Z',
        srcWorkload: 'shop/web',
        dstWorkload: 'shop/db',
        srcLabels: { app: 'web', tier: 'front' },
        dstLabels: { app: 'db', role: 'primary' },
      },
    ]);
  });

  it('reads v1 values written before identity fields existed, and merges new writes into them', async () => {
    const when = new Date('2026-11-25T05:00:00Z');
    const key = flowBucketKey(when);
    const v1 = '{"count":3,"firstSeen":"2026-11-25T05:00:00.000Z","lastSeen":"2026-11-25T05:10:00.000Z"}';
    await redis.hset(key, field, v1);
    const before = await readFlowWindowFromRedis(redis, { hours: 1, now: when });
    expect([...before.window.tuples()]).toEqual([
      {
        src: 'shop/web-7d9f8b6c4-x2kqp',
        dst: 'shop/db-0',
        protocol: 'TCP',
        port: 5432,
        count: 3,
        records: 1,
        firstSeen: '2026-11-25T05:00:00.000Z',
        lastSeen: '2026-11-25T05:10:00.000Z',
      },
    ]);
    await writeFlows(
      redis,
      [
        {
          src: 'shop/web-7d9f8b6c4-x2kqp',
          dst: 'shop/db-0',
          protocol: 'TCP',
          port: 5432,
          lastSeen: '2026-11-25T05:20:00Z',
          srcWorkload: 'shop/web',
        },
      ],
      { now: when },
    );
    expect(JSON.parse((await redis.hget(key, field)) ?? 'null')).toEqual({
      count: 4,
      firstSeen: '2026-11-25T05:00:00.000Z',
      lastSeen: '2026-11-25T05:20:00.000Z',
      srcWorkload: 'shop/web',
    });
    // A stored identity that is not well formed is dropped; the tuple still counts.
    await redis.hset(
      key,
      '["shop/a-1","shop/b-1","TCP",80,""]',
      '{"count":1,"srcWorkload":"other/a","dstLabels":[1]}',
    );
    const after = await readFlowWindowFromRedis(redis, { hours: 1, now: when });
    const odd = [...after.window.tuples()].find((t) => t.src === 'shop/a-1');
    expect(odd).toEqual({
      src: 'shop/a-1',
      dst: 'shop/b-1',
      protocol: 'TCP',
      port: 80,
      count: 1,
      records: 1,
    });
  });
});
