// The Redis flow store: what the node agents write (observed flows) and the reconciler publishes
// (the inventory), and what the bot reads as its flow window. This file defines the shape; keep it
// stable and extend it only by adding keys or optional JSON fields.
//
// Shape (version 1):
//
//   nyx:flows:v1:<yyyy-mm-ddThh>   HASH, one per UTC hour of observation (the record's lastSeen,
//                                  else the write time), expiring `ttlSeconds` (default 8 days)
//                                  after its last write.
//       field: the canonical tuple, a JSON array `["<src>","<dst>","<protocol>",<port>,"<serverName>"]`
//              (src/dst as in SPEC §7 flows: `<ns>/<pod>` or an IP; serverName `""` when unknown)
//       value: JSON `{"count":<n>,"firstSeen":"<RFC 3339 UTC ms>","lastSeen":"<RFC 3339 UTC ms>"}`
//              plus, when the writer knew them, the identity fields of SPEC section 7
//              (`srcWorkload`, `dstWorkload`: `"<ns>/<workload>"`; `srcLabels`, `dstLabels`: objects
//              of label strings), merged atomically by a Lua script: counts add up, firstSeen is
//              the minimum and lastSeen the maximum (times are normalised to `Date#toISOString()`
//              so they compare as strings), an identity field written replaces the stored one (the
//              latest observation of the pod wins), fields not written are kept. Values without
//              identity fields (written before they existed) read as before: the ends resolve
//              directly or by the pod name only.
//   nyx:inventory:v1               STRING, the inventory JSON of SPEC §7 (the `v1 List` that
//                                  `kubectl get namespaces,pods,nodes -A -o json` prints), replaced
//                                  whole by the reconciler.
//   nyx:inventory:v1:updated       STRING, RFC 3339 time of the last inventory publication.
//
// A window of N hours is the N hourly buckets ending with the current hour; a tuple seen in several
// hours appears in several buckets and is aggregated again by `FlowWindow`.
import { type FlowRecord, FlowWindow, flowIdentityProblem, type Protocol } from '@nyx/core';

export const FLOW_BUCKET_PREFIX = 'nyx:flows:v1:';
export const INVENTORY_KEY = 'nyx:inventory:v1';
export const INVENTORY_UPDATED_KEY = 'nyx:inventory:v1:updated';
export const DEFAULT_FLOW_TTL_SECONDS = 8 * 24 * 3600;

/** The slice of an ioredis client the store needs (an ioredis `Redis` satisfies it). */
export interface FlowStoreRedis {
  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
  hscan(
    key: string,
    cursor: string | number,
    countToken: 'COUNT',
    count: number,
  ): Promise<[string, string[]]>;
  get(key: string): Promise<string | null>;
  mset(...args: string[]): Promise<unknown>;
}

/** `nyx:flows:v1:<yyyy-mm-ddThh>` for the UTC hour containing `time`. */
export function flowBucketKey(time: Date): string {
  return `${FLOW_BUCKET_PREFIX}${time.toISOString().slice(0, 13)}`;
}

/** The canonical hash field of a record's tuple. */
export function flowTupleField(
  record: Pick<FlowRecord, 'src' | 'dst' | 'protocol' | 'port' | 'serverName'>,
): string {
  return JSON.stringify([record.src, record.dst, record.protocol, record.port, record.serverName ?? '']);
}

// KEYS[1] = bucket; ARGV[1] = ttl; then quintuples field, count, firstSeen, lastSeen, identity
// (a JSON object of the identity fields, `{}` when none). Fields of the stored value that the
// script does not know are kept.
const MERGE_SCRIPT = `
local ttl = tonumber(ARGV[1])
for i = 2, #ARGV, 5 do
  local field, count, first, last = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3]
  local old = redis.call('HGET', KEYS[1], field)
  local v = {}
  if old then
    v = cjson.decode(old)
    count = count + (tonumber(v.count) or 0)
    if v.firstSeen and v.firstSeen < first then first = v.firstSeen end
    if v.lastSeen and v.lastSeen > last then last = v.lastSeen end
  end
  v.count = count
  v.firstSeen = first
  v.lastSeen = last
  if ARGV[i + 4] ~= '{}' then
    for k, x in pairs(cjson.decode(ARGV[i + 4])) do v[k] = x end
  end
  redis.call('HSET', KEYS[1], field, cjson.encode(v))
end
redis.call('EXPIRE', KEYS[1], ttl)
return 1
`;

const IDENTITY_FIELDS = ['srcWorkload', 'dstWorkload', 'srcLabels', 'dstLabels'] as const;

/** The identity fields of a record as the JSON object the merge script takes. */
function identityJson(record: FlowRecord): string {
  const identity: Record<string, unknown> = {};
  for (const f of IDENTITY_FIELDS) if (record[f] !== undefined) identity[f] = record[f];
  return JSON.stringify(identity);
}

/**
 * Merges observed flow records into their hourly buckets (agents call this). Records without times
 * are stamped with `now`. The identity fields of a record (SPEC section 7) are stored with its
 * tuple, so that a window read later resolves pods renamed since.
 */
