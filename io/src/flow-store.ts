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
//   nyx:would-deny:v1:<yyyy-mm-ddThh>
//                                  HASH, the would-deny findings the agents' kernels recorded (SPEC
//                                  section 3: flows an audit object would deny), bucketed and
//                                  expiring like the flows (the agents write both with the same TTL).
//       field: the flow tuple and the deciding reason, a JSON array
//              `["<src>","<dst>","<protocol>",<port>,"<serverName>","<point>","<band>","<object>",<rule>]`
//              (`object` `""` and `rule` null when the reason has none, e.g. `default: deny`)
//       value: JSON as for flows (count, firstSeen, lastSeen, identity fields, merged the same way)
//              plus `text` (the engine's reason text), `source` (`file:line`), `ruleName` (upstream
//              admin rules) when known, and `node` (the agent that observed it).
//   nyx:inventory:v1               STRING, the inventory JSON of SPEC §7 (the `v1 List` that
//                                  `kubectl get namespaces,pods,nodes -A -o json` prints), replaced
//                                  whole by the reconciler.
//   nyx:inventory:v1:updated       STRING, RFC 3339 time of the last inventory publication.
//
// A window of N hours is the N hourly buckets ending with the current hour; a tuple seen in several
// hours appears in several buckets and is aggregated again by `FlowWindow`.
import { type FlowRecord, FlowWindow, flowIdentityProblem, type Protocol } from '@nyx/core';

export const FLOW_BUCKET_PREFIX = 'nyx:flows:v1:';
export const WOULD_DENY_BUCKET_PREFIX = 'nyx:would-deny:v1:';
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

/** `nyx:would-deny:v1:<yyyy-mm-ddThh>` for the UTC hour containing `time`. */
export function wouldDenyBucketKey(time: Date): string {
  return `${WOULD_DENY_BUCKET_PREFIX}${time.toISOString().slice(0, 13)}`;
}

/** The deciding reason of a would-deny finding, as the engine gives it (a `Reason`'s fields). */
export interface WouldDenyReason {
  point: 'egress' | 'ingress';
  band: string;
  object?: string;
  rule?: number;
  ruleName?: string;
  text: string;
  source?: string;
}

/**
 * A would-deny finding observed by an agent's kernel: a flow record (SPEC section 7) whose effective
 * verdict was allow, plus the as-if-enforced deny that makes it a finding and the observing node.
 * As a flow line it is a valid SPEC section 7 line (the extra fields are ignored by flow readers).
 */
export interface WouldDenyRecord extends FlowRecord {
  wouldDeny: WouldDenyReason;
  node?: string;
}

/** The canonical hash field of a record's tuple. */
export function flowTupleField(
  record: Pick<FlowRecord, 'src' | 'dst' | 'protocol' | 'port' | 'serverName'>,
): string {
  return JSON.stringify([record.src, record.dst, record.protocol, record.port, record.serverName ?? '']);
}

// KEYS[1] = bucket; ARGV[1] = ttl; then quintuples field, count, firstSeen, lastSeen, extra
// (a JSON object of the identity fields, and for would-deny findings the reason's, `{}` when
// none), written over the stored ones. Fields of the stored value that the script does not know
// are kept.
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
  await mergeIntoBuckets(redis, records, flowBucketKey, flowTupleField, identityJson, options);
}

/** The hash field of a would-deny finding: its flow tuple and its deciding reason. */
export function wouldDenyField(record: WouldDenyRecord): string {
  const r = record.wouldDeny;
  return JSON.stringify([
    record.src,
    record.dst,
    record.protocol,
    record.port,
    record.serverName ?? '',
    r.point,
    r.band,
    r.object ?? '',
    r.rule ?? null,
  ]);
}

/**
 * Merges would-deny findings into their hourly buckets (agents call this), as `writeFlows` does
 * for flows: counts add up, first/last seen widen, the latest identity and reason text win.
 */
export async function writeWouldDeny(
  redis: FlowStoreRedis,
  records: Iterable<WouldDenyRecord>,
  options: { now?: Date; ttlSeconds?: number } = {},
): Promise<void> {
  const extra = (r: WouldDenyRecord): string => {
    const v = JSON.parse(identityJson(r)) as Record<string, unknown>;
    v.text = r.wouldDeny.text;
    if (r.wouldDeny.source !== undefined) v.source = r.wouldDeny.source;
    if (r.wouldDeny.ruleName !== undefined) v.ruleName = r.wouldDeny.ruleName;
    if (r.node !== undefined) v.node = r.node;
    return JSON.stringify(v);
  };
  await mergeIntoBuckets(redis, records, wouldDenyBucketKey, wouldDenyField, extra, options);
}

async function mergeIntoBuckets<R extends FlowRecord>(
  redis: FlowStoreRedis,
  records: Iterable<R>,
  bucketKey: (time: Date) => string,
  field: (record: R) => string,
  extra: (record: R) => string,
  options: { now?: Date; ttlSeconds?: number },
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
    const key = bucketKey(last);
    let args = buckets.get(key);
    if (!args) {
      args = [];
      buckets.set(key, args);
    }
    args.push(field(r), r.count ?? 1, first.toISOString(), last.toISOString(), extra(r));
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
  yield* readBuckets(redis, flowBucketKey, decodeFlowEntry, options);
}

async function* readBuckets<R>(
  redis: FlowStoreRedis,
  bucketKey: (time: Date) => string,
  decode: (field: string, value: string) => R | undefined,
  options: { hours: number; now?: Date; onSkip?: (field: string) => void },
): AsyncGenerator<R> {
  const now = options.now ?? new Date();
  const hours = Math.max(1, Math.floor(options.hours));
  for (let h = hours - 1; h >= 0; h--) {
    const key = bucketKey(new Date(now.getTime() - h * 3600_000));
    let cursor = '0';
    do {
      const [next, entries] = await redis.hscan(key, cursor, 'COUNT', 1000);
      cursor = next;
      for (let i = 0; i + 1 < entries.length; i += 2) {
        const record = decode(entries[i] as string, entries[i + 1] as string);
        if (record) yield record;
        else options.onSkip?.(entries[i] as string);
      }
    } while (cursor !== '0');
  }
}

/** Decodes one would-deny hash entry; undefined for entries that are not well formed. */
export function decodeWouldDenyEntry(field: string, value: string): WouldDenyRecord | undefined {
  try {
    const tuple = JSON.parse(field) as unknown;
    if (!Array.isArray(tuple) || tuple.length !== 9) return undefined;
    const [src, dst, protocol, port, serverName, point, band, object, rule] = tuple as unknown[];
    const record = decodeFlowEntry(JSON.stringify([src, dst, protocol, port, serverName]), value);
    const v = JSON.parse(value) as Record<string, unknown>;
    if (!record || (point !== 'egress' && point !== 'ingress') || typeof band !== 'string') return undefined;
    if (typeof object !== 'string' || (rule !== null && typeof rule !== 'number')) return undefined;
    if (typeof v.text !== 'string') return undefined;
    const wouldDeny: WouldDenyReason = { point, band, text: v.text };
    if (object !== '') wouldDeny.object = object;
    if (typeof rule === 'number') wouldDeny.rule = rule;
    if (typeof v.ruleName === 'string') wouldDeny.ruleName = v.ruleName;
    if (typeof v.source === 'string') wouldDeny.source = v.source;
    return { ...record, wouldDeny, ...(typeof v.node === 'string' ? { node: v.node } : {}) };
  } catch {
    return undefined;
  }
}

/**
 * The would-deny findings of the last `hours` hourly buckets (ending with the hour of `now`),
 * oldest bucket first, one per stored flow, reason and hour: what `nyxctl flows export
 * --would-deny` prints and the bot shows. Malformed entries are passed to `onSkip` and left out.
 */
export async function* readWouldDenyFromRedis(
  redis: FlowStoreRedis,
  options: { hours: number; now?: Date; onSkip?: (field: string) => void },
): AsyncGenerator<WouldDenyRecord> {
  yield* readBuckets(redis, wouldDenyBucketKey, decodeWouldDenyEntry, options);
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