export async function writeFlows(
  redis: FlowStoreRedis,
  records: Iterable<FlowRecord>,
  options: { now?: Date; ttlSeconds?: number } = {},
): Promise<void> {
  const now = options.now ?? new Date();
  const ttl = options.ttlSeconds ?? DEFAULT_FLOW_TTL_SECONDS;
  const buckets = new Map<string, Array<string | number>>();
  for (const r of records) {
    const last = new Date(r.lastSeen ?? r.firstSeen ?? now.toISOString());
    const first = new Date(r.firstSeen ?? r.lastSeen ?? now.toISOString());
    if (Number.isNaN(last.getTime()) || Number.isNaN(first.getTime())) {
      throw new Error(`flow ${flowTupleField(r)}: firstSeen/lastSeen must be RFC 3339 times`);
    }
    const key = flowBucketKey(last);
    let args = buckets.get(key);
    if (!args) {
      args = [];
      buckets.set(key, args);
    }
    args.push(flowTupleField(r), r.count ?? 1, first.toISOString(), last.toISOString(), identityJson(r));
  }
  for (const [key, args] of buckets) {
    // Batches keep each script call short (Redis is single-threaded).
    for (let i = 0; i < args.length; i += 5 * 500) {
      await redis.eval(MERGE_SCRIPT, 1, key, ttl, ...args.slice(i, i + 5 * 500));
    }
  }
}

/**
 * Decodes one hash entry back into a flow record; undefined for entries that are not well formed.
 * Identity fields that are not well formed (`flowIdentityProblem`) are dropped: the tuple still
 * counts, its ends resolve without them.
 */
export function decodeFlowEntry(field: string, value: string): FlowRecord | undefined {
  try {
    const tuple = JSON.parse(field) as unknown;
    const v = JSON.parse(value) as Record<string, unknown>;
    if (!Array.isArray(tuple) || tuple.length !== 5) return undefined;
    const [src, dst, protocol, port, serverName] = tuple as [unknown, unknown, unknown, unknown, unknown];
    if (typeof src !== 'string' || typeof dst !== 'string' || typeof port !== 'number') return undefined;
    if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') return undefined;
    const record: FlowRecord = { src, dst, protocol: protocol as Protocol, port };
    if (typeof serverName === 'string' && serverName !== '') record.serverName = serverName;
    if (typeof v.count === 'number') record.count = v.count;
    if (typeof v.firstSeen === 'string') record.firstSeen = v.firstSeen;
    if (typeof v.lastSeen === 'string') record.lastSeen = v.lastSeen;
    const identity: Record<string, unknown> = { src, dst };
    for (const f of IDENTITY_FIELDS) if (v[f] !== undefined) identity[f] = v[f];
    if (Object.keys(identity).length > 2 && flowIdentityProblem(identity) === undefined)
      Object.assign(record, identity);
    return record;
  } catch {
    return undefined;
  }
}

/**
 * Reads the last `hours` hourly buckets (ending with the hour of `now`) into a `FlowWindow` (the
 * bot calls this). Malformed entries are counted in `skipped`, not fatal.
 */
export async function readFlowWindowFromRedis(
  redis: FlowStoreRedis,
  options: { hours: number; now?: Date },
): Promise<{ window: FlowWindow; buckets: number; skipped: number }> {
  const window = new FlowWindow();
  let skipped = 0;
  const hours = Math.max(1, Math.floor(options.hours));
  for await (const record of readFlowRecordsFromRedis(redis, { ...options, onSkip: () => skipped++ })) {
    window.add(record);
  }
  return { window, buckets: hours, skipped };
}

/**
 * The records of the last `hours` hourly buckets (ending with the hour of `now`), oldest bucket
 * first, one per stored tuple and hour, identity fields included: what `nyxctl flows export`
 * prints. Malformed entries are passed to `onSkip` and left out.
 */
export async function* readFlowRecordsFromRedis(
  redis: FlowStoreRedis,
  options: { hours: number; now?: Date; onSkip?: (field: string) => void },
): AsyncGenerator<FlowRecord> {
  const now = options.now ?? new Date();
  const hours = Math.max(1, Math.floor(options.hours));
  for (let h = hours - 1; h >= 0; h--) {
    const key = flowBucketKey(new Date(now.getTime() - h * 3600_000));
    let cursor = '0';
    do {
      const [next, entries] = await redis.hscan(key, cursor, 'COUNT', 1000);
      cursor = next;
      for (let i = 0; i + 1 < entries.length; i += 2) {
        const record = decodeFlowEntry(entries[i] as string, entries[i + 1] as string);
        if (record) yield record;
        else options.onSkip?.(entries[i] as string);
      }
    } while (cursor !== '0');
  }
}

/** Replaces the published inventory (the reconciler calls this). */
export async function publishInventory(
  redis: FlowStoreRedis,
  inventory: unknown,
  now: Date = new Date(),
): Promise<void> {
  await redis.mset(INVENTORY_KEY, JSON.stringify(inventory), INVENTORY_UPDATED_KEY, now.toISOString());
}

/** The published inventory JSON, or undefined when none was published yet. */
export async function readPublishedInventory(
  redis: FlowStoreRedis,
): Promise<{ json: unknown; updated?: string } | undefined> {
  const [text, updated] = [await redis.get(INVENTORY_KEY), await redis.get(INVENTORY_UPDATED_KEY)];
  if (text === null) return undefined;
  return updated === null
    ? { json: JSON.parse(text) as unknown }
    : { json: JSON.parse(text) as unknown, updated };
}
